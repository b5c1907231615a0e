// Public API of @vigil/alerts.
export { ALERTS_ERROR_CODES } from './errors';
export {
  errorRatioAlert,
  latencyAlert,
  inFlightAlert,
  rateLimitAlert,
  auditFailureAlert,
  businessFailureAlert,
  eventLoopLagAlert,
  memoryAlert,
  targetDownAlert,
  promqlAlert,
  recordingRule,
} from './builders';
export { defineSlo, BURN_TIERS, burnFactor } from './slo';
export type { BurnTierSpec } from './slo';
export { defineAlerts } from './rule-set';
export {
  prometheusRuleFile,
  prometheusRuleObject,
  prometheusRuleResource,
  alertmanagerConfig,
  alertmanagerObject,
  promtoolTestFile,
  generateFiles,
} from './emit';
export type {
  PrometheusRuleResourceOptions,
  AlertmanagerConfigOptions,
  PromtoolTestFileOptions,
} from './emit';
export { PROMETHEUS_FEATURES } from './versions';
export type * from './types';
export { checkPromQL } from './promql/check';
export { DEFAULT_PROMETHEUS_VERSION, MAX_PROMQL_DEPTH, MAX_PROMQL_LENGTH } from './promql/options';
export { PROMQL_FEATURES } from './promql/catalogue';
export type {
  CheckPromQLOptions,
  PromQLCheckResult,
  PromQLFeature,
  PromQLType,
} from './promql/types';
export {
  compileExpr,
  unsupportedReason,
  evaluate,
  matchesAll,
  MemoryStorage,
  DEFAULT_LOOKBACK_DELTA_MS,
  DEFAULT_SUBQUERY_STEP_MS,
} from './evaluator/index';
export type {
  CompiledExpr,
  CompileOptions,
  InstantSample,
  Matcher,
  Queryable,
  SeriesView,
  Value,
} from './evaluator/index';
export {
  createRuleEngine,
  RESEND_DELAY_MS,
  OUTAGE_TOLERANCE_MS,
  FOR_GRACE_PERIOD_MS,
  SLICE_BUDGET_MS,
} from './rules/engine';
export type { RuleEngine, RuleEngineOptions, EngineAlert } from './rules/engine';
export { RESOLVED_RETENTION_MS } from './rules/alerting';
export { RULE_ENGINE_METRICS } from './rules/metrics';
export { runPromtoolTests } from './rules/promtool';
export type { PromtoolRun, PromtoolVerdict } from './rules/promtool';
