// Koa 2 and 3 adapter: koaHealth() answers the three probe paths and passes the rest on.
import type {
  KoaContextLike as CoreKoaContext,
  KoaMiddleware as CoreKoaMiddleware,
} from '@vigil/core';
import { healthResponder } from './endpoint';
import { context } from './errors';
import { buildHealth, isHealth } from './health';
import { resolveOptions } from './options';
import type { Health, HealthOptions } from './types';

/** The part of a Koa context the middleware uses. */
export interface KoaContextLike extends CoreKoaContext {
  respond?: boolean;
}

/** The middleware, and the Health object behind it. */
export type KoaHealthMiddleware = CoreKoaMiddleware<KoaContextLike> & { readonly health: Health };

/**
 * /health/live, /health/ready and /health/startup for Koa 2 and 3: `app.use(koaHealth(health))`.
 * @throws VigilError with an `ERR_VIGIL_HEALTH_*` code on invalid options.
 */
export function koaHealth(options?: Health | HealthOptions): KoaHealthMiddleware {
  const ctx = context('koaHealth');
  const health = isHealth(options)
    ? options
    : buildHealth(resolveOptions(ctx, options, arguments.length));
  const respond = healthResponder(health);
  const middleware: CoreKoaMiddleware<KoaContextLike> = async function vigilHealth(koaCtx, next) {
    if (!respond.matches(koaCtx.req)) {
      await next();
      return;
    }
    // The responder writes the response itself; Koa must not touch it.
    koaCtx.respond = false;
    await respond.handle(koaCtx.req, koaCtx.res);
  };
  return Object.assign(middleware, { health });
}
