// The three probes through real Express 4/5 and Koa 2/3 servers: status codes, the health+json body,
// startup gating, terse mode, the token, HEAD and 405, the metrics, and passing other requests on.
import type { RequestListener } from 'node:http';
import express from 'express';
import Koa from 'koa';
import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  HEALTH_CONTENT_TYPE,
  type Health,
  type HealthOptions,
  check,
  createHealth,
  eventLoopCheck,
  expressHealth,
  koaHealth,
  memoryCheck,
} from '@vigil/health';
import { Koa2, closeServers, express4, send, startServer } from '@vigil/test-utils';

const TOKEN = 'health-test-token-0123456789';
const created: Health[] = [];

/** A parsed application/health+json body, as the tests read it. */
interface Body {
  status: string;
  output?: string;
  checks?: Record<string, Record<string, unknown>[]>;
}

/** The one object of a check's entry. */
const first = (body: Body, key: string): Record<string, unknown> => body.checks?.[key]?.[0] ?? {};
const savedToken = process.env.VIGIL_HEALTH_TOKEN;

beforeEach(() => {
  delete process.env.VIGIL_HEALTH_TOKEN;
});
afterEach(async () => {
  if (savedToken === undefined) delete process.env.VIGIL_HEALTH_TOKEN;
  else process.env.VIGIL_HEALTH_TOKEN = savedToken;
  for (const h of created.splice(0)) h.close();
  await closeServers();
});

type FrameworkName = 'express4' | 'express5' | 'koa2' | 'koa3';
const FRAMEWORKS: FrameworkName[] = ['express4', 'express5', 'koa2', 'koa3'];

/** An app of `framework` with the health endpoints and one route of its own, `/api/items`. */
function app(framework: FrameworkName, health: Health): RequestListener {
  if (framework.startsWith('express')) {
    const e = framework === 'express4' ? express4() : express();
    e.use(expressHealth(health));
    e.get('/api/items', (_req, res) => {
      res.json({ items: [] });
    });
    e.post('/health/ready', (_req, res) => {
      res.send('app');
    });
    return e;
  }
  const k = framework === 'koa2' ? new Koa2() : new Koa();
  k.use(koaHealth(health));
  k.use((ctx) => {
    if (ctx.path === '/api/items') ctx.body = { items: [] };
  });
  const callback = k.callback();
  return (req, res) => {
    void callback(req, res);
  };
}

async function serve(framework: FrameworkName, options: HealthOptions) {
  const health = createHealth({ shutdown: false, registry: false, ...options });
  created.push(health);
  const { port } = await startServer(app(framework, health));
  const get = async (path: string, headers?: Record<string, string>, method = 'GET') => {
    const r = await send(port, { path, headers, method });
    return {
      status: r.status,
      type: r.headers['content-type'],
      body: (r.body ? JSON.parse(r.body) : {}) as Body,
      headers: r.headers,
    };
  };
  return { health, port, get };
}

