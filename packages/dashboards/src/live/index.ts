// The built-in live page: livePage() and its types.
export { livePage } from './live-page';
export { CONTENT_SECURITY_POLICY } from './assets';
export type {
  LiveAlertingLike,
  LiveAuditEvent,
  LiveAuditLike,
  LiveHealthLike,
  LivePage,
  LivePageOptions,
  LiveRegistryLike,
  LiveTraceBufferLike,
  MetricJson,
} from './types';
