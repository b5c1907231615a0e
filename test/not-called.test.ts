// Integration: every Vigil factory handed to a real app without its call (Express 4 and 5, Koa 2 and 3)
// fails with its package's NOT_CALLED error, and every fix that error gives, applied as written in a
// fresh app of the same framework, works: it does not throw and the app answers.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { RequestListener } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Router } from '@koa/router';
import express, { type ErrorRequestHandler } from 'express';
import Koa from 'koa';
import { Gauge, Registry, register as globalRegistry } from 'prom-client';
import ts from 'typescript';
import { afterAll, describe, expect, it } from 'vitest';
import * as audit from '@vigil/audit';
import * as business from '@vigil/business-metrics';
import * as logging from '@vigil/logging';
import * as metrics from '@vigil/metrics';
import * as rateLimit from '@vigil/rate-limit';
import * as tracing from '@vigil/tracing';
import { type ResponseSummary, listen, send, express4, Koa2 } from '@vigil/test-utils';

const FRAMEWORKS = ['express4', 'express5', 'koa2', 'koa3'] as const;
type Fw = (typeof FRAMEWORKS)[number];
const isKoa = (fw: Fw): boolean => fw.startsWith('koa');

type Exports = Record<string, unknown>;
type Fn = (...args: unknown[]) => unknown;
// The test drives Express and Koa apps through the same code; both are used through `any`-free casts.
type AnyApp = { use: Fn; get: Fn; post: Fn; callback?: () => RequestListener; on?: Fn };
type AnyRouter = { get: Fn; post: Fn; routes?: () => unknown };
type Ctx = { body?: unknown; set: (k: string, v: string) => void; log?: unknown };
type Req = { log?: unknown };
type Res = { set: (k: string, v: string) => void; send: (b: string) => void; status: Fn };

/** A scrape of the global registry shows this sample, so an empty body cannot pass for one. */
const PROBE = 'vigil_not_called_probe 1';
new Gauge({ name: 'vigil_not_called_probe', help: 'Probe', registers: [globalRegistry] }).set(1);

/** The app's own catalogue, `business` in the fixes, in a registry of its own. */
function catalogue(): business.Catalogue<{
  uploads_total: { type: 'counter'; help: string };
  upload_duration_seconds: { type: 'histogram'; help: string; unit: 'seconds' };
  upload_size_bytes: { type: 'histogram'; help: string; unit: 'bytes' };
}> {
  return business.defineBusinessMetrics(
    {
      uploads_total: { type: 'counter', help: 'Uploads' },
      upload_duration_seconds: { type: 'histogram', help: 'Upload time', unit: 'seconds' },
      upload_size_bytes: { type: 'histogram', help: 'Upload size', unit: 'bytes' },
    },
    { registry: new Registry() },
  );
}

/** A real app of `fw`, with the names a fix may use: `app`, `router`, `handler`. */
interface TestApp {
  app: AnyApp;
  router: AnyRouter;
  handler: Fn;
  /** Errors the app saw: Express's error handler, Koa's 'error' event. */
  errors: unknown[];
  /** The test's own routes: /hello, /boom (throws), /login (records an audit event). */
  routes(): void;
  /** Mounts the router and the error handler; the app's request listener. */
  finish(): RequestListener;
}

