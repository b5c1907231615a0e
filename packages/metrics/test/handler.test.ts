// The scrape endpoint: formats, token, methods, path, the standalone server and VIGIL_METRICS_TOKEN.
import type { RequestListener } from 'node:http';
import express from 'express';
import Koa from 'koa';
import { Counter, Gauge, type OpenMetricsContentType, Registry } from 'prom-client';
import request from 'supertest';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  METRICS_ERROR_CODES,
  type MetricsHandlerOptions,
  OPENMETRICS_CONTENT_TYPE,
  PROMETHEUS_CONTENT_TYPE,
  expressMetricsHandler,
  koaMetricsHandler,
  startMetricsServer,
} from '@vigil/metrics';
import { FRAMEWORKS, type Framework, Koa2, express4 } from './support/frameworks';
import { parseExposition } from './support/exposition';
import { closeServers, startServer } from '@vigil/test-utils';
import { sampleValue, waitForIdle } from '@vigil/test-utils';

const PROMETHEUS_ACCEPT =
  'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';
const TOKEN = 'vigil-test-token-0123456789';

const savedToken = process.env.VIGIL_METRICS_TOKEN;
beforeEach(() => {
  delete process.env.VIGIL_METRICS_TOKEN;
});
afterEach(async () => {
  if (savedToken === undefined) delete process.env.VIGIL_METRICS_TOKEN;
  else process.env.VIGIL_METRICS_TOKEN = savedToken;
  await closeServers();
});

/** A registry with a counter and a gauge of the app's own. */
function appRegistry(): Registry {
  const registry = new Registry();
  new Counter({ name: 'jobs_processed_total', help: 'Jobs processed', registers: [registry] }).inc(
    3,
  );
  new Gauge({ name: 'queue_depth', help: 'Queue depth', registers: [registry] }).set(7);
  return registry;
}

/** An app whose only middleware is the handler, then a fallback answering 'app'. */
function handlerApp(fw: Framework, options: MetricsHandlerOptions): RequestListener {
  if (fw.kind === 'express') {
    const app = (fw.name === 'express4' ? express4 : express)();
    app.use(expressMetricsHandler(options));
    app.use((_req, res) => {
      res.send('app');
    });
    return app;
  }
  const app = new (fw.name === 'koa2' ? Koa2 : Koa)();
  app.use(koaMetricsHandler(options));
  app.use((ctx) => {
    ctx.body = 'app';
  });
  const handle = app.callback();
  return (req, res) => void handle(req, res);
}

