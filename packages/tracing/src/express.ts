// Express 4 and 5 adapter: expressTracing() and the error recorder that goes before the app's handler.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { expressRouteTemplate, looksLikeFrameworkCall, notCalledError } from '@vigil/core';
import { context } from './errors';
import { recordRequestError } from './request-context';
import { ServerTracer } from './server';
import type { TracingMiddlewareOptions } from './types';

type Next = (err?: unknown) => void;
/** An Express-compatible middleware. */
export type ExpressMiddleware = (req: IncomingMessage, res: ServerResponse, next: Next) => void;
/** An Express-compatible error middleware. */
export type ExpressErrorMiddleware = (
  err: unknown,
  req: IncomingMessage,
  res: ServerResponse,
  next: Next,
) => void;

/**
 * Server spans, W3C propagation and request ids for Express 4 and 5. Mount it first, before
 * expressMetrics() so metrics can attach trace exemplars: `app.use(expressTracing())`.
 * @throws VigilError with an `ERR_VIGIL_TRACING_*` code on invalid options.
 */
export function expressTracing(options?: TracingMiddlewareOptions): ExpressMiddleware {
  const tracer = new ServerTracer(context('expressTracing'), options, arguments.length);
  return function vigilTracing(req, res, next) {
    const active = tracer.begin(req, res);
    res.once('close', () =>
      tracer.end(active, res, expressRouteTemplate(req), !res.writableFinished),
    );
    tracer.run(active, next);
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
  return function vigilTracingErrors(err, _req, _res, next) {
    recordRequestError(err);
    next(err);
  };
}
