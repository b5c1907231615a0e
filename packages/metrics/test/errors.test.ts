// Every error code of @vigil/metrics, pinned with the main words of its message.
import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { Middleware } from 'koa';
import { Counter, Registry } from 'prom-client';
import request from 'supertest';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  METRICS_ERROR_CODES,
  VigilError,
  expressMetrics,
  exposeToClusterPrimary,
  expressMetricsHandler,
  koaMetrics,
  koaMetricsHandler,
  startMetricsServer,
} from '@vigil/metrics';
import { EXPRESS_FRAMEWORKS, KOA_FRAMEWORKS, Koa2, express4 } from './support/frameworks';
import express from 'express';
import Koa from 'koa';
import { closeServers } from '@vigil/test-utils';

afterEach(closeServers);

/** Calls with untyped arguments, as JavaScript users (and misconfigured apps) do. */
const loose = <F extends (...args: never[]) => unknown>(fn: F) =>
  fn as unknown as (...args: unknown[]) => unknown;

const registry = () => new Registry();
const noDefaults = { collectDefaultMetrics: false };

interface ErrorCase {
  name: string;
  call: () => unknown;
  code: string;
  /** Main words of the message, after the code. */
  message: RegExp;
}

const C = METRICS_ERROR_CODES;

const CASES: ErrorCase[] = [
  {
    name: "expressMetrics('x')",
    call: () => loose(expressMetrics)('x'),
    code: C.INVALID_OPTIONS,
    message: /expressMetrics\(\): option "options" must be an object or undefined, received 'x'/,
  },
  {
    name: 'koaMetrics(42)',
    call: () => loose(koaMetrics)(42),
    code: C.INVALID_OPTIONS,
    message: /koaMetrics\(\): option "options" must be an object or undefined, received 42/,
  },
  {
    name: 'expressMetrics([])',
    call: () => loose(expressMetrics)([]),
    code: C.INVALID_OPTIONS,
    message: /option "options" must be an object/,
  },
  {
    name: "expressMetricsHandler('x')",
    call: () => loose(expressMetricsHandler)('x'),
    code: C.INVALID_OPTIONS,
    message: /expressMetricsHandler\(\): option "options" must be an object/,
  },
  {
    name: 'koaMetricsHandler(null)',
    call: () => loose(koaMetricsHandler)(null),
    code: C.INVALID_OPTIONS,
    message:
      /koaMetricsHandler\(\): option "options" must be an object or undefined, received null/,
  },
  {
    name: "a typo { prefx: 'a' }",
    call: () => loose(expressMetrics)({ prefx: 'a' }),
    code: C.UNKNOWN_OPTION,
    message:
      /option "prefx" must be one of registry, prefix, .*received 'prefx'\. Check the spelling/,
  },
  {
    name: 'an unknown handler option',
    call: () => loose(koaMetricsHandler)({ registry: registry(), tokn: 'x' }),
    code: C.UNKNOWN_OPTION,
    message:
      /koaMetricsHandler\(\): option "tokn" must be one of registry, token, openMetrics, path/,
  },
  {
    name: "prefix '9bad'",
    call: () => expressMetrics({ registry: registry(), prefix: '9bad' }),
    code: C.INVALID_PREFIX,
    message: /option "prefix" must be a valid start of a Prometheus metric name.*received '9bad'/,
  },
  {
    name: "prefix 'my-app_'",
    call: () => koaMetrics({ registry: registry(), prefix: 'my-app_' }),
    code: C.INVALID_PREFIX,
    message: /option "prefix" .*received 'my-app_'/,
  },
  {
    name: 'durationBuckets [1, 0.5]',
    call: () => expressMetrics({ registry: registry(), durationBuckets: [1, 0.5] }),
    code: C.INVALID_BUCKETS,
    message:
      /option "durationBuckets" must be a non-empty array of finite numbers in strictly increasing order.*received \[ 1, 0\.5 \]/,
  },
  {
    name: 'durationBuckets []',
    call: () => koaMetrics({ registry: registry(), durationBuckets: [] }),
    code: C.INVALID_BUCKETS,
    message: /option "durationBuckets" must be a non-empty array.*received \[\]/,
  },
  {
    name: 'sizeBuckets [64, Infinity]',
    call: () => expressMetrics({ registry: registry(), sizeBuckets: [64, Infinity] }),
    code: C.INVALID_BUCKETS,
    message: /option "sizeBuckets" must be a non-empty array of finite numbers/,
  },
  {
    name: "sizeBuckets ['1']",
    call: () => loose(expressMetrics)({ registry: registry(), sizeBuckets: ['1'] }),
    code: C.INVALID_BUCKETS,
    message: /option "sizeBuckets"/,
  },
  ...['bad-name', '__x', 'route', 'method', 'status_code', 'le', '1st'].map((label) => ({
    name: `custom label '${label}'`,
    call: () => expressMetrics({ registry: registry(), customLabels: { [label]: () => 'v' } }),
    code: C.INVALID_LABEL,
    message: new RegExp(
      `option "customLabels\\.${label}" must be a Prometheus label name.*received '${label}'`,
    ),
  })),
  {
    name: 'registry {}',
    call: () => loose(expressMetrics)({ registry: {} }),
    code: C.INVALID_REGISTRY,
    message:
      /option "registry" must be a prom-client Registry, received \{\}\. Pass `new Registry\(\)`/,
  },
  {
    name: 'registry null',
    call: () => loose(koaMetrics)({ registry: null }),
    code: C.INVALID_REGISTRY,
    message: /option "registry" must be a prom-client Registry, received null/,
  },
  {
    name: 'handler registry {}',
    call: () => loose(expressMetricsHandler)({ registry: {} }),
    code: C.INVALID_REGISTRY,
    message: /expressMetricsHandler\(\): option "registry" must be a prom-client Registry/,
  },
  {
    name: 'maxSeries 0',
    call: () => expressMetrics({ registry: registry(), maxSeries: 0 }),
    code: C.INVALID_OPTION,
    message: /option "maxSeries" must be an integer from 1 to \d+, received 0/,
  },
  {
    name: 'maxSeries 2.5',
    call: () => koaMetrics({ registry: registry(), maxSeries: 2.5 }),
    code: C.INVALID_OPTION,
    message: /option "maxSeries" must be an integer/,
  },
  {
    name: "namingScheme 'x'",
    call: () => loose(expressMetrics)({ registry: registry(), namingScheme: 'x' }),
    code: C.INVALID_OPTION,
    message: /option "namingScheme" must be "prometheus" or "opentelemetry", received 'x'/,
  },
  {
    name: "exemplars 'yes'",
    call: () => loose(koaMetrics)({ registry: registry(), exemplars: 'yes' }),
    code: C.INVALID_OPTION,
    message: /option "exemplars" must be a boolean, received 'yes'/,
  },
  {
    name: "collectDefaultMetrics 'no'",
    call: () => loose(expressMetrics)({ registry: registry(), collectDefaultMetrics: 'no' }),
    code: C.INVALID_OPTION,
    message: /option "collectDefaultMetrics" must be a boolean/,
  },
  {
    name: "customLabels { tenant: 'x' }",
    call: () => loose(expressMetrics)({ registry: registry(), customLabels: { tenant: 'x' } }),
    code: C.INVALID_OPTION,
    message: /option "customLabels\.tenant" must be a function/,
  },
  {
    name: "includeRoutes '/a'",
    call: () => loose(expressMetrics)({ registry: registry(), includeRoutes: '/a' }),
    code: C.INVALID_OPTION,
    message: /option "includeRoutes" must be an array of route templates, RegExps or predicates/,
  },
  {
    name: 'excludeRoutes [42]',
    call: () => loose(koaMetrics)({ registry: registry(), excludeRoutes: [42] }),
    code: C.INVALID_OPTION,
    message: /option "excludeRoutes" must be an array/,
  },
  {
    name: "streamingContentTypes 'text/event-stream'",
    call: () =>
      loose(expressMetrics)({ registry: registry(), streamingContentTypes: 'text/event-stream' }),
    code: C.INVALID_OPTION,
    message: /option "streamingContentTypes" must be an array of content types/,
  },
  {
    name: 'logger {}',
    call: () => loose(expressMetrics)({ registry: registry(), logger: {} }),
    code: C.INVALID_OPTION,
    message: /option "logger" must be a logger with a warn\(\) method/,
  },
  {
    name: "handler token 'short'",
    call: () => expressMetricsHandler({ registry: registry(), token: 'short' }),
    code: C.INVALID_OPTION,
    message:
      /option "token" must be a string of at least 16 characters, received 'short'\. Use a long random secret/,
  },
  {
    name: "handler path 'metrics'",
    call: () => koaMetricsHandler({ registry: registry(), path: 'metrics' }),
    code: C.INVALID_OPTION,
    message: /option "path" must be a path starting with "\/", received 'metrics'/,
  },
  {
    name: "handler openMetrics 'yes'",
    call: () => loose(koaMetricsHandler)({ registry: registry(), openMetrics: 'yes' }),
    code: C.INVALID_OPTION,
    message: /option "openMetrics" must be a boolean/,
  },
  {
    name: 'a registry holding a foreign http_requests_total',
    call: () => {
      const r = registry();
      new Counter({ name: 'http_requests_total', help: 'own', registers: [r] });
      return expressMetrics({ registry: r, ...noDefaults });
    },
    code: C.METRIC_CONFLICT,
    message: /expressMetrics\(\): option "registry" .*"http_requests_total".*prefix/,
  },
  {
    name: 'expressMetrics called with (req, res, next)',
    call: () => loose(expressMetrics)({}, {}, () => undefined),
    code: C.NOT_CALLED,
    // Two arguments that are not a request: the framework is unknown, so both fixes are given.
    message:
      /expressMetrics was called with framework arguments instead of its options.*Fix: `app\.use\(expressMetrics\(\)\)` \(Express\), `app\.use\(koaMetrics\(\)\)` \(Koa\)\./,
  },
  {
    // Mounted, it would never call next(): every request would hang instead of failing.
    name: 'exposeToClusterPrimary called with (req, res, next)',
    call: () => loose(exposeToClusterPrimary)({ socket: {}, headers: {} }, {}, () => undefined),
    code: C.NOT_CALLED,
    message:
      /exposeToClusterPrimary was called with Express's \(req, res, next\).*It is not middleware.*Fix: `exposeToClusterPrimary\(registry\)`\./,
  },
  {
    name: 'koaMetricsHandler called with (ctx, next)',
    call: () => loose(koaMetricsHandler)({}, () => undefined),
    code: C.NOT_CALLED,
    message:
      /koaMetricsHandler was called with framework arguments.*Fix: `app\.get\('\/metrics', expressMetricsHandler\(\)\)` \(Express\), `router\.get\('\/metrics', koaMetricsHandler\(\)\)` or `app\.use\(koaMetricsHandler\(\{ path: '\/metrics' \}\)\)` \(Koa\)\./,
  },
];

