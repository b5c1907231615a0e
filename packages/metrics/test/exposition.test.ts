// Exposition: label escaping in both formats, format negotiation, OpenMetrics rendering and exemplars.
import Router from '@koa/router';
import express from 'express';
import Koa from 'koa';
import { Registry } from 'prom-client';
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { setTraceContextProvider } from '@vigil/core';
import {
  type ExpositionFormat,
  type MetricsOptions,
  OPENMETRICS_CONTENT_TYPE,
  PROMETHEUS_CONTENT_TYPE,
  expressMetrics,
  koaMetrics,
  negotiate,
  render,
  renderJson,
} from '@vigil/metrics';
import { FRAMEWORKS, Koa2, express4 } from './support/frameworks';
import { findPromtool, parseExposition, promtoolCheck } from './support/exposition';
import { closeServers, startServer } from '@vigil/test-utils';
import { waitForIdle } from '@vigil/test-utils';

afterEach(async () => {
  setTraceContextProvider(undefined);
  await closeServers();
});

/** The Accept header Prometheus sends when it can take OpenMetrics. */
const PROMETHEUS_ACCEPT =
  'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';

const NO_DEFAULTS = { collectDefaultMetrics: false } satisfies MetricsOptions;

type JsonInput = Parameters<typeof renderJson>[0];
const json = async (registry: Registry): Promise<JsonInput> =>
  (await registry.getMetricsAsJSON()) as unknown as JsonInput;

/** A label value with every character the text formats must escape. */
const HOSTILE = 'line\nbreak "quoted" back\\slash';

