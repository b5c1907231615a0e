// vigil(app) on real Express 4 and 5 and Koa 2 and 3 servers: every endpoint, a traced and logged
// request, a limited route with its audit event, capabilities switched off, the operational port,
// the token, the environment variables (REDIS_URL against a real redis-server) and the error codes.
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import Router from '@koa/router';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import express from 'express';
import Koa from 'koa';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RedisServer, express4, findRedisServer, Koa2, pollFor } from '@vigil/test-utils';
import { type Tracing, ATTR_VIGIL_REQUEST_ID, startTracing } from '@vigil/tracing';
import { createAlerting, errorRatioAlert } from '@vigil/alerts';
import { check, createHealth } from '@vigil/health';
import { expressRateLimit } from '@vigil/rate-limit';
import { type Vigil, type VigilOptions, VIGIL_ERROR_CODES, ensureInstalled, vigil } from 'vigil';

type Kind = 'express' | 'koa';
type AnyApp = { listen(port: number, host: string): Server };

const FRAMEWORKS: readonly (readonly [string, Kind, () => AnyApp])[] = [
  ['Express 4', 'express', () => express4()],
  ['Express 5', 'express', () => express()],
  ['Koa 2', 'koa', () => new Koa2()],
  ['Koa 3', 'koa', () => new Koa()],
];

const TOKEN = 'a-long-operational-token-0123456789';

/** Lines written to a destination, parsed. */
function sink() {
  const lines: Record<string, unknown>[] = [];
  return {
    lines,
    write(line: string) {
      for (const l of line.split('\n')) if (l.trim() !== '') lines.push(JSON.parse(l));
      return true;
    },
  };
}

let exporter: InMemorySpanExporter;
let tracing: Tracing;
const opened: { vigil: Vigil; server?: Server }[] = [];

beforeAll(() => {
  exporter = new InMemorySpanExporter();
  tracing = startTracing({
    serviceName: 'umbrella-test',
    spanProcessors: [new SimpleSpanProcessor(exporter)],
    exporter: 'none',
    registry: false,
  });
});

afterAll(async () => {
  await tracing.shutdown();
});

afterEach(async () => {
  for (const o of opened.splice(0)) {
    if (o.server) {
      o.server.closeAllConnections();
      await new Promise((resolve) => o.server!.close(resolve));
    }
    await o.vigil.close();
  }
});

/** Quiet defaults for a test: its own registry, log and audit lines kept in memory. */
function testOptions(extra: VigilOptions = {}): VigilOptions & { log: ReturnType<typeof sink> } {
  const log = sink();
  const options = {
    registry: new Registry(),
    requestLog: { destination: log },
    audit: { destination: sink(), signals: false, default: false },
    ...extra,
  };
  // Not enumerable: vigil() does not see it as an option.
  return Object.defineProperty(options, 'log', {
    value: log,
    enumerable: false,
  }) as VigilOptions & {
    log: ReturnType<typeof sink>;
  };
}

/** The app with vigil mounted first, then two routes; listening on an ephemeral port. */
async function start(
  kind: Kind,
  make: () => AnyApp,
  options: VigilOptions,
): Promise<{ url: string; v: Vigil; server: Server }> {
  const app = make();
  const v = kind === 'koa' ? vigil.koa(app, options) : vigil(app, options);
  const entry: { vigil: Vigil; server?: Server } = { vigil: v };
  opened.push(entry);
  if (kind === 'express') {
    const a = app as unknown as express.Express;
    a.get('/api/items/:id', (req, res) => {
      res.json({ id: req.params.id });
    });
    a.post('/api/login', (_req, res) => {
      res.json({ ok: true });
    });
  } else {
    const router = new Router();
    router.get('/api/items/:id', (ctx) => {
      ctx.body = { id: ctx.params.id };
    });
    router.post('/api/login', (ctx) => {
      ctx.body = { ok: true };
    });
    (app as unknown as Koa).use(router.routes());
  }
  const server = app.listen(0, '127.0.0.1');
  entry.server = server;
  await new Promise((resolve) => server.once('listening', resolve));
  await v.ready;
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, v, server };
}

const LOGIN_POLICY = {
  policies: [
    {
      name: 'login',
      limit: 2,
      windowMs: 60_000,
      routes: ['/api/login'],
      methods: ['POST'],
    },
  ],
  store: 'memory' as const,
};

