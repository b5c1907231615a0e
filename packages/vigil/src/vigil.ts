// vigil(app): the one call. Express or Koa is told from the app; vigil.express() and vigil.koa() say it.
import { frameworkOf, notCalledError, optionError } from '@vigil/core';
import { context } from './errors';
import { isExpressApp, mountExpress, vigilExpress } from './express';
import { isKoaApp, mountKoa, vigilKoa } from './koa';
import { vigilPrimary } from './primary';
import type { Vigil, VigilOptions, VigilPrimary, VigilPrimaryOptions } from './types';

/** vigil(app), with its framework-specific forms and the cluster primary's. */
export interface VigilFunction {
  /**
   * Mounts every capability on an Express 4/5 or Koa 2/3 app, before its routes, and returns the
   * handle: `const app = express(); vigil(app);`.
   * @throws VigilError `ERR_VIGIL_*` for its own options, the packages' codes for theirs.
   */
  (app: unknown, options?: VigilOptions): Vigil;
  /** The same, for an Express 4 or 5 app. */
  express: (this: void, app: unknown, options?: VigilOptions) => Vigil;
  /** The same, for a Koa 2 or 3 app. */
  koa: (this: void, app: unknown, options?: VigilOptions) => Vigil;
  /** In a cluster primary: the workers' aggregated metrics, health, alerts and the live page. */
  primary: (this: void, options?: VigilPrimaryOptions) => Promise<VigilPrimary>;
}

function mount(app: unknown, options?: VigilOptions): Vigil {
  const ctx = context('vigil');
  if (frameworkOf(app) !== undefined) throw notCalledError(ctx, app);
  if (isExpressApp(app)) return mountExpress(ctx, app, options, arguments.length);
  if (isKoaApp(app)) return mountKoa(ctx, app, options, arguments.length);
  throw optionError(
    ctx,
    'INVALID_APP',
    'app',
    'an Express 4/5 application (express()) or a Koa 2/3 application (new Koa())',
    app,
  );
}

/** The umbrella: `vigil(app)`, `vigil.express(app)`, `vigil.koa(app)`, `vigil.primary()`. */
export const vigil: VigilFunction = Object.assign(mount, {
  express: vigilExpress,
  koa: vigilKoa,
  primary: vigilPrimary,
});
