// Express 4 and 5: every capability composed into ONE middleware (one layer in the app's router),
// mounted with app.use() before the app's routes.
import type { ExpressMiddleware, NextFunction } from '@vigil/core';
import {
  type OptionContext,
  codedError,
  frameworkOf,
  notCalledError,
  optionError,
} from '@vigil/core';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { expressRequestLogger } from '@vigil/logging';
import {
  expressMetrics,
  expressMetricsHandler,
  expressMetricsSummaryHandler,
} from '@vigil/metrics';
import { expressHealth } from '@vigil/health';
import { expressRateLimit } from '@vigil/rate-limit';
import { expressTracing } from '@vigil/tracing';
import { PACKAGE, VIGIL_ERROR_CODES, context } from './errors';
import {
  type FrameworkFactories,
  type Pieces,
  type RawHandler,
  drainOnListen,
  setUp,
} from './setup';
import type { Vigil, VigilOptions } from './types';

/** The part of an Express 4/5 app vigil() uses. */
export interface ExpressAppLike {
  use(...handlers: unknown[]): unknown;
  listen(...args: never[]): unknown;
  set(setting: string, value?: unknown): unknown;
}

const FACTORIES: FrameworkFactories = {
  tracing: (o) => expressTracing(o as never),
  requestLog: (o) => expressRequestLogger(o as never),
  metrics: (o) => expressMetrics(o as never),
  metricsHandler: (o) => expressMetricsHandler(o as never),
  summaryHandler: (o) => expressMetricsSummaryHandler(o as never),
  health: (h) => expressHealth(h),
  rateLimit: (o) => expressRateLimit(o as never),
  alertsApi: (a) => a.api.express(),
  live: (p) => p.express(),
};

/** True for an Express application (4 or 5). */
export function isExpressApp(app: unknown): app is ExpressAppLike {
  if (typeof app !== 'function') return false;
  const a = app as unknown as Record<string, unknown>;
  return (
    typeof a.use === 'function' && typeof a.set === 'function' && typeof a.handle === 'function'
  );
}

interface Layer {
  route?: unknown;
  name?: string;
}

/** Routes or routers the app has already: vigil's layer would run after them. */
function routesBefore(app: ExpressAppLike): number {
  const a = app as unknown as {
    lazyrouter?: unknown;
    _router?: { stack?: Layer[] };
    router?: { stack?: Layer[] };
  };
  // Express 4 keeps its router in `_router` (its `app.router` getter throws); Express 5 in `router`.
  const router = typeof a.lazyrouter === 'function' ? a._router : a.router;
  return (router?.stack ?? []).filter((l) => l.route !== undefined || l.name === 'router').length;
}

/** Runs `chain` in order, each middleware's next() calling the following one, the last the app's. */
function run(
  chain: readonly ExpressMiddleware[],
  req: IncomingMessage,
  res: ServerResponse,
  next: NextFunction,
): void {
  let i = 0;
  const step: NextFunction = (err?: unknown) => {
    if (err !== undefined) {
      next(err);
      return;
    }
    const mw = chain[i++];
    if (mw === undefined) next();
    else mw(req, res, step);
  };
  step();
}

/** The one middleware: probes and operational endpoints only on their paths, the rest on every request. */
export function composeExpress(pieces: Pieces): ExpressMiddleware {
  const traces = pieces.traces;
  const tracesMw: ExpressMiddleware[] =
    traces === undefined
      ? []
      : [
          (req, res, next) => {
            Promise.resolve(traces(req, res)).then((done) => {
              if (!done) next();
            }, next);
          },
        ];
  const common = [...pieces.before, ...pieces.after] as ExpressMiddleware[];
  const operational = [
    ...(pieces.health === undefined ? [] : [pieces.health]),
    ...pieces.before,
    ...pieces.operational,
    ...tracesMw,
    ...pieces.after,
  ] as ExpressMiddleware[];
  const { mayBeOperational } = pieces;
  return function vigil(req, res, next) {
    run(mayBeOperational(req.url) ? operational : common, req, res, next);
  };
}

/**
 * Mounts every capability on an Express 4 or 5 app, before its routes: `vigil.express(app)`.
 * @throws VigilError `ERR_VIGIL_*` for its own options, the packages' codes for theirs.
 */
export function vigilExpress(app: unknown, options?: VigilOptions): Vigil {
  return mountExpress(context('vigil.express'), app, options, arguments.length);
}

/** vigil.express() under the name it was called by (`vigil`, `vigil.express`), for messages. */
export function mountExpress(
  ctx: OptionContext,
  app: unknown,
  options: VigilOptions | undefined,
  argCount: number,
): Vigil {
  if (frameworkOf(app) !== undefined) throw notCalledError(ctx, app);
  if (!isExpressApp(app)) {
    throw optionError(ctx, 'INVALID_APP', 'app', 'an Express 4 or 5 application (express())', app);
  }
  const before = routesBefore(app);
  if (before > 0) {
    throw codedError(
      { pkg: PACKAGE },
      VIGIL_ERROR_CODES.MOUNTED_AFTER_ROUTES,
      `vigil(app) was called after ${before} route(s) or router(s) were added to the app: Express runs middleware in the order it is added, so those routes would be neither traced, logged, measured nor limited.`,
      'Call vigil(app) right after `const app = express()`, before any app.get(), app.post(), app.use(router).',
    );
  }
  const { pieces, handle } = setUp(ctx, options, argCount > 1 ? 1 : 0, FACTORIES);
  app.use(composeExpress(pieces));
  if (handle.health !== undefined) drainOnListen(app, (s) => handle.attach(s));
  return withFramework(handle, 'express');
}

/** The handle with its framework, its getters kept. */
export function withFramework(
  handle: Omit<Vigil, 'framework'>,
  framework: Vigil['framework'],
): Vigil {
  return Object.defineProperty(handle, 'framework', {
    value: framework,
    enumerable: true,
  }) as Vigil;
}

export type { RawHandler };
