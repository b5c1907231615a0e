// The four framework majors under test, each building the same small app around a rate limiter.
import type express from 'express';
import type Koa from 'koa';
import {
  type KoaMiddleware,
  type LimiterControls,
  type RateLimitOptions,
  expressRateLimit,
  koaRateLimit,
} from '@vigil/rate-limit';
import { type FrameworkApp, type FrameworkName, frameworkApp } from '@vigil/test-utils';

export { FRAMEWORK_HANDLES as FRAMEWORKS, type FrameworkName } from '@vigil/test-utils';

export interface AppSettings {
  /** Options of the limiter (a fresh `registry` should be given by the test). */
  options: RateLimitOptions;
  /** Express `trust proxy` (default: Express's default, false). */
  trustProxy?: boolean | string | number;
  /** Koa `app.proxy` (default false). */
  proxy?: boolean;
  /** Koa `app.maxIpsCount` (default 0). */
  maxIpsCount?: number;
  /** Mount the limiter app-wide (default true). */
  appWide?: boolean;
  /** Mount `limiter.policy(single)` on GET /single only. */
  single?: string;
}

export interface LimitedApp extends FrameworkApp {
  limiter: LimiterControls<unknown>;
}

/*
 * Routes of the standard app (identical on every framework):
 *   GET /single   limiter.policy(settings.single), when given
 *   *   any other path answers 200 { ok, path }, or the status in the `x-status` request header
 *       (a failed login is `x-status: 401`).
 * A request with an `x-user` header is authenticated as that user (req.user / ctx.state.user) before
 * the limiter runs.
 */
export function buildApp(framework: FrameworkName, settings: AppSettings): LimitedApp {
  let limiter!: LimiterControls<unknown>;
  const app = frameworkApp(framework, {
    express: (app) => {
      limiter = expressApp(app, settings);
    },
    koa: (app, errors) => {
      limiter = koaApp(app, errors, settings);
    },
    expressErrorBody: () => ({ handled: true }),
  });
  return { ...app, limiter };
}

const statusOf = (value: string | string[] | undefined): number =>
  typeof value === 'string' && /^\d{3}$/.test(value) ? Number(value) : 200;

function expressApp(app: express.Express, settings: AppSettings): LimiterControls<unknown> {
  if (settings.trustProxy !== undefined) app.set('trust proxy', settings.trustProxy);
  const limiter = expressRateLimit(settings.options);
  app.use((req, _res, next) => {
    const user = req.headers['x-user'];
    if (typeof user === 'string') (req as { user?: { id: string } }).user = { id: user };
    next();
  });
  if (settings.appWide !== false) app.use(limiter);
  if (settings.single !== undefined) {
    app.get('/single', limiter.policy(settings.single), (_req, res) => {
      res.json({ ok: true, path: '/single' });
    });
  }
  app.use((req, res) => {
    res.status(statusOf(req.headers['x-status'])).json({ ok: true, path: req.path });
  });
  return limiter;
}

function koaApp(app: Koa, errors: unknown[], settings: AppSettings): LimiterControls<unknown> {
  if (settings.proxy !== undefined) app.proxy = settings.proxy;
  if (settings.maxIpsCount !== undefined) app.maxIpsCount = settings.maxIpsCount;
  const limiter = koaRateLimit(settings.options);
  app.use(async (ctx, next) => {
    try {
      const user = ctx.get('x-user');
      if (user !== '') ctx.state.user = { id: user };
      await next();
    } catch (err) {
      errors.push(err);
      ctx.status = 500;
      ctx.body = { handled: true };
    }
  });
  if (settings.appWide !== false) app.use(limiter);
  if (settings.single !== undefined) {
    const single: KoaMiddleware = limiter.policy(settings.single);
    app.use(async (ctx, next) => {
      if (ctx.path === '/single' && ctx.method === 'GET') {
        await single(ctx, () => {
          ctx.body = { ok: true, path: '/single' };
          return Promise.resolve();
        });
        return;
      }
      await next();
    });
  }
  app.use((ctx) => {
    ctx.status = statusOf(ctx.get('x-status') || undefined);
    ctx.body = { ok: true, path: ctx.path };
  });
  return limiter;
}
