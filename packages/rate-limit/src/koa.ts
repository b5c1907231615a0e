// koaRateLimit(): the same policies, stores, keys, headers and bodies as expressRateLimit(), for Koa.
import {
  type KoaContextLike as CoreKoaContext,
  type KoaMiddleware as CoreKoaMiddleware,
  beginRequest,
  targetPath,
} from '@vigil/core';
import type { Decrement, Exchange, PolicyCheck } from './check';
import { type LimiterControls, setUp, withControls } from './limiter';
import { RequestPath, routedPath } from './paths';
import type { LimitedRequest, RateLimitOptions, RateLimitState } from './types';

/** The part of a Koa context the limiter uses (Koa 2 and 3). */
export interface KoaContextLike extends CoreKoaContext {
  method: string;
  path: string;
  url?: string;
  originalUrl?: string;
  /** Set by a middleware to make @koa/router route on another path. */
  newRouterPath?: unknown;
  ip: string;
  status: number;
  body: unknown;
  state?: { user?: { id?: unknown }; rateLimit?: RateLimitState };
  app?: { proxy?: unknown; maxIpsCount?: unknown };
  set(field: string, value: string): void;
  append(field: string, value: string): void;
}
export type KoaMiddleware = CoreKoaMiddleware<KoaContextLike>;
export type KoaRateLimit = KoaMiddleware & LimiterControls<KoaMiddleware>;

function defaultUser(request: LimitedRequest): unknown {
  return (request.source as KoaContextLike).state?.user?.id;
}

/**
 * Rate limiting for Koa 2 and 3 with express-rate-limit's stores: `app.use(koaRateLimit({ policies }))`.
 * Counting, keys, headers, Retry-After and bodies are those of expressRateLimit().
 * @throws VigilError with an `ERR_VIGIL_RATE_LIMIT_*` code on invalid options.
 */
export function koaRateLimit(options: RateLimitOptions): KoaRateLimit {
  const limiter = setUp('koaRateLimit', options, arguments.length);
  const { opts, trust } = limiter;

  const chain = (checks: readonly PolicyCheck[], matchRoutes: boolean): KoaMiddleware =>
    async function vigilRateLimit(ctx, next) {
      const record = beginRequest(ctx.req, ctx.res, ctx);
      const path = new RequestPath(record.path, routedPathOf(ctx));
      if (opts.isSkipped(path.raw)) {
        await next();
        return;
      }
      trust.koa(ctx.app, ctx.req.headers);
      let decrements: Decrement[] | undefined;
      let exchange: Exchange | undefined;
      for (const check of checks) {
        if (matchRoutes && !check.policy.routes.matches(ctx.method, path)) continue;
        exchange ??= koaExchange(ctx, record, path);
        const outcome = await check.check(exchange);
        if (outcome === 'stop') {
          // Refused by this policy (429 or 503): a failed request for the policies that counted it.
          if (decrements !== undefined) for (const decrement of decrements) decrement(false);
          return;
        }
        if (typeof outcome === 'function') (decrements ??= []).push(outcome);
      }
      if (decrements === undefined) {
        await next();
        return;
      }
      let failed = true;
      try {
        await next();
        failed = ctx.status >= 400;
      } finally {
        const succeeded = !failed;
        for (const decrement of decrements) decrement(succeeded);
      }
    };

  return withControls('koaRateLimit', limiter, chain);
}

/**
 * The path Koa's routers route on, when a middleware before the limiter changed it: @koa/router's
 * `ctx.newRouterPath` (which it prefers to the URL), or a rewritten `ctx.url`. Undefined otherwise.
 */
function routedPathOf(ctx: KoaContextLike): string | undefined {
  const override = ctx.newRouterPath;
  if (typeof override === 'string' && override !== '') return targetPath(override);
  return routedPath(ctx.url, ctx.originalUrl ?? ctx.url ?? '/');
}

function koaExchange(ctx: KoaContextLike, record: Exchange['record'], path: RequestPath): Exchange {
  const request: LimitedRequest = {
    source: ctx,
    method: ctx.method,
    path: path.raw,
    headers: ctx.req.headers,
    ip: ctx.ip === '' ? undefined : ctx.ip,
  };
  return {
    request,
    record,
    path,
    header(name, value, append) {
      if (append) ctx.append(name, value);
      else ctx.set(name, value);
    },
    state(state) {
      // What express-rate-limit puts on Express's req.rateLimit, for the app's handlers on Koa.
      if (ctx.state !== undefined) ctx.state.rateLimit = state;
    },
    answer(status, type, body) {
      ctx.status = status;
      ctx.set('Content-Type', type);
      ctx.body = body;
    },
    defaultUser,
  };
}
