// Error codes of @vigil/tracing and the option context used to build their messages.
import type { OptionContext } from '@vigil/core';

/** Every code this package throws, each documented in the README. */
export const TRACING_ERROR_CODES = {
  NOT_CALLED: 'ERR_VIGIL_TRACING_NOT_CALLED',
  INVALID_OPTIONS: 'ERR_VIGIL_TRACING_INVALID_OPTIONS',
  UNKNOWN_OPTION: 'ERR_VIGIL_TRACING_UNKNOWN_OPTION',
  INVALID_OPTION: 'ERR_VIGIL_TRACING_INVALID_OPTION',
  INVALID_CIDR: 'ERR_VIGIL_TRACING_INVALID_CIDR',
  INVALID_SAMPLER: 'ERR_VIGIL_TRACING_INVALID_SAMPLER',
  ALREADY_STARTED: 'ERR_VIGIL_TRACING_ALREADY_STARTED',
  UNSUPPORTED_PROTOCOL: 'ERR_VIGIL_TRACING_UNSUPPORTED_PROTOCOL',
  METRIC_CONFLICT: 'ERR_VIGIL_TRACING_METRIC_CONFLICT',
} as const;

export function context(factory: string): OptionContext {
  return { pkg: '@vigil/tracing', codePrefix: 'ERR_VIGIL_TRACING', factory };
}
