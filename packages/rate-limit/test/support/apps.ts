// The four framework majors under test, each building the same small app around a rate limiter.
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import express, { type ErrorRequestHandler } from 'express';
import Koa from 'koa';
import {
  type KoaMiddleware,
  type LimiterControls,
  type RateLimitOptions,
  expressRateLimit,
  koaRateLimit,
} from '@vigil/rate-limit';
import { express4, Koa2 } from '@vigil/test-utils';

export type FrameworkName = 'express4' | 'express5' | 'koa2' | 'koa3';
export type FrameworkKind = 'express' | 'koa';

export interface Framework {
  name: FrameworkName;
  kind: FrameworkKind;
}

export const FRAMEWORKS: readonly Framework[] = [
  { name: 'express4', kind: 'express' },
  { name: 'express5', kind: 'express' },
  { name: 'koa2', kind: 'koa' },
  { name: 'koa3', kind: 'koa' },
];

export const frameworkNamed = (name: FrameworkName): Framework =>
  FRAMEWORKS.find((f) => f.name === name) as Framework;

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

export interface LimitedApp {
  listener: RequestListener;
  limiter: LimiterControls<unknown>;
  /** Errors that reached the app's error handler. */
  errors: unknown[];
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
  switch (framework) {
    case 'express4':
      return expressApp(express4, settings);
    case 'express5':
      return expressApp(express, settings);
    case 'koa2':
      return koaApp(Koa2, settings);
    case 'koa3':
      return koaApp(Koa, settings);
  }
}

const statusOf = (value: string | string[] | undefined): number =>
  typeof value === 'string' && /^\d{3}$/.test(value) ? Number(value) : 200;

function expressApp(factory: typeof express, settings: AppSettings): LimitedApp {
  const errors: unknown[] = [];
  const app = factory();
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
  const onError: ErrorRequestHandler = (err, _req, res, _next) => {
    errors.push(err);
    res.status(500).json({ handled: true });
  };
  app.use(onError);
  return { listener: app, limiter, errors };
}

function koaApp(Factory: typeof Koa, settings: AppSettings): LimitedApp {
  const errors: unknown[] = [];
  const app = new Factory();
  if (settings.proxy !== undefined) app.proxy = settings.proxy;
  if (settings.maxIpsCount !== undefined) app.maxIpsCount = settings.maxIpsCount;
  app.on('error', (err: unknown) => errors.push(err));
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
  const handle = app.callback();
  return {
    listener: (req: IncomingMessage, res: ServerResponse) => void handle(req, res),
    limiter,
    errors,
  };
}
