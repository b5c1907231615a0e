// Error codes of @vigil/alerts and the option context used to build their messages.
import type { OptionContext } from '@vigil/core';

/** The package's name, in messages. */
export const PACKAGE = '@vigil/alerts';

/** Every code this package throws, each documented in the README under its own heading. */
export const ALERTS_ERROR_CODES = {
  // --- rules, SLOs and emitters ---
  INVALID_OPTIONS: 'ERR_VIGIL_ALERTS_INVALID_OPTIONS',
  UNKNOWN_OPTION: 'ERR_VIGIL_ALERTS_UNKNOWN_OPTION',
  INVALID_OPTION: 'ERR_VIGIL_ALERTS_INVALID_OPTION',
  INVALID_DURATION: 'ERR_VIGIL_ALERTS_INVALID_DURATION',
  INVALID_NAME: 'ERR_VIGIL_ALERTS_INVALID_NAME',
  INVALID_LABELS: 'ERR_VIGIL_ALERTS_INVALID_LABELS',
  INVALID_TEMPLATE: 'ERR_VIGIL_ALERTS_INVALID_TEMPLATE',
  INVALID_PROMETHEUS_VERSION: 'ERR_VIGIL_ALERTS_INVALID_PROMETHEUS_VERSION',
  FEATURE_UNAVAILABLE: 'ERR_VIGIL_ALERTS_FEATURE_UNAVAILABLE',
  INVALID_OBJECTIVE: 'ERR_VIGIL_ALERTS_INVALID_OBJECTIVE',
  NOT_A_BUCKET: 'ERR_VIGIL_ALERTS_NOT_A_BUCKET',
  NEVER_FIRES: 'ERR_VIGIL_ALERTS_NEVER_FIRES',
  DUPLICATE_NAME: 'ERR_VIGIL_ALERTS_DUPLICATE_NAME',
  INVALID_RULES_MODULE: 'ERR_VIGIL_ALERTS_INVALID_RULES_MODULE',
  // --- end of rules, SLOs and emitters ---
  PROMQL_SYNTAX: 'ERR_VIGIL_ALERTS_PROMQL_SYNTAX',
  PROMQL_TYPE: 'ERR_VIGIL_ALERTS_PROMQL_TYPE',
  PROMQL_UNSUPPORTED: 'ERR_VIGIL_ALERTS_PROMQL_UNSUPPORTED',
  PROMQL_TOO_COMPLEX: 'ERR_VIGIL_ALERTS_PROMQL_TOO_COMPLEX',
  PROMQL_INVALID_OPTION: 'ERR_VIGIL_ALERTS_PROMQL_INVALID_OPTION',
  // --- embedded evaluator ---
  /** Valid PromQL outside what the embedded evaluator computes (the rule can be Prometheus-only). */
  PROMQL_NOT_EVALUATED: 'ERR_VIGIL_ALERTS_PROMQL_NOT_EVALUATED',
  // --- end of embedded evaluator ---
} as const;

export function context(factory: string): OptionContext {
  return { pkg: PACKAGE, codePrefix: 'ERR_VIGIL_ALERTS', factory };
}
