// Public API of @vigil/alerts.
export { ALERTS_ERROR_CODES } from './errors';
export { checkPromQL } from './promql/check';
export { DEFAULT_PROMETHEUS_VERSION, MAX_PROMQL_DEPTH, MAX_PROMQL_LENGTH } from './promql/options';
export { PROMQL_FEATURES } from './promql/catalogue';
export type {
  CheckPromQLOptions,
  PromQLCheckResult,
  PromQLFeature,
  PromQLType,
} from './promql/types';
