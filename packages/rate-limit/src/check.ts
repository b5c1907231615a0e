// One policy's check of one request, for Express and Koa alike: the key, the store's count, the
// headers, the handler's view of the count, and the 429 or 503 answer. The adapters only say how to
// write a header, where the count goes and how to answer.
import type { RequestRecord } from '@vigil/core';
import { type ClientRateLimitInfo, MemoryStore, type Store } from 'express-rate-limit';
import type { Decisions } from './decisions';
import { ipKey } from './keys';
import { failClosedRetryAfter } from './limiter';
import type { ParsedOptions, Policy } from './options';
import type { RequestPath } from './paths';
import { limitedBody, resetSeconds, resolveKey, standardHeaders, unavailableBody } from './resolve';
import { StoreUnavailableError, storeInitOptions } from './store';
import type { LimitInfo, LimitedRequest, RateLimitState } from './types';

/** What a check needs from the framework. */
export interface Exchange {
  readonly request: LimitedRequest;
  readonly record: RequestRecord;
  readonly path: RequestPath;
  /** Sets a response header (`append`: adds a value, for the draft-8 per-policy headers). */
  header(name: string, value: string, append: boolean): void;
  /** Where the handler finds the count: Express's `req.rateLimit`, Koa's `ctx.state.rateLimit`. */
  state(state: RateLimitState): void;
  /** Answers the request here: the status, the content type and the body. */
  answer(status: number, type: string, body: string): void;
  /** The user a `user` policy keys by when it names no function. */
  defaultUser(this: void, request: LimitedRequest): unknown;
}

/** Undoes a counted hit after the response when the policy skips requests with its outcome. */
export type Decrement = (succeeded: boolean) => void;

/** Calls a store's init() once, as express-rate-limit does when it creates a limiter. */
export function initStore(store: Store, policy: Policy, decisions: Decisions): void {
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

/** What a check decided: 'stop' (answered here), 'next', or a decrement to run after the response. */
export type Outcome = 'stop' | 'next' | Decrement;

/**
 * Checks one policy. Resolves to 'stop' when the response is decided here (limited, or failed
 * closed), a decrement to run after the response for skip-on-success/failure policies, or 'next'.
 */
export function check(
  opts: ParsedOptions,
  policy: Policy,
  index: number,
  store: Store,
  decisions: Decisions,
  exchange: Exchange,
): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    checkThen(opts, policy, index, store, decisions, exchange, resolve, reject);
  });
}

/**
 * check() without promises of its own, for the Express path: synchronous until the store answers,
 * then `done` with the outcome. `failed` gets an error of Vigil's own code (store failures are
 * handled here, as check() handles them). An IP-keyed policy on the memory store costs the store's
 * one promise and the callback on it, where an async check() cost four promises a request.
 */
export function checkThen(
  opts: ParsedOptions,
  policy: Policy,
  index: number,
  store: Store,
  decisions: Decisions,
  exchange: Exchange,
  done: (outcome: Outcome) => void,
  failed: (error: unknown) => void,
): void {
  const count = (key: string): void => {
    let answer: ReturnType<Store['increment']>;
    try {
      answer = store.increment(key);
    } catch (error) {
      settle(() => storeFailed(opts, policy, index, decisions, exchange, error));
      return;
    }
    if (isThenable(answer)) {
      // A store's own thenable is adopted by a native promise, as `await` would.
      (answer instanceof Promise ? answer : Promise.resolve(answer)).then(
        (result) =>
          settle(() => counted(opts, policy, index, store, decisions, exchange, key, result)),
        (error: unknown) =>
          settle(() => storeFailed(opts, policy, index, decisions, exchange, error)),
      );
    } else {
      settle(() => counted(opts, policy, index, store, decisions, exchange, key, answer));
    }
  };
  const settle = (decide: () => Outcome): void => {
    let outcome: Outcome;
    try {
      outcome = decide();
    } catch (error) {
      failed(error);
      return;
    }
    done(outcome);
  };
  let key: string;
  try {
    if (policy.key !== 'ip') {
      // resolveKey() reports a failing key function itself and falls back to the IP.
      resolveKey(
        policy,
        exchange.request,
        opts.ipv6Subnet,
        exchange.defaultUser,
        decisions.problems,
      ).then(count, failed);
      return;
    }
    key = ipKey(exchange.request.ip, opts.ipv6Subnet);
  } catch (error) {
    failed(error);
    return;
  }
  // Outside the try: with a synchronous store, `done` runs the rest of the app from here.
  count(key);
}

function isThenable(value: unknown): value is PromiseLike<ClientRateLimitInfo> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

/** The store failed to count: fail open ('next') or closed (503), as the policy says. */
function storeFailed(
  opts: ParsedOptions,
  policy: Policy,
  index: number,
  decisions: Decisions,
  exchange: Exchange,
  error: unknown,
): Outcome {
  decisions.count(index, 'store_error');
  if (!(error instanceof StoreUnavailableError)) decisions.problem(policy, 'increment', error);
  if (policy.onStoreError !== 'fail-closed') return 'next';
  hintRoute(exchange.record, policy, exchange.path);
  const retryAfter = failClosedRetryAfter(opts);
  exchange.header('Retry-After', String(retryAfter), false);
  exchange.answer(503, 'application/json; charset=utf-8', unavailableBody(policy, retryAfter));
  return 'stop';
}

/** The store counted the request: headers, the handler's view, and the 429 when over the limit. */
function counted(
  opts: ParsedOptions,
  policy: Policy,
  index: number,
  store: Store,
  decisions: Decisions,
  exchange: Exchange,
  key: string,
  { totalHits, resetTime }: ClientRateLimitInfo,
): Outcome {
  const { request, record, path } = exchange;
  const info: LimitInfo = {
    policy: policy.name,
    limit: policy.limit,
    used: totalHits,
    remaining: Math.max(policy.limit - totalHits, 0),
    resetTime,
    retryAfterSeconds: resetSeconds(policy.windowMs, resetTime),
  };
  if (opts.headers !== false) {
    const append = opts.headers === 'draft-8';
    for (const [name, value] of standardHeaders(opts.headers, policy, info, key)) {
      exchange.header(name, value, append);
    }
  }
  exchange.state({
    limit: policy.limit,
    used: totalHits,
    remaining: info.remaining,
    resetTime,
    key,
  });
  if (totalHits > policy.limit) {
    if (opts.headers !== false)
      exchange.header('Retry-After', String(info.retryAfterSeconds), false);
    hintRoute(record, policy, path);
    decisions.limited(index, key, info, request.ip, path.raw, record);
    const body = limitedBody(policy, info, decisions.problems);
    exchange.answer(policy.statusCode, body.type, body.text);
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

/**
 * The route a refused request is shown under in metrics, spans and log lines: the one its policy
 * names, when the path is exactly that route (else core finds the route it would have reached).
 */
function hintRoute(record: RequestRecord, policy: Policy, path: RequestPath): void {
  if (record.routeHint === undefined) record.routeHint = policy.routes.routeOf(path);
}
