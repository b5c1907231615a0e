// Cardinality: 10,000 distinct values offered to a capped label give at most cap + 1 series, through a
// handle and through real servers; the figures are printed.
import { Agent, request } from 'node:http';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { OVERFLOW_LABEL_VALUE, defineBusinessMetrics } from '@vigil/business-metrics';
import { FRAMEWORKS, shopCatalogue } from './support/apps';
import { closeServers, startServer } from '@vigil/test-utils';
import { captureLogs } from './support/logs';
import { findSamples, sumValues } from './support/samples';

afterEach(closeServers);

const OFFERED = 10_000;

describe('a capped label', () => {
  it.each([1, 100, 1000])(
    `should keep ${OFFERED.toLocaleString('en')} distinct values within cap + 1 series (cap %i)`,
    async (cap) => {
      const registry = new Registry();
      const logs = captureLogs();
      const { metrics } = defineBusinessMetrics(
        {
          searches_total: { type: 'counter', help: 'Searches by term', labels: { term: { cap } } },
        },
        { registry, logger: logs.logger },
      );
      let start = performance.now();
      for (let i = 0; i < OFFERED; i++) metrics.searches_total.inc({ term: `term-${i}` });
      const coldMs = performance.now() - start;
      // The same values again: known ones take the fast path, the rest the overflow path.
      start = performance.now();
      for (let i = 0; i < OFFERED; i++) metrics.searches_total.inc({ term: `term-${i}` });
      const warmMs = performance.now() - start;
      const samples = await findSamples(registry, 'searches_total');
      const overflow = samples.find((s) => s.labels.term === OVERFLOW_LABEL_VALUE)?.value ?? 0;
      console.log(
        `cardinality: ${OFFERED} distinct values, cap ${cap} -> ${samples.length} series ` +
          `(${samples.length - 1} values kept; of ${2 * OFFERED} recordings, ${overflow} under "${OVERFLOW_LABEL_VALUE}"), ` +
          `${((coldMs * 1e6) / OFFERED).toFixed(0)} ns per recording cold, ` +
          `${((warmMs * 1e6) / OFFERED).toFixed(0)} ns warm, 1 warning logged`,
      );
      expect(samples.length).toBe(cap + 1);
      expect(overflow).toBe(2 * (OFFERED - cap));
      expect(await sumValues(registry, 'searches_total')).toBe(2 * OFFERED);
      expect(logs.problems('searches_total.term: cap reached')).toHaveLength(1);
      expect(logs.lines).toHaveLength(1);
    },
  );

  it('should multiply only bounded labels: a closed set times a cap stays within (values + 1) * (cap + 1)', async () => {
    const registry = new Registry();
    const { metrics, describe: describeCatalogue } = defineBusinessMetrics(
      {
        orders_created_total: {
          type: 'counter',
          help: 'Orders by plan and coupon',
          labels: { plan: { values: ['free', 'pro'] }, coupon: { cap: 50 } },
        },
      },
      { registry, logger: captureLogs().logger },
    );
    const plans = ['free', 'pro', 'enterprise'] as const;
    const untypedInc = (labels: object) => metrics.orders_created_total.inc(labels as never);
    for (let i = 0; i < OFFERED; i++) {
      // Untyped input: 'enterprise' is not a declared plan.
      untypedInc({ plan: plans[i % 3], coupon: `c${i}` });
    }
    const samples = await findSamples(registry, 'orders_created_total');
    const bound = describeCatalogue()[0]!.maxSeries;
    console.log(
      `cardinality: ${OFFERED} orders over 3 plans (2 declared) and ${OFFERED} coupons (cap 50) -> ${samples.length} series, bound ${bound}`,
    );
    expect(bound).toBe(3 * 51);
    expect(samples.length).toBeLessThanOrEqual(bound);
    expect(await sumValues(registry, 'orders_created_total')).toBe(OFFERED);
  });
});

/** Sends `n` POSTs over 16 keep-alive connections; resolves with the count of each status. */
async function load(
  origin: string,
  n: number,
  path: (i: number) => string,
): Promise<Map<number, number>> {
  const agent = new Agent({ keepAlive: true, maxSockets: 16 });
  const statuses = new Map<number, number>();
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const i = next++;
      const status = await new Promise<number>((resolve, reject) => {
        const req = request(`${origin}${path(i)}`, { method: 'POST', agent }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        });
        req.on('error', reject);
        req.end();
      });
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  agent.destroy();
  return statuses;
}

describe.each(FRAMEWORKS.filter((f) => f.name === 'express5' || f.name === 'koa3'))(
  'a capped label fed by route parameters on $name',
  (fw) => {
    it(
      `should keep ${OFFERED.toLocaleString('en')} distinct parameters within cap + 1 series`,
      { timeout: 120_000 },
      async () => {
        const registry = new Registry();
        const logs = captureLogs();
        const app = fw.app(shopCatalogue(registry, logs.logger));
        const { origin } = await startServer(app.listener);
        const start = performance.now();
        const statuses = await load(origin, OFFERED, (i) => `/api/generate/framework-${i}`);
        const seconds = (performance.now() - start) / 1000;
        expect(statuses).toEqual(new Map([[502, OFFERED]]));
        const samples = await findSamples(registry, 'generation_failures_total');
        console.log(
          `cardinality (${fw.name}): ${OFFERED} requests with distinct :framework values, cap 5 -> ` +
            `${samples.length} series in ${seconds.toFixed(1)} s`,
        );
        expect(samples.length).toBe(6);
        expect(await sumValues(registry, 'generation_failures_total')).toBe(OFFERED);
        expect(logs.problems('generation_failures_total.framework: cap reached')).toHaveLength(1);
      },
    );
  },
);
