// koaRateLimit(): the same policies, stores, keys, headers and bodies as expressRateLimit(), for Koa.
import {
  type KoaContextLike as CoreKoaContext,
  type KoaMiddleware as CoreKoaMiddleware,
  type RequestRecord,
  beginRequest,
} from '@vigil/core';
import { MemoryStore, type Store } from 'express-rate-limit';
import type { Decisions } from './decisions';
import { type LimiterControls, failClosedRetryAfter, setUp, withControls } from './limiter';
import { ipKey } from './keys';
import { type ParsedOptions, type Policy } from './options';
import type { LimitInfo, LimitedRequest, RateLimitOptions, RateLimitState } from './types';
import { RequestPath, routedPath } from './paths';
import { targetPath } from '@vigil/core';
import { limitedBody, resetSeconds, resolveKey, standardHeaders, unavailableBody } from './resolve';
import { StoreUnavailableError, storeInitOptions } from './store';

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
  const { opts, decisions, stores, trust } = setUp('koaRateLimit', options, arguments.length);
  opts.policies.forEach((policy, i) => initStore(stores.stores[i] as Store, policy, decisions));

  const chain = (indexes: readonly number[], matchRoutes: boolean): KoaMiddleware =>
    async function vigilRateLimit(ctx, next) {
      const record = beginRequest(ctx.req, ctx.res, ctx);
      const path = new RequestPath(record.path, routedPathOf(ctx));
      if (opts.isSkipped(path.raw)) {
        await next();
        return;
      }
      trust.koa(ctx.app, ctx.req.headers);
      let decrements: Decrement[] | undefined;
      for (const index of indexes) {
        const policy = opts.policies[index] as Policy;
        if (matchRoutes && !policy.routes.matches(ctx.method, path)) continue;
        const outcome = await check(
          opts,
          policy,
          index,
          stores.stores[index] as Store,
          decisions,
          ctx,
          record,
          path,
        );
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

  return withControls('koaRateLimit', opts, stores, chain);
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

function initStore(store: Store, policy: Policy, decisions: Decisions): void {
  // express-rate-limit calls init() when it creates a limiter; Koa has no limiter to do it.
  try {
    const result =
      store instanceof MemoryStore
        ? store.init(storeInitOptions(policy))
        : store.init?.(storeInitOptions(policy));
    if (result instanceof Promise)
      result.catch((error: unknown) => decisions.problems.report(`init:${policy.name}`, error));
  } catch (error) {
    decisions.problems.report(`init:${policy.name}`, error);
  }
}

/** Undoes a counted hit after the response when the policy skips requests with its outcome. */
type Decrement = (succeeded: boolean) => void;

/**
 * Checks one policy. Returns 'stop' when the response is decided here (limited, or failed closed),
 * a decrement to run after the response for skip-on-success/failure policies, or 'next'.
 */
async function check(
  opts: ParsedOptions,
  policy: Policy,
  index: number,
  store: Store,
  decisions: Decisions,
  ctx: KoaContextLike,
  record: RequestRecord,
  path: RequestPath,
): Promise<'stop' | 'next' | Decrement> {
  const request: LimitedRequest = {
    source: ctx,
    method: ctx.method,
    path: path.raw,
    headers: ctx.req.headers,
    ip: ctx.ip === '' ? undefined : ctx.ip,
  };
  const key =
    policy.key === 'ip'
      ? ipKey(request.ip, opts.ipv6Subnet)
      : await resolveKey(policy, request, opts.ipv6Subnet, defaultUser, decisions.problems);
  let totalHits: number;
  let resetTime: Date | undefined;
  try {
    ({ totalHits, resetTime } = await store.increment(key));
  } catch (error) {
    decisions.count(index, 'store_error');
    if (!(error instanceof StoreUnavailableError)) decisions.problem(policy, 'increment', error);
    if (policy.onStoreError !== 'fail-closed') return 'next';
    hintRoute(record, policy, path);
    const retryAfter = failClosedRetryAfter(opts);
    ctx.status = 503;
    ctx.set('Retry-After', String(retryAfter));
    ctx.set('Content-Type', 'application/json; charset=utf-8');
    ctx.body = unavailableBody(policy, retryAfter);
    return 'stop';
  }
  const info: LimitInfo = {
    policy: policy.name,
    limit: policy.limit,
    used: totalHits,
    remaining: Math.max(policy.limit - totalHits, 0),
    resetTime,
    retryAfterSeconds: resetSeconds(policy.windowMs, resetTime),
  };
  if (opts.headers !== false) {
    for (const [name, value] of standardHeaders(opts.headers, policy, info, key)) {
      if (opts.headers === 'draft-8') ctx.append(name, value);
      else ctx.set(name, value);
    }
  }
  // What express-rate-limit puts on Express's req.rateLimit, for the app's handlers on Koa.
  if (ctx.state !== undefined) {
    ctx.state.rateLimit = {
      limit: policy.limit,
      used: totalHits,
      remaining: info.remaining,
      resetTime,
      key,
    };
  }
  if (totalHits > policy.limit) {
    if (opts.headers !== false) ctx.set('Retry-After', String(info.retryAfterSeconds));
    hintRoute(record, policy, path);
    decisions.limited(index, key, info, request.ip, path.raw, record);
    const body = limitedBody(policy, info, decisions.problems);
    ctx.status = policy.statusCode;
    ctx.set('Content-Type', body.type);
    ctx.body = body.text;
    return 'stop';
  }
  decisions.count(index, 'allowed');
  if (!policy.skipSuccessfulRequests && !policy.skipFailedRequests) return 'next';
  const windowEnds = resetTime?.getTime();
  return (succeeded) => {
    if (succeeded ? !policy.skipSuccessfulRequests : !policy.skipFailedRequests) return;
    if (windowEnds !== undefined && Date.now() >= windowEnds) return;
    Promise.resolve()
      .then(() => store.decrement(key))
      .catch((error: unknown) => decisions.problem(policy, 'decrement', error));
  };
}

/** The route a refused request is shown under (see expressRateLimit's). */
function hintRoute(record: RequestRecord, policy: Policy, path: RequestPath): void {
  if (record.routeHint === undefined) record.routeHint = policy.routes.routeOf(path);
}
