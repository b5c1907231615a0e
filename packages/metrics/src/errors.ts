// Error codes of @vigil/metrics and the option context used to build their messages.
import type { OptionContext } from '@vigil/core';

/** Every code this package throws, each documented in the README. */
export const METRICS_ERROR_CODES = {
  NOT_CALLED: 'ERR_VIGIL_METRICS_NOT_CALLED',
  INVALID_OPTIONS: 'ERR_VIGIL_METRICS_INVALID_OPTIONS',
  UNKNOWN_OPTION: 'ERR_VIGIL_METRICS_UNKNOWN_OPTION',
  INVALID_OPTION: 'ERR_VIGIL_METRICS_INVALID_OPTION',
  INVALID_PREFIX: 'ERR_VIGIL_METRICS_INVALID_PREFIX',
  INVALID_BUCKETS: 'ERR_VIGIL_METRICS_INVALID_BUCKETS',
  INVALID_LABEL: 'ERR_VIGIL_METRICS_INVALID_LABEL',
  INVALID_REGISTRY: 'ERR_VIGIL_METRICS_INVALID_REGISTRY',
  METRIC_CONFLICT: 'ERR_VIGIL_METRICS_METRIC_CONFLICT',
} as const;

/** The package's name, in messages and as the owner of its instruments. */
export const PACKAGE = '@vigil/metrics';

export function context(factory: string): OptionContext {
  return { pkg: PACKAGE, codePrefix: 'ERR_VIGIL_METRICS', factory };
}
