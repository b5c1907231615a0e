// Express 4, Express 5, Koa 2 and Koa 3 apps built around the tracing middleware, with the same routes.
import type { IncomingMessage, RequestListener } from 'node:http';
import { createRequire } from 'node:module';
import Router, { type RouterMiddleware } from '@koa/router';
import express, { type ErrorRequestHandler, type Router as ExpressRouter } from 'express';
import Koa from 'koa';
import { markOperational } from '@vigil/core';
import {
  type RequestContext,
  type TracingMiddlewareOptions,
  expressTracing,
  expressTracingErrors,
  getRequestContext,
  koaTracing,
} from '@vigil/tracing';
import { express4, Koa2 } from '@vigil/test-utils';

export { express4, Koa2 };

const load = createRequire(__filename);

export type FrameworkName = 'express4' | 'express5' | 'koa2' | 'koa3';

/** The error message thrown by the failing routes. */
export const BOOM = 'boom';

/** A GET handler given by a test: its result is sent as JSON. */
export type JsonRoute = (req: IncomingMessage) => unknown;

export interface AppSettings {
  /** Options of expressTracing() / koaTracing(); `undefined` calls the factory without arguments. */
  tracing?: TracingMiddlewareOptions;
  /** Extra GET routes answering JSON. */
  routes?: Record<string, JsonRoute>;
  /** Called when GET /hold has been entered (it then answers only when the client leaves). */
  onHold?: () => void;
  /**
   * Koa only: where the app's error middleware sits. `inside` (default): after koaTracing(), as an app
   * mounting tracing first has it; `outside`: before it; `none`: Koa's default error handling.
   */
  koaErrorHandler?: 'inside' | 'outside' | 'none';
}

export interface TestApp {
  listener: RequestListener;
  /** Errors the app's own error handler saw. */
  errors: unknown[];
}

export interface Framework {
  name: FrameworkName;
  kind: 'express' | 'koa';
  /** Whether a rejected promise from a handler reaches the error handler (Express 5, Koa). */
  asyncErrors: boolean;
  app(settings?: AppSettings): TestApp;
}

