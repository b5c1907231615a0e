// expressRateLimit(): policies on express-rate-limit, one limiter per policy, with Vigil's stores,
// keys, metrics and audit.
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  type ExpressMiddleware,
  type RequestRecord,
  beginRequest,
  findRequest,
  targetPath,
} from '@vigil/core';
import {
  type Options,
  type RateLimitRequestHandler,
  type Store,
  rateLimit,
} from 'express-rate-limit';
import type { Decisions } from './decisions';
import { ipKey } from './keys';
import { type LimiterControls, failClosedRetryAfter, setUp, withControls } from './limiter';
import { type ParsedOptions, type Policy } from './options';
import type { LimitInfo, LimitedRequest, RateLimitOptions } from './types';
import { RequestPath, routedPath } from './paths';
import { limitedBody, resetSeconds, resolveKey, unavailableBody } from './resolve';
import { StoreUnavailableError } from './store';

export type { ExpressMiddleware } from '@vigil/core';

export type ExpressRateLimit = ExpressMiddleware & LimiterControls<ExpressMiddleware>;

type ExpressRequest = IncomingMessage & {
  ip?: string;
  originalUrl?: string;
  baseUrl?: string;
  app?: { get?(name: string): unknown };
  user?: { id?: unknown };
  rateLimit?: { limit: number; used: number; remaining: number; resetTime?: Date; key: string };
};

/** The request's path (query removed, absolute-form target reduced), from its record when it has one. */
function pathOf(req: ExpressRequest): string {
  return findRequest(req)?.path ?? targetPath(req.originalUrl ?? req.url);
}

/**
 * The route a refused request is shown under in metrics, spans and log lines: the one its policy
 * names, when the path is exactly that route (else core finds the route it would have reached).
 */
function hintRoute(record: RequestRecord | undefined, policy: Policy, path: string): void {
  if (record !== undefined && record.routeHint === undefined) {
    record.routeHint = policy.routes.routeOf(new RequestPath(path));
  }
}

function clientAddress(req: ExpressRequest): string | undefined {
  return req.ip ?? req.socket?.remoteAddress;
}

function limitedRequest(req: ExpressRequest, path: string): LimitedRequest {
  return {
    source: req,
    method: req.method ?? 'GET',
    path,
    headers: req.headers,
    ip: clientAddress(req),
  };
}

function defaultUser(request: LimitedRequest): unknown {
  return (request.source as ExpressRequest).user?.id;
}

/**
 * Rate limiting for Express 4 and 5: `app.use(expressRateLimit({ policies: [...] }))`. Each policy
 * runs on express-rate-limit with its own store; a request is checked against every policy whose
 * routes and methods match it, in order, and the first one exceeded answers it.
 * @throws VigilError with an `ERR_VIGIL_RATE_LIMIT_*` code on invalid options.
 */
export function expressRateLimit(options: RateLimitOptions): ExpressRateLimit {
  const { opts, decisions, stores, trust } = setUp('expressRateLimit', options, arguments.length);
  const limiters = opts.policies.map((policy, index) =>
    createLimiter(opts, policy, index, stores.stores[index] as Store, decisions),
  );

  const chain = (indexes: readonly number[], matchRoutes: boolean): ExpressMiddleware =>
    function vigilRateLimit(req: ExpressRequest, res, next) {
      const record = beginRequest(req, res);
      const path = new RequestPath(
        record.path,
        routedPath(req.url, req.originalUrl ?? req.url ?? '/', req.baseUrl),
      );
      if (opts.isSkipped(path.raw)) {
        next();
        return;
      }
      trust.express(req.app, req.headers);
      const method = req.method ?? 'GET';
      let i = 0;
      let current = -1;
      const step = (err?: unknown): void => {
        if (err !== undefined && err !== null) {
          if (!(err instanceof StoreUnavailableError)) {
            next(err);
            return;
          }
          decisions.count(current, 'store_error');
          if (err.behaviour === 'fail-closed') {
            const policy = opts.policies[current] as Policy;
            hintRoute(record, policy, path.raw);
            failClosed(opts, policy, res);
            return;
          }
        } else if (current !== -1) {
          decisions.count(current, 'allowed');
        }
        while (i < indexes.length) {
          const index = indexes[i++] as number;
          if (matchRoutes && !(opts.policies[index] as Policy).routes.matches(method, path)) {
            continue;
          }
          current = index;
          void (limiters[index] as RateLimitRequestHandler)(req as never, res as never, step);
          return;
        }
        next();
      };
      step();
    };

  return withControls('expressRateLimit', opts, stores, chain);
}

function failClosed(opts: ParsedOptions, policy: Policy, res: ServerResponse): void {
  if (res.headersSent) return;
  const retryAfter = failClosedRetryAfter(opts);
  res.statusCode = 503;
  res.setHeader('Retry-After', String(retryAfter));
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.end(unavailableBody(policy, retryAfter));
}

function createLimiter(
  opts: ParsedOptions,
  policy: Policy,
  index: number,
  store: Store,
  decisions: Decisions,
): RateLimitRequestHandler {
  const problems = decisions.problems;
  const options: Partial<Options> = {
    windowMs: policy.windowMs,
    limit: policy.limit,
    store,
    standardHeaders: opts.headers,
    legacyHeaders: false,
    identifier: policy.name,
    statusCode: policy.statusCode,
    skipSuccessfulRequests: policy.skipSuccessfulRequests,
    skipFailedRequests: policy.skipFailedRequests,
    // Store failures come back as errors and are handled by the policy's onStoreError.
    passOnStoreError: false,
    // express-rate-limit's own checks go to Vigil's logger; the proxy-trust ones are TrustChecks'.
    logger: {
      warn: (error: unknown) => problems.report(codeOf(error), error),
      error: (error: unknown, message?: string) => problems.report(codeOf(error) ?? message, error),
    },
    validate: { trustProxy: false, xForwardedForHeader: false, forwardedHeader: false },
    handler(req, res) {
      const r = req as unknown as ExpressRequest;
      const state = r.rateLimit;
      const record = findRequest(r);
      const path = record?.path ?? pathOf(r);
      hintRoute(record, policy, path);
      const info: LimitInfo = {
        policy: policy.name,
        limit: state?.limit ?? policy.limit,
        used: state?.used ?? policy.limit + 1,
        remaining: state?.remaining ?? 0,
        resetTime: state?.resetTime,
        retryAfterSeconds: resetSeconds(policy.windowMs, state?.resetTime),
      };
      decisions.limited(
        index,
        state?.key ?? ipKey(clientAddress(r), opts.ipv6Subnet),
        info,
        clientAddress(r),
        path,
        record,
      );
      if (res.headersSent) return;
      const body = limitedBody(policy, info, problems);
      res.status(policy.statusCode);
      res.setHeader('Content-Type', body.type);
      res.end(body.text);
    },
  };
  // Vigil's keys for every policy, not express-rate-limit's default: the same keys as Koa's, and an
  // address with a port keyed as the address. (So express-rate-limit gets no ipv6Subnet: keys are
  // subnetted here.)
  options.keyGenerator =
    policy.key === 'ip'
      ? (req) => ipKey(clientAddress(req), opts.ipv6Subnet)
      : (req) => {
          const r = req as unknown as ExpressRequest;
          return resolveKey(
            policy,
            limitedRequest(r, pathOf(r)),
            opts.ipv6Subnet,
            defaultUser,
            problems,
          );
        };
  return rateLimit(options);
}

function codeOf(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : 'express-rate-limit';
}
