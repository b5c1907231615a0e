// The rules engine over a real prom-client registry, on a ManualClock: what it scrapes, the alert state
// machine and its notifications, templates, the state file, its metrics and its coded errors.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Counter, Gauge, Histogram, Registry, Summary } from 'prom-client';
import { describe, expect, it } from 'vitest';
import {
  ALERTS_ERROR_CODES,
  createRuleEngine,
  defineAlerts,
  prometheusRuleFile,
  promqlAlert,
  recordingRule,
  type RuleEngine,
} from '@vigil/alerts';
import { ManualClock, type PostableAlert } from '../src/model';
import { compileExpr, evaluate } from '../src/rules/evaluator-api';

const START = Date.UTC(2026, 0, 1);

/** Moves the clock in steps of `step`, letting each evaluation finish before the next. */
async function advance(
  clock: ManualClock,
  engine: RuleEngine,
  ms: number,
  step = 15_000,
): Promise<void> {
  for (let done = 0; done < ms; done += step) {
    clock.advance(Math.min(step, ms - done));
    await engine.settled();
  }
}

function query(
  engine: RuleEngine,
  expr: string,
  t: number,
): { labels: Record<string, string>; value: number }[] {
  const r = evaluate(compileExpr(expr), t, engine.storage);
  if ('error' in r) throw new Error(String(r.error));
  if (r.type !== 'vector') throw new Error(`not a vector: ${r.type}`);
  return r.samples.map((s) => ({ labels: { ...s.labels }, value: s.value }));
}

function setup(
  alerts: Parameters<typeof defineAlerts>[0]['alerts'],
  extra: Partial<Parameters<typeof createRuleEngine>[0]> = {},
) {
  const registry = new Registry();
  const clock = new ManualClock(START);
  const sent: PostableAlert[][] = [];
  const engine = createRuleEngine({
    rules: defineAlerts({ name: 'test', alerts }),
    registry,
    clock,
    notify: (a) => sent.push([...a]),
    ...extra,
  });
  return { registry, clock, engine, sent };
}

describe('createRuleEngine registry source', () => {
  it('should read counters, gauges, histograms and summaries as Prometheus scrapes them, only what rules read', async () => {
    const registry = new Registry();
    const clock = new ManualClock(START);
    const c = new Counter({
      name: 'jobs_total',
      help: 'h',
      labelNames: ['kind'],
      registers: [registry],
    });
    const g = new Gauge({ name: 'queue_depth', help: 'h', registers: [registry] });
    const h = new Histogram({
      name: 'work_seconds',
      help: 'h',
      buckets: [0.005, 1],
      registers: [registry],
    });
    const s = new Summary({
      name: 'size_bytes',
      help: 'h',
      percentiles: [0.5],
      registers: [registry],
    });
    new Gauge({ name: 'unread_gauge', help: 'h', registers: [registry] }).set(1);
    c.inc({ kind: 'a' }, 3);
    g.set(7);
    h.observe(0.5);
    s.observe(10);
    const engine = createRuleEngine({
      rules: defineAlerts({
        name: 'src',
        selector: { job: 'api' },
        alerts: [
          recordingRule({ record: 'r:jobs', expr: 'sum(jobs_total)' }),
          recordingRule({ record: 'r:depth', expr: 'queue_depth' }),
          recordingRule({ record: 'r:work', expr: 'sum(work_seconds_bucket)' }),
          recordingRule({
            record: 'r:size',
            expr: 'sum(size_bytes) + sum(size_bytes_count) + sum(up)',
          }),
        ],
      }),
      registry,
      clock,
    });
    await engine.evaluateNow();
    const t = clock.now();
    expect(query(engine, 'jobs_total', t)).toEqual([
      {
        labels: { __name__: 'jobs_total', job: 'api', instance: 'localhost', kind: 'a' },
        value: 3,
      },
    ]);
    expect(query(engine, 'work_seconds_bucket', t).map((x) => [x.labels.le, x.value])).toEqual(
      expect.arrayContaining([
        ['0.005', 0],
        ['1', 1],
        ['+Inf', 1],
      ]),
    );
    expect(query(engine, 'size_bytes', t)[0]?.labels.quantile).toBe('0.5');
    expect(query(engine, 'up', t)).toEqual([
      { labels: { __name__: 'up', job: 'api', instance: 'localhost' }, value: 1 },
    ]);
    expect(query(engine, 'unread_gauge', t)).toEqual([]);
    expect(query(engine, 'r:jobs', t)[0]?.value).toBe(3);
    // A series that disappears is marked stale at the next scrape: gone at once, not after 5m.
    registry.removeSingleMetric('queue_depth');
    clock.advance(15_000);
    await engine.evaluateNow();
    expect(query(engine, 'queue_depth', clock.now())).toEqual([]);
    expect(query(engine, 'queue_depth', t)).toHaveLength(1);
  });

  it('should keep the store bounded: 1000 unread series add nothing', async () => {
    const { registry, clock, engine } = setup([
      promqlAlert({ name: 'Deep', expr: 'queue_depth > 5' }),
    ]);
    const g = new Gauge({ name: 'queue_depth', help: 'h', registers: [registry] });
    const noise = new Gauge({ name: 'noise', help: 'h', labelNames: ['i'], registers: [registry] });
    g.set(1);
    for (let i = 0; i < 1000; i++) noise.set({ i: String(i) }, i);
    await engine.evaluateNow();
    const held = engine.storage.seriesCount;
    await advance(clock, engine, 10 * 60_000);
    console.log(
      `store: ${held} series after the first cycle, ${engine.storage.seriesCount} after 10m (1001 registry series)`,
    );
    expect(held).toBeLessThanOrEqual(5);
    expect(engine.storage.seriesCount).toBeLessThanOrEqual(6);
  });
});

