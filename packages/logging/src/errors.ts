// Error codes of @vigil/logging and the option context used to build their messages.
import type { FactoryUsage, OptionContext } from '@vigil/core';

/** The package's name, in messages. */
export const PACKAGE = '@vigil/logging';

/** Every code this package throws, each documented in the README. */
export const LOGGING_ERROR_CODES = {
  NOT_CALLED: 'ERR_VIGIL_LOGGING_NOT_CALLED',
  INVALID_OPTIONS: 'ERR_VIGIL_LOGGING_INVALID_OPTIONS',
  UNKNOWN_OPTION: 'ERR_VIGIL_LOGGING_UNKNOWN_OPTION',
  INVALID_OPTION: 'ERR_VIGIL_LOGGING_INVALID_OPTION',
} as const;

const LOGGER =
  'It returns the middleware: mount the result right after the tracing middleware (first, when there is none).';

/** How each factory is used: the fix of its NOT_CALLED error (README, "Error codes"). */
const USAGE: Readonly<Record<string, FactoryUsage>> = {
  expressRequestLogger: {
    what: LOGGER,
    express: 'app.use(expressRequestLogger())',
    koa: 'app.use(koaRequestLogger())',
  },
  koaRequestLogger: {
    what: LOGGER,
    express: 'app.use(expressRequestLogger())',
    koa: 'app.use(koaRequestLogger())',
  },
};

export function context(factory: string): OptionContext {
  return { pkg: PACKAGE, codePrefix: 'ERR_VIGIL_LOGGING', factory, usage: USAGE[factory] };
}
