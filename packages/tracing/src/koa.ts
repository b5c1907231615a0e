// Koa 2 and 3 adapter: koaTracing().
import type { KoaMiddleware } from '@vigil/core';
import { context } from './errors';
import { ServerTracer } from './server';
import type { TracingMiddlewareOptions } from './types';

export type { KoaContextLike, KoaMiddleware } from '@vigil/core';

/**
 * Server spans, W3C propagation and request ids for Koa 2 and 3 (route templates from @koa/router).
 * Mount it first: `app.use(koaTracing())`.
 * @throws VigilError with an `ERR_VIGIL_TRACING_*` code on invalid options.
 */
export function koaTracing(options?: TracingMiddlewareOptions): KoaMiddleware {
  const tracer = new ServerTracer(context('koaTracing'), options, arguments.length);
  return async function vigilTracing(ctx, next) {
    // Koa writes the response (and turns errors into 500s) after the middleware chain settles; the
    // request's record ends the span when the response does, with the errors Koa reported on the
    // app's 'error' event (an error middleware after this one answers them itself).
    const state = tracer.begin(ctx.req, ctx.res, ctx);
    await tracer.run(state, async () => {
      try {
        await next();
      } catch (err) {
        state.record.recordError(err);
        // Koa's error handler clears every response header, then sets `err.headers`: carry the
        // request id there so error responses echo it too.
        if (err !== null && typeof err === 'object') {
          const e = err as { headers?: Record<string, unknown> };
          e.headers = { ...e.headers, 'x-request-id': state.requestId };
        }
        throw err;
      }
    });
  };
}