describe.each(FRAMEWORKS)('health endpoints on %s', (framework) => {
  it('should gate readiness and startup until markStarted(), and keep liveness passing', async () => {
    const { health, get } = await serve(framework, {});
    const before = await Promise.all(
      ['/health/live', '/health/ready', '/health/startup'].map((p) => get(p)),
    );
    console.log(
      `[health] ${framework} before markStarted: ${before.map((r) => r.status).join(', ')}`,
    );
    expect(before.map((r) => r.status)).toEqual([200, 503, 503]);
    expect(before[1]?.body).toEqual({ status: 'fail', output: 'starting' });
    expect(before[0]?.type).toBe(HEALTH_CONTENT_TYPE);
    expect(health.phase).toBe('starting');
    health.markStarted();
    const after = await Promise.all(
      ['/health/live', '/health/ready', '/health/startup'].map((p) => get(p)),
    );
    expect(after.map((r) => r.status)).toEqual([200, 200, 200]);
    expect(after.map((r) => r.body.status)).toEqual(['pass', 'pass', 'pass']);
    expect(after[1]?.headers['cache-control']).toBe('no-store');
    expect(health.phase).toBe('running');
  });

  it('should give each check its name:measurement entry, with a critical failure failing readiness only', async () => {
    const { get } = await serve(framework, {
      started: true,
      liveness: [eventLoopCheck(), memoryCheck()],
      readiness: [
        check('database', () => undefined, { componentType: 'datastore' }),
        check('cache', () => {
          throw new Error('connection refused');
        }),
      ],
    });
    const live = await get('/health/live');
    expect(live.status).toBe(200);
    expect(Object.keys(live.body.checks ?? {})).toEqual(['eventLoop:delay', 'memory:utilization']);
    const ready = await get('/health/ready');
    expect(ready.status).toBe(503);
    expect(ready.body.status).toBe('fail');
    expect(Object.keys(ready.body.checks ?? {}).sort()).toEqual([
      'cache:responseTime',
      'database:responseTime',
      'eventLoop:delay',
      'memory:utilization',
    ]);
    const db = first(ready.body, 'database:responseTime');
    expect(db).toMatchObject({ componentType: 'datastore', status: 'pass', observedUnit: 'ms' });
    expect(typeof db.observedValue).toBe('number');
    expect(Number.isNaN(Date.parse(String(db.time)))).toBe(false);
    expect(first(ready.body, 'cache:responseTime')).toMatchObject({
      status: 'fail',
      output: 'connection refused',
    });
    expect(first(ready.body, 'eventLoop:delay')).toMatchObject({ observedUnit: 'ms' });
  });

  it('should answer warn with 200 when only a non-critical check fails', async () => {
    const { get } = await serve(framework, {
      started: true,
      readiness: [check('search', () => false, { critical: false }), check('db', () => true)],
    });
    const ready = await get('/health/ready');
    expect(ready.status).toBe(200);
    expect(ready.body.status).toBe('warn');
    expect(first(ready.body, 'search:responseTime').status).toBe('fail');
  });

  it('should answer only the status in terse mode', async () => {
    const { get } = await serve(framework, {
      started: true,
      terse: true,
      readiness: [check('db', () => ({ status: 'warn', output: 'slow' }))],
    });
    const ready = await get('/health/ready');
    expect(ready.status).toBe(200);
    expect(ready.body).toEqual({ status: 'warn' });
  });

  it('should want the token when one is set, from the option or VIGIL_HEALTH_TOKEN', async () => {
    process.env.VIGIL_HEALTH_TOKEN = TOKEN;
    const { get } = await serve(framework, { started: true });
    const denied = await get('/health/live');
    expect(denied.status).toBe(401);
    expect(denied.headers['www-authenticate']).toBe('Bearer');
    expect(denied.body).toEqual({});
    const wrong = await get('/health/live', { authorization: 'Bearer nope-nope-nope-nope' });
    expect(wrong.status).toBe(401);
    const ok = await get('/health/live', { authorization: `Bearer ${TOKEN}` });
    expect(ok.status).toBe(200);
  });

  it('should answer HEAD without a body and other methods with 405, and pass other paths on', async () => {
    const { port, get } = await serve(framework, { started: true });
    const head = await send(port, { path: '/health/ready', method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.body).toBe('');
    expect(head.headers['content-type']).toBe(HEALTH_CONTENT_TYPE);
    const post = await send(port, { path: '/health/live', method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.allow).toBe('GET, HEAD');
    const items = await get('/api/items');
    expect(items.status).toBe(200);
    expect(items.body).toEqual({ items: [] });
    expect((await send(port, { path: '/health/ready/?x=1' })).status).toBe(200);
    expect((await send(port, { path: '/healthz' })).status).toBe(404);
  });
});

describe('health metrics', () => {
  it('should expose health_check_status and health_check_duration_seconds per check', async () => {
    const registry = new Registry();
    const health = createHealth({
      started: true,
      shutdown: false,
      registry,
      readiness: [check('db', () => true), check('queue', () => false, { critical: false })],
    });
    created.push(health);
    await health.probe('ready');
    const text = await registry.metrics();
    console.log(`[health] exposition:\n${text.trim()}`);
    expect(text).toContain('# TYPE health_check_status gauge');
    expect(text).toContain('health_check_status{check="db"} 1');
    expect(text).toContain('health_check_status{check="queue"} 0');
    expect(text).toMatch(/health_check_duration_seconds\{check="db"\} \d/);
    // A second instance on the same registry shares the gauges instead of failing.
    created.push(createHealth({ shutdown: false, registry, readiness: [check('db', () => true)] }));
  });
});

describe('HEAD on a failing probe', () => {
  it('should answer 503 with the headers and no body', async () => {
    const health = createHealth({ shutdown: false, registry: false });
    created.push(health);
    const { port } = await startServer(app('express5', health));
    const head = await send(port, { path: '/health/ready', method: 'HEAD' });
    expect(head.status).toBe(503);
    expect(head.body).toBe('');
    expect(head.headers['content-type']).toBe(HEALTH_CONTENT_TYPE);
  });
});