const covered = new Set<string>();
afterAll(() => {
  console.log(`error cases tried: ${CASES.length}, codes covered: ${covered.size}`);
});

describe('error codes', () => {
  it('should cover every code in METRICS_ERROR_CODES', () => {
    const codes = new Set(CASES.map((c) => c.code));
    expect([...codes].sort()).toEqual(Object.values(METRICS_ERROR_CODES).sort());
    for (const code of Object.values(METRICS_ERROR_CODES)) {
      expect(code).toMatch(/^ERR_VIGIL_METRICS_[A-Z_]+$/);
    }
  });

  it.each(CASES)('should throw $code for $name', ({ call, code, message }) => {
    let thrown: unknown;
    try {
      call();
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(VigilError);
    const err = thrown as VigilError;
    expect(err.name).toBe('VigilError');
    expect(err.code).toBe(code);
    expect(err.message.startsWith(`${code}: `)).toBe(true);
    expect(err.message).toMatch(message);
    expect(err.message).toContain('"Error codes" in the @vigil/metrics README');
    expect(err.message.length).toBeLessThan(600);
    covered.add(code);
  });

  it('should reject startMetricsServer options before listening', async () => {
    await expect(
      startMetricsServer({ registry: registry(), port: 0, token: 'short' }),
    ).rejects.toMatchObject({
      code: C.INVALID_OPTION,
      message: expect.stringContaining('"token"'),
    });
    await expect(startMetricsServer({ registry: registry(), port: 70000 })).rejects.toMatchObject({
      code: C.INVALID_OPTION,
      message: expect.stringMatching(
        /option "port" must be an integer from 0 to 65535, received 70000/,
      ),
    });
  });
});

describe.each(EXPRESS_FRAMEWORKS)('app.use(expressMetrics) without the call on $name', (fw) => {
  it('should hand the first request an ERR_VIGIL_METRICS_NOT_CALLED error', async () => {
    const factory = fw.name === 'express4' ? express4 : express;
    const app = factory();
    const seen: unknown[] = [];
    app.use(expressMetrics as unknown as RequestHandler);
    app.get('/', (_req, res) => {
      res.send('never');
    });
    const onError: ErrorRequestHandler = (err, _req, res, _next) => {
      seen.push(err);
      res.status(500).send('captured');
    };
    app.use(onError);

    const res = await request(app).get('/');
    expect(res.status).toBe(500);
    expect(res.text).toBe('captured');
    expect(seen).toHaveLength(1);
    expect(seen[0]).toBeInstanceOf(VigilError);
    expect(seen[0]).toMatchObject({
      code: C.NOT_CALLED,
      message: expect.stringContaining(
        "expressMetrics was called with Express's (req, res, next) instead of its options: it was handed to the app (app.use() or a route) without being called. It returns the middleware: mount the result before your routes. Fix: `app.use(expressMetrics())`.",
      ),
    });
  });

  it('should do the same for app.use(expressMetricsHandler)', async () => {
    const factory = fw.name === 'express4' ? express4 : express;
    const app = factory();
    const seen: unknown[] = [];
    app.use(expressMetricsHandler as unknown as RequestHandler);
    const onError: ErrorRequestHandler = (err, _req, res, _next) => {
      seen.push(err);
      res.status(500).end();
    };
    app.use(onError);

    await request(app).get('/metrics').expect(500);
    expect(seen[0]).toMatchObject({ code: C.NOT_CALLED });
  });
});

describe.each(KOA_FRAMEWORKS)('app.use(koaMetrics) without the call on $name', (fw) => {
  it('should hand the first request an ERR_VIGIL_METRICS_NOT_CALLED error', async () => {
    const Factory = fw.name === 'koa2' ? Koa2 : Koa;
    const app = new Factory();
    const emitted: unknown[] = [];
    const caught: unknown[] = [];
    app.on('error', (err: unknown) => emitted.push(err));
    app.use(async (ctx, next) => {
      try {
        await next();
      } catch (err) {
        caught.push(err);
        ctx.status = 500;
        ctx.body = 'captured';
      }
    });
    app.use(koaMetrics as unknown as Middleware);
    app.use((ctx) => {
      ctx.body = 'never';
    });

    const res = await request(app.callback()).get('/');
    expect(res.status).toBe(500);
    expect(res.text).toBe('captured');
    expect(caught).toHaveLength(1);
    expect(caught[0]).toBeInstanceOf(VigilError);
    expect(caught[0]).toMatchObject({
      code: C.NOT_CALLED,
      message: expect.stringContaining(
        "koaMetrics was called with Koa's (ctx, next) instead of its options: it was handed to the app (app.use() or a route) without being called. It returns the middleware: mount the result before your routes. Fix: `app.use(koaMetrics())`.",
      ),
    });
    expect(emitted).toEqual([]);
  });

  it("should reach app.on('error') when nothing catches it", async () => {
    const Factory = fw.name === 'koa2' ? Koa2 : Koa;
    const app = new Factory();
    const emitted: unknown[] = [];
    app.on('error', (err: unknown) => emitted.push(err));
    // Typed as a middleware, so even TypeScript lets this mistake through.
    app.use(koaMetricsHandler);

    await request(app.callback()).get('/metrics').expect(500);
    expect(emitted).toHaveLength(1);
    expect(emitted[0]).toMatchObject({ code: C.NOT_CALLED });
  });
});
