// The alerts HTTP API: alertsApi() and its public types.
export { ALERT_STATUSES, DEFAULT_MAX_BODY_BYTES, alertsApi } from './api';
export type { AlertsApi, AlertsApiOptions, AlertsAuditSink, KoaApiContext } from './api';