// Routes whose templates carry a double quote, a backslash and (Koa) a newline.
const EXPRESS_REGEXP_ROUTE = /^\/quote(?:%22|")back(?:%5C|\\)slash\/?$/i;
const KOA_ROUTE = '/line\nbreak"quote\\\\back';

describe('label escaping', () => {
  async function scrapeTexts(registry: Registry) {
    return {
      prometheus: await registry.metrics(),
      openmetrics: renderJson(await json(registry), 'openmetrics'),
      prometheusFromJson: renderJson(await json(registry), 'prometheus'),
    };
  }

  it.each([
    { name: 'Express 4', factory: express4 },
    { name: 'Express 5', factory: express },
  ])('should escape a RegExp route template with " and \\ on $name', async ({ factory }) => {
    const registry = new Registry();
    const app = factory();
    app.use(expressMetrics({ registry, ...NO_DEFAULTS }));
    app.get(EXPRESS_REGEXP_ROUTE, (_req, res) => {
      res.send('ok');
    });
    await request(app).get('/quote%22back%5Cslash').expect(200);
    await waitForIdle(registry);

    const template = String(EXPRESS_REGEXP_ROUTE);
    for (const [format, text] of Object.entries(await scrapeTexts(registry))) {
      const parsed = parseExposition(text);
      expect(parsed.bad, format).toEqual([]);
      const sample = parsed.samples.find((s) => s.name === 'http_requests_total');
      expect(sample?.labels.route, format).toBe(template);
      expect(text, format).toContain('route="/^\\\\/quote(?:%22|\\")back');
    }
  });

  it.each([
    { name: 'Koa 2', Factory: Koa2 },
    { name: 'Koa 3', Factory: Koa },
  ])('should escape a route template with a newline, " and \\ on $name', async ({ Factory }) => {
    const registry = new Registry();
    const app = new Factory();
    app.use(koaMetrics({ registry, ...NO_DEFAULTS }));
    // @koa/router matches ctx.newRouterPath when set: here the decoded path, so a template with a
    // newline can match a request.
    app.use(async (ctx, next) => {
      (ctx as unknown as { newRouterPath: string }).newRouterPath = decodeURIComponent(ctx.path);
      await next();
    });
    const router = new Router();
    router.get(KOA_ROUTE, (ctx) => {
      ctx.body = 'ok';
    });
    app.use(router.routes());
    await request(app.callback()).get('/line%0Abreak%22quote%5Cback').expect(200);
    await waitForIdle(registry);

    const texts = await scrapeTexts(registry);
    for (const [format, text] of Object.entries(texts)) {
      const parsed = parseExposition(text);
      expect(parsed.bad, format).toEqual([]);
      const sample = parsed.samples.find((s) => s.name === 'http_requests_total');
      expect(sample?.labels.route, format).toBe(KOA_ROUTE);
      expect(sample?.labels.route, format).toContain('\n');
      // The raw template never appears: its newline would have split the sample line.
      expect(text.includes(KOA_ROUTE), format).toBe(false);
    }
  });

  it.each(FRAMEWORKS)(
    'should escape a custom label value with a newline, " and \\ on $name',
    async (fw) => {
      const registry = new Registry();
      const { listener } = fw.app({ options: { registry, customLabels: { note: () => HOSTILE } } });
      const { server } = await startServer(listener);
      await request(server).get('/api/users/1').expect(200);
      await waitForIdle(registry);

      for (const [format, text] of Object.entries(await scrapeTexts(registry))) {
        const parsed = parseExposition(text);
        expect(parsed.bad, format).toEqual([]);
        const lines = parsed.samples.filter((s) => s.labels.note !== undefined);
        // Counter plus the duration histogram's buckets, _sum and _count.
        expect(lines.length, format).toBeGreaterThan(3);
        expect(
          lines.every((s) => s.labels.note === HOSTILE),
          format,
        ).toBe(true);
      }
    },
  );

  const promtool = findPromtool();
  it.skipIf(promtool === undefined)(
    'should pass promtool check metrics, escaped labels and default metrics included',
    async () => {
      const registry = new Registry();
      const { listener } = FRAMEWORKS[1]!.app({
        options: { registry, collectDefaultMetrics: true, customLabels: { note: () => HOSTILE } },
      });
      const { server } = await startServer(listener);
      const agent = request(server);
      await agent.get('/api/users/1').expect(200);
      await agent.get('/missing').expect(404);
      await agent.post('/api/echo').send({ a: 1 }).expect(200);
      await waitForIdle(registry);

      const texts = [await registry.metrics(), renderJson(await json(registry), 'prometheus')];
      for (const text of texts) {
        const result = promtoolCheck(promtool!, text);
        console.log(
          `promtool check metrics: exit ${result.status}, ${text.split('\n').length} lines${result.output ? `: ${result.output}` : ''}`,
        );
        expect(result.output).toBe('');
        expect(result.status).toBe(0);
      }
    },
  );
});

describe('negotiate', () => {
  it.each<{ accept: string | undefined; format: ExpositionFormat }>([
    { accept: undefined, format: 'prometheus' },
    { accept: '', format: 'prometheus' },
    { accept: '*/*', format: 'prometheus' },
    { accept: 'text/plain', format: 'prometheus' },
    { accept: 'text/plain;version=0.0.4', format: 'prometheus' },
    { accept: 'application/json', format: 'prometheus' },
    { accept: PROMETHEUS_ACCEPT, format: 'openmetrics' },
    { accept: 'application/openmetrics-text', format: 'openmetrics' },
    { accept: 'application/openmetrics-text; version=1.0.0', format: 'openmetrics' },
    { accept: 'text/plain;q=0.5, application/openmetrics-text;q=0.9', format: 'openmetrics' },
    { accept: 'application/openmetrics-text;q=0.3,text/plain;q=0.8', format: 'prometheus' },
    { accept: 'application/openmetrics-text;q=0', format: 'prometheus' },
    { accept: 'application/openmetrics-text;q=0.5,*/*;q=0.9', format: 'prometheus' },
    { accept: 'application/openmetrics-text;q=oops,text/plain;q=0.1', format: 'prometheus' },
    // Media types are case-insensitive (RFC 9110, section 8.3.1).
    { accept: 'Application/OpenMetrics-Text; version=1.0.0', format: 'openmetrics' },
  ])('should choose $format for Accept: $accept', ({ accept, format }) => {
    expect(negotiate(accept)).toBe(format);
  });
});

describe('renderJson', () => {
  const METRICS: JsonInput = [
    {
      name: 'jobs_total',
      help: 'Jobs done',
      type: 'counter',
      values: [{ labels: { queue: 'a' }, value: 3 }],
    },
    {
      name: 'temperature',
      help: 'Help with "quotes" and \\ and\nnewline',
      type: 'gauge',
      values: [
        { labels: {}, value: Number.NaN },
        { labels: { side: 'hot' }, value: Infinity },
        { labels: { side: 'cold' }, value: -Infinity },
      ],
    },
    {
      name: 'latency_seconds',
      help: 'Latency',
      type: 'histogram',
      values: [
        {
          labels: { le: 0.1 },
          value: 1,
          metricName: 'latency_seconds_bucket',
          exemplar: { labelSet: { trace_id: 'abc' }, value: 0.05, timestamp: 1700000000.5 },
        },
        { labels: { le: '+Inf' }, value: 1, metricName: 'latency_seconds_bucket' },
        { labels: {}, value: 0.05, metricName: 'latency_seconds_sum' },
        { labels: {}, value: 1, metricName: 'latency_seconds_count' },
      ],
    },
  ];

  it('should render OpenMetrics: counter families without _total, samples with it, # EOF last', () => {
    const text = renderJson(METRICS, 'openmetrics');
    expect(text.endsWith('\n# EOF\n')).toBe(true);
    expect(text).toContain('# TYPE jobs counter\n');
    expect(text).toContain('jobs_total{queue="a"} 3\n');
    expect(text).toContain(
      'latency_seconds_bucket{le="0.1"} 1 # {trace_id="abc"} 0.05 1700000000.5\n',
    );
    expect(text).toContain('temperature NaN\n');
    expect(text).toContain('temperature{side="hot"} +Inf\n');
    expect(text).toContain('temperature{side="cold"} -Inf\n');
    expect(text).toContain('# HELP temperature Help with \\"quotes\\" and \\\\ and\\nnewline\n');
    expect(parseExposition(text).bad).toEqual([]);
  });

  it('should render an empty registry as prom-client does, and as valid OpenMetrics', async () => {
    const registry = new Registry();
    expect(renderJson(await json(registry), 'prometheus')).toBe(await registry.metrics());
    const om = renderJson(await json(registry), 'openmetrics');
    expect(om).toBe('# EOF\n');
    expect(parseExposition(om).bad).toEqual([]);
  });

  it('should render the Prometheus text format: _total families and no exemplars', () => {
    const text = renderJson(METRICS, 'prometheus');
    expect(text).toContain('# TYPE jobs_total counter\n');
    expect(text).toContain('jobs_total{queue="a"} 3\n');
    expect(text).toContain('latency_seconds_bucket{le="0.1"} 1\n');
    expect(text).not.toContain('# {');
    expect(text).not.toContain('# EOF');
    expect(parseExposition(text).bad).toEqual([]);
  });

  it('should leave a registry renderable in both formats, in any order', async () => {
    const registry = new Registry();
    const { listener } = FRAMEWORKS[1]!.app({ options: { registry } });
    const { server } = await startServer(listener);
    await request(server).get('/api/users/1').expect(200);
    await waitForIdle(registry);

    const first = await render(registry, 'prometheus');
    const om = await render(registry, 'openmetrics');
    const again = await render(registry, 'prometheus');
    expect(again).toBe(first);
    expect(first).toContain('# TYPE http_requests_total counter');
    expect(om).toContain('# TYPE http_requests counter');
    expect(om).toContain(
      'http_requests_total{method="GET",route="/api/users/:id",status_code="200"} 1',
    );
  });

  it('should export the two content types', () => {
    expect(PROMETHEUS_CONTENT_TYPE).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(OPENMETRICS_CONTENT_TYPE).toBe(
      'application/openmetrics-text; version=1.0.0; charset=utf-8',
    );
  });
});

describe.each(FRAMEWORKS)('exemplars on $name', (fw) => {
  const TRACE = 'a'.repeat(32);
  const SPAN = 'b'.repeat(16);
  const EXEMPLAR = `# {trace_id="${TRACE}",span_id="${SPAN}"}`;

  async function scrape(options: MetricsOptions, accept?: string) {
    const registry = new Registry();
    const { listener } = fw.app({ options: { registry, ...options }, metricsHandler: {} });
    const { server } = await startServer(listener);
    const agent = request(server);
    await agent.get('/api/users/1').expect(200);
    await waitForIdle(registry);
    const req = agent.get('/metrics');
    const res = await (accept ? req.set('accept', accept) : req).expect(200);
    return { text: res.text, type: String(res.headers['content-type']) };
  }

  const sampled = () =>
    setTraceContextProvider(() => ({ traceId: TRACE, spanId: SPAN, sampled: true }));

  it('should attach the sampled trace to a duration bucket in an OpenMetrics scrape', async () => {
    sampled();
    const { text, type } = await scrape({}, PROMETHEUS_ACCEPT);
    expect(type).toBe(OPENMETRICS_CONTENT_TYPE);
    const lines = text.split('\n').filter((l) => l.includes(EXEMPLAR));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^http_request_duration_seconds_bucket\{method="GET",route="\/api\/users\/:id",status_code="200",le="[^"]+"\} 1 # \{trace_id="a{32}",span_id="b{16}"\} \d[\d.e-]* \d+(\.\d+)?$/,
    );
    expect(parseExposition(text).bad).toEqual([]);
  });

  it('should attach no exemplar for an unsampled trace', async () => {
    setTraceContextProvider(() => ({ traceId: TRACE, spanId: SPAN, sampled: false }));
    const { text } = await scrape({}, PROMETHEUS_ACCEPT);
    expect(text).toContain('http_request_duration_seconds_bucket');
    expect(text).not.toContain(' # {');
  });

  it('should attach no exemplar with exemplars: false', async () => {
    sampled();
    const { text } = await scrape({ exemplars: false }, PROMETHEUS_ACCEPT);
    expect(text).toContain('http_request_duration_seconds_bucket');
    expect(text).not.toContain(' # {');
  });

  it('should never put exemplars in the Prometheus text format', async () => {
    sampled();
    const { text, type } = await scrape({});
    expect(type).toBe(PROMETHEUS_CONTENT_TYPE);
    expect(text).toContain('http_request_duration_seconds_bucket');
    expect(text).not.toContain(' # {');
    expect(text).not.toContain(TRACE);
  });

  it('should serve the request when the trace context provider throws', async () => {
    setTraceContextProvider(() => {
      throw new Error('tracing broke');
    });
    const { text } = await scrape({}, PROMETHEUS_ACCEPT);
    expect(text).toContain(
      'http_requests_total{method="GET",route="/api/users/:id",status_code="200"} 1',
    );
    expect(text).not.toContain(' # {');
  });
});
