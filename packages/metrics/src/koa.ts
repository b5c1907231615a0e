// Koa 2 and 3 adapter: koaMetrics() middleware and the /metrics handler.
import {
  type KoaContextLike as CoreKoaContext,
  type KoaMiddleware as CoreKoaMiddleware,
  looksLikeFrameworkCall,
  notCalledError,
} from '@vigil/core';
import { context } from './errors';
import { resolveOptions } from './options';
import { HttpRecorder } from './recorder';
import { createScrapeResponder } from './handler';
import { exposeToClusterPrimary } from './cluster';
import type { MetricsHandlerOptions, MetricsOptions } from './types';

/** The part of a Koa context the middleware uses: core's, and `respond` for the scrape handler. */
export interface KoaContextLike extends CoreKoaContext {
  respond?: boolean;
}
/** A Koa-compatible middleware. */
export type KoaMiddleware = CoreKoaMiddleware<KoaContextLike>;

/**
 * HTTP RED metrics for Koa 2 and 3 (route templates from @koa/router). Mount it first:
 * `app.use(koaMetrics())`.
 * @throws VigilError with an `ERR_VIGIL_METRICS_*` code on invalid options.
 */
export function koaMetrics(options?: MetricsOptions): KoaMiddleware {
  const ctx = context('koaMetrics');
  const resolved = resolveOptions(ctx, options, arguments.length);
  const recorder = new HttpRecorder(resolved, ctx);
  exposeToClusterPrimary(resolved.registry);
  return async function vigilMetrics(koaCtx, next) {
    // Recording happens when the response closes, after Koa has written errors as 500s.
    recorder.start(koaCtx.req, koaCtx.res, koaCtx);
    await next();
  };
}

/**
 * The scrape endpoint for Koa: `router.get('/metrics', koaMetricsHandler())`, or
 * `app.use(koaMetricsHandler({ path: '/metrics' }))` without a router.
 */
export function koaMetricsHandler(options?: MetricsHandlerOptions): KoaMiddleware {
  const ctx = context('koaMetricsHandler');
  if (looksLikeFrameworkCall(options, arguments.length)) throw notCalledError(ctx, options);
  const respond = createScrapeResponder(ctx, options);
  return async function vigilMetricsHandler(koaCtx, next) {
    if (!respond.matches(koaCtx.req)) {
      await next();
      return;
    }
    // The handler writes the response itself; tell Koa not to touch it.
    koaCtx.respond = false;
    await respond.handle(koaCtx.req, koaCtx.res);
  };
}
