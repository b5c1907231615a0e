// Public API of @vigil/metrics.
export { expressMetrics, expressMetricsHandler } from './express';
export type { ExpressMiddleware } from './express';
export { koaMetrics, koaMetricsHandler } from './koa';
export type { KoaMiddleware, KoaContextLike } from './koa';
export { startMetricsServer } from './server';
export { expressMetricsSummaryHandler, koaMetricsSummaryHandler } from './summary';
export type { MetricsSummary, MetricsSummaryOptions, RouteSummary } from './summary';
export {
  createClusterAggregator,
  startClusterMetricsServer,
  exposeToClusterPrimary,
} from './cluster';
export type {
  ClusterAggregator,
  ClusterAggregatorOptions,
  ClusterMetricsServerOptions,
} from './cluster';
export {
  render,
  renderJson,
  negotiate,
  PROMETHEUS_CONTENT_TYPE,
  OPENMETRICS_CONTENT_TYPE,
} from './exposition';
export type { ExpositionFormat } from './exposition';
export { ABORTED_STATUS } from './recorder';
export { DEFAULT_DURATION_BUCKETS, DEFAULT_SIZE_BUCKETS, DEFAULT_MAX_SERIES } from './options';
export { METRICS_ERROR_CODES } from './errors';
export { UNMATCHED_ROUTE, OTHER_METHOD, OVERFLOW_LABEL_VALUE, VigilError } from '@vigil/core';
export type {
  MetricsOptions,
  MetricsHandlerOptions,
  MetricsServerOptions,
  MetricsServer,
  NamingScheme,
  RequestInfo,
  RouteMatcher,
} from './types';
