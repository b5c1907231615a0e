// /metrics/summary on Express 4/5 and Koa 2/3: totals, success rate, top routes with latency
// percentiles, the series read under each naming scheme and prefix, sections, token, methods, path,
// and the error codes of the two handlers.
import type { RequestListener } from 'node:http';
import Router from '@koa/router';
import express, { type ErrorRequestHandler } from 'express';
import Koa from 'koa';
import { Counter, Histogram, Registry } from 'prom-client';
import request from 'supertest';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  METRICS_ERROR_CODES,
  type MetricsOptions,
  type MetricsSummary,
  type MetricsSummaryOptions,
  VigilError,
  expressMetrics,
  expressMetricsSummaryHandler,
  koaMetrics,
  koaMetricsSummaryHandler,
} from '@vigil/metrics';
import { FRAMEWORKS, type Framework, Koa2, express4 } from './support/frameworks';
import { closeServers, startServer } from '@vigil/test-utils';
import { sumValues, waitFor, waitForCount, waitForIdle } from '@vigil/test-utils';

const TOKEN = 'vigil-summary-token-0123456789';
const savedToken = process.env.VIGIL_METRICS_TOKEN;
beforeEach(() => {
  delete process.env.VIGIL_METRICS_TOKEN;
});
afterEach(async () => {
  if (savedToken === undefined) delete process.env.VIGIL_METRICS_TOKEN;
  else process.env.VIGIL_METRICS_TOKEN = savedToken;
  await closeServers();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * An app with the metrics middleware, the summary at GET /metrics/summary, and four routes:
 * GET /api/users/:id (200), GET /api/slow (200 after 30 ms), GET /api/fail (500), GET /api/bad (400).
 */
function summaryApp(
  fw: Framework,
  registry: Registry,
  summary: MetricsSummaryOptions = {},
  metrics: MetricsOptions = {},
): RequestListener {
  const options = { registry, collectDefaultMetrics: false, ...metrics };
  const handlerOptions = { registry, ...summary };
  if (fw.kind === 'express') {
    const factory = fw.name === 'express4' ? express4 : express;
    const app = factory();
    app.use(expressMetrics(options));
    app.get('/metrics/summary', expressMetricsSummaryHandler(handlerOptions));
    const api = factory.Router();
    api.get('/users/:id', (req, res) => {
      res.json({ id: req.params.id });
    });
    api.get('/slow', (_req, res) => {
      setTimeout(() => res.json({ slow: true }), 30);
    });
    api.get('/fail', () => {
      throw new Error('boom');
    });
    api.get('/bad', (_req, res) => {
      res.status(400).json({ bad: true });
    });
    app.use('/api', api);
    const onError: ErrorRequestHandler = (_err, _req, res, _next) => {
      res.status(500).json({ error: 'boom' });
    };
    app.use(onError);
    return app;
  }
  const app = new (fw.name === 'koa2' ? Koa2 : Koa)();
  app.silent = true;
  app.use(koaMetrics(options));
  const router = new Router();
  router.get('/metrics/summary', koaMetricsSummaryHandler(handlerOptions));
  router.get('/api/users/:id', (ctx) => {
    ctx.body = { id: ctx.params.id };
  });
  router.get('/api/slow', async (ctx) => {
    await sleep(30);
    ctx.body = { slow: true };
  });
  router.get('/api/fail', () => {
    throw new Error('boom');
  });
  router.get('/api/bad', (ctx) => {
    ctx.status = 400;
    ctx.body = { bad: true };
  });
  app.use(router.routes()).use(router.allowedMethods());
  const handle = app.callback();
  return (req, res) => void handle(req, res);
}

async function traffic(origin: string): Promise<void> {
  for (const path of ['/api/users/1', '/api/users/2', '/api/users/3', '/api/slow', '/api/slow']) {
    await request(origin).get(path).expect(200);
  }
  await request(origin).get('/api/fail').expect(500);
  await request(origin).get('/api/bad').expect(400);
  await request(origin).get('/nowhere').expect(404);
}

describe.each(FRAMEWORKS)('metrics summary on $name', (fw) => {
  it('should summarise totals, success rate and the busiest routes, and not count itself', async () => {
    const registry = new Registry();
    const { origin } = await startServer(summaryApp(fw, registry));
    await traffic(origin);
    await waitForCount(registry, 8);
    const first = await request(origin).get('/metrics/summary').expect(200);
    expect(first.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(first.headers['cache-control']).toBe('no-store');
    const second = await request(origin).get('/metrics/summary').expect(200);
    const summary = second.body as MetricsSummary;

    expect(summary.requests).toEqual({
      total: 8,
      errors: 1,
      clientErrors: 2,
      aborted: 0,
      successRate: 1 - 1 / 8,
    });
    expect(summary.uptimeSeconds).toBeGreaterThan(0);
    expect(Date.parse(summary.timestamp)).not.toBeNaN();
    expect(summary.topRoutes.map(({ p50: _p50, p95: _p95, ...r }) => r)).toEqual([
      { method: 'GET', route: '/api/users/:id', requests: 3, errors: 0 },
      { method: 'GET', route: '/api/slow', requests: 2, errors: 0 },
      { method: 'GET', route: '/api/bad', requests: 1, errors: 0 },
      { method: 'GET', route: '/api/fail', requests: 1, errors: 1 },
      { method: 'GET', route: '<unmatched>', requests: 1, errors: 0 },
    ]);
    const slow = summary.topRoutes.find((r) => r.route === '/api/slow')!;
    // Both requests took at least 30 ms: the interpolated median lies in a bucket above 25 ms.
    expect(slow.p50).toBeGreaterThan(0.025);
    expect(slow.p95).toBeGreaterThanOrEqual(slow.p50!);
  });

  it('should add each section, computed per request, and show a failing one as an error', async () => {
    const registry = new Registry();
    let calls = 0;
    const warnings: string[] = [];
    const logger = { warn: (_obj: object, msg?: string) => void warnings.push(msg ?? '') };
    const { origin } = await startServer(
      summaryApp(fw, registry, {
        logger,
        sections: {
          business: () => ({ uploads_total: { total: ++calls } }),
          later: async () => {
            await sleep(1);
            return ['async', 'section'];
          },
          broken: () => {
            throw new Error('section exploded');
          },
        },
      }),
    );
    await request(origin).get('/metrics/summary').expect(200);
    const { body } = await request(origin).get('/metrics/summary').expect(200);
    expect(body).toMatchObject({
      business: { uploads_total: { total: 2 } },
      later: ['async', 'section'],
      broken: { error: 'section exploded' },
    });
    expect(warnings).toEqual(['@vigil/metrics: summary section "broken" failed']);
  });

  it('should require the token when one is set, and answer HEAD', async () => {
    const registry = new Registry();
    const { origin } = await startServer(summaryApp(fw, registry, { token: TOKEN }));
    const denied = await request(origin).get('/metrics/summary').expect(401);
    expect(denied.headers['www-authenticate']).toBe('Bearer');
    expect(denied.text).toBe('');
    await request(origin).get('/metrics/summary').set('Authorization', 'Bearer wrong').expect(401);
    await request(origin)
      .get('/metrics/summary')
      .set('Authorization', `Bearer ${TOKEN}`)
      .expect(200);
    const head = await request(origin)
      .head('/metrics/summary')
      .set('Authorization', `Bearer ${TOKEN}`)
      .expect(200);
    expect(Number(head.headers['content-length'])).toBeGreaterThan(0);
  });
});

describe('metrics summary options', () => {
  // The names are written out here on purpose: the summary and the middleware share one table in
  // the source, and this pins both to the documented names.
  it.each([
    {
      namingScheme: 'prometheus',
      prefix: '',
      requests: 'http_requests_total',
      inFlight: 'http_requests_in_flight',
      route: 'route',
    },
    {
      namingScheme: 'prometheus',
      prefix: 'shop_',
      requests: 'http_requests_total',
      inFlight: 'http_requests_in_flight',
      route: 'route',
    },
    {
      namingScheme: 'opentelemetry',
      prefix: '',
      requests: 'http_server_request_duration_seconds_count',
      inFlight: 'http_server_active_requests',
      route: 'http_route',
    },
    {
      namingScheme: 'opentelemetry',
      prefix: 'shop_',
      requests: 'http_server_request_duration_seconds_count',
      inFlight: 'http_server_active_requests',
      route: 'http_route',
    },
  ] as const)(
    'should read the series the middleware wrote under the $namingScheme names and prefix "$prefix"',
    async ({ namingScheme, prefix, requests, inFlight, route }) => {
      const registry = new Registry();
      const fw = FRAMEWORKS.find((f) => f.name === 'express5')!;
      const names = { namingScheme, prefix };
      const { origin } = await startServer(summaryApp(fw, registry, names, names));
      await traffic(origin);
      await waitFor(
        async () => (await sumValues(registry, prefix + requests)) >= 8,
        `${prefix + requests} to reach 8`,
      );
      await waitForIdle(registry, prefix + inFlight);
      const { body } = await request(origin).get('/metrics/summary').expect(200);
      const summary = body as MetricsSummary;

      expect(summary.requests).toMatchObject({ total: 8, errors: 1, clientErrors: 2 });
      const users = await sumValues(registry, prefix + requests, { [route]: '/api/users/:id' });
      expect(summary.topRoutes[0]).toMatchObject({ route: '/api/users/:id', requests: users });
      expect(users).toBe(3);
      // The percentiles come from the duration histogram: found under the same scheme and prefix.
      expect(summary.topRoutes.find((r) => r.route === '/api/slow')?.p50).toBeGreaterThan(0.025);
    },
  );

  it.each([
    { name: 'another prefix', summary: { prefix: 'other_' } },
    { name: 'the other naming scheme', summary: { namingScheme: 'opentelemetry' as const } },
  ])('should read nothing when given $name than the middleware', async ({ summary }) => {
    const registry = new Registry();
    const fw = FRAMEWORKS.find((f) => f.name === 'express5')!;
    const { origin } = await startServer(summaryApp(fw, registry, summary));
    await traffic(origin);
    await waitForCount(registry, 8);
    const { body } = await request(origin).get('/metrics/summary').expect(200);
    expect((body as MetricsSummary).requests.total).toBe(0);
    expect((body as MetricsSummary).topRoutes).toEqual([]);
  });

  it('should list at most topRoutes routes', async () => {
    const registry = new Registry();
    const fw = FRAMEWORKS.find((f) => f.name === 'koa3')!;
    const { origin } = await startServer(summaryApp(fw, registry, { topRoutes: 2 }));
    await traffic(origin);
    await waitForCount(registry, 8);
    const { body } = await request(origin).get('/metrics/summary').expect(200);
    expect((body as MetricsSummary).topRoutes.map((r) => r.route)).toEqual([
      '/api/users/:id',
      '/api/slow',
    ]);
  });

  it('should interpolate percentiles from the buckets as histogram_quantile() does', async () => {
    const registry = new Registry();
    const labelNames = ['method', 'route', 'status_code'];
    const counter = new Counter({
      name: 'http_requests_total',
      help: 'Requests',
      labelNames,
      registers: [registry],
    });
    const histogram = new Histogram({
      name: 'http_request_duration_seconds',
      help: 'Durations',
      labelNames,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25],
      registers: [registry],
    });
    const labels = { method: 'GET', route: '/r', status_code: '200' };
    for (const v of [0.003, 0.003, 0.003, 0.003, 0.02, 0.02, 0.02, 0.02, 0.2, 0.2]) {
      counter.inc(labels);
      histogram.observe(labels, v);
    }
    const app = express();
    app.get('/metrics/summary', expressMetricsSummaryHandler({ registry }));
    const { origin } = await startServer(app);
    const { body } = await request(origin).get('/metrics/summary').expect(200);
    // p50: rank 5 of 10 falls in (0.01, 0.025] holding 4 of them, 4 below: 0.01 + 0.015 * 1/4.
    // p95: rank 9.5 falls in (0.1, 0.25] holding 2, 8 below: 0.1 + 0.15 * 1.5/2.
    expect((body as MetricsSummary).topRoutes).toEqual([
      { method: 'GET', route: '/r', requests: 10, errors: 0, p50: 0.01375, p95: 0.2125 },
    ]);
  });

  it('should answer only its path when given one, and pass other requests on', async () => {
    const registry = new Registry();
    const app = new Koa();
    app.use(koaMetricsSummaryHandler({ registry, path: '/metrics/summary' }));
    app.use((ctx) => {
      ctx.body = 'app';
    });
    const handle = app.callback();
    const { origin } = await startServer((req, res) => void handle(req, res));
    await request(origin).get('/metrics/summary?x=1').expect(200).expect('Content-Type', /json/);
    await request(origin).get('/other').expect(200, 'app');
    await request(origin).post('/metrics/summary').expect(405).expect('Allow', 'GET, HEAD');
  });

  it('should answer only its path under app.use() on Express too', async () => {
    const app = express();
    app.use(expressMetricsSummaryHandler({ registry: new Registry(), path: '/metrics/summary' }));
    app.use((_req, res) => {
      res.send('app');
    });
    const { origin } = await startServer(app);
    await request(origin).get('/metrics/summary').expect(200).expect('Content-Type', /json/);
    await request(origin).get('/metrics').expect(200, 'app');
    await request(origin).delete('/metrics/summary').expect(405).expect('Allow', 'GET, HEAD');
  });
});

describe('metrics summary error codes', () => {
  const loose = (fn: unknown) => fn as (...args: unknown[]) => unknown;
  const C = METRICS_ERROR_CODES;

  it.each([
    {
      name: 'a section named like a built-in key',
      call: () => expressMetricsSummaryHandler({ sections: { requests: () => 1 } }),
      code: C.INVALID_OPTION,
      message:
        /expressMetricsSummaryHandler\(\): option "sections.requests" must be a section name other than timestamp, uptimeSeconds, requests, topRoutes/,
    },
    {
      name: 'a section that is not a function',
      call: () => loose(koaMetricsSummaryHandler)({ sections: { business: { total: 1 } } }),
      code: C.INVALID_OPTION,
      message: /koaMetricsSummaryHandler\(\): option "sections.business" must be a function/,
    },
    {
      name: 'topRoutes out of range',
      call: () => expressMetricsSummaryHandler({ topRoutes: 101 }),
      code: C.INVALID_OPTION,
      message: /option "topRoutes" must be an integer from 0 to 100, received 101/,
    },
    {
      name: 'an unknown option',
      call: () => loose(expressMetricsSummaryHandler)({ openMetrics: true }),
      code: C.UNKNOWN_OPTION,
      message:
        /option "openMetrics" must be one of registry, prefix, namingScheme, topRoutes, sections, token, path, logger/,
    },
    {
      name: 'a short token',
      call: () => expressMetricsSummaryHandler({ token: 'short' }),
      code: C.INVALID_OPTION,
      message: /option "token" must be a string of at least 16 characters/,
    },
    {
      name: 'a bad prefix',
      call: () => expressMetricsSummaryHandler({ prefix: '9x' }),
      code: C.INVALID_PREFIX,
      message: /option "prefix" must be a valid start of a Prometheus metric name/,
    },
    {
      name: 'a registry that is not one',
      call: () => loose(koaMetricsSummaryHandler)({ registry: {} }),
      code: C.INVALID_REGISTRY,
      message: /option "registry" must be a prom-client Registry/,
    },
  ])('should throw $code for $name', ({ call, code, message }) => {
    let thrown: unknown;
    try {
      call();
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(VigilError);
    expect((thrown as VigilError).code).toBe(code);
    expect((thrown as VigilError).message).toMatch(message);
  });

  it('should explain a handler mounted without its call', async () => {
    const app = express();
    app.use(expressMetricsSummaryHandler as never);
    const seen: unknown[] = [];
    const onError: ErrorRequestHandler = (err, _req, res, _next) => {
      seen.push(err);
      res.status(500).end();
    };
    app.use(onError);
    const { origin } = await startServer(app);
    await request(origin).get('/metrics/summary').expect(500);
    expect((seen[0] as VigilError).code).toBe(C.NOT_CALLED);
    expect((seen[0] as VigilError).message).toMatch(
      /It returns the summary endpoint: serve the result on its route\. Fix: `app\.get\('\/metrics\/summary', expressMetricsSummaryHandler\(\)\)`\./,
    );
  });
});
