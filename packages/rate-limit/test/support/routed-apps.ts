// Apps routed as real services are: an API router mounted at /api (Express Router, nested @koa/router)
// whose handlers count their runs, so a test can tell a limited or 404 request from one that ran.
import type { RequestListener } from 'node:http';
import Router from '@koa/router';
import type express from 'express';
import type { RequestHandler } from 'express';
import type Koa from 'koa';
import type { Middleware } from 'koa';
import {
  type LimiterControls,
  type RateLimitState,
  type RateLimitOptions,
  expressRateLimit,
  koaRateLimit,
} from '@vigil/rate-limit';
import { type FrameworkName, frameworkApp } from '@vigil/test-utils';

/** The user whose password reset the `reset` policy protects (`POST /api/users/:name/reset`). */
export const PROTECTED_USER = 'admin';

export interface RoutedSettings {
  /** The limiter's options, mounted app-wide before the routes; without them, no limiter. */
  options?: RateLimitOptions;
  /** Express: middleware mounted before the limiter (tracing, ...). */
  expressBefore?: RequestHandler[];
  /** Koa: middleware mounted before the limiter. */
  koaBefore?: Middleware[];
  /** Runs in the login handler with Express's `req` or Koa's `ctx` (an audit(req) event, ...). */
  onLogin?: (source: object) => void;
}

export interface RoutedApp {
  listener: RequestListener;
  limiter: LimiterControls<unknown> | undefined;
  /** Handler runs: logins, and password resets of PROTECTED_USER. */
  runs: { login: number; protectedReset: number };
  /** The request target of every request the server received, as Node parsed it. */
  targets: string[];
  /** What the login handler found in `req.rateLimit` / `ctx.state.rateLimit`, per run. */
  rateLimits: (RateLimitState | undefined)[];
}

/*
 * Routes, under an API router mounted at /api:
 *   POST /api/auth/login         401 { handler: 'login' } (a failed login, as the app answers)
 *   POST /api/users/:name/reset  200 { handler: 'reset', name } (the name decoded by the framework)
 * Anything else is the framework's own 404.
 */
export function buildRoutedApp(framework: FrameworkName, settings: RoutedSettings = {}): RoutedApp {
  const state: Omit<RoutedApp, 'listener' | 'limiter'> = {
    runs: { login: 0, protectedReset: 0 },
    targets: [],
    rateLimits: [],
  };
  let limiter: LimiterControls<unknown> | undefined;
  const built = frameworkApp(framework, {
    express: (app, e) => {
      limiter = expressApp(app, e, settings, state);
    },
    koa: (app) => {
      limiter = koaApp(app, settings, state);
    },
  });
  const listener: RequestListener = (req, res) => {
    state.targets.push(req.url ?? '');
    built.listener(req, res);
  };
  return { ...state, listener, limiter };
}

type State = Omit<RoutedApp, 'listener' | 'limiter'>;
type Limiter = LimiterControls<unknown> | undefined;

function expressApp(
  app: express.Express,
  factory: typeof express,
  settings: RoutedSettings,
  state: State,
): Limiter {
  for (const middleware of settings.expressBefore ?? []) app.use(middleware);
  const limiter = settings.options === undefined ? undefined : expressRateLimit(settings.options);
  if (limiter !== undefined) app.use(limiter);
  const api = factory.Router();
  api.post('/auth/login', (req, res) => {
    state.runs.login++;
    state.rateLimits.push((req as { rateLimit?: RateLimitState }).rateLimit);
    settings.onLogin?.(req);
    res.status(401).json({ handler: 'login' });
  });
  api.post('/users/:name/reset', (req, res) => {
    const name = req.params.name;
    if (name === PROTECTED_USER) state.runs.protectedReset++;
    res.json({ handler: 'reset', name });
  });
  app.use('/api', api);
  return limiter;
}

function koaApp(app: Koa, settings: RoutedSettings, state: State): Limiter {
  for (const middleware of settings.koaBefore ?? []) app.use(middleware);
  const limiter = settings.options === undefined ? undefined : koaRateLimit(settings.options);
  if (limiter !== undefined) app.use(limiter);
  const api = new Router();
  api.post('/auth/login', (ctx) => {
    state.runs.login++;
    state.rateLimits.push((ctx.state as { rateLimit?: RateLimitState }).rateLimit);
    settings.onLogin?.(ctx);
    ctx.status = 401;
    ctx.body = { handler: 'login' };
  });
  api.post('/users/:name/reset', (ctx) => {
    const name = ctx.params.name;
    if (name === PROTECTED_USER) state.runs.protectedReset++;
    ctx.body = { handler: 'reset', name };
  });
  const root = new Router();
  root.use('/api', api.routes());
  app.use(root.routes());
  return limiter;
}
