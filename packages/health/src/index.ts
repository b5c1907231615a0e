// Public API of @vigil/health.
export { createHealth } from './health';
export { expressHealth } from './express';
export type { ExpressHealthMiddleware } from './express';
export { koaHealth } from './koa';
export type { KoaContextLike, KoaHealthMiddleware } from './koa';
export { listenHealth } from './server';
export {
  check,
  redisCheck,
  rateLimitCheck,
  tracingCheck,
  eventLoopCheck,
  memoryCheck,
} from './checks';
export type { ExporterStateSource, PingClient, StoreStateSource } from './checks';
export { HEALTH_CONTENT_TYPE } from './endpoint';
export { DURATION_METRIC, STATUS_METRIC } from './metrics';
export { TOKEN_ENV } from './options';
export { HEALTH_ERROR_CODES } from './errors';
export { VigilError } from '@vigil/core';
export type {
  CheckDetails,
  CheckFunctionResult,
  CheckOptions,
  CheckResult,
  CheckScope,
  EventLoopCheckOptions,
  Health,
  HealthCheck,
  HealthOptions,
  HealthPhase,
  HealthReport,
  HealthServer,
  HealthStatus,
  ListenHealthOptions,
  MemoryCheckOptions,
  ProbeName,
  RateLimitCheckOptions,
  RedisCheckOptions,
  ShutdownOptions,
  TracingCheckOptions,
} from './types';
