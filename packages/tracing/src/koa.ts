// Koa 2 and 3 adapter: koaTracing().
import type { IncomingMessage, ServerResponse } from 'node:http';
import { koaRouteTemplate } from '@vigil/core';
import { context } from './errors';
import { ServerTracer } from './server';
import type { TracingMiddlewareOptions } from './types';

/** The part of a Koa context the middleware uses. */
export interface KoaContextLike {
  req: IncomingMessage;
  res: ServerResponse;
}
/** A Koa-compatible middleware. */
export type KoaMiddleware = (ctx: KoaContextLike, next: () => Promise<unknown>) => Promise<void>;

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
    // Koa writes the response (and turns errors into 500s) after the middleware chain settles, so
    // the span ends when the response does.
    res.once('close', () => tracer.end(active, res, koaRouteTemplate(ctx), !res.writableFinished));
    await tracer.run(active, async () => {
      try {
        await next();
      } catch (err) {
        active.error = err;
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