/** What a handler saw of getRequestContext() at each point of its async flow. */
export interface ContextReport {
  sync: RequestContext | undefined;
  afterTimeout: RequestContext | undefined;
  afterAwait: RequestContext | undefined;
  inChain: RequestContext | undefined;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function msParam(url: string | undefined): number {
  const m = /[?&]ms=(\d+)/.exec(url ?? '');
  return m ? Math.min(Number(m[1]), 200) : 0;
}

/** Reads the request context synchronously, after a timer, after an await and in a promise chain. */
async function contextReport(req: IncomingMessage): Promise<ContextReport> {
  const ms = msParam(req.url);
  const sync = getRequestContext();
  const afterTimeout = await new Promise<RequestContext | undefined>((resolve) =>
    setTimeout(() => resolve(getRequestContext()), ms),
  );
  await sleep(ms);
  const afterAwait = getRequestContext();
  const inChain = await Promise.resolve()
    .then(() => sleep(ms))
    .then(() => getRequestContext());
  return { sync, afterTimeout, afterAwait, inChain };
}

const CONTEXT_ROUTES = ['/ctx', '/health/live', '/metrics'];

/*
 * Routes (the same templates on every framework):
 *   GET  /api/users/:id            nested routers: app -> /api -> /users -> /:id; answers the context
 *   GET  /orgs/:org/teams/:team    a router mounted at a parameterised path; answers the context
 *   GET  /ctx?ms=N                 the context at several points of the async flow (ContextReport)
 *   GET  /health/live, /metrics    as /ctx (default ignorePaths)
 *   ALL  /any                      every method, unknown ones included
 *   GET  /sync-throw               throws synchronously
 *   GET  /async-reject             rejects (Express 5 and Koa)
 *   GET  /next-error               next(err) (Express)
 *   GET  /fail-500                 a 500 without an error object
 *   GET  /hold                     answers only when the client has gone
 *   GET  /ops                      an operational handler: markOperational(req)
 * plus the test's own `routes`.
 */
function expressApp(factory: typeof express, settings: AppSettings): TestApp {
  const errors: unknown[] = [];
  const app = factory();
  app.use(settings.tracing === undefined ? expressTracing() : expressTracing(settings.tracing));
  const send =
    (fn: JsonRoute): express.RequestHandler =>
    (req, res, next) => {
      Promise.resolve()
        .then(() => fn(req))
        .then((body) => res.json(body), next);
    };

  const users: ExpressRouter = factory.Router();
  users.get('/:id', send(contextReport));
  const api: ExpressRouter = factory.Router();
  api.use('/users', users);
  app.use('/api', api);
  const teams: ExpressRouter = factory.Router({ mergeParams: true });
  teams.get('/teams/:team', send(contextReport));
  app.use('/orgs/:org', teams);
  for (const path of CONTEXT_ROUTES) app.get(path, send(contextReport));
  for (const [path, fn] of Object.entries(settings.routes ?? {})) app.get(path, send(fn));

  app.all('/any', (_req, res) => {
    res.json({ any: true });
  });
  app.get('/sync-throw', () => {
    throw new Error(BOOM);
  });
  app.get('/next-error', (_req, _res, next) => setTimeout(() => next(new Error(BOOM)), 1));
  if (factory === express) {
    app.get('/async-reject', async () => {
      await sleep(1);
      throw new Error(BOOM);
    });
  }
  app.get('/fail-500', (_req, res) => {
    res.status(500).json({ failed: true });
  });
  app.get('/hold', (_req, res) => {
    settings.onHold?.();
    const timer = setTimeout(() => res.end('late'), 2000);
    res.on('close', () => clearTimeout(timer));
  });
  app.get('/ops', (req, res) => {
    markOperational(req);
    res.json({ operational: true });
  });

  app.use(expressTracingErrors());
  const onError: ErrorRequestHandler = (err, _req, res, _next) => {
    errors.push(err);
    res.status(500).json({ handled: true, error: err instanceof Error ? err.message : 'unknown' });
  };
  app.use(onError);
  return { listener: app, errors };
}

function koaApp(Factory: typeof Koa, settings: AppSettings): TestApp {
  const errors: unknown[] = [];
  const app = new Factory();
  // Koa's default handler logs every error to stderr; the test keeps them instead.
  app.silent = true;
  app.on('error', (err: unknown) => errors.push(err));
  const where = settings.koaErrorHandler ?? 'inside';
  const onError: Koa.Middleware = async (ctx, next) => {
    try {
      await next();
    } catch (err) {
      ctx.status = 500;
      ctx.body = { handled: true, error: err instanceof Error ? err.message : 'unknown' };
      // What Koa's documentation asks of error middleware that answers errors itself.
      ctx.app.emit('error', err, ctx);
    }
  };
  if (where === 'outside') app.use(onError);
  app.use(settings.tracing === undefined ? koaTracing() : koaTracing(settings.tracing));
  if (where === 'inside') app.use(onError);

  const send =
    (fn: JsonRoute): RouterMiddleware =>
    async (ctx) => {
      ctx.body = await fn(ctx.req);
    };
  const router = new Router();
  const users = new Router();
  users.get('/:id', send(contextReport));
  const api = new Router({ prefix: '/api' });
  api.use('/users', users.routes(), users.allowedMethods());
  const teams = new Router({ prefix: '/orgs/:org' });
  teams.get('/teams/:team', send(contextReport));
  for (const path of CONTEXT_ROUTES) router.get(path, send(contextReport));
  for (const [path, fn] of Object.entries(settings.routes ?? {})) router.get(path, send(fn));

  router.all('/any', (ctx) => {
    ctx.body = { any: true };
  });
  router.get('/sync-throw', () => {
    throw new Error(BOOM);
  });
  router.get('/async-reject', async () => {
    await sleep(1);
    throw new Error(BOOM);
  });
  router.get('/fail-500', (ctx) => {
    ctx.status = 500;
    ctx.body = { failed: true };
  });
  router.get('/hold', async (ctx) => {
    settings.onHold?.();
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 2000);
      ctx.req.on('close', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    ctx.body = 'late';
  });
  router.get('/ops', (ctx) => {
    markOperational(ctx.req);
    ctx.body = { operational: true };
  });

  app.use(api.routes()).use(api.allowedMethods());
  app.use(teams.routes()).use(teams.allowedMethods());
  app.use(router.routes()).use(router.allowedMethods());
  const handle = app.callback();
  return { listener: (req, res) => void handle(req, res), errors };
}

export const FRAMEWORKS: readonly Framework[] = [
  {
    name: 'express4',
    kind: 'express',
    asyncErrors: false,
    app: (s = {}) => expressApp(express4, s),
  },
  { name: 'express5', kind: 'express', asyncErrors: true, app: (s = {}) => expressApp(express, s) },
  { name: 'koa2', kind: 'koa', asyncErrors: true, app: (s = {}) => koaApp(Koa2, s) },
  { name: 'koa3', kind: 'koa', asyncErrors: true, app: (s = {}) => koaApp(Koa, s) },
];

/** Installed versions, so a test can show each alias really is the major it claims. */
export const VERSIONS: Record<FrameworkName, string> = {
  express4: (load('express4/package.json') as { version: string }).version,
  express5: (load('express/package.json') as { version: string }).version,
  koa2: (load('koa2/package.json') as { version: string }).version,
  koa3: (load('koa/package.json') as { version: string }).version,
};