function testApp(fw: Fw): TestApp {
  const errors: unknown[] = [];
  if (isKoa(fw)) {
    const K = fw === 'koa2' ? Koa2 : Koa;
    const app = new K();
    app.on('error', (err: unknown) => errors.push(err));
    const router = new Router();
    return {
      app: app as unknown as AnyApp,
      router: router as unknown as AnyRouter,
      handler: ((ctx: Ctx) => {
        ctx.body = 'uploaded';
      }) as Fn,
      errors,
      routes() {
        router.get('/hello', (ctx) => {
          ctx.set('x-has-log', typeof (ctx as Ctx).log);
          ctx.body = 'hello';
        });
        router.get('/boom', () => {
          throw new Error('boom');
        });
        router.post('/login', (ctx) => {
          audit.audit(ctx).record({ type: 'auth.login', outcome: 'success' });
          ctx.body = 'logged in';
        });
      },
      finish() {
        app.use(router.routes());
        const handle = app.callback();
        return (req, res) => void handle(req, res);
      },
    };
  }
  const e = fw === 'express4' ? express4 : express;
  const app = e();
  const router = e.Router();
  return {
    app: app as unknown as AnyApp,
    router: router as unknown as AnyRouter,
    handler: ((_req: Req, res: Res) => res.send('uploaded')) as Fn,
    errors,
    routes() {
      app.get('/hello', (req, res) => {
        res.set('x-has-log', typeof (req as Req).log);
        res.send('hello');
      });
      app.get('/boom', () => {
        throw new Error('boom');
      });
      app.post('/login', (req, res) => {
        audit.audit(req).record({ type: 'auth.login', outcome: 'success' });
        res.send('logged in');
      });
    },
    finish() {
      app.use(router);
      const onError: ErrorRequestHandler = (err: unknown, _req, res, _next) => {
        errors.push(err);
        res.status(500).send(err instanceof Error ? err.message : String(err));
      };
      app.use(onError);
      return app;
    },
  };
}

/** What a fix left behind, for its case to check. */
interface Fixed {
  fw: Fw;
  snippet: string;
  /** The variables the snippet declared (`const metricsServer = ...`). */
  declared: Record<string, unknown>;
  business: ReturnType<typeof catalogue>;
  errors: unknown[];
  dir: string;
  request(path: string, method?: string): Promise<ResponseSummary>;
}

interface Case {
  pkg: string;
  name: string;
  exports: Exports;
  /** The factory as the user hands it to the app (`business` is the app's catalogue). */
  factory: (b: ReturnType<typeof catalogue>) => unknown;
  /** Not mountable (a class): the app calls it with `new` and its own arguments instead. */
  construct?: boolean;
  /** Checks that the fix works; also releases what it started. */
  check(f: Fixed): Promise<void>;
}

