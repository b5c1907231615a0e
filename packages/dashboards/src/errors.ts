// Error codes of @vigil/dashboards and the option context used to build their messages.
import type { FactoryUsage, OptionContext } from '@vigil/core';

/** Every code this package throws, each documented in the README. */
export const DASHBOARDS_ERROR_CODES = {
  NOT_CALLED: 'ERR_VIGIL_DASHBOARDS_NOT_CALLED',
  INVALID_OPTIONS: 'ERR_VIGIL_DASHBOARDS_INVALID_OPTIONS',
  UNKNOWN_OPTION: 'ERR_VIGIL_DASHBOARDS_UNKNOWN_OPTION',
  INVALID_OPTION: 'ERR_VIGIL_DASHBOARDS_INVALID_OPTION',
} as const;

export const PKG = '@vigil/dashboards';

/** How each factory is used: the fix of its NOT_CALLED error (README, "Error codes"). */
const USAGE: Readonly<Record<string, FactoryUsage>> = {
  grafanaDashboards: {
    what: 'It is not middleware: call it in a build step or script and write the files it returns.',
    express: "const { files } = grafanaDashboards({ service: 'api' })",
  },
  grafanaProvisioning: {
    what: 'It is not middleware: call it in a build step or script and write the files it returns.',
    express: "const files = grafanaProvisioning({ prometheusUrl: 'http://prometheus:9090' })",
  },
  livePage: {
    what: 'It is not middleware itself: call it with the registry, then mount what it returns.',
    express: 'app.use(livePage({ registry }).express())',
    koa: 'app.use(livePage({ registry }).koa())',
  },
};

export function context(factory: string): OptionContext {
  return { pkg: PKG, codePrefix: 'ERR_VIGIL_DASHBOARDS', factory, usage: USAGE[factory] };
}
