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
