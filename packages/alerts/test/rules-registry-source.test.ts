// The registry scrape: prom-client's counters, gauges and histograms read from their internals give
// exactly the samples and staleness markers getMetricsAsJSON() gives, through label changes, removed
// series and metrics, collect hooks, default labels and ambiguous prom-client hashes.
import { Counter, Gauge, Histogram, Registry, Summary } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { LabelSet } from '../src/model';
import { RegistrySource, type SampleSink } from '../src/rules/registry-source';

/** A sink that records every append as a line, labels in order. */
function recorder(): SampleSink & { lines: string[] } {
  const lines: string[] = [];
  const line = (labels: LabelSet, t: number, v: number | 'stale'): void => {
    const text = Object.keys(labels)
      .sort()
      .map((k) => `${k}=${labels[k]}`)
      .join(',');
    lines.push(`${text} ${t} ${v}`);
  };
  return {
    lines,
    append: (labels, t, v) => line(labels, t, v),
    appendStale: (labels, t) => line(labels, t, 'stale'),
  };
}

describe('RegistrySource', () => {
  it('should read prom-client metrics directly with the same samples as getMetricsAsJSON()', async () => {
    const registry = new Registry();
    const counter = new Counter({
      name: 'c_total',
      help: 'c',
      labelNames: ['a', 'job', 'n'],
      registers: [registry],
    });
    let collected = 0;
    const gauge = new Gauge({
      name: 'g',
      help: 'g',
      labelNames: ['q'],
      registers: [registry],
      collect() {
        this.set({ q: 'collected' }, ++collected);
      },
    });
    const histogram = new Histogram({
      name: 'h',
      help: 'h',
      labelNames: ['r'],
      buckets: [0.1, 1, 5],
      registers: [registry],
    });
    const summary = new Summary({ name: 's', help: 's', labelNames: ['r'], registers: [registry] });
    const unread = new Gauge({ name: 'unread', help: 'u', registers: [registry] });
    const pair = new Gauge({
      name: 'pair',
      help: 'p',
      labelNames: ['a', 'b'],
      registers: [registry],
    });
    const options = {
      job: 'j',
      instance: 'i',
      selected: (labels: LabelSet) => labels.q !== 'q3',
      nameSelected: (name: string) => name !== 'unread',
    };
    const direct = new RegistrySource({ ...options, registry });
    // Not a prom-client Registry: read through getMetricsAsJSON(), as before.
    const viaJson = new RegistrySource({
      ...options,
      registry: { getMetricsAsJSON: () => registry.getMetricsAsJSON() },
    });
    let compared = 0;
    for (let i = 0; i < 30; i++) {
      counter.inc({ a: `x${i % 3}`, job: 'exported', n: i % 2 }, 1);
      if (i % 5 === 0) counter.inc({ a: 'x,n:1', job: '' }, 2);
      // prom-client's hash of these two label sets is the same text (`a:x,b:1,`): the series alternate.
      pair.set(i % 2 === 0 ? { a: 'x,b:1' } : { a: 'x', b: 1 }, i);
      for (let q = 0; q < 5; q++) {
        if ((i + q) % 7 !== 0) gauge.set({ q: `q${q}` }, i * q);
        else gauge.remove({ q: `q${q}` });
      }
      histogram.observe({ r: `r${i % 4}` }, i / 10);
      summary.observe({ r: 'x' }, i);
      unread.set(i);
      if (i === 10) registry.setDefaultLabels({ env: 'prod', a: 'default' });
      if (i === 20) registry.setDefaultLabels({});
      if (i === 15) histogram.remove({ r: 'r1' });
      if (i === 25) registry.removeSingleMetric('s');
      const a = recorder();
      const b = recorder();
      // The collect hook runs once per read: each source sees its own value.
      const before = collected;
      await direct.scrape(i * 15_000, a);
      const directCollected = collected;
      await viaJson.scrape(i * 15_000, b);
      const normalize = (lines: string[], value: number): string[] =>
        lines.map((l) => l.replace(/(q=collected\S* \d+) \d+$/, `$1 ${value}`)).sort();
      expect(directCollected).toBe(before + 1);
      expect(normalize(a.lines, 0)).toEqual(normalize(b.lines, 0));
      compared += a.lines.length;
    }
    expect(compared).toBeGreaterThan(500);
  });
});
