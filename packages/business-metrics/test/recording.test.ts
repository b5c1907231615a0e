// Metric handles: counters, gauges, histograms, timers and bound children; bad input logged once, never thrown.
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { OVERFLOW_LABEL_VALUE, defineBusinessMetrics } from '@vigil/business-metrics';
import { sleep } from '@vigil/test-utils';
import { captureLogs } from './support/logs';
import { nonZero, sampleValue } from './support/samples';

function setup(maxRoutes?: number) {
  const registry = new Registry();
  const logs = captureLogs();
  const catalogue = defineBusinessMetrics(
    {
      orders_created_total: {
        type: 'counter',
        help: 'Orders created, by plan',
        labels: { plan: { values: ['free', 'pro'] } },
      },
      logins_total: { type: 'counter', help: 'Logins' },
      queue_depth: { type: 'gauge', help: 'Jobs waiting', labels: { queue: { cap: 3 } } },
      job_duration_seconds: {
        type: 'histogram',
        help: 'Job duration',
        labels: { queue: { cap: 3 } },
        buckets: [0.01, 0.1, 1],
      },
      payload_bytes: { type: 'histogram', help: 'Payload size', buckets: [10, 100] },
      api_calls_total: {
        type: 'counter',
        help: 'API calls by route and method',
        labels: { route: 'route', method: 'method', outcome: 'outcome' },
      },
    },
    { registry, logger: logs.logger, ...(maxRoutes ? { maxRoutes } : {}) },
  );
  return { registry, logs, m: catalogue.metrics };
}

/** Calls with untyped arguments, as data from outside (JSON, JavaScript callers) can arrive. */
const loose = (fn: unknown) => fn as (...args: unknown[]) => void;

describe('counter handles', () => {
  it('should add 1 by default, or the value given', async () => {
    const { registry, m } = setup();
    m.orders_created_total.inc({ plan: 'pro' });
    m.orders_created_total.inc({ plan: 'pro' }, 2.5);
    m.logins_total.inc();
    m.logins_total.inc(4);
    expect(await nonZero(registry, 'orders_created_total')).toEqual(['plan=pro => 3.5']);
    expect(await sampleValue(registry, 'logins_total')).toBe(5);
  });

  it.each([
    { value: -1, problem: 'negative increment' },
    { value: Number.NaN, problem: 'value not a finite number' },
    { value: Infinity, problem: 'value not a finite number' },
    { value: '3', problem: 'value not a finite number' },
  ])('should drop an increment of $value and log it once', async ({ value, problem }) => {
    const { registry, logs, m } = setup();
    loose(m.orders_created_total.inc.bind(m.orders_created_total))({ plan: 'free' }, value);
    loose(m.orders_created_total.inc.bind(m.orders_created_total))({ plan: 'free' }, value);
    m.orders_created_total.inc({ plan: 'free' });
    expect(await sampleValue(registry, 'orders_created_total', { plan: 'free' })).toBe(1);
    expect(logs.problems(`orders_created_total: ${problem}`)).toHaveLength(1);
  });

  it('should record a value outside the closed set under the overflow value, logged once', async () => {
    const { registry, logs, m } = setup();
    const inc = loose(m.orders_created_total.inc.bind(m.orders_created_total));
    for (const plan of ['gold', 'platinum', 'gold']) inc({ plan });
    expect(await nonZero(registry, 'orders_created_total')).toEqual([
      `plan=${OVERFLOW_LABEL_VALUE} => 3`,
    ]);
    const lines = logs.problems('orders_created_total.plan: value outside the declared set');
    expect(lines).toHaveLength(1);
    expect(lines[0]!.err).toBe(
      `received 'gold', not one of free, pro; recorded as "${OVERFLOW_LABEL_VALUE}"`,
    );
  });

  it('should record a missing or non-string label under the overflow value, and ignore unknown labels', async () => {
    const { registry, logs, m } = setup();
    const inc = loose(m.orders_created_total.inc.bind(m.orders_created_total));
    inc({});
    inc({ plan: 42 });
    inc(null);
    inc({ plan: 'pro', colour: 'red' });
    expect(await nonZero(registry, 'orders_created_total')).toEqual([
      `plan=${OVERFLOW_LABEL_VALUE} => 3`,
      'plan=pro => 1',
    ]);
    expect(logs.problems('orders_created_total.plan: label missing')).toHaveLength(1);
    expect(logs.problems('orders_created_total.plan: not a string')).toHaveLength(1);
    expect(logs.problems('orders_created_total.colour: unknown label')).toHaveLength(1);
  });

  it('should never throw, even when reading the labels throws', () => {
    const { logs, m } = setup();
    const labels = {
      get plan(): string {
        throw new Error('getter exploded');
      },
    };
    expect(() =>
      loose(m.orders_created_total.inc.bind(m.orders_created_total))(labels),
    ).not.toThrow();
    expect(() =>
      loose(m.orders_created_total.labels.bind(m.orders_created_total))(labels),
    ).not.toThrow();
    expect(logs.problems('orders_created_total: recording failed')[0]!.err).toBe('getter exploded');
  });

  it('should normalise methods and bound routes by maxRoutes', async () => {
    const { registry, logs, m } = setup(2);
    const call = (route: string, method: string) =>
      loose(m.api_calls_total.inc.bind(m.api_calls_total))({ route, method, outcome: 'success' });
    call('/a', 'get');
    call('/b', 'PROPFIND');
    call('/c', 'POST');
    expect(await nonZero(registry, 'api_calls_total')).toEqual([
      `method=GET,outcome=success,route=/a => 1`,
      `method=OTHER,outcome=success,route=/b => 1`,
      `method=POST,outcome=success,route=${OVERFLOW_LABEL_VALUE} => 1`,
    ]);
    expect(logs.problems('api_calls_total.route: cap reached')).toHaveLength(1);
  });
});

