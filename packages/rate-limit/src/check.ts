// One policy's check of one request, for Express and Koa alike: the key, the store's count, the
// headers, the handler's view of the count, and the 429 or 503 answer. The adapters only say how to
// write a header, where the count goes and how to answer.
import type { RequestRecord } from '@vigil/core';
import { type ClientRateLimitInfo, MemoryStore, type Store } from 'express-rate-limit';
import type { Decisions } from './decisions';
import { ipKey } from './keys';
import type { ParsedOptions, Policy } from './options';
import type { RequestPath } from './paths';
import { limitedBody, partitionKey, resetSeconds, resolveKey, unavailableBody } from './resolve';
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

/** What a check decided: 'stop' (answered here), 'next', or a decrement to run after the response. */
export type Outcome = 'stop' | 'next' | Decrement;

/** Where PolicyCheck.run() reports: the outcome, or an error of Vigil's own code (never the store's). */
export interface CheckThen {
  done(outcome: Outcome): void;
  failed(error: unknown): void;
}

/**
 * One policy of a limiter with what checking it takes (the parsed options, the policy's store, the
 * counters and audit), put together once when the limiter is created: a request's check is then a
 * method call with the request's own parts only.
 */
export class PolicyCheck {
  constructor(
    private readonly opts: ParsedOptions,
    readonly policy: Policy,
    private readonly index: number,
    private readonly store: Store,
    private readonly decisions: Decisions,
  ) {}