async function sampleValue(registry: Registry, name: string, labels = ''): Promise<number> {
  const text = await registry.metrics();
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels} `));
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
}

const HELLO_LABELS = '{method="GET",route="/hello",status_code="200"}';

async function expectHello(f: Fixed): Promise<ResponseSummary> {
  const r = await f.request('/hello');
  expect(r.status, r.body).toBe(200);
  expect(r.body).toBe('hello');
  return r;
}

const metricsMiddleware = async (f: Fixed): Promise<void> => {
  const before = await sampleValue(globalRegistry, 'http_requests_total', HELLO_LABELS);
  await expectHello(f);
  expect(await sampleValue(globalRegistry, 'http_requests_total', HELLO_LABELS)).toBe(before + 1);
};

const endpoint = (path: string, type: RegExp, body: (text: string) => void) => {
  return async (f: Fixed): Promise<void> => {
    const r = await f.request(path);
    expect(r.status, r.body).toBe(200);
    expect(r.headers['content-type']).toMatch(type);
    body(r.body);
    // The endpoint answers its path only: the app's own routes still answer.
    await expectHello(f);
  };
};

const tracingMiddleware = async (f: Fixed): Promise<void> => {
  const r = await expectHello(f);
  expect(r.headers['x-request-id']).toMatch(/^[\w-]{8,}$/);
};

const requestLogger = async (f: Fixed): Promise<void> => {
  const r = await expectHello(f);
  // req.log / ctx.log: the request logger ran for this request.
  expect(r.headers['x-has-log']).toBe('object');
};

const rateLimiter = async (f: Fixed): Promise<void> => {
  const r = await expectHello(f);
  // The policy of the fix's snippet, limit 100 per minute, in the IETF headers.
  expect(String(r.headers['ratelimit-policy'])).toContain('100');
  await (f.declared.limiter as rateLimit.ExpressRateLimit).close();
};

const decorated = (metric: string, expected: (before: number) => number) => {
  return async (f: Fixed): Promise<void> => {
    const registry = f.business.registry;
    const before = await sampleValue(registry, metric);
    const Service = f.declared.Service as new () => { run(): number };
    expect(new Service().run()).toBe(3);
    expect(await sampleValue(registry, metric)).toBe(expected(before));
  };
};

const CASES: Case[] = [
  ...(['expressMetrics', 'koaMetrics'] as const).map((name) => ({
    pkg: '@vigil/metrics',
    name,
    exports: metrics,
    factory: () => metrics[name],
    check: metricsMiddleware,
  })),
  ...(['expressMetricsHandler', 'koaMetricsHandler'] as const).map((name) => ({
    pkg: '@vigil/metrics',
    name,
    exports: metrics,
    factory: () => metrics[name],
    check: endpoint('/metrics', /^text\/plain/, (text) => expect(text).toContain(PROBE)),
  })),
  ...(['expressMetricsSummaryHandler', 'koaMetricsSummaryHandler'] as const).map((name) => ({
    pkg: '@vigil/metrics',
    name,
    exports: metrics,
    factory: () => metrics[name],
    check: endpoint('/metrics/summary', /^application\/json/, (text) => {
      expect(JSON.parse(text)).toHaveProperty('uptimeSeconds');
    }),
  })),
  ...(['startMetricsServer', 'startClusterMetricsServer'] as const).map((name) => ({
    pkg: '@vigil/metrics',
    name,
    exports: metrics,
    factory: () => metrics[name],
    async check(f: Fixed) {
      const server = f.declared.metricsServer as metrics.MetricsServer;
      try {
        expect(server.port).toBe(9464);
        const r = await fetch(server.url);
        expect(r.status).toBe(200);
        const text = await r.text();
        // The cluster primary serves its workers' metrics: none here, outside a cluster.
        if (name === 'startMetricsServer') expect(text).toContain(PROBE);
      } finally {
        await server.close();
      }
    },
  })),
  {
    pkg: '@vigil/metrics',
    name: 'createClusterAggregator',
    exports: metrics,
    factory: () => metrics.createClusterAggregator,
    async check(f) {
      const aggregator = f.declared.aggregator as metrics.ClusterAggregator;
      expect(typeof (await aggregator.metrics())).toBe('string');
      aggregator.close();
    },
  },
  {
    pkg: '@vigil/metrics',
    name: 'exposeToClusterPrimary',
    exports: metrics,
    factory: () => metrics.exposeToClusterPrimary,
    check: async (f) => void (await expectHello(f)),
  },
  ...(['expressTracing', 'koaTracing'] as const).map((name) => ({
    pkg: '@vigil/tracing',
    name,
    exports: tracing,
    factory: () => tracing[name],
    check: tracingMiddleware,
  })),
  {
    pkg: '@vigil/tracing',
    name: 'expressTracingErrors',
    exports: tracing,
    factory: () => tracing.expressTracingErrors,
    async check(f) {
      if (!f.snippet.includes('expressTracingErrors(')) return tracingMiddleware(f);
      // The error passes through to the app's own error handler, which answers.
      const r = await f.request('/boom');
      expect(r.status).toBe(500);
      expect(r.body).toBe('boom');
      expect(f.errors).toEqual([new Error('boom')]);
    },
  },
  ...(['expressRequestLogger', 'koaRequestLogger'] as const).map((name) => ({
    pkg: '@vigil/logging',
    name,
    exports: logging,
    factory: () => logging[name],
    check: requestLogger,
  })),
  {
    pkg: '@vigil/tracing',
    name: 'startTracing',
    exports: tracing,
    factory: () => tracing.startTracing,
    async check(f) {
      const started = f.declared.tracing as tracing.Tracing;
      try {
        expect(tracing.getTracing()).toBe(started);
        // Not middleware: the app it is applied next to still answers.
        await expectHello(f);
      } finally {
        await started.shutdown();
      }
    },
  },
  {
    pkg: '@vigil/tracing',
    name: 'TraceBuffer',
    exports: tracing,
    factory: () => tracing.TraceBuffer,
    construct: true,
    async check(f) {
      const traces = f.declared.traces as tracing.TraceBuffer;
      expect(traces).toBeInstanceOf(tracing.TraceBuffer);
      await traces.forceFlush();
    },
  },
  {
    pkg: '@vigil/audit',
    name: 'createAuditLogger',
    exports: audit,
    factory: () => audit.createAuditLogger,
    async check(f) {
      const auditLog = f.declared.auditLog as audit.AuditLogger;
      // The fix's own advice: audit(req).record() in a handler writes to the logger just created.
      const r = await f.request('/login', 'POST');
      expect(r.status, r.body).toBe(200);
      await auditLog.close();
      audit.setDefaultAuditLogger(undefined);
      const text = readFileSync(join(f.dir, 'audit.log'), 'utf8');
      expect(
        text
          .trim()
          .split('\n')
          .map((l) => (JSON.parse(l) as { type: string }).type),
      ).toEqual(['auth.login']);
      expect(audit.verifyAuditLog(text).ok).toBe(true);
    },
  },
  ...(['expressRateLimit', 'koaRateLimit'] as const).map((name) => ({
    pkg: '@vigil/rate-limit',
    name,
    exports: rateLimit,
    factory: () => rateLimit[name],
    check: rateLimiter,
  })),
  {
    pkg: '@vigil/business-metrics',
    name: 'defineBusinessMetrics',
    exports: business,
    factory: () => business.defineBusinessMetrics,
    async check(f) {
      const declared = f.declared.business as ReturnType<typeof catalogue>;
      const before = await sampleValue(globalRegistry, 'uploads_total');
      declared.metrics.uploads_total.inc();
      expect(await sampleValue(globalRegistry, 'uploads_total')).toBe(before + 1);
    },
  },
  {
    pkg: '@vigil/business-metrics',
    name: 'track',
    exports: business,
    factory: () => business.track,
    async check(f) {
      const registry = f.business.registry;
      const before = await sampleValue(registry, 'uploads_total');
      const r = await f.request('/api/videos', 'POST');
      expect(r.status, r.body).toBe(200);
      expect(r.body).toBe('uploaded');
      await expect
        .poll(() => sampleValue(registry, 'uploads_total'), { timeout: 2000 })
        .toBe(before + 1);
    },
  },
  {
    pkg: '@vigil/business-metrics',
    name: 'business.totals',
    exports: business,
    factory: (b) => b.totals,
    check: endpoint('/business-totals', /^application\/json/, (text) => {
      expect(JSON.parse(text)).toHaveProperty('uploads_total');
    }),
  },
  {
    pkg: '@vigil/business-metrics',
    name: 'Counted',
    exports: business,
    factory: () => business.Counted,
    check: decorated('uploads_total', (n) => n + 1),
  },
  {
    pkg: '@vigil/business-metrics',
    name: 'Timed',
    exports: business,
    factory: () => business.Timed,
    check: decorated('upload_duration_seconds_count', (n) => n + 1),
  },
  {
    pkg: '@vigil/business-metrics',
    name: 'Observed',
    exports: business,
    factory: () => business.Observed,
    check: decorated('upload_size_bytes_sum', (n) => n + 3),
  },
];

/**
 * Exported functions that are not factories of something to mount: helpers called with values they
 * need (a registry, a request, a header), classes, and getters. Mounting one of them is not the
 * mistake NOT_CALLED is about, so they are listed here, each with what it is, and left out.
 */
const NOT_FACTORIES: Record<string, Record<string, string>> = {
  '@vigil/metrics': {
    render: 'renders a registry',
    renderJson: 'renders metric JSON',
    negotiate: 'reads an Accept header',
    VigilError: 'the error class',
  },
  '@vigil/tracing': {
    getTracing: 'returns the running setup',
    untraced: 'runs the function it is given, with tracing suppressed',
    EdgeAwareSampler: 'a sampler class, for startTracing',
    getRequestContext: "returns the request's ids, inside a request",
    recordRequestError: 'records an error, inside a request',
    acceptId: 'validates an id header value',
    generateId: 'makes an id',
    compileTrustList: 'compiles a list of CIDRs',
    installOutgoingPropagation: 'a setup step that startTracing() runs',
  },
  '@vigil/logging': {
    vigilLogMixin: 'a pino mixin, which also works uncalled',
    requestLoggingStatus: "returns the request loggers' state",
    redactUrlQuery: 'redacts the query of a URL',
  },
  '@vigil/audit': {
    audit: 'takes the request by design: audit(req)',
    setDefaultAuditLogger: 'takes a logger',
    getDefaultAuditLogger: 'returns the default logger',
    verifyAuditLog: "checks a log's text",
    VigilError: 'the error class',
  },
  '@vigil/rate-limit': {
    ipKey: 'computes a key from an address',
    StoreUnavailableError: 'an error class',
  },
  '@vigil/business-metrics': {
    metrics: 'takes the request by design: metrics(req)',
    VigilError: 'the error class',
  },
};

const PACKAGES: Record<string, Exports> = {
  '@vigil/metrics': metrics,
  '@vigil/tracing': tracing,
  '@vigil/logging': logging,
  '@vigil/audit': audit,
  '@vigil/rate-limit': rateLimit,
  '@vigil/business-metrics': business,
};

/** The backticked code of the message's fix: `... Fix: `a` or `b`. See "Error codes" ...`. */
function fixesOf(message: string): string[] {
  const at = message.indexOf(' Fix: ');
  const end = message.indexOf(' See "', at);
  if (at === -1 || end < at) return [];
  return [...message.slice(at, end).matchAll(/`([^`]+)`/g)].map((m) => m[1] ?? '');
}

