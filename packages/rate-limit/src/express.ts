// expressRateLimit(): policies for Express 4 and 5, checked as koaRateLimit() checks them (check.ts),
// with Vigil's stores, keys, metrics and audit.
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  type ExpressMiddleware,
  type RequestRecord,
  allocateSlot,
  beginRequest,
  defineRequestAccessor,
  findRequest,
  requestPrototypeOf,
} from '@vigil/core';
import { type CheckThen, type Decrement, type Exchange, type PolicyCheck } from './check';
import { type LimiterControls, setUp, withControls } from './limiter';
import { RequestPath, routedPath } from './paths';
import type { LimitedRequest, RateLimitOptions, RateLimitState } from './types';

export type { ExpressMiddleware } from '@vigil/core';

export type ExpressRateLimit = ExpressMiddleware & LimiterControls<ExpressMiddleware>;

type ExpressRequest = IncomingMessage & {
  ip?: string;
  originalUrl?: string;
  baseUrl?: string;
  app?: { get?(name: string): unknown };
  user?: { id?: unknown };
  rateLimit?: RateLimitState;
};

function defaultUser(request: LimitedRequest): unknown {
  return (request.source as ExpressRequest).user?.id;
}

// `req.rateLimit` lives in a slot of the request's record, read through an accessor on the request
// prototype (@vigil/core's defineRequestAccessor). Assigning it added a property to Express's
// prototype-swapped request on every request, which slowed Express's own reads of req after it: the
// full stack's profile lost 20 to 35 µs per request with the assignment gone (bench/RESULTS.md).
const kState = allocateSlot();
// Request prototypes seen (one per Express app), the last one first: no lookup per request.
let knownPrototype: object | null = null;
const seenPrototypes = new WeakSet<object>();

function readRateLimit(req: object): unknown {
  return findRequest(req as IncomingMessage)?.slots[kState];
}

/** Defines the `req.rateLimit` accessor when a new request prototype shows up (once per app). */
function installRateLimitAccessor(req: ExpressRequest): void {
  const proto = Object.getPrototypeOf(req) as object | null;
  if (proto === knownPrototype || proto === null) return;
  knownPrototype = proto;
  if (seenPrototypes.has(proto)) return;
  seenPrototypes.add(proto);
  const target = requestPrototypeOf(req);
  if (target !== null) defineRequestAccessor(target, 'rateLimit', readRateLimit);
}

/**
 * Rate limiting for Express 4 and 5: `app.use(expressRateLimit({ policies: [...] }))`. A request is
 * checked against every policy whose routes and methods match it, in order, and the first one
 * exceeded answers it. Counting, keys, headers, Retry-After and bodies are koaRateLimit()'s, on
 * express-rate-limit's stores.
 * @throws VigilError with an `ERR_VIGIL_RATE_LIMIT_*` code on invalid options.
 */
export function expressRateLimit(options: RateLimitOptions): ExpressRateLimit {
  const limiter = setUp('expressRateLimit', options, arguments.length);
  const { opts, trust, problems } = limiter;

  const chain = (checks: readonly PolicyCheck[], matchRoutes: boolean): ExpressMiddleware =>
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
      let exchange: Exchange | undefined;
      let then: CheckThen | undefined;
      let decrements: Decrement[] | undefined;
      let i = 0;
      // Policies in order; synchronous until a store answers asynchronously.
      const step = (): void => {
        while (i < checks.length) {
          const check = checks[i++]!;
          if (matchRoutes && !check.policy.routes.matches(method, path)) continue;
          exchange ??= new ExpressExchange(req, res, record, path);
          then ??= {
            done(outcome) {
              if (outcome === 'stop') {
                // Refused by this policy: a failed request for the policies that counted it.
                if (decrements !== undefined) for (const decrement of decrements) decrement(false);
                return;
              }
              if (typeof outcome === 'function') (decrements ??= []).push(outcome);
              step();
            },
            failed(error) {
              // run() handles store failures itself; anything else is a bug of ours, never the app's.
              problems.report('check', error);
              step();
            },
          };
          check.run(exchange, then);
          return;
        }
        if (decrements !== undefined) afterResponse(record, res, decrements);
        next();
      };
      step();
    };

  return withControls('expressRateLimit', limiter, chain);
}

/** Runs the decrements of skip-on-success/failure policies once the response ended. */
function afterResponse(record: RequestRecord, res: ServerResponse, decrements: Decrement[]): void {
  const run = (ended: RequestRecord): void => {
    const succeeded = !ended.aborted && res.statusCode < 400;
    for (const decrement of decrements) decrement(succeeded);
  };
  if (!record.subscribe({ requestEnded: run })) run(record);
}

/** The Express side of a check: headers on `res`, the count on `req.rateLimit`, answers with `res.end()`. */
class ExpressExchange implements Exchange {
  readonly request: LimitedRequest;
  constructor(
    private readonly req: ExpressRequest,
    private readonly res: ServerResponse,
    readonly record: RequestRecord,
    readonly path: RequestPath,
  ) {
    this.request = {
      source: req,
      method: req.method ?? 'GET',
      path: path.raw,
      headers: req.headers,
      // Express's req.ip applies the app's `trust proxy` setting.
      ip: req.ip ?? req.socket?.remoteAddress,
    };
  }

  header(name: string, value: string, append: boolean): void {
    if (this.res.headersSent) return;
    if (append) this.res.appendHeader(name, value);
    else this.res.setHeader(name, value);
  }

  state(state: RateLimitState): void {
    installRateLimitAccessor(this.req);
    this.record.slots[kState] = state;
  }

  answer(status: number, type: string, body: string): void {
    const res = this.res;
    if (res.headersSent) return;
    res.statusCode = status;
    res.setHeader('Content-Type', type);
    res.end(body);
  }

  defaultUser(this: void, request: LimitedRequest): unknown {
    return defaultUser(request);
  }
}
