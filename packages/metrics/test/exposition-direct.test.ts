// The exposition of a prom-client Registry read from prom-client's internals: the same text, byte for
// byte, as rendering what getMetricsAsJSON() gives, for every kind of metric and label prom-client
// holds, in both formats; and prom-client's own counters, gauges and histograms are read without
// their get().
import {
  Counter,
  Gauge,
  Histogram,
  type OpenMetricsContentType,
  Registry,
  Summary,
} from 'prom-client';
import request from 'supertest';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type ExpositionFormat, render, renderJson } from '@vigil/metrics';
import { closeServers, seededRandom, startServer, waitForIdle } from '@vigil/test-utils';
import { parseExposition } from './support/exposition';
import { FRAMEWORKS } from './support/frameworks';

type JsonInput = Parameters<typeof renderJson>[0];

afterEach(async () => {
  vi.restoreAllMocks();
  await closeServers();
});

/** The text of `registry` in `format` through getMetricsAsJSON(), as before direct reading. */
async function fromJson(registry: Registry, format: ExpositionFormat): Promise<string> {
  return renderJson((await registry.getMetricsAsJSON()) as unknown as JsonInput, format);
}

/** Gives `registry` the OpenMetrics content type. */
function openMetricsType(registry: Registry): void {
  (registry as unknown as Registry<OpenMetricsContentType>).setContentType(
    Registry.OPENMETRICS_CONTENT_TYPE,
  );
}

/** Both formats of `registry`, direct and through JSON. */
async function bothWays(registry: Registry) {
  const out: { format: ExpositionFormat; direct: string; json: string }[] = [];
  // The Prometheus text format of a registry whose own type is the text format is prom-client's
  // metrics(); set the registry to OpenMetrics so that format is rendered by Vigil too.
  openMetricsType(registry);
  for (const format of ['openmetrics', 'prometheus'] as const) {
    out.push({
      format,
      direct: await render(registry, format),
      json: await fromJson(registry, format),
    });
  }
  return out;
}

const HOSTILE_VALUES = [
  'plain',
  '',
  'line\nbreak',
  'quote"d',
  'back\\slash',
  'ünïcødé ✓',
  '0',
  7,
  0,
];