describe.each(FRAMEWORKS)('scrape handler on $name', (fw) => {
  async function serve(options: MetricsHandlerOptions) {
    const { server } = await startServer(handlerApp(fw, options));
    return request(server);
  }

  it('should serve the Prometheus text format by default', async () => {
    const agent = await serve({ registry: appRegistry() });
    const res = await agent.get('/metrics').expect(200);
    expect(res.headers['content-type']).toBe(PROMETHEUS_CONTENT_TYPE);
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.text).toContain('# TYPE jobs_processed_total counter');
    expect(res.text).toContain('jobs_processed_total 3');
    expect(res.text).toContain('queue_depth 7');
    expect(res.text).not.toContain('# EOF');
  });

  it('should serve OpenMetrics to the Accept header Prometheus sends', async () => {
    const agent = await serve({ registry: appRegistry() });
    const res = await agent.get('/metrics').set('accept', PROMETHEUS_ACCEPT).expect(200);
    expect(res.headers['content-type']).toBe(OPENMETRICS_CONTENT_TYPE);
    expect(res.headers['content-type']).toMatch(/^application\/openmetrics-text; version=1\.0\.0/);
    expect(res.text.endsWith('# EOF\n')).toBe(true);
    expect(res.text).toContain('# TYPE jobs_processed counter\n');
    expect(res.text).toContain('\njobs_processed_total 3\n');
    expect(res.text).toContain('# TYPE queue_depth gauge\n');

    // Every counter family: TYPE without _total, every sample with it.
    const parsed = parseExposition(res.text);
    expect(parsed.bad).toEqual([]);
    for (const [family, type] of parsed.types) {
      if (type !== 'counter') continue;
      expect(family.endsWith('_total')).toBe(false);
      const samples = parsed.samples.filter((s) => s.name.startsWith(family));
      expect(samples.length).toBeGreaterThan(0);
      expect(samples.every((s) => s.name === `${family}_total`)).toBe(true);
    }
  });

  it('should keep serving text after an OpenMetrics scrape of the same registry', async () => {
    const agent = await serve({ registry: appRegistry() });
    await agent.get('/metrics').set('accept', PROMETHEUS_ACCEPT).expect(200);
    const res = await agent.get('/metrics').expect(200);
    expect(res.headers['content-type']).toBe(PROMETHEUS_CONTENT_TYPE);
    expect(res.text).toContain('# TYPE jobs_processed_total counter');
  });

  it('should serve both formats from a registry created with the OpenMetrics content type', async () => {
    const openMetricsRegistry = new Registry<OpenMetricsContentType>();
    openMetricsRegistry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
    const registry = openMetricsRegistry as unknown as Registry;
    new Counter({
      name: 'jobs_processed_total',
      help: 'Jobs processed',
      registers: [registry],
    }).inc(3);
    const agent = await serve({ registry });
    for (let i = 0; i < 2; i++) {
      const text = await agent.get('/metrics').expect(200);
      expect(text.headers['content-type']).toBe(PROMETHEUS_CONTENT_TYPE);
      expect(text.text).toContain('# TYPE jobs_processed_total counter\njobs_processed_total 3\n');
      const om = await agent.get('/metrics').set('accept', PROMETHEUS_ACCEPT).expect(200);
      expect(om.headers['content-type']).toBe(OPENMETRICS_CONTENT_TYPE);
      expect(om.text).toContain('# TYPE jobs_processed counter\njobs_processed_total 3\n');
    }
  });

  it("should include the registry's default labels in both formats", async () => {
    const registry = appRegistry();
    registry.setDefaultLabels({ service: 'api' });
    const agent = await serve({ registry });
    const text = await agent.get('/metrics').expect(200);
    expect(text.text).toContain('jobs_processed_total{service="api"} 3');
    const om = await agent.get('/metrics').set('accept', PROMETHEUS_ACCEPT).expect(200);
    expect(om.text).toContain('jobs_processed_total{service="api"} 3');
  });

  it('should always serve text with openMetrics: false', async () => {
    const agent = await serve({ registry: appRegistry(), openMetrics: false });
    const res = await agent.get('/metrics').set('accept', PROMETHEUS_ACCEPT).expect(200);
    expect(res.headers['content-type']).toBe(PROMETHEUS_CONTENT_TYPE);
    expect(res.text).not.toContain('# EOF');
  });

  it('should answer HEAD with the headers and no body', async () => {
    const agent = await serve({ registry: appRegistry() });
    const res = await agent.head('/metrics').expect(200);
    expect(res.headers['content-type']).toBe(PROMETHEUS_CONTENT_TYPE);
    expect(Number(res.headers['content-length'])).toBeGreaterThan(0);
    expect(res.text ?? '').toBe('');
  });

  it.each(['POST', 'PUT', 'DELETE'])('should answer %s with 405 and Allow', async (method) => {
    const agent = await serve({ registry: appRegistry() });
    const res =
      await agent[method.toLowerCase() as 'post' | 'put' | 'delete']('/metrics').expect(405);
    expect(res.headers.allow).toBe('GET, HEAD');
    expect(res.text ?? '').toBe('');
  });

  it.each([
    { name: 'no Authorization header', authorization: undefined },
    { name: 'a wrong token', authorization: `Bearer ${TOKEN}x` },
    { name: 'the token without the Bearer scheme', authorization: TOKEN },
    {
      name: 'Basic credentials',
      authorization: `Basic ${Buffer.from(`u:${TOKEN}`).toString('base64')}`,
    },
    { name: 'an empty bearer', authorization: 'Bearer ' },
  ])('should answer $name with 401, WWW-Authenticate: Bearer and no body', async (c) => {
    const agent = await serve({ registry: appRegistry(), token: TOKEN });
    const req = agent.get('/metrics');
    const res = await (c.authorization === undefined
      ? req
      : req.set('authorization', c.authorization));
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer');
    expect(res.text ?? '').toBe('');
    expect(res.headers['content-type']).toBeUndefined();
  });

  it.each([`Bearer ${TOKEN}`, `bearer ${TOKEN}`])(
    'should serve the metrics to Authorization: %s',
    async (authorization) => {
      const agent = await serve({ registry: appRegistry(), token: TOKEN });
      const res = await agent.get('/metrics').set('authorization', authorization).expect(200);
      expect(res.text).toContain('jobs_processed_total 3');
    },
  );

  it('should check the token before the method', async () => {
    const agent = await serve({ registry: appRegistry(), token: TOKEN });
    await agent.post('/metrics').expect(401);
    await agent.post('/metrics').set('authorization', `Bearer ${TOKEN}`).expect(405);
  });

  it('should honour VIGIL_METRICS_TOKEN when no token is given', async () => {
    process.env.VIGIL_METRICS_TOKEN = TOKEN;
    const agent = await serve({ registry: appRegistry() });
    await agent.get('/metrics').expect(401);
    await agent.get('/metrics').set('authorization', `Bearer ${TOKEN}`).expect(200);
  });

  it('should treat an empty VIGIL_METRICS_TOKEN as unset', async () => {
    process.env.VIGIL_METRICS_TOKEN = '';
    const agent = await serve({ registry: appRegistry() });
    await agent.get('/metrics').expect(200);
  });

  it('should pass other paths on to the app with the path option', async () => {
    const agent = await serve({ registry: appRegistry(), path: '/metrics' });
    const other = await agent.get('/other').expect(200);
    expect(other.text).toBe('app');
    const nested = await agent.get('/metrics/more').expect(200);
    expect(nested.text).toBe('app');
    const metrics = await agent.get('/metrics?debug=1').expect(200);
    expect(metrics.text).toContain('jobs_processed_total 3');
  });

  it('should answer every path without the path option', async () => {
    const agent = await serve({ registry: appRegistry() });
    const res = await agent.get('/anything').expect(200);
    expect(res.text).toContain('jobs_processed_total 3');
  });

  it('should answer 500 with the reason when collecting fails', async () => {
    const registry = appRegistry();
    new Gauge({
      name: 'broken_gauge',
      help: 'Throws on collect',
      registers: [registry],
      collect() {
        throw new Error('collector broke');
      },
    });
    const agent = await serve({ registry });
    const res = await agent.get('/metrics').expect(500);
    expect(res.text).toContain('metrics collection failed: collector broke');
    const om = await agent.get('/metrics').set('accept', PROMETHEUS_ACCEPT).expect(500);
    expect(om.text).toContain('collector broke');
  });

  it('should not show a scrape in flight in its own output, nor count it', async () => {
    const registry = new Registry();
    const { listener } = fw.app({ options: { registry }, metricsHandler: {} });
    const { server } = await startServer(listener);
    const res = await request(server).get('/metrics').expect(200);
    await waitForIdle(registry);

    expect(res.text).toContain('http_requests_in_flight{method="GET"} 0');
    expect(await sampleValue(registry, 'http_requests_in_flight', { method: 'GET' })).toBe(0);
    expect(
      await sampleValue(registry, 'http_requests_total', { route: '/metrics' }),
    ).toBeUndefined();
  });
});