const AsyncFunction = Object.getPrototypeOf(async () => {}).constructor as new (
  ...args: string[]
) => (...values: unknown[]) => Promise<Record<string, unknown>>;

/** A class whose method `run()` (returning 3) carries `decorators`, compiled as TypeScript does. */
function decoratedClass(decorators: string, scope: Record<string, unknown>): unknown {
  const source = `class Service {\n  ${decorators}\n  run() {\n    return 3;\n  }\n}\n`;
  const js = ts.transpileModule(source, {
    compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.CommonJS },
  }).outputText;
  const names = Object.keys(scope);
  // eslint-disable-next-line @typescript-eslint/no-implied-eval -- the class is the code under test
  return new Function(...names, `${js}\nreturn Service;`)(...names.map((n) => scope[n]));
}

/** Runs `snippet` with `scope` in scope; returns the variables it declares. */
async function evaluate(
  snippet: string,
  scope: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  if (snippet.startsWith('@')) return { Service: decoratedClass(snippet, scope) };
  const declared = [...snippet.matchAll(/\b(?:const|let)\s+(\w+)\s*=/g)].map((m) => m[1] ?? '');
  // What the snippet declares is the user's new code, not a name the app had already.
  const names = Object.keys(scope).filter((n) => !declared.includes(n));
  const run = new AsyncFunction(...names, `${snippet};\nreturn { ${declared.join(', ')} };`);
  return run(...names.map((n) => scope[n]));
}

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** Serves `listener` for one check. */
async function serve<T>(
  listener: RequestListener,
  use: (request: Fixed['request']) => Promise<T>,
): Promise<T> {
  const server = await listen(listener);
  try {
    return await use((path, method = 'GET') =>
      send(server.port, { path, method, headers: { 'content-length': '0' } }),
    );
  } finally {
    await server.close();
  }
}