describe('exposition read from prom-client internals', () => {
  it('should give the text of getMetricsAsJSON() for every kind of metric and value', async () => {
    const registry = new Registry();
    const registers = [registry];
    const plain = new Counter({ name: 'plain_total', help: 'no labels', registers });
    plain.inc(3);
    const jobs = new Counter({
      name: 'jobs',
      help: 'a counter named without _total',
      labelNames: ['queue', 'kind'],
      registers,
    });
    for (const v of HOSTILE_VALUES) jobs.inc({ queue: v, kind: 'k' }, 2);
    jobs.inc({ queue: 'only-queue' });
    const level = new Gauge({
      name: 'level',
      help: 'help with \\ and\nnewline and "quotes"',
      labelNames: ['side'],
      registers,
    });
    level.set({ side: 'nan' }, Number.NaN);
    level.set({ side: 'inf' }, Infinity);
    level.set({ side: 'minus-inf' }, -Infinity);
    level.set({ side: 'tiny' }, 1e-300);
    level.set({ side: 'third' }, 1 / 3);
    level.set({ side: 'negative' }, -42.5);
    const latency = new Histogram({
      name: 'latency_seconds',
      help: 'latency',
      labelNames: ['route'],
      buckets: [0, 0.005, 0.1, 1, 10],
      registers,
    });
    for (const [i, route] of ['/a', '/b"c', '/d\\e'].entries()) {
      for (let k = 0; k <= i * 3; k++) latency.observe({ route }, k * 0.07);
    }
    const bare = new Histogram({ name: 'bare_seconds', help: 'no labels', registers });
    bare.observe(0.3);
    new Histogram({
      name: 'unobserved_seconds',
      help: 'never observed',
      labelNames: ['x'],
      registers,
    });
    new Gauge({ name: 'empty', help: 'never set', labelNames: ['x'], registers });
    const sizes = new Summary({
      name: 'sizes_bytes',
      help: 'a summary, through get()',
      percentiles: [0.5, 0.9],
      labelNames: ['x'],
      registers,
    });
    sizes.observe({ x: 'y' }, 10);
    sizes.observe({ x: 'y' }, 20);

    for (const { format, direct, json } of await bothWays(registry)) {
      expect(direct, format).toBe(json);
      expect(parseExposition(direct).bad, format).toEqual([]);
    }
  });

  it('should merge default labels as getMetricsAsJSON() does, own labels first', async () => {
    const registry = new Registry();
    registry.setDefaultLabels({ service: 'svc', region: 'eu' });
    const registers = [registry];
    const c = new Counter({ name: 'c_total', help: 'c', labelNames: ['service', 'a'], registers });
    c.inc({ a: '1' });
    c.inc({ service: 'own', a: '2' });
    // An empty own value gives way to the default, as `labels[k] || default` does.
    c.inc({ service: '', a: '3' });
    new Gauge({ name: 'g', help: 'g', registers }).set(1);
    new Histogram({
      name: 'h_seconds',
      help: 'h',
      labelNames: ['region'],
      buckets: [1],
      registers,
    }).observe({ region: 'us' }, 0.5);
    new Summary({ name: 's', help: 's', registers }).observe(1);

    for (const { format, direct, json } of await bothWays(registry)) {
      expect(direct, format).toBe(json);
    }
    const text = await render(registry, 'openmetrics');
    expect(text).toContain('c_total{a="1",service="svc",region="eu"} 1\n');
    expect(text).toContain('c_total{service="own",a="2",region="eu"} 1\n');
    expect(text).toContain('h_seconds_bucket{le="1",region="us",service="svc"} 1\n');
  });

  it('should run collect hooks, synchronous and asynchronous, before reading', async () => {
    const registry = new Registry();
    let calls = 0;
    new Gauge({
      name: 'sync_gauge',
      help: 'set by collect',
      registers: [registry],
      collect() {
        calls++;
        this.set(41 + calls);
      },
    });
    new Counter({
      name: 'async_total',
      help: 'set by an asynchronous collect',
      labelNames: ['k'],
      registers: [registry],
      async collect() {
        await new Promise((resolve) => setTimeout(resolve, 5));
        this.reset();
        this.inc({ k: 'v' }, calls);
      },
    });
    const text = await render(registry, 'openmetrics');
    expect(calls).toBe(1);
    expect(text).toContain('sync_gauge 42\n');
    expect(text).toContain('async_total{k="v"} 1\n');
  });

  it('should render exemplars, metrics with their own get() and Vigil instruments through get()', async () => {
    const registry = new Registry();
    openMetricsType(registry);
    const registers = [registry];
    const withExemplars = new Counter({
      name: 'ex_total',
      help: 'ex',
      labelNames: ['a'],
      enableExemplars: true,
      registers,
    });
    // prom-client's types want exemplar labels named like the metric's; any names are allowed.
    withExemplars.inc({
      labels: { a: 'b' },
      value: 2,
      exemplarLabels: { trace_id: 'abc' },
    } as never);
    const hist = new Histogram({
      name: 'exh_seconds',
      help: 'exh',
      buckets: [1],
      enableExemplars: true,
      registers,
    });
    hist.observe({ labels: {}, value: 0.5, exemplarLabels: { trace_id: 'def' } } as never);
    class Doubled extends Gauge {
      override async get() {
        const m = await super.get();
        return { ...m, values: m.values.map((v) => ({ ...v, value: v.value * 2 })) };
      }
    }
    new Doubled({ name: 'doubled', help: 'own get()', registers }).set(21);
    // Vigil's HTTP instruments, in the same registry.
    const { listener } = FRAMEWORKS[1]!.app({ options: { registry } });
    const { server } = await startServer(listener);
    await request(server).get('/api/users/1').expect(200);
    await waitForIdle(registry);

    const text = await render(registry, 'openmetrics');
    expect(text).toContain('ex_total{a="b"} 2 # {trace_id="abc"} 2');
    expect(text).toContain('exh_seconds_bucket{le="1"} 1 # {trace_id="def"} 0.5');
    expect(text).toContain('doubled 42\n');
    expect(text).toContain(
      'http_requests_total{method="GET",route="/api/users/:id",status_code="200"} 1\n',
    );
    for (const { format, direct, json } of await bothWays(registry)) {
      expect(direct, format).toBe(json);
    }
  });

  it("should not call get() of prom-client's own counters, gauges and histograms", async () => {
    const registry = new Registry();
    const registers = [registry];
    new Counter({ name: 'a_total', help: 'a', registers }).inc();
    new Gauge({ name: 'b', help: 'b', registers }).set(2);
    new Histogram({ name: 'c_seconds', help: 'c', buckets: [1], registers }).observe(0.5);
    const gets = [
      vi.spyOn(Counter.prototype, 'get'),
      vi.spyOn(Gauge.prototype, 'get'),
      vi.spyOn(Histogram.prototype, 'get'),
    ];
    const text = await render(registry, 'openmetrics');
    for (const get of gets) expect(get).not.toHaveBeenCalled();
    expect(text).toBe(
      '# HELP a a\n# TYPE a counter\na_total 1\n' +
        '# HELP b b\n# TYPE b gauge\nb 2\n' +
        '# HELP c_seconds c\n# TYPE c_seconds histogram\n' +
        'c_seconds_bucket{le="1"} 1\nc_seconds_bucket{le="+Inf"} 1\nc_seconds_sum 0.5\nc_seconds_count 1\n' +
        '# EOF\n',
    );
  });

  it('should render registries of random metrics, labels and values as getMetricsAsJSON() does', async () => {
    const next = seededRandom(20261206);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!;
    const chars = ['a', 'b', 'Z', '9', '"', '\\', '\n', ' ', 'é', '✓', ',', '}', '='];
    const text = () => Array.from({ length: Math.floor(next() * 6) }, () => pick(chars)).join('');
    for (let round = 0; round < 20; round++) {
      const registry = new Registry();
      if (next() < 0.3) registry.setDefaultLabels({ env: text() || 'prod', zone: text() });
      const registers = [registry];
      for (let m = 0; m < 6; m++) {
        const labelNames = ['l0', 'l1', 'l2'].slice(0, Math.floor(next() * 4));
        const labels = () =>
          Object.fromEntries(
            labelNames
              .filter(() => next() < 0.8)
              .map((l) => [l, next() < 0.2 ? Math.floor(next() * 100) : text()]),
          );
        const name = `m${round}_${m}`;
        const kind = pick(['counter', 'gauge', 'histogram'] as const);
        if (kind === 'counter') {
          const c = new Counter({ name, help: 'h' + text(), labelNames, registers });
          for (let i = 0; i < 20; i++) c.inc(labels(), Math.floor(next() * 10));
        } else if (kind === 'gauge') {
          const g = new Gauge({ name, help: 'h' + text(), labelNames, registers });
          for (let i = 0; i < 20; i++)
            g.set(labels(), pick([next() * 1e6 - 5e5, Number.NaN, Infinity, -0, 0.1 + 0.2]));
        } else {
          const buckets = [
            ...new Set(
              Array.from(
                { length: 1 + Math.floor(next() * 5) },
                () => Math.round(next() * 1000) / 100,
              ),
            ),
          ].sort((a, b) => a - b);
          const h = new Histogram({ name, help: 'h' + text(), labelNames, buckets, registers });
          for (let i = 0; i < 20; i++) h.observe(labels(), next() * 12);
        }
      }
      for (const { format, direct, json } of await bothWays(registry)) {
        expect(direct, `round ${round}, ${format}`).toBe(json);
      }
    }
  });
});
