// The four framework majors under test, each building the same small app around the metrics middleware.
import type { IncomingMessage } from 'node:http';
import { PassThrough } from 'node:stream';
import Router from '@koa/router';
import type express from 'express';
import type { Router as ExpressRouter } from 'express';
import type Koa from 'koa';
import {
  type MetricsHandlerOptions,
  type MetricsOptions,
  expressMetrics,
  expressMetricsHandler,
  koaMetrics,
  koaMetricsHandler,
} from '@vigil/metrics';
import {
  FRAMEWORK_HANDLES,
  type FrameworkApp,
  type FrameworkHandle,
  Gate,
  frameworkApp,
  sleep,
} from '@vigil/test-utils';

export { Gate, Koa2, VERSIONS, express4 } from '@vigil/test-utils';

export interface AppSettings {
  /** Options of the metrics middleware (`collectDefaultMetrics: false` is added unless given). */
  options: MetricsOptions;
  /** Mount this many metrics middleware instances with the same options (default 1). */
  instances?: number;
  /** Mount the scrape handler at GET /metrics with these options (registry: the middleware's). */
  metricsHandler?: MetricsHandlerOptions;
  /** Install the app's own error handler (default true); false leaves errors to the framework. */
  errorHandler?: boolean;
  gate?: Gate;
}

export interface Framework extends FrameworkHandle {
  /**
   * Builds the standard app: metrics middleware first, then the routes listed above expressApp(); its
   * `errors` are what its own error handler (Express) or error middleware / 'error' event (Koa) saw.
   */
  app(settings: AppSettings): FrameworkApp;
}

/** The error message thrown by the failing routes. */
export const BOOM = 'boom';

const msParam = (url: string | undefined, fallback: number): number => {
  const m = /[?&]ms=(\d+)/.exec(url ?? '');
  return m ? Number(m[1]) : fallback;
};

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of req) parts.push(chunk as Buffer);
  return Buffer.concat(parts);
}

const withDefaults = (options: MetricsOptions): MetricsOptions => ({
  collectDefaultMetrics: false,
  ...options,
});

const handlerOptions = (settings: AppSettings): MetricsHandlerOptions => ({
  registry: settings.options.registry,
  ...settings.metricsHandler,
});

/** Chunks written by GET /stream. */
export const STREAM_CHUNKS = ['alpha-', 'beta-beta-', 'gamma-gamma-gamma'];

/*
 * Routes of the standard app (identical templates on every framework):
 *   GET  /api/users/:id   nested routers: app -> /api -> /users -> /:id
 *   POST /api/echo        reads the body, answers { bytes }
 *   GET  /sync-throw      throws synchronously
 *   GET  /async-reject    rejects (Express 5 and Koa only)
 *   GET  /next-error      next(err) (Express only)
 *   GET  /slow?ms=N       answers after N ms
 *   GET  /gate            answers once the test opens the gate
 *   GET  /stream          chunked response written in STREAM_CHUNKS
 *   GET  /stream-forever  writes a chunk every 20 ms until the client leaves (2 s at most)
 *   GET  /sse?ms=N        text/event-stream held open N ms (default 300)
 *   GET  /no-content      204
 *   GET  /metrics         the scrape handler, when settings.metricsHandler is given
 */
function standardApp(fw: FrameworkHandle, settings: AppSettings): FrameworkApp {
  const errorBody = (err: unknown) => ({
    handled: true,
    error: err instanceof Error ? err.message : 'unknown',
  });
  return frameworkApp(fw.name, {
    express: (app, e) => expressApp(app, e, fw, settings),
    koa: (app, errors) => koaApp(app, errors, settings, errorBody),
    expressErrorBody: settings.errorHandler === false ? undefined : errorBody,
  });
}

