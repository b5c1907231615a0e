// Error codes of @vigil/logging and the option context used to build their messages.
import type { OptionContext } from '@vigil/core';

/** The package's name, in messages. */
export const PACKAGE = '@vigil/logging';

/** Every code this package throws, each documented in the README. */
export const LOGGING_ERROR_CODES = {
  NOT_CALLED: 'ERR_VIGIL_LOGGING_NOT_CALLED',
  INVALID_OPTIONS: 'ERR_VIGIL_LOGGING_INVALID_OPTIONS',
  UNKNOWN_OPTION: 'ERR_VIGIL_LOGGING_UNKNOWN_OPTION',
  INVALID_OPTION: 'ERR_VIGIL_LOGGING_INVALID_OPTION',
} as const;

export function context(factory: string): OptionContext {
  return { pkg: PACKAGE, codePrefix: 'ERR_VIGIL_LOGGING', factory };
}
