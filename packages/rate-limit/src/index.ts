// Public API of @vigil/rate-limit.
export { expressRateLimit } from './express';
export type { ExpressRateLimit, ExpressMiddleware } from './express';
export type { LimiterControls, PolicyStatus } from './limiter';
export { koaRateLimit } from './koa';
export type { KoaRateLimit, KoaMiddleware, KoaContextLike } from './koa';
export { DEFAULT_SKIP_PATHS, STORE_ERROR_BEHAVIOURS } from './options';
export type {
  AuditSink,
  KeyFunction,
  LimitInfo,
  LimitedRequest,
  PolicyOptions,
  RateLimitOptions,
  RateLimitState,
  RedisClientLike,
  RedisOptions,
  StoreErrorBehaviour,
} from './types';
export { DEFAULT_IPV6_SUBNET, ipKey } from './keys';
export { METRIC_NAME, MAX_AUDITED_KEYS } from './decisions';
export { StoreUnavailableError } from './store';
export { RATE_LIMIT_ERROR_CODES } from './errors';
