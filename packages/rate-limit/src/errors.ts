// Error codes of @vigil/rate-limit and the option context used to build their messages.
import type { FactoryUsage, OptionContext } from '@vigil/core';

/** Every code this package throws, each documented in the README. */
export const RATE_LIMIT_ERROR_CODES = {
  NOT_CALLED: 'ERR_VIGIL_RATE_LIMIT_NOT_CALLED',
  INVALID_OPTIONS: 'ERR_VIGIL_RATE_LIMIT_INVALID_OPTIONS',
  UNKNOWN_OPTION: 'ERR_VIGIL_RATE_LIMIT_UNKNOWN_OPTION',
  INVALID_OPTION: 'ERR_VIGIL_RATE_LIMIT_INVALID_OPTION',
  INVALID_POLICY: 'ERR_VIGIL_RATE_LIMIT_INVALID_POLICY',
  DUPLICATE_POLICY: 'ERR_VIGIL_RATE_LIMIT_DUPLICATE_POLICY',
  UNKNOWN_POLICY: 'ERR_VIGIL_RATE_LIMIT_UNKNOWN_POLICY',
  INVALID_STORE: 'ERR_VIGIL_RATE_LIMIT_INVALID_STORE',
  METRIC_CONFLICT: 'ERR_VIGIL_RATE_LIMIT_METRIC_CONFLICT',
} as const;

const LIMITER =
  'It takes your policies and returns the middleware: mount the result before the routes it limits.';
const POLICIES = "{ policies: [{ name: 'api', limit: 100, windowMs: 60_000 }] }";
const EXPRESS = `const limiter = expressRateLimit(${POLICIES}); app.use(limiter)`;
const KOA = `const limiter = koaRateLimit(${POLICIES}); app.use(limiter)`;

/** How each factory is used: the fix of its NOT_CALLED error (README, "Error codes"). */
const USAGE: Readonly<Record<string, FactoryUsage>> = {
  expressRateLimit: { what: LIMITER, express: EXPRESS, koa: KOA },
  koaRateLimit: { what: LIMITER, express: EXPRESS, koa: KOA },
};

export function context(factory: string): OptionContext {
  return {
    pkg: '@vigil/rate-limit',
    codePrefix: 'ERR_VIGIL_RATE_LIMIT',
    factory,
    usage: USAGE[factory],
  };
}