describe.each(FRAMEWORKS)('vigil on %s', (_name, kind, make) => {
  it('should answer every operational endpoint, with route labels in /metrics', async () => {
    const { url } = await start(kind, make, testOptions());
    const api = await fetch(`${url}/api/items/7`);
    expect(api.status).toBe(200);
    expect(await api.json()).toEqual({ id: '7' });
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toContain(
      'http_requests_total{method="GET",route="/api/items/:id",status_code="200"} 1',
    );
    // Operational endpoints are not counted in the app's request metrics.
    expect(metrics).not.toContain('route="/metrics"');
    for (const path of [
      '/metrics/summary',
      '/health/live',
      '/health/ready',
      '/health/startup',
      '/alerts',
      '/alerts/rules',
      '/alerts/stats',
      '/observability',
      '/_vigil',
      '/_vigil/traces',
    ]) {
      const res = await fetch(`${url}${path}`);
      expect(res.status, path).toBe(200);
      await res.arrayBuffer();
    }
    const ready = (await (await fetch(`${url}/health/ready`)).json()) as {
      checks: Record<string, unknown>;
    };
    expect(Object.keys(ready.checks)).toContain('eventLoop:delay');
    const summary = (await (await fetch(`${url}/metrics/summary`)).json()) as {
      requests: { total: number };
    };
    expect(summary.requests.total).toBe(1);
    expect(await (await fetch(`${url}/_vigil`)).text()).toContain('<!doctype html>');
  });

  it('should give a request an id, a log line and a span of one trace', async () => {
    const options = testOptions();
    const { url } = await start(kind, make, options);
    const res = await fetch(`${url}/api/items/3`);
    await res.arrayBuffer();
    const id = res.headers.get('x-request-id');
    expect(id).toMatch(/^[\w-]{8,}$/);
    const span = await pollFor(
      () => exporter.getFinishedSpans().find((s) => s.attributes[ATTR_VIGIL_REQUEST_ID] === id),
      10_000,
    );
    expect(span).toBeDefined();
    const line = await pollFor(() => options.log.lines.find((l) => l.request_id === id), 10_000);
    expect(line?.trace_id).toBe(span!.spanContext().traceId);
    expect(line?.route).toBe('/api/items/:id');
  });

  it('should limit a route with 429 and audit the decision', async () => {
    const options = testOptions({ rateLimit: LOGIN_POLICY });
    const { url, v } = await start(kind, make, options);
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${url}/api/login`, { method: 'POST' });
      await res.arrayBuffer();
      statuses.push(res.status);
    }
    expect(statuses).toEqual([200, 200, 429]);
    const event = await pollFor(
      () => v.audit!.recent().find((e) => e.type === 'rate_limit.exceeded'),
      10_000,
    );
    expect(event).toMatchObject({ type: 'rate_limit.exceeded' });
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toContain('rate_limit_requests_total{policy="login",result="limited"} 1');
    // Operational endpoints are never limited, and readiness watches the limiter's store.
    const ready = (await (await fetch(`${url}/health/ready`)).json()) as {
      checks: Record<string, unknown>;
    };
    expect(Object.keys(ready.checks)).toContain('rateLimitStore:status');
  });

  it('should mount nothing of a capability switched off', async () => {
    const { url, v } = await start(
      kind,
      make,
      testOptions({ metrics: false, health: false, alerts: false, live: false, audit: false }),
    );
    expect(v.health).toBeUndefined();
    expect(v.alerting).toBeUndefined();
    expect(v.live).toBeUndefined();
    expect(v.audit).toBeUndefined();
    for (const path of ['/metrics', '/metrics/summary', '/health/ready', '/alerts', '/_vigil']) {
      const res = await fetch(`${url}${path}`);
      await res.arrayBuffer();
      expect(res.status, path).toBe(404);
    }
    const api = await fetch(`${url}/api/items/1`);
    expect(api.status).toBe(200);
    expect(api.headers.get('x-request-id')).not.toBeNull();
  });

  it('should serve the operational endpoints on their own port', async () => {
    const { url, v } = await start(kind, make, testOptions({ operational: { port: 0 } }));
    expect(v.operationalUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    await (await fetch(`${url}/api/items/9`)).arrayBuffer();
    for (const path of ['/metrics', '/health/ready', '/alerts', '/_vigil', '/observability']) {
      const onApp = await fetch(`${url}${path}`);
      await onApp.arrayBuffer();
      expect(onApp.status, `app ${path}`).toBe(404);
      const onPort = await fetch(`${v.operationalUrl}${path}`);
      expect(onPort.status, `operational ${path}`).toBe(200);
      await onPort.arrayBuffer();
    }
    const metrics = await (await fetch(`${v.operationalUrl}/metrics`)).text();
    expect(metrics).toContain('route="/api/items/:id"');
    expect((await fetch(`${v.operationalUrl}/nothing`)).status).toBe(404);
  });

  it('should drain the server app.listen() made', async () => {
    const { url, v, server } = await start(kind, make, testOptions());
    expect((await fetch(`${url}/health/ready`)).status).toBe(200);
    await v.shutdown();
    expect(v.health?.phase).toBe('draining');
    expect(server.listening).toBe(false);
  });

  it("should run the probes' checks untraced, so a dependency's ping starts no span", async () => {
    // The dependency: a plain server the readiness check calls over HTTP every probe.
    const dependency = (await import('node:http')).createServer((_req, res) => res.end('ok'));
    await new Promise<void>((resolve) => dependency.listen(0, '127.0.0.1', resolve));
    const depUrl = `http://127.0.0.1:${(dependency.address() as AddressInfo).port}/ping`;
    try {
      const { url } = await start(
        kind,
        make,
        testOptions({
          health: {
            readiness: [
              check('dependency', async () => {
                const res = await fetch(depUrl);
                await res.arrayBuffer();
                return res.ok;
              }),
            ],
          },
        }),
      );
      exporter.reset();
      const ready = await fetch(`${url}/health/ready`);
      expect(ready.status).toBe(200);
      expect(JSON.stringify(await ready.json())).toContain('dependency');
      // A request of the app's own is traced as usual, so the exporter does see the app's spans.
      await (await fetch(`${url}/api/items/7`)).arrayBuffer();
      const appSpan = await pollFor(
        () =>
          exporter.getFinishedSpans().find((s) => s.attributes['http.route'] === '/api/items/:id'),
        5000,
      );
      expect(appSpan).toBeDefined();
      const spans = exporter.getFinishedSpans();
      // None of the check's call: no client span to the dependency, whatever its name.
      expect(
        spans.filter((s) => JSON.stringify(s.attributes).includes(depUrl.split('/ping')[0]!)),
      ).toEqual([]);
    } finally {
      await new Promise((resolve) => dependency.close(resolve));
    }
  });

  it('should require the one token on every operational endpoint but the probes, which turn terse', async () => {
    const { url } = await start(kind, make, testOptions({ token: TOKEN }));
    // Probes carry no header (Kubernetes, load balancers): open, but only their status.
    for (const path of ['/health/live', '/health/ready', '/health/startup']) {
      const probe = await fetch(`${url}${path}`);
      expect(probe.status, path).toBe(200);
      expect(await probe.json(), path).toEqual({ status: 'pass' });
    }
    for (const path of ['/metrics', '/metrics/summary', '/alerts', '/_vigil']) {
      const without = await fetch(`${url}${path}`);
      await without.arrayBuffer();
      expect(without.status, path).toBe(401);
      const withToken = await fetch(`${url}${path}`, {
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      await withToken.arrayBuffer();
      expect(withToken.status, path).toBe(200);
    }
    expect((await fetch(`${url}/api/items/1`)).status).toBe(200);
  });
});

describe('environment variables', () => {
  const saved = { ...process.env };
  afterEach(() => {
    for (const k of [
      'VIGIL_TOKEN',
      'VIGIL_OPERATIONAL_PORT',
      'REDIS_URL',
      'OTEL_SERVICE_NAME',
      'ALERTMANAGER_URL',
    ]) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
  });

  it.each(FRAMEWORKS)(
    'should honour VIGIL_TOKEN and VIGIL_OPERATIONAL_PORT on %s',
    async (_n, kind, make) => {
      process.env.VIGIL_TOKEN = TOKEN;
      process.env.VIGIL_OPERATIONAL_PORT = '0';
      const { url, v } = await start(kind, make, testOptions());
      expect(v.operationalUrl).toBeDefined();
      expect((await fetch(`${url}/metrics`)).status).toBe(404);
      expect((await fetch(`${v.operationalUrl}/metrics`)).status).toBe(401);
      const ok = await fetch(`${v.operationalUrl}/alerts`, {
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      expect(ok.status).toBe(200);
      expect((await fetch(`${v.operationalUrl}/health/ready`)).status).toBe(200);
    },
  );

  describe('REDIS_URL', () => {
    // One name per test: the counts live in one redis-server for the whole file.
    let policies = 0;
    let redis: RedisServer | undefined;
    const binary = findRedisServer();
    beforeAll(async () => {
      if (binary !== undefined) redis = await RedisServer.start(binary);
    });
    afterAll(async () => {
      await redis?.kill();
    });

    it.skipIf(binary === undefined).each(FRAMEWORKS)(
      'should share one limit across two apps through Redis on %s',
      async (_n, kind, make) => {
        process.env.REDIS_URL = redis!.url;
        const policy = {
          policies: [
            { ...LOGIN_POLICY.policies[0]!, name: `login_${kind}_${++policies}_${process.pid}` },
          ],
        };
        const a = await start(kind, make, testOptions({ rateLimit: policy }));
        const b = await start(kind, make, testOptions({ rateLimit: policy }));
        const statuses: number[] = [];
        for (const url of [a.url, b.url, a.url, b.url]) {
          const res = await fetch(`${url}/api/login`, { method: 'POST' });
          await res.arrayBuffer();
          statuses.push(res.status);
        }
        expect(statuses).toEqual([200, 200, 429, 429]);
        const ready = await pollFor(async () => {
          const r = (await (await fetch(`${a.url}/health/ready`)).json()) as {
            status: string;
            checks: Record<string, { status: string; componentType?: string }[]>;
          };
          return r.checks['rateLimitStore:status']?.[0]?.status === 'pass' ? r : undefined;
        }, 10_000);
        expect(ready?.status).toBe('pass');
      },
    );
  });

  it('should hand alerts to ALERTMANAGER_URL', async () => {
    // Nothing listens there: delivery is retried in the background and never reaches a request.
    process.env.ALERTMANAGER_URL = 'http://127.0.0.1:9';
    const { url, v } = await start('koa', () => new Koa(), testOptions());
    expect(v.alerting?.mode).toBe('alertmanager');
    expect((await fetch(`${url}/alerts`)).status).toBe(200);
  });

  it('should take the service name from OTEL_SERVICE_NAME', async () => {
    process.env.OTEL_SERVICE_NAME = 'shop';
    const { url } = await start('express', () => express(), testOptions());
    const ready = (await (await fetch(`${url}/health/ready`)).json()) as { serviceId: string };
    expect(ready.serviceId).toBe('shop');
  });
});

describe('the handle', () => {
  it('should expose what the advanced cases need, and close cleanly twice', async () => {
    const options = testOptions({ rateLimit: LOGIN_POLICY });
    const { v } = await start('express', () => express(), options);
    expect(v.framework).toBe('express');
    expect(v.registry).toBe(options.registry);
    expect(v.tracing).toBe(tracing);
    expect(v.health?.phase).toBe('running');
    expect(v.alerting?.mode).toBe('local');
    expect(v.rateLimit?.status().map((p) => p.policy)).toEqual(['login']);
    expect(v.live).toBeDefined();
    await v.close();
    await v.close();
  });

  it('should use a Health, an Alerting and a limiter the app made as they are', async () => {
    const registry = new Registry();
    const health = createHealth({
      registry: false,
      started: true,
      shutdown: false,
      readiness: [check('catalog', () => true)],
    });
    const alerting = createAlerting({
      rules: { alerts: [errorRatioAlert({ name: 'Mine' })] },
      registry,
    });
    const limiter = expressRateLimit({ ...LOGIN_POLICY, registry });
    const { url, v } = await start(
      'express',
      () => express(),
      testOptions({ registry, health, alerts: alerting, rateLimit: limiter }),
    );
    expect(v.health).toBe(health);
    expect(v.alerting).toBe(alerting);
    expect(v.rateLimit).toBe(limiter);
    const ready = (await (await fetch(`${url}/health/ready`)).json()) as {
      checks: Record<string, unknown>;
    };
    // Its own checks only: the automatic ones are for the health vigil() makes.
    expect(Object.keys(ready.checks)).toEqual(['catalog:responseTime']);
    expect(await (await fetch(`${url}/alerts/rules`)).text()).toContain('"Mine"');
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${url}/api/login`, { method: 'POST' });
      await res.arrayBuffer();
      statuses.push(res.status);
    }
    expect(statuses).toEqual([200, 200, 429]);
    // They stay the app's: close() leaves them running.
    await v.close();
    expect((await health.probe('ready')).httpStatus).toBe(200);
    health.close();
    await alerting.stop();
    await limiter.close();
  });

  it('should put the business catalogue in /metrics/summary', async () => {
    const { url, v } = await start(
      'express',
      () => express(),
      testOptions({
        business: {
          definitions: {
            orders_total: { type: 'counter', help: 'Orders', labels: { outcome: 'outcome' } },
          },
        },
      }),
    );
    expect(v.business?.describe().map((m) => m.name)).toEqual(['orders_total']);
    const summary = (await (await fetch(`${url}/metrics/summary`)).json()) as Record<
      string,
      unknown
    >;
    expect(summary).toHaveProperty('business');
  });
});

describe('error codes', () => {
  const app = () => express();

  it('should reject what is not an Express or Koa app', () => {
    expect(() => vigil({})).toThrow(
      expect.objectContaining({ code: VIGIL_ERROR_CODES.INVALID_APP }),
    );
    expect(() => vigil.koa(express())).toThrow(
      /ERR_VIGIL_INVALID_APP: vigil.koa\(\): option "app"/,
    );
  });

  it('should explain app.use(vigil) without the call', () => {
    const fakeReq = { socket: {}, headers: {} };
    expect(() => vigil(fakeReq, {})).toThrow(
      expect.objectContaining({ code: VIGIL_ERROR_CODES.NOT_CALLED }),
    );
  });

  it('should reject options that are not an object, and unknown options', () => {
    expect(() => vigil(app(), 'everything' as never)).toThrow(
      expect.objectContaining({ code: VIGIL_ERROR_CODES.INVALID_OPTIONS }),
    );
    expect(() => vigil(app(), { metric: {} } as never)).toThrow(
      expect.objectContaining({ code: VIGIL_ERROR_CODES.UNKNOWN_OPTION }),
    );
  });

  it('should reject a capability option that is neither false nor an object, and a short token', () => {
    expect(() => vigil(app(), { metrics: true } as never)).toThrow(
      expect.objectContaining({ code: VIGIL_ERROR_CODES.INVALID_OPTION }),
    );
    expect(() => vigil(app(), { token: 'short' })).toThrow(
      /ERR_VIGIL_INVALID_OPTION: vigil\(\): option "token" must be a string of at least 16/,
    );
  });

  it('should refuse to mount after the routes', () => {
    const a = express();
    a.get('/x', (_req, res) => {
      res.end();
    });
    expect(() => vigil(a)).toThrow(
      expect.objectContaining({ code: VIGIL_ERROR_CODES.MOUNTED_AFTER_ROUTES }),
    );
    const k = new Koa();
    k.use(new Router().routes());
    expect(() => vigil.koa(k)).toThrow(
      expect.objectContaining({ code: VIGIL_ERROR_CODES.MOUNTED_AFTER_ROUTES }),
    );
  });

  it('should name a bad VIGIL_OPERATIONAL_PORT', () => {
    process.env.VIGIL_OPERATIONAL_PORT = 'eighty';
    try {
      expect(() => vigil(app(), testOptions())).toThrow(
        /ERR_VIGIL_INVALID_ENV: vigil\(\): option "VIGIL_OPERATIONAL_PORT" must be a port number/,
      );
    } finally {
      delete process.env.VIGIL_OPERATIONAL_PORT;
    }
  });

  it('should say which package to install for a missing dependency', () => {
    expect(() =>
      ensureInstalled({ name: 'vigil-no-such-package', capability: 'rate limiting with Redis' }),
    ).toThrow(
      expect.objectContaining({
        code: VIGIL_ERROR_CODES.MISSING_DEPENDENCY,
        message: expect.stringContaining(
          'rate limiting with Redis needs the package vigil-no-such-package, which is not installed. Run `npm install vigil-no-such-package`.',
        ),
      }),
    );
    // Every dependency the capabilities load is installed here.
    expect(() =>
      ensureInstalled({ name: 'ioredis', capability: 'x', from: '@vigil/rate-limit' }),
    ).not.toThrow();
  });

  it('should pass the packages’ own codes through unchanged', () => {
    expect(() => vigil(app(), testOptions({ metrics: { prefix: 'bad-prefix' } }))).toThrow(
      expect.objectContaining({ code: 'ERR_VIGIL_METRICS_INVALID_PREFIX' }),
    );
    expect(() => vigil(app(), testOptions({ rateLimit: { policies: 'none' as never } }))).toThrow(
      expect.objectContaining({ code: expect.stringMatching(/^ERR_VIGIL_RATE_LIMIT_/) }),
    );
    expect(() => vigil(app(), testOptions({ health: { liveness: 'x' as never } }))).toThrow(
      expect.objectContaining({ code: expect.stringMatching(/^ERR_VIGIL_HEALTH_/) }),
    );
  });
});
