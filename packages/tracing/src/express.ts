// Express 4 and 5 adapter: expressTracing() and the error recorder that goes before the app's handler.
import {
  type ExpressErrorMiddleware,
  type ExpressMiddleware,
  findRequest,
  looksLikeFrameworkCall,
  notCalledError,
} from '@vigil/core';
import { context } from './errors';
import { ServerTracer } from './server';
import type { TracingMiddlewareOptions } from './types';

export type { ExpressErrorMiddleware, ExpressMiddleware } from '@vigil/core';

/**
 * Server spans, W3C propagation and request ids for Express 4 and 5. Mount it first, before
 * expressMetrics() so metrics can attach trace exemplars: `app.use(expressTracing())`.
 * @throws VigilError with an `ERR_VIGIL_TRACING_*` code on invalid options.
 */
export function expressTracing(options?: TracingMiddlewareOptions): ExpressMiddleware {
  const tracer = new ServerTracer(context('expressTracing'), options, arguments.length);
  return function vigilTracing(req, res, next) {
    tracer.run(tracer.begin(req, res), next);
  };
}

/**
 * Records errors on the request's span, then passes them on. Mount it after the routes and before
 * the app's own error handler: `app.use(expressTracingErrors())`.
 */
export function expressTracingErrors(...args: unknown[]): ExpressErrorMiddleware {
  if (looksLikeFrameworkCall(args[0], args.length)) {
    throw notCalledError(context('expressTracingErrors'), args[0]);
  }
  return function vigilTracingErrors(err, req, _res, next) {
    // On the request's record: the span, the request log line and the metrics all see it.
    findRequest(req)?.recordError(err);
    next(err);
  };
}