/** Mounts `factory` on a real app of `fw` without its call, sends a request, returns the error. */
async function mountUncalled(c: Case, fw: Fw): Promise<{ error: unknown; status: unknown }> {
  const t = testApp(fw);
  const factory = c.factory(catalogue()) as Fn & (new (...args: unknown[]) => unknown);
  let mounted: unknown = factory;
  if (c.construct) {
    // A class cannot be mounted; an app would construct it with its arguments in a middleware.
    mounted = isKoa(fw)
      ? (ctx: unknown, next: unknown) => new factory(ctx, next)
      : (req: unknown, res: unknown, next: unknown) => new factory(req, res, next);
  } else if (fw === 'express4' && factory.constructor.name === 'AsyncFunction') {
    // Express 4 ignores a rejected promise (the process then dies of it, with the same error);
    // forwarding it to next() is what Express 5 and Koa do.
    mounted = (req: unknown, res: unknown, next: (e: unknown) => void) => {
      (factory(req, res, next) as Promise<unknown>).catch(next);
    };
  }
  t.app.use(mounted);
  t.routes();
  const listener = t.finish();
  const r = await serve(listener, (request) => request('/hello'));
  return { error: t.errors[0], status: r.status };
}

describe.each(FRAMEWORKS)('a factory mounted without its call in %s', (fw) => {
  it.each(CASES.map((c) => [`${c.pkg} ${c.name}`, c] as const))(
    'should fail with NOT_CALLED and a fix that works: %s',
    async (_label, c) => {
      const { error, status } = await mountUncalled(c, fw);
      expect(status).toBe(500);
      expect(error).toBeInstanceOf(audit.VigilError);
      const { code, message } = error as InstanceType<typeof audit.VigilError>;
      // The package's own code: ERR_VIGIL_RATE_LIMIT_NOT_CALLED for @vigil/rate-limit.
      expect(code).toBe(
        `ERR_VIGIL_${c.pkg.slice('@vigil/'.length).toUpperCase().replace(/-/g, '_')}_NOT_CALLED`,
      );
      expect(message).toContain(isKoa(fw) ? "Koa's (ctx, next)" : "Express's (req, res, next)");
      expect(message).toContain(`See "Error codes" in the ${c.pkg} README.`);
      const fixes = fixesOf(message);
      console.log(`[not-called] ${fw} ${c.name}: ${message}`);
      expect(fixes.length, message).toBeGreaterThan(0);

      for (const snippet of fixes) {
        const t = testApp(fw);
        const b = catalogue();
        const registry = new Registry();
        const dir = mkdtempSync(join(tmpdir(), 'vigil-not-called-'));
        dirs.push(dir);
        audit.setDefaultAuditLogger(undefined);
        const scope = {
          ...c.exports,
          app: t.app,
          router: t.router,
          handler: t.handler,
          business: b,
          registry,
        };
        // Files a fix names (audit.log) land in a directory of their own.
        const cwd = process.cwd();
        process.chdir(dir);
        try {
          // Error middleware goes after the routes, as its message says; everything else before.
          const afterRoutes = snippet.includes('expressTracingErrors(');
          if (afterRoutes) t.routes();
          const declared = await evaluate(snippet, scope);
          if (!afterRoutes) t.routes();
          await serve(t.finish(), (request) =>
            c.check({ fw, snippet, declared, business: b, errors: t.errors, dir, request }),
          );
          expect(
            t.errors.filter((e) => String((e as { code?: unknown }).code).endsWith('_NOT_CALLED')),
          ).toEqual([]);
        } finally {
          process.chdir(cwd);
        }
      }
    },
  );
});

