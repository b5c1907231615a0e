// Error codes of @vigil/alerts and the option context used to build their messages.
import type { OptionContext } from '@vigil/core';

/** The package's name, in messages. */
export const PACKAGE = '@vigil/alerts';

/** Every code this package throws, each documented in the README under its own heading. */
export const ALERTS_ERROR_CODES = {
  PROMQL_SYNTAX: 'ERR_VIGIL_ALERTS_PROMQL_SYNTAX',
  PROMQL_TYPE: 'ERR_VIGIL_ALERTS_PROMQL_TYPE',
  PROMQL_UNSUPPORTED: 'ERR_VIGIL_ALERTS_PROMQL_UNSUPPORTED',
  PROMQL_TOO_COMPLEX: 'ERR_VIGIL_ALERTS_PROMQL_TOO_COMPLEX',
  PROMQL_INVALID_OPTION: 'ERR_VIGIL_ALERTS_PROMQL_INVALID_OPTION',
} as const;

export function context(factory: string): OptionContext {
  return { pkg: PACKAGE, codePrefix: 'ERR_VIGIL_ALERTS', factory };
}