  /** Calls the store's init() once, as express-rate-limit does when it creates a limiter. */
  init(): void {
    const { store, policy, decisions } = this;
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

  /**
   * Checks the policy. Resolves to 'stop' when the response is decided here (limited, or failed
   * closed), a decrement to run after the response for skip-on-success/failure policies, or 'next'.
   */
  check(exchange: Exchange): Promise<Outcome> {
    return new Promise((resolve, reject) => {
      this.run(exchange, { done: resolve, failed: reject });
    });
  }

  /**
   * check() without promises of its own, for the Express path: synchronous until the store answers,
   * then `then.done()` with the outcome. `then.failed()` gets an error of Vigil's own code (store
   * failures are handled here, as check() handles them). An IP-keyed policy on the memory store
   * costs the store's one promise and the callback on it.
   */
  run(exchange: Exchange, then: CheckThen): void {
    const { policy, opts } = this;
    let key: string;
    try {
      if (policy.key !== 'ip') {
        // resolveKey() reports a failing key function itself and falls back to the IP.
        resolveKey(
          policy,
          exchange.request,
          opts.ipv6Subnet,
          exchange.defaultUser,
          this.decisions.problems,
        ).then(
          (resolved) => {
            this.count(exchange, resolved, then);
          },
          (error: unknown) => {
            then.failed(error);
          },
        );
        return;
      }
      key = ipKey(exchange.request.ip, opts.ipv6Subnet);
    } catch (error) {
      then.failed(error);
      return;
    }
    // Outside the try: with a synchronous store, `done` runs the rest of the app from here.
    this.count(exchange, key, then);
  }

  private count(exchange: Exchange, key: string, then: CheckThen): void {
    let answer: ReturnType<Store['increment']>;
    try {
      answer = this.store.increment(key);
    } catch (error) {
      this.settleFailure(exchange, error, then);
      return;
    }
    if (isThenable(answer)) {
      // A store's own thenable is adopted by a native promise, as `await` would.
      (answer instanceof Promise ? answer : Promise.resolve(answer)).then(
        (result) => {
          this.settleCount(exchange, key, result, then);
        },
        (error: unknown) => {
          this.settleFailure(exchange, error, then);
        },
      );
    } else {
      this.settleCount(exchange, key, answer, then);
    }
  }

  private settleCount(
    exchange: Exchange,
    key: string,
    result: ClientRateLimitInfo,
    then: CheckThen,
  ): void {
    let outcome: Outcome;
    try {
      outcome = this.counted(exchange, key, result);
    } catch (error) {
      then.failed(error);
      return;
    }
    then.done(outcome);
  }

  private settleFailure(exchange: Exchange, error: unknown, then: CheckThen): void {
    let outcome: Outcome;
    try {
      outcome = this.storeFailed(exchange, error);
    } catch (thrown) {
      then.failed(thrown);
      return;
    }
    then.done(outcome);
  }

  /** The store failed to count: fail open ('next') or closed (503), as the policy says. */
  private storeFailed(exchange: Exchange, error: unknown): Outcome {
    const { policy, decisions } = this;
    decisions.count(this.index, 'store_error');
    if (!(error instanceof StoreUnavailableError)) decisions.problem(policy, 'increment', error);
    if (policy.onStoreError !== 'fail-closed') return 'next';
    hintRoute(exchange.record, policy, exchange.path);
    const retryAfter = failClosedRetryAfter(this.opts);
    exchange.header('Retry-After', String(retryAfter), false);
    exchange.answer(503, 'application/json; charset=utf-8', unavailableBody(policy, retryAfter));
    return 'stop';
  }

  /** The store counted the request: headers, the handler's view, and the 429 when over the limit. */
  private counted(
    exchange: Exchange,
    key: string,
    { totalHits, resetTime }: ClientRateLimitInfo,
  ): Outcome {
    const { policy, opts, decisions } = this;
    const limit = policy.limit;
    const remaining = Math.max(limit - totalHits, 0);
    const reset = resetSeconds(policy.windowMs, resetTime);
    const headers = opts.headers;
    const window = Math.ceil(policy.windowMs / 1000);
    if (headers === 'draft-7') {
      exchange.header('RateLimit-Policy', `${limit};w=${window}`, false);
      exchange.header('RateLimit', `limit=${limit}, remaining=${remaining}, reset=${reset}`, false);
    } else if (headers === 'draft-8') {
      exchange.header('RateLimit', `"${policy.name}"; r=${remaining}; t=${reset}`, true);
      exchange.header(
        'RateLimit-Policy',
        `"${policy.name}"; q=${limit}; w=${window}; pk=:${partitionKey(key)}:`,
        true,
      );
    }
    exchange.state({ limit, used: totalHits, remaining, resetTime, key });
    if (totalHits > limit) {
      const info: LimitInfo = {
        policy: policy.name,
        limit,
        used: totalHits,
        remaining,
        resetTime,
        retryAfterSeconds: reset,
      };
      if (headers !== false) exchange.header('Retry-After', String(reset), false);
      const { request, record, path } = exchange;
      hintRoute(record, policy, path);
      decisions.limited(this.index, key, info, request.ip, path.raw, record);
      const body = limitedBody(policy, info, decisions.problems);
      exchange.answer(policy.statusCode, body.type, body.text);
      return 'stop';
    }
    decisions.count(this.index, 'allowed');
    if (!policy.skipSuccessfulRequests && !policy.skipFailedRequests) return 'next';
    const windowEnds = resetTime?.getTime();
    const { store } = this;
    return (succeeded) => {
      if (succeeded ? !policy.skipSuccessfulRequests : !policy.skipFailedRequests) return;
      if (windowEnds !== undefined && Date.now() >= windowEnds) return;
      Promise.resolve()
        .then(() => store.decrement(key))
        .catch((error: unknown) => decisions.problem(policy, 'decrement', error));
    };
  }
}

/** Retry-After of a fail-closed 503: when the store will next be tried, at least 1 s. */
export function failClosedRetryAfter(opts: ParsedOptions): number {
  return Math.max(1, Math.ceil(opts.retryIntervalMs / 1000));
}

function isThenable(value: unknown): value is PromiseLike<ClientRateLimitInfo> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

/**
 * The route a refused request is shown under in metrics, spans and log lines: the one its policy
 * names, when the path is exactly that route (else core finds the route it would have reached).
 */
function hintRoute(record: RequestRecord, policy: Policy, path: RequestPath): void {
  if (record.routeHint === undefined) record.routeHint = policy.routes.routeOf(path);
}