describe('a decorator applied without its call', () => {
  it.each(['Counted', 'Timed', 'Observed'] as const)(
    'should fail with NOT_CALLED when the class is defined, and the fix should work: @%s',
    async (name) => {
      const b = catalogue();
      const scope = { ...business, business: b };
      let error: unknown;
      try {
        decoratedClass(`@${name}`, scope);
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(business.VigilError);
      const { code, message } = error as InstanceType<typeof business.VigilError>;
      console.log(`[not-called] @${name}: ${message}`);
      expect(code).toBe('ERR_VIGIL_BUSINESS_METRICS_NOT_CALLED');
      const fixes = fixesOf(message);
      expect(fixes.length, message).toBeGreaterThan(0);
      const c = CASES.find((x) => x.name === name);
      if (c === undefined) throw new Error(`no case checks @${name}`);
      for (const snippet of fixes) {
        const declared = await evaluate(snippet, scope);
        await c.check({
          fw: 'express5',
          snippet,
          declared,
          business: b,
          errors: [],
          dir: tmpdir(),
          request: () => Promise.reject(new Error('no app')),
        });
      }
    },
  );
});

describe('the factories under test', () => {
  it('should be every exported function of every package, or one listed as not a factory', () => {
    const covered: string[] = [];
    const missing: string[] = [];
    for (const [pkg, exports] of Object.entries(PACKAGES)) {
      for (const [name, value] of Object.entries(exports)) {
        if (typeof value !== 'function') continue;
        if (CASES.some((c) => c.pkg === pkg && c.name === name)) covered.push(name);
        else if (NOT_FACTORIES[pkg]?.[name] === undefined) missing.push(`${pkg} ${name}`);
      }
    }
    console.log(
      `[not-called] ${CASES.length} factories x ${FRAMEWORKS.length} frameworks; ${covered.length} exported, plus business.totals`,
    );
    expect(missing).toEqual([]);
  });
});
