// What expressRateLimit() and koaRateLimit() share around their middleware: the set-up, policy(name),
// status() and close().
import { type ProblemReporter, codedError } from '@vigil/core';
import type { Store } from 'express-rate-limit';
import { PolicyCheck } from './check';
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

/** What both factories build first. */
export interface Limiter {
  readonly opts: ParsedOptions;
  /** One check per policy, in the order of `opts.policies`, each with its store initialised. */
  readonly checks: readonly PolicyCheck[];
  readonly stores: PolicyStores;
  readonly trust: TrustChecks;
  readonly problems: ProblemReporter;
}

/** The options, counters and audit, stores, one check per policy, and proxy checks. */
export function setUp(factory: string, options: unknown, argCount: number): Limiter {
  const opts = parseOptions(context(factory), options, argCount);
  const decisions = new Decisions(opts, factory);
  const stores = createStores(opts, decisions, (error) =>
    decisions.problems.report('redis-client', error),
  );
  const checks = opts.policies.map(
    (policy, i) => new PolicyCheck(opts, policy, i, stores.stores[i] as Store, decisions),
  );
  for (const c of checks) c.init();
  return {
    opts,
    checks,
    stores,
    trust: new TrustChecks(decisions.problems),
    problems: decisions.problems,
  };
}

/**
 * The limiter: `chain(checks, matchRoutes)` builds a middleware checking those policies; the result
 * checks every policy whose routes match, and carries the controls.
 */
export function withControls<M extends object>(
  factory: string,
  limiter: Limiter,
  chain: (checks: readonly PolicyCheck[], matchRoutes: boolean) => M,
): M & LimiterControls<M> {
  const { opts, checks, stores } = limiter;
  const middleware = chain(checks, true) as M & LimiterControls<M>;
  middleware.policy = (name: string) => {
    const check = checks.find((c) => c.policy.name === name);
    if (check === undefined) {
      throw codedError(
        context(factory),
        RATE_LIMIT_ERROR_CODES.UNKNOWN_POLICY,
        `${factory}().policy(): no policy named ${JSON.stringify(name)}; the policies are ${opts.policies.map((p) => p.name).join(', ')}.`,
        'Name one of them, as configured in "policies".',
      );
    }
    return chain([check], false);
  };
  middleware.status = () => stores.status();
  middleware.close = () => stores.close();
  return middleware;
}
