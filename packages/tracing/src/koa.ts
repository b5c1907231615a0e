// Koa 2 and 3 adapter: koaTracing().
import type { IncomingMessage, ServerResponse } from 'node:http';
import { koaRouteTemplate } from '@vigil/core';
import { context } from './errors';
import type { RequestState } from './request-context';
import { ServerTracer } from './server';
import type { TracingMiddlewareOptions } from './types';

/** The part of a Koa context the middleware uses. */
export interface KoaContextLike {
  req: IncomingMessage;
  res: ServerResponse;
  app?: { on?: (event: string, listener: (...args: never[]) => void) => unknown };
}
/** A Koa-compatible middleware. */
export type KoaMiddleware = (ctx: KoaContextLike, next: () => Promise<unknown>) => Promise<void>;

const kState = Symbol('vigil.tracing.state');
const watchedApps = new WeakSet<object>();

function recordError(state: RequestState, err: unknown): void {
  if (state.error === undefined) state.error = err;
}

/**
 * An error middleware mounted after koaTracing() answers errors itself, so they never reach it; but
 * Koa apps report them on the app's 'error' event (Koa's own handler does, and so do most custom
 * ones, with ctx.app.emit('error', err, ctx)). Listening there records them on the right span.
 */
function watchAppErrors(ctx: KoaContextLike): void {
  const app = ctx.app;
  if (app === undefined || watchedApps.has(app) || typeof app.on !== 'function') return;
  watchedApps.add(app);
  app.on('error', (err: unknown, errCtx: unknown) => {
    const state = (errCtx as { [kState]?: RequestState } | undefined)?.[kState];
    if (state !== undefined) recordError(state, err);
  });
}

/**
 * Server spans, W3C propagation and request ids for Koa 2 and 3 (route templates from @koa/router).
 * Mount it first: `app.use(koaTracing())`.
 * @throws VigilError with an `ERR_VIGIL_TRACING_*` code on invalid options.
 */
export function koaTracing(options?: TracingMiddlewareOptions): KoaMiddleware {
  const tracer = new ServerTracer(context('koaTracing'), options, arguments.length);
  return async function vigilTracing(ctx, next) {
    const { req, res } = ctx;
    const active = tracer.begin(req, res, ctx);
    watchAppErrors(ctx);
    (ctx as KoaContextLike & { [kState]?: RequestState })[kState] = active.state;
    // Koa writes the response (and turns errors into 500s) after the middleware chain settles, so
    // the span ends when the response does.
    res.once('close', () => tracer.end(active, res, koaRouteTemplate(ctx), !res.writableFinished));
    await tracer.run(active, async () => {
      try {
        await next();
      } catch (err) {
        recordError(active.state, err);
        // Koa's error handler clears every response header, then sets `err.headers`: carry the
        // request id there so error responses echo it too.
        if (err !== null && typeof err === 'object') {
          const e = err as { headers?: Record<string, unknown> };
          e.headers = { ...e.headers, 'x-request-id': active.state.requestId };
        }
        throw err;
      }
    });
  };
}
