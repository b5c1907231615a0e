// Express 4 and 5 adapter: expressMetrics() middleware and the /metrics handler.
import { type ExpressMiddleware, looksLikeFrameworkCall, notCalledError } from '@vigil/core';
import { context } from './errors';
import { resolveOptions } from './options';
import { HttpRecorder } from './recorder';
import { createScrapeResponder } from './handler';
import { exposeToClusterPrimary } from './cluster';
import type { MetricsHandlerOptions, MetricsOptions } from './types';

export type { ExpressMiddleware } from '@vigil/core';

/**
 * HTTP RED metrics for Express 4 and 5. Mount it before the routes: `app.use(expressMetrics())`.
 * @throws VigilError with an `ERR_VIGIL_METRICS_*` code on invalid options.
 */
export function expressMetrics(options?: MetricsOptions): ExpressMiddleware {
  const ctx = context('expressMetrics');
  const resolved = resolveOptions(ctx, options, arguments.length);
  const recorder = new HttpRecorder(resolved, ctx);
  exposeToClusterPrimary(resolved.registry);
  return function vigilMetrics(req, res, next) {
    recorder.start(req, res);
    next();
  };
}

/**
 * The scrape endpoint for Express: `app.get('/metrics', expressMetricsHandler())`. Serves the
 * Prometheus text format, or OpenMetrics when the scraper asks for it.
 */
export function expressMetricsHandler(options?: MetricsHandlerOptions): ExpressMiddleware {
  const ctx = context('expressMetricsHandler');
  if (looksLikeFrameworkCall(options, arguments.length)) throw notCalledError(ctx, options);
  const respond = createScrapeResponder(ctx, options);
  return function vigilMetricsHandler(req, res, next) {
    if (!respond.matches(req)) return next();
    respond.handle(req, res).catch(next);
  };
}
