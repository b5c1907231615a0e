// Koa 2 and 3: every capability composed into ONE middleware, mounted with app.use() before the
// app's router.
import type { KoaContextLike, KoaMiddleware } from '@vigil/core';
import {
  type OptionContext,
  codedError,
  frameworkOf,
  notCalledError,
  optionError,
} from '@vigil/core';
import { koaHealth } from '@vigil/health';
import { koaRequestLogger } from '@vigil/logging';
import { koaMetrics, koaMetricsHandler, koaMetricsSummaryHandler } from '@vigil/metrics';
import { koaRateLimit } from '@vigil/rate-limit';
import { koaTracing } from '@vigil/tracing';
import { PACKAGE, VIGIL_ERROR_CODES, context } from './errors';
import { withFramework } from './express';
import { type FrameworkFactories, type Pieces, drainOnListen, setUp } from './setup';
import type { Vigil, VigilOptions } from './types';

/** The part of a Koa 2/3 app vigil.koa() uses. */
export interface KoaAppLike {
  use(middleware: unknown): unknown;
  listen(...args: never[]): unknown;
  middleware: unknown[];
  callback(): unknown;
}

const FACTORIES: FrameworkFactories = {
  tracing: (o) => koaTracing(o as never),
  requestLog: (o) => koaRequestLogger(o as never),
  metrics: (o) => koaMetrics(o as never),
  metricsHandler: (o) => koaMetricsHandler(o as never),
  summaryHandler: (o) => koaMetricsSummaryHandler(o as never),
  health: (h) => koaHealth(h),
  rateLimit: (o) => koaRateLimit(o as never),
  alertsApi: (a) => a.api.koa(),
  live: (p) => p.koa(),
};

/** True for a Koa application (2 or 3). */
export function isKoaApp(app: unknown): app is KoaAppLike {
  if (app === null || typeof app !== 'object') return false;
  const a = app as Record<string, unknown>;
  return (
    typeof a.use === 'function' &&
    typeof a.callback === 'function' &&
    Array.isArray(a.middleware) &&
    typeof a.context === 'object'
  );
}

type Ctx = KoaContextLike & { respond?: boolean };

function run(
  chain: readonly KoaMiddleware<Ctx>[],
  ctx: Ctx,
  next: () => Promise<unknown>,
): Promise<unknown> {
  const dispatch = (i: number): Promise<unknown> => {
    const mw = chain[i];
    return mw === undefined ? next() : mw(ctx, () => dispatch(i + 1));
  };
  return dispatch(0);
}

/** The one middleware: probes and operational endpoints only on their paths, the rest on every request. */
export function composeKoa(pieces: Pieces): KoaMiddleware<Ctx> {
  const traces = pieces.traces;
  const tracesMw: KoaMiddleware<Ctx>[] =
    traces === undefined
      ? []
      : [
          async (ctx, next) => {
            // Answered on Node's response: Koa must leave it alone.
            if (await traces(ctx.req, ctx.res)) ctx.respond = false;
            else await next();
          },
        ];
  const common = [...pieces.before, ...pieces.after] as KoaMiddleware<Ctx>[];
  const operational = [
    ...(pieces.health === undefined ? [] : [pieces.health]),
    ...pieces.before,
    ...pieces.operational,
    ...tracesMw,
    ...pieces.after,
  ] as KoaMiddleware<Ctx>[];
  const { mayBeOperational } = pieces;
  return async function vigil(ctx, next) {
    await run(mayBeOperational(ctx.req.url) ? operational : common, ctx, next);
  };
}

/**
 * Mounts every capability on a Koa 2 or 3 app, before its router: `vigil.koa(app)`.
 * @throws VigilError `ERR_VIGIL_*` for its own options, the packages' codes for theirs.
 */
export function vigilKoa(app: unknown, options?: VigilOptions): Vigil {
  return mountKoa(context('vigil.koa'), app, options, arguments.length);
}

/** vigil.koa() under the name it was called by (`vigil`, `vigil.koa`), for messages. */
export function mountKoa(
  ctx: OptionContext,
  app: unknown,
  options: VigilOptions | undefined,
  argCount: number,
): Vigil {
  if (frameworkOf(app) !== undefined) throw notCalledError(ctx, app);
  if (!isKoaApp(app)) {
    throw optionError(ctx, 'INVALID_APP', 'app', 'a Koa 2 or 3 application (new Koa())', app);
  }
  // @koa/router's routes() middleware carries its router.
  const routers = app.middleware.filter(
    (m) => typeof m === 'function' && (m as { router?: unknown }).router !== undefined,
  ).length;
  if (routers > 0) {
    throw codedError(
      { pkg: PACKAGE },
      VIGIL_ERROR_CODES.MOUNTED_AFTER_ROUTES,
      `vigil.koa(app) was called after ${routers} router(s) were mounted: Koa runs middleware in the order it is added, so those routes would be neither traced, logged, measured nor limited.`,
      'Call vigil.koa(app) right after `const app = new Koa()`, before app.use(router.routes()).',
    );
  }
  const { pieces, handle } = setUp(ctx, options, argCount > 1 ? 1 : 0, FACTORIES);
  app.use(composeKoa(pieces));
  if (handle.health !== undefined) drainOnListen(app, (s) => handle.attach(s));
  return withFramework(handle, 'koa');
}