describe('createRuleEngine faults', () => {
  it('should log a registry read that fails, once, and go on evaluating', async () => {
    const real = new Registry();
    let reads = 0;
    const registry = Object.assign(Object.create(real) as Registry, {
      getMetricsAsJSON: () => {
        reads++;
        return Promise.reject(new Error('collect failed'));
      },
    });
    const warnings: string[] = [];
    const clock = new ManualClock(START);
    const engine = createRuleEngine({
      rules: defineAlerts({
        name: 'f',
        alerts: [promqlAlert({ name: 'Always', expr: 'vector(1)' })],
      }),
      registry,
      clock,
      logger: { warn: (o) => warnings.push(JSON.stringify(o)) },
    });
    engine.start();
    await advance(clock, engine, 2 * 60_000);
    console.log(`registry reads failed: ${reads}, warnings logged: ${warnings.length}`);
    expect(reads).toBeGreaterThanOrEqual(7);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('collect failed');
    expect(engine.alerts()[0]?.state).toBe('firing');
    await engine.stop();
  });
});

describe('createRuleEngine alert state machine', () => {
  it('should go inactive -> pending -> firing -> resolved with Prometheus notifier semantics', async () => {
    const { registry, clock, engine, sent } = setup([
      promqlAlert({
        name: 'Deep',
        expr: 'queue_depth > 5',
        for: '2m',
        severity: 'critical',
        summary: 'Queue at {{ $value }} on {{ $labels.instance }}',
      }),
    ]);
    const g = new Gauge({ name: 'queue_depth', help: 'h', registers: [registry] });
    g.set(1);
    engine.start();
    await advance(clock, engine, 60_000);
    expect(engine.alerts()).toEqual([]);
    g.set(9);
    await advance(clock, engine, 15_000);
    const [pending] = engine.alerts();
    expect(pending?.state).toBe('pending');
    expect(pending?.labels).toEqual({
      alertname: 'Deep',
      instance: 'localhost',
      job: 'vigil',
      severity: 'critical',
    });
    expect(pending?.annotations.summary).toBe('Queue at 9 on localhost');
    expect(sent).toEqual([]);
    await advance(clock, engine, 2 * 60_000);
    const [firing] = engine.alerts();
    expect(firing?.state).toBe('firing');
    expect(sent).toHaveLength(1);
    const first = sent[0]?.[0];
    expect(first?.startsAt).toBe(firing?.firedAt);
    // endsAt = evaluation time + 4 x max(resendDelay 1m, interval 15s).
    expect(Date.parse(first?.endsAt ?? '') - Date.parse(first?.startsAt ?? '')).toBe(4 * 60_000);
    // Re-sent at most every minute (after more than resendDelay).
    await advance(clock, engine, 5 * 60_000);
    expect(sent.length).toBeGreaterThanOrEqual(5);
    expect(sent.length).toBeLessThanOrEqual(6);
    g.set(1);
    const before = sent.length;
    await advance(clock, engine, 15_000);
    const [resolved] = engine.alerts();
    expect(resolved?.state).toBe('inactive');
    const last = sent[before]?.[0];
    expect(last?.endsAt).toBe(resolved?.resolvedAt);
    // Resolved alerts are re-sent (every 75s: more than 1m after the last, at 15s evaluations)
    // until 15 minutes after resolution, then forgotten.
    await advance(clock, engine, 16 * 60_000);
    expect(engine.alerts()).toEqual([]);
    const resolvedSends = sent.slice(before).length;
    console.log(`notifications: ${before} while firing, ${resolvedSends} resolved`);
    expect(resolvedSends).toBe(13);
    await engine.stop();
  });

  it('should keep firing for keep_firing_for after the condition clears', async () => {
    const { registry, clock, engine } = setup([
      promqlAlert({ name: 'Deep', expr: 'queue_depth > 5', keepFiringFor: '1m' }),
    ]);
    const g = new Gauge({ name: 'queue_depth', help: 'h', registers: [registry] });
    g.set(9);
    engine.start();
    await advance(clock, engine, 30_000);
    expect(engine.alerts()[0]?.state).toBe('firing');
    g.set(1);
    await advance(clock, engine, 45_000);
    expect(engine.alerts()[0]?.state).toBe('firing');
    await advance(clock, engine, 30_000);
    expect(engine.alerts()[0]?.state).toBe('inactive');
    await engine.stop();
  });

  it('should drop a pending alert whose condition clears before `for`', async () => {
    const { registry, clock, engine, sent } = setup([
      promqlAlert({ name: 'Deep', expr: 'queue_depth > 5', for: '5m' }),
    ]);
    const g = new Gauge({ name: 'queue_depth', help: 'h', registers: [registry] });
    g.set(9);
    engine.start();
    await advance(clock, engine, 2 * 60_000);
    expect(engine.alerts()[0]?.state).toBe('pending');
    expect(engine.rules()[0]?.state).toBe('pending');
    g.set(1);
    await advance(clock, engine, 30_000);
    expect(engine.alerts()).toEqual([]);
    expect(sent).toEqual([]);
    await engine.stop();
  });

  it('should write ALERTS and ALERTS_FOR_STATE as Prometheus does, from the second evaluation', async () => {
    const { registry, clock, engine } = setup([
      promqlAlert({ name: 'Deep', expr: 'queue_depth > 5', for: '1m' }),
    ]);
    new Gauge({ name: 'queue_depth', help: 'h', registers: [registry] }).set(9);
    engine.start();
    await advance(clock, engine, 45_000);
    const t = clock.now();
    expect(query(engine, 'ALERTS', t)).toEqual([
      {
        labels: {
          __name__: 'ALERTS',
          alertname: 'Deep',
          alertstate: 'pending',
          instance: 'localhost',
          job: 'vigil',
          severity: 'warning',
        },
        value: 1,
      },
    ]);
    // Whole seconds, as Prometheus writes ActiveAt.Unix().
    const activeAt = Math.floor(Date.parse(engine.alerts()[0]?.activeAt ?? '') / 1000);
    expect(query(engine, 'ALERTS_FOR_STATE', t)[0]?.value).toBe(activeAt);
    await advance(clock, engine, 60_000);
    expect(query(engine, 'ALERTS', clock.now()).map((s) => s.labels.alertstate)).toEqual([
      'firing',
    ]);
    await engine.stop();
  });

  it('should count a throwing notify and go on', async () => {
    const registry = new Registry();
    const clock = new ManualClock(START);
    let calls = 0;
    const engine = createRuleEngine({
      rules: defineAlerts({
        name: 'n',
        alerts: [promqlAlert({ name: 'Always', expr: 'vector(1)' })],
      }),
      registry,
      clock,
      notify: () => {
        calls++;
        throw new Error('receiver down');
      },
      logger: { warn: () => undefined },
    });
    engine.start();
    await advance(clock, engine, 3 * 60_000);
    const text = await registry.metrics();
    expect(calls).toBeGreaterThanOrEqual(3);
    expect(text).toContain(`alerts_notify_failures_total ${calls}`);
    expect(text).toContain('alerts_firing{alertname="Always",severity="warning"} 1');
    expect(text).toMatch(
      /alerts_rule_group_evaluation_duration_seconds_count\{rule_group="n-alerts"\} \d+/,
    );
    expect(text).toMatch(
      /alerts_rule_group_last_evaluation_timestamp_seconds\{rule_group="n-alerts"\} \d+/,
    );
    await engine.stop();
  });

  it('should render the template functions Prometheus provides', async () => {
    const { clock, engine } = setup(
      [
        promqlAlert({
          name: 'Tmpl',
          expr: 'vector(0.12345)',
          summary:
            '{{ $value | humanizePercentage }} {{ humanize 1234567 }} {{ 90061 | humanizeDuration }}',
          description:
            '{{ printf "%.2f" $value }} {{ $value }} {{ $labels.missing }}|{{ $externalLabels.cluster }}',
        }),
      ],
      { externalLabels: { cluster: 'eu' } },
    );
    await engine.evaluateNow();
    expect(clock.now()).toBe(START);
    expect(engine.alerts()[0]?.annotations).toEqual({
      summary: '12.35% 1.235M 1d 1h 1m 1s',
      description: '0.12 0.12345 |eu',
    });
  });
});

