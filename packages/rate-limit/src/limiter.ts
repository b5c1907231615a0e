// What expressRateLimit() and koaRateLimit() share around their middleware: policy(name), status(),
// close(), and the Retry-After of a fail-closed answer.
import { codedError } from '@vigil/core';
import { RATE_LIMIT_ERROR_CODES } from './errors';
import { Decisions } from './decisions';
import { context } from './errors';
import { type ParsedOptions, parseOptions } from './options';
import { type PolicyStores, createStores } from './store';
import { TrustChecks } from './trust';

/** Store state of one policy, for health pages. */
export interface PolicyStatus {
  policy: string;
  store: 'memory' | 'redis';
  /** True while the shared store is failing and the policy's onStoreError behaviour applies. */
  down: boolean;
}

/** What expressRateLimit() and koaRateLimit() return besides the middleware itself. */
export interface LimiterControls<M> {
  /** A middleware applying only the named policy, ignoring its routes and methods: for one route. */
  policy(name: string): M;
  /** Store state per policy. */
  status(): PolicyStatus[];
  /** Stops the stores' timers and closes the Redis client Vigil created. */
  close(): Promise<void>;
}

/** What both factories build first: the options, counters and audit, stores, and proxy checks. */
export function setUp(
  factory: string,
  options: unknown,
  argCount: number,
): { opts: ParsedOptions; decisions: Decisions; stores: PolicyStores; trust: TrustChecks } {
  const opts = parseOptions(context(factory), options, argCount);
  const decisions = new Decisions(opts, factory);
  const stores = createStores(opts, decisions, (error) =>
    decisions.problems.report('redis-client', error),
  );
  return { opts, decisions, stores, trust: new TrustChecks(decisions.problems) };
}

/**
 * The limiter: `chain(indexes, matchRoutes)` builds a middleware checking those policies; the result
 * checks every policy whose routes match, and carries the controls.
 */
export function withControls<M extends object>(
  factory: string,
  opts: ParsedOptions,
  stores: PolicyStores,
  chain: (indexes: readonly number[], matchRoutes: boolean) => M,
): M & LimiterControls<M> {
  const middleware = chain(
    opts.policies.map((_, i) => i),
    true,
  ) as M & LimiterControls<M>;
  middleware.policy = (name: string) => {
    const index = opts.policies.findIndex((p) => p.name === name);
    if (index === -1) {
      throw codedError(
        context(factory),
        RATE_LIMIT_ERROR_CODES.UNKNOWN_POLICY,
        `${factory}().policy(): no policy named ${JSON.stringify(name)}; the policies are ${opts.policies.map((p) => p.name).join(', ')}.`,
        'Name one of them, as configured in "policies".',
      );
    }
    return chain([index], false);
  };
  middleware.status = () => stores.status();
  middleware.close = () => stores.close();
  return middleware;
}

/** Retry-After of a fail-closed 503: when the store will next be tried, at least 1 s. */
export function failClosedRetryAfter(opts: ParsedOptions): number {
  return Math.max(1, Math.ceil(opts.retryIntervalMs / 1000));
}
