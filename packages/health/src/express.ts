// Express 4 and 5 adapter: expressHealth() answers the three probe paths and passes the rest on.
import type { ExpressMiddleware } from '@vigil/core';
import { healthResponder } from './endpoint';
import { context } from './errors';
import { buildHealth, isHealth } from './health';
import { resolveOptions } from './options';
import type { Health, HealthOptions } from './types';

/** The middleware, and the Health object behind it (markStarted(), attach(), shutdown()). */
export type ExpressHealthMiddleware = ExpressMiddleware & { readonly health: Health };

/**
 * /health/live, /health/ready and /health/startup for Express 4 and 5: `app.use(expressHealth(health))`
 * with a Health from createHealth(), or with its options. GET and HEAD; 405 for other methods.
 * @throws VigilError with an `ERR_VIGIL_HEALTH_*` code on invalid options.
 */
export function expressHealth(options?: Health | HealthOptions): ExpressHealthMiddleware {
  const ctx = context('expressHealth');
  const health = isHealth(options)
    ? options
    : buildHealth(resolveOptions(ctx, options, arguments.length));
  const respond = healthResponder(health);
  const middleware = function vigilHealth(req, res, next) {
    if (!respond.matches(req)) return next();
    respond.handle(req, res).catch(next);
  } as ExpressMiddleware;
  return Object.assign(middleware, { health });
}