describe('createRuleEngine groups', () => {
  it('should evaluate each group at its own interval, aligned with an offset, and report rules', async () => {
    const registry = new Registry();
    const clock = new ManualClock(START);
    const engine = createRuleEngine({
      rules: defineAlerts({
        name: 'grp',
        alerts: [recordingRule({ record: 'r:one', expr: 'vector(1)' })],
        slos: [],
      }),
      registry,
      clock,
      interval: '30s',
    });
    engine.start();
    const seen = new Set<string>();
    for (let i = 0; i < 8; i++) {
      clock.advance(15_000);
      await engine.settled();
      const last = engine.rules()[0]?.lastEvaluation;
      if (last !== undefined) seen.add(last);
    }
    const times = [...seen].map((x) => Date.parse(x));
    expect(times.length).toBeGreaterThanOrEqual(3);
    for (let i = 1; i < times.length; i++)
      expect((times[i] ?? 0) - (times[i - 1] ?? 0)).toBe(30_000);
    expect(engine.rules()[0]).toMatchObject({
      name: 'r:one',
      group: 'grp-alerts',
      type: 'recording',
      health: 'ok',
      prometheusOnly: false,
    });
    await engine.stop();
  });

  it('should skip Prometheus-only rules, which the emitters write as any other', async () => {
    const set = defineAlerts({
      name: 'po',
      alerts: [
        recordingRule({ record: 'r:po', expr: 'vector(1)', prometheusOnly: true }),
        promqlAlert({ name: 'Po', expr: 'vector(1)', prometheusOnly: true }),
      ],
    });
    expect(prometheusRuleFile(set)).not.toContain('prometheusOnly');
    const engine = createRuleEngine({
      rules: set,
      registry: new Registry(),
      clock: new ManualClock(START),
    });
    await engine.evaluateNow();
    expect(engine.alerts()).toEqual([]);
    expect(engine.rules().map((r) => [r.name, r.health, r.prometheusOnly])).toEqual([
      ['r:po', 'unknown', true],
      ['Po', 'unknown', true],
    ]);
  });
});

