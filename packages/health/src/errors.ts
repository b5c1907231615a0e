// Error codes of @vigil/health and the option context used to build their messages.
import type { FactoryUsage, OptionContext } from '@vigil/core';

/** The package's name, in messages and as the owner of its instruments. */
export const PACKAGE = '@vigil/health';

/** Every code this package throws, each documented in the README under its own heading. */
export const HEALTH_ERROR_CODES = {
  NOT_CALLED: 'ERR_VIGIL_HEALTH_NOT_CALLED',
  INVALID_OPTIONS: 'ERR_VIGIL_HEALTH_INVALID_OPTIONS',
  UNKNOWN_OPTION: 'ERR_VIGIL_HEALTH_UNKNOWN_OPTION',
  INVALID_OPTION: 'ERR_VIGIL_HEALTH_INVALID_OPTION',
  INVALID_CHECK: 'ERR_VIGIL_HEALTH_INVALID_CHECK',
  DUPLICATE_CHECK: 'ERR_VIGIL_HEALTH_DUPLICATE_CHECK',
  DEPENDENCY_IN_LIVENESS: 'ERR_VIGIL_HEALTH_DEPENDENCY_IN_LIVENESS',
  INVALID_CLIENT: 'ERR_VIGIL_HEALTH_INVALID_CLIENT',
  INVALID_REGISTRY: 'ERR_VIGIL_HEALTH_INVALID_REGISTRY',
  METRIC_CONFLICT: 'ERR_VIGIL_HEALTH_METRIC_CONFLICT',
} as const;

const ENDPOINTS =
  'It returns the middleware answering /health/live, /health/ready and /health/startup: mount the result before your routes.';

/** How each factory is used: the fix of its NOT_CALLED error (README, "Error codes"). */
const USAGE: Readonly<Record<string, FactoryUsage>> = {
  createHealth: {
    what: 'It is not middleware: call it once at startup and mount what expressHealth() or koaHealth() makes of it.',
    express: 'app.use(expressHealth(createHealth()))',
    koa: 'app.use(koaHealth(createHealth()))',
  },
  expressHealth: {
    what: ENDPOINTS,
    express: 'app.use(expressHealth())',
    koa: 'app.use(koaHealth())',
  },
  koaHealth: {
    what: ENDPOINTS,
    express: 'app.use(expressHealth())',
    koa: 'app.use(koaHealth())',
  },
  listenHealth: {
    what: 'It is not middleware: it starts a server of its own for the probes; call it once at startup.',
    express: 'const probes = await listenHealth(health, { port: 8081 })',
  },
};

export function context(factory: string): OptionContext {
  return { pkg: PACKAGE, codePrefix: 'ERR_VIGIL_HEALTH', factory, usage: USAGE[factory] };
}
