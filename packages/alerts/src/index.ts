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
export { ALERT_STATUSES, DEFAULT_MAX_BODY_BYTES, alertsApi } from './http';
export {
  MAX_RESOLVED,
  RESOLVED_RETENTION_MS as RESOLVED_ALERTS_RETENTION_MS,
  createAlerting,
} from './alerting';
export type { Alerting, AlertingOptions, AlertmanagerConfigObject } from './alerting';
export type { AlertsApi, AlertsApiOptions, AlertsAuditSink, KoaApiContext } from './http';
export { ManualClock, ZERO_TIME, fingerprint, systemClock } from './model';
export type {
  Acknowledgement,
  AlertStats,
  AlertStatus,
  AlertView,
  AlertsService,
  Clock,
  ClockTimer,
  Delivery,
  LabelSet,
  PostableAlert,
  RuleView,
  SilenceView,
  WebhookAlert,
  WebhookMessage,
} from './model';
export { createDispatcher } from './dispatch/dispatcher';
export { parseMatchers as parseAlertmanagerMatchers } from './dispatch/matchers';
export type { Matcher as AlertmanagerMatcher, MatchType } from './dispatch/matchers';
export type {
  AlertmanagerConfigInput,
  RouteInput,
  InhibitRuleInput,
  ReceiverInput,
  TimeIntervalsInput,
} from './dispatch/config';
export type {
  Dispatcher,
  DispatcherOptions,
  DispatchedAlert,
  DispatcherStats,
  EscalationOptions,
  MaintenanceWindowOptions,
  SilenceInput,
} from './dispatch/types';
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
  MemoryStorageOptions,
  Queryable,
  RollupSpec,
  SeriesView,
  Value,
} from './evaluator/index';
export { createNotifier, NOTIFIER_DEFAULTS } from './receivers/notifier';
export {
  createAlertmanagerClient,
  ALERTMANAGER_BATCH_SIZE,
  ALERTMANAGER_DEFAULTS,
} from './receivers/alertmanager';
export { PAGERDUTY_EVENTS_URL } from './receivers/config';
export type {
  SecretValue,
  WebhookConfig,
  SlackConfig,
  PagerDutyConfig,
  EmailConfig,
  ReceiverConfig,
  NotifierQueueOptions,
  NotifierOptions,
  Notifier,
  AlertmanagerClientOptions,
  AlertmanagerClient,
} from './receivers/types';
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
