// Public API of @vigil/dashboards.
export { grafanaDashboards } from './generate';
export { grafanaProvisioning } from './provisioning';
export { dashboardQueries } from './queries';
export type { DashboardQuery } from './queries';
export { DASHBOARDS_ERROR_CODES } from './errors';
export type {
  AlertRuleSetLike,
  BusinessCatalogueLike,
  BusinessMetricDefinitionLike,
  BusinessMetricHandleLike,
  DashboardsOptions,
  GeneratedDashboards,
  ProvisioningFiles,
  ProvisioningOptions,
  RuleLike,
} from './types';
export { livePage } from './live/live-page';
export { CONTENT_SECURITY_POLICY } from './live/assets';
export type {
  LiveAlertingLike,
  LiveAuditEvent,
  LiveAuditLike,
  LiveAuditRecord,
  LiveHealthLike,
  LiveLoggingStatus,
  LivePage,
  LivePageListenOptions,
  LivePageOptions,
  LiveRegistryLike,
  LiveTraceBufferLike,
  MetricJson,
} from './live/types';