describe('createRuleEngine state file', () => {
  it('should restore `for` state across a restart, as Prometheus restores ALERTS_FOR_STATE', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vigil-rules-'));
    const stateFile = join(dir, 'state.json');
    const rules = defineAlerts({
      name: 'sf',
      alerts: [promqlAlert({ name: 'Slow', expr: 'queue_depth > 5', for: '20m' })],
    });
    const registry = new Registry();
    new Gauge({ name: 'queue_depth', help: 'h', registers: [registry] }).set(9);
    const clock = new ManualClock(START);
    const a = createRuleEngine({ rules, registry, clock, stateFile });
    a.start();
    await advance(clock, a, 15 * 60_000);
    await a.stop();
    const saved = JSON.parse(readFileSync(stateFile, 'utf8')) as { alerts: { activeAt: number }[] };
    expect(saved.alerts).toHaveLength(1);
    // Down for 2 minutes; 20m - 15m pending = 5m remaining, under the 10m grace period: fires 10m after restart.
    clock.advance(2 * 60_000);
    const b = createRuleEngine({ rules, registry, clock, stateFile });
    b.start();
    await advance(clock, b, 9 * 60_000 + 30_000);
    expect(b.alerts()[0]?.state).toBe('pending');
    await advance(clock, b, 60_000);
    expect(b.alerts()[0]?.state).toBe('firing');
    await b.stop();
  });

  it('should report a corrupt state file and start without state', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vigil-rules-'));
    const stateFile = join(dir, 'state.json');
    writeFileSync(stateFile, '{not json');
    const warnings: string[] = [];
    const engine = createRuleEngine({
      rules: defineAlerts({ name: 'c', alerts: [promqlAlert({ name: 'A', expr: 'vector(1)' })] }),
      registry: new Registry(),
      clock: new ManualClock(START),
      stateFile,
      logger: { warn: (o) => warnings.push(JSON.stringify(o)) },
    });
    engine.start();
    await engine.evaluateNow();
    await engine.stop();
    expect(warnings.join()).toContain('state file unreadable');
    expect(engine.alerts()).toHaveLength(1);
    expect(JSON.parse(readFileSync(stateFile, 'utf8'))).toMatchObject({ version: 1 });
  });
});

describe('createRuleEngine options', () => {
  it.each([
    [{ interval: '15 seconds' }, ALERTS_ERROR_CODES.INVALID_DURATION],
    [{ registry: {} }, ALERTS_ERROR_CODES.INVALID_REGISTRY],
    [{ notify: 'x' }, ALERTS_ERROR_CODES.INVALID_OPTION],
    [{ externalURL: 'ftp:x' }, ALERTS_ERROR_CODES.INVALID_OPTION],
    [{ nope: 1 }, ALERTS_ERROR_CODES.UNKNOWN_OPTION],
  ])('should reject %j with a coded error', (bad, code) => {
    const rules = defineAlerts({ name: 'o' });
    expect(() => createRuleEngine({ rules, registry: new Registry(), ...(bad as object) })).toThrow(
      expect.objectContaining({ code }),
    );
  });
});