function expressApp(
  app: express.Express,
  factory: typeof express,
  fw: FrameworkHandle,
  settings: AppSettings,
): void {
  const options = withDefaults(settings.options);
  for (let i = 0; i < (settings.instances ?? 1); i++) app.use(expressMetrics(options));
  if (settings.metricsHandler) {
    app.get('/metrics', expressMetricsHandler(handlerOptions(settings)));
  }

  const users: ExpressRouter = factory.Router();
  users.get('/:id', (req, res) => {
    res.json({ id: req.params.id });
  });
  const api: ExpressRouter = factory.Router();
  api.use('/users', users);
  api.post('/echo', factory.json({ type: () => true }), (req, res) => {
    const received: unknown = req.body;
    res.json({ received });
  });
  app.use('/api', api);

  app.get('/sync-throw', () => {
    throw new Error(BOOM);
  });
  app.get('/next-error', (_req, _res, next) => next(new Error(BOOM)));
  if (fw.asyncErrors) {
    app.get('/async-reject', async () => {
      await sleep(1);
      throw new Error(BOOM);
    });
  }
  app.get('/slow', (req, res) => {
    setTimeout(() => res.send('slow'), msParam(req.url, 200));
  });
  app.get('/gate', (_req, res, next) => {
    (settings.gate ?? new Gate()).pass().then(() => res.send('passed'), next);
  });
  app.get('/stream', (_req, res) => {
    res.setHeader('content-type', 'text/plain');
    void (async () => {
      for (const chunk of STREAM_CHUNKS) {
        res.write(chunk);
        await sleep(5);
      }
      res.end();
    })();
  });
  app.get('/stream-forever', (_req, res) => {
    res.setHeader('content-type', 'text/plain');
    res.write('first-chunk');
    const timer = setInterval(() => res.write('more'), 20);
    const stop = setTimeout(() => res.end(), 2000);
    res.on('close', () => {
      clearInterval(timer);
      clearTimeout(stop);
    });
  });
  app.get('/sse', (req, res) => {
    res.setHeader('content-type', 'text/event-stream');
    res.setHeader('cache-control', 'no-cache');
    res.write('data: hello\n\n');
    const timer = setTimeout(() => res.end('data: bye\n\n'), msParam(req.url, 300));
    res.on('close', () => clearTimeout(timer));
  });
  app.get('/no-content', (_req, res) => {
    res.status(204).end();
  });
}

function koaApp(
  app: Koa,
  errors: unknown[],
  settings: AppSettings,
  errorBody: (err: unknown) => unknown,
): void {
  const options = withDefaults(settings.options);
  for (let i = 0; i < (settings.instances ?? 1); i++) app.use(koaMetrics(options));
  if (settings.errorHandler !== false) {
    app.use(async (ctx, next) => {
      try {
        await next();
      } catch (err) {
        errors.push(err);
        ctx.status = 500;
        ctx.body = errorBody(err);
      }
    });
  }

  const router = new Router();
  if (settings.metricsHandler) router.get('/metrics', koaMetricsHandler(handlerOptions(settings)));
  const users = new Router();
  users.get('/:id', (ctx) => {
    ctx.body = { id: ctx.params.id };
  });
  const api = new Router({ prefix: '/api' });
  api.use('/users', users.routes(), users.allowedMethods());
  api.post('/echo', async (ctx) => {
    const body = await readBody(ctx.req);
    ctx.body = { received: JSON.parse(body.toString('utf8')) as unknown };
  });

  router.get('/sync-throw', () => {
    throw new Error(BOOM);
  });
  router.get('/async-reject', async () => {
    await sleep(1);
    throw new Error(BOOM);
  });
  router.get('/slow', async (ctx) => {
    await sleep(msParam(ctx.url, 200));
    ctx.body = 'slow';
  });
  router.get('/gate', async (ctx) => {
    await (settings.gate ?? new Gate()).pass();
    ctx.body = 'passed';
  });
  router.get('/stream', (ctx) => {
    const body = new PassThrough();
    ctx.type = 'text/plain';
    ctx.body = body;
    void (async () => {
      for (const chunk of STREAM_CHUNKS) {
        body.write(chunk);
        await sleep(5);
      }
      body.end();
    })();
  });
  router.get('/stream-forever', (ctx) => {
    const body = new PassThrough();
    ctx.type = 'text/plain';
    ctx.body = body;
    body.write('first-chunk');
    const timer = setInterval(() => body.write('more'), 20);
    const stop = setTimeout(() => body.end(), 2000);
    ctx.res.on('close', () => {
      clearInterval(timer);
      clearTimeout(stop);
    });
  });
  router.get('/sse', (ctx) => {
    const body = new PassThrough();
    ctx.type = 'text/event-stream';
    ctx.set('cache-control', 'no-cache');
    ctx.body = body;
    body.write('data: hello\n\n');
    const timer = setTimeout(() => body.end('data: bye\n\n'), msParam(ctx.url, 300));
    ctx.res.on('close', () => clearTimeout(timer));
  });
  router.get('/no-content', (ctx) => {
    ctx.status = 204;
  });

  app.use(api.routes()).use(api.allowedMethods());
  app.use(router.routes()).use(router.allowedMethods());
}

export const FRAMEWORKS: readonly Framework[] = FRAMEWORK_HANDLES.map((fw) => ({
  ...fw,
  app: (s) => standardApp(fw, s),
}));

export const EXPRESS_FRAMEWORKS = FRAMEWORKS.filter((f) => f.kind === 'express');
export const KOA_FRAMEWORKS = FRAMEWORKS.filter((f) => f.kind === 'koa');
