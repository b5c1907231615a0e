// Public API of @vigil/logging.
export {
  expressRequestLogger,
  koaRequestLogger,
  vigilLogMixin,
  DEFAULT_IGNORE_PATHS,
  DEFAULT_REDACT_PATHS,
  DEFAULT_REDACTED_QUERY_PARAMS,
  REDACTED,
  redactUrlQuery,
} from './logger';
export type {
  RequestLoggerOptions,
  ExpressRequestLogger,
  KoaRequestLogger,
  LogMixin,
  LogIds,
} from './logger';
export { LOGGING_ERROR_CODES } from './errors';
export { requestLoggingStatus } from './status';
export { DEFAULT_MAX_PENDING_BYTES } from './destination';
export type { RequestLoggingStatus } from './status';