describe('VIGIL_METRICS_TOKEN', () => {
  it('should be validated like the token option', () => {
    process.env.VIGIL_METRICS_TOKEN = 'short';
    expect(() => expressMetricsHandler({ registry: new Registry() })).toThrow(
      expect.objectContaining({
        code: METRICS_ERROR_CODES.INVALID_OPTION,
        message: expect.stringMatching(
          /option "token" must be a string of at least 16 characters.*VIGIL_METRICS_TOKEN/,
        ),
      }),
    );
  });

  it('should give way to an explicit token option', async () => {
    process.env.VIGIL_METRICS_TOKEN = 'env-token-which-is-long-enough';
    const { server } = await startServer(
      handlerApp(FRAMEWORKS[1]!, { registry: appRegistry(), token: TOKEN }),
    );
    await request(server)
      .get('/metrics')
      .set('authorization', 'Bearer env-token-which-is-long-enough')
      .expect(401);
    await request(server).get('/metrics').set('authorization', `Bearer ${TOKEN}`).expect(200);
  });
});

describe('startMetricsServer', () => {
  const started: { close(): Promise<void> }[] = [];
  afterEach(async () => {
    await Promise.all(started.splice(0).map((s) => s.close().catch(() => undefined)));
  });

  it('should serve /metrics on its own port, 404 elsewhere, and close', async () => {
    const server = await startMetricsServer({ port: 0, registry: appRegistry() });
    started.push(server);
    expect(server.port).toBeGreaterThan(0);
    expect(server.url).toBe(`http://127.0.0.1:${server.port}/metrics`);

    const res = await fetch(server.url);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe(PROMETHEUS_CONTENT_TYPE);
    expect(await res.text()).toContain('jobs_processed_total 3');

    const om = await fetch(server.url, { headers: { accept: PROMETHEUS_ACCEPT } });
    expect(om.headers.get('content-type')).toBe(OPENMETRICS_CONTENT_TYPE);
    expect((await om.text()).endsWith('# EOF\n')).toBe(true);

    const elsewhere = await fetch(`http://127.0.0.1:${server.port}/other`);
    expect(elsewhere.status).toBe(404);
    expect(await elsewhere.text()).toBe('');

    await server.close();
    started.pop();
    await expect(fetch(server.url)).rejects.toThrow();
  });

  it('should require the token when given one', async () => {
    const server = await startMetricsServer({ port: 0, registry: appRegistry(), token: TOKEN });
    started.push(server);
    const denied = await fetch(server.url);
    expect(denied.status).toBe(401);
    expect(denied.headers.get('www-authenticate')).toBe('Bearer');
    expect(await denied.text()).toBe('');
    const allowed = await fetch(server.url, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(allowed.status).toBe(200);
  });

  it('should honour VIGIL_METRICS_TOKEN', async () => {
    process.env.VIGIL_METRICS_TOKEN = TOKEN;
    const server = await startMetricsServer({ port: 0, registry: appRegistry() });
    started.push(server);
    expect((await fetch(server.url)).status).toBe(401);
    const allowed = await fetch(server.url, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(allowed.status).toBe(200);
  });

  it('should serve another path when asked', async () => {
    const server = await startMetricsServer({ port: 0, registry: appRegistry(), path: '/scrape' });
    started.push(server);
    expect(server.url.endsWith('/scrape')).toBe(true);
    expect((await fetch(server.url)).status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${server.port}/metrics`)).status).toBe(404);
  });
});
