// Error codes of @vigil/business-metrics and the option context used to build their messages.
import { type OptionContext, VigilError, describeValue } from '@vigil/core';

/** Every code this package throws, each documented in the README. */
export const BUSINESS_METRICS_ERROR_CODES = {
  NOT_CALLED: 'ERR_VIGIL_BUSINESS_METRICS_NOT_CALLED',
  INVALID_OPTIONS: 'ERR_VIGIL_BUSINESS_METRICS_INVALID_OPTIONS',
  UNKNOWN_OPTION: 'ERR_VIGIL_BUSINESS_METRICS_UNKNOWN_OPTION',
  INVALID_OPTION: 'ERR_VIGIL_BUSINESS_METRICS_INVALID_OPTION',
  INVALID_REGISTRY: 'ERR_VIGIL_BUSINESS_METRICS_INVALID_REGISTRY',
  INVALID_PREFIX: 'ERR_VIGIL_BUSINESS_METRICS_INVALID_PREFIX',
  INVALID_DEFINITION: 'ERR_VIGIL_BUSINESS_METRICS_INVALID_DEFINITION',
  INVALID_TYPE: 'ERR_VIGIL_BUSINESS_METRICS_INVALID_TYPE',
  INVALID_HELP: 'ERR_VIGIL_BUSINESS_METRICS_INVALID_HELP',
  INVALID_NAME: 'ERR_VIGIL_BUSINESS_METRICS_INVALID_NAME',
  INVALID_SUFFIX: 'ERR_VIGIL_BUSINESS_METRICS_INVALID_SUFFIX',
  INVALID_UNIT: 'ERR_VIGIL_BUSINESS_METRICS_INVALID_UNIT',
  RESERVED_NAME: 'ERR_VIGIL_BUSINESS_METRICS_RESERVED_NAME',
  INVALID_LABEL_NAME: 'ERR_VIGIL_BUSINESS_METRICS_INVALID_LABEL_NAME',
  INVALID_LABEL_SPEC: 'ERR_VIGIL_BUSINESS_METRICS_INVALID_LABEL_SPEC',
  INVALID_BUCKETS: 'ERR_VIGIL_BUSINESS_METRICS_INVALID_BUCKETS',
  METRIC_CONFLICT: 'ERR_VIGIL_BUSINESS_METRICS_METRIC_CONFLICT',
  INVALID_METRIC: 'ERR_VIGIL_BUSINESS_METRICS_INVALID_METRIC',
  INVALID_SPEC: 'ERR_VIGIL_BUSINESS_METRICS_INVALID_SPEC',
  INVALID_LABELS: 'ERR_VIGIL_BUSINESS_METRICS_INVALID_LABELS',
  INVALID_DECORATOR_TARGET: 'ERR_VIGIL_BUSINESS_METRICS_INVALID_DECORATOR_TARGET',
} as const;

export const PACKAGE = '@vigil/business-metrics';
const PREFIX = 'ERR_VIGIL_BUSINESS_METRICS';

export function context(factory: string): OptionContext {
  return { pkg: PACKAGE, codePrefix: PREFIX, factory };
}

/**
 * An error about something other than an option value (a decorator target, a factory used without
 * its call), in the same shape as optionError(): the code, what happened, how to fix it, the docs.
 */
export function usageError(
  what: keyof typeof BUSINESS_METRICS_ERROR_CODES,
  factory: string,
  problem: string,
  received: unknown,
  fix: string,
): VigilError {
  return new VigilError(
    BUSINESS_METRICS_ERROR_CODES[what],
    `${factory}(): ${problem}, received ${describeValue(received)}. ${fix} See "Error codes" in the ${PACKAGE} README.`,
  );
}