describe('gauge handles', () => {
  it('should set, increase and decrease', async () => {
    const { registry, m } = setup();
    m.queue_depth.set({ queue: 'mail' }, 10);
    m.queue_depth.inc({ queue: 'mail' });
    m.queue_depth.dec({ queue: 'mail' }, 4);
    m.queue_depth.dec({ queue: 'sms' });
    expect(await nonZero(registry, 'queue_depth')).toEqual(['queue=mail => 7', 'queue=sms => -1']);
  });

  it('should give a bound child that skips label resolution', async () => {
    const { registry, m } = setup();
    const mail = m.queue_depth.labels({ queue: 'mail' });
    mail.set(3);
    mail.inc();
    mail.dec(2);
    expect(await sampleValue(registry, 'queue_depth', { queue: 'mail' })).toBe(2);
  });
});

describe('histogram handles', () => {
  it('should observe values into buckets', async () => {
    const { registry, m } = setup();
    for (const v of [0.005, 0.05, 0.5, 5]) m.job_duration_seconds.observe({ queue: 'mail' }, v);
    const buckets = await nonZero(registry, 'job_duration_seconds_bucket');
    expect(buckets).toEqual([
      'le=+Inf,queue=mail => 4',
      'le=0.01,queue=mail => 1',
      'le=0.1,queue=mail => 2',
      'le=1,queue=mail => 3',
    ]);
    expect(await sampleValue(registry, 'job_duration_seconds_sum', { queue: 'mail' })).toBe(5.555);
  });

  it('should time with startTimer() and return the seconds', async () => {
    const { registry, m } = setup();
    const end = m.job_duration_seconds.startTimer({ queue: 'mail' });
    await sleep(20);
    const seconds = end();
    expect(seconds).toBeGreaterThanOrEqual(0.015);
    expect(await sampleValue(registry, 'job_duration_seconds_sum', { queue: 'mail' })).toBe(
      seconds,
    );
    const bound = m.job_duration_seconds.labels({ queue: 'sms' }).startTimer();
    expect(bound()).toBeGreaterThanOrEqual(0);
    expect(await sampleValue(registry, 'job_duration_seconds_count', { queue: 'sms' })).toBe(1);
  });

  it('should not record timer durations into a histogram that is not in seconds', async () => {
    const { registry, logs, m } = setup();
    const seconds = m.payload_bytes.startTimer()();
    expect(seconds).toBeGreaterThanOrEqual(0);
    expect(await sampleValue(registry, 'payload_bytes_count')).toBe(0);
    expect(logs.problems('payload_bytes: timer on a histogram not in seconds')).toHaveLength(1);
  });
});
