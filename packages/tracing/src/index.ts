// Public API of @vigil/tracing.
export { startTracing, getTracing } from './setup';
export { untraced } from './untraced';
export type { Tracing, TracingOptions } from './setup';
export { EdgeAwareSampler } from './sampler';
export type { SamplerName } from './sampler';
export type { TracingLogger, LogLevelName } from './diag';
export type { ExporterName, ExporterStatus } from './exporters';
export { EXPORTED_METRIC, DROPPED_METRIC } from './export-metrics';
export { expressTracing, expressTracingErrors } from './express';
export type { ExpressMiddleware, ExpressErrorMiddleware } from './express';
export { koaTracing } from './koa';
export type { KoaMiddleware, KoaContextLike } from './koa';
export { getRequestContext, recordRequestError } from './request-context';
export { DEFAULT_IGNORE_PATHS, ATTR_VIGIL_REQUEST_ID, ATTR_VIGIL_CORRELATION_ID } from './server';
export type { RequestContext } from './request-context';
export { TraceBuffer } from './trace-buffer';
export type { RecordedSpan, TraceSummary, TraceBufferOptions } from './trace-buffer';
// The id rules are @vigil/core's (the request record applies them); re-exported for existing users.
export { acceptId, generateId, MAX_ID_LENGTH } from '@vigil/core';
export { DEFAULT_TRUSTED_PROXIES, compileTrustList } from './edge';
export type { InboundPolicy, TrustList } from './edge';
export { installOutgoingPropagation } from './outgoing';
export { TRACING_ERROR_CODES } from './errors';
export type { TracingMiddlewareOptions, SpanAttributeInfo } from './types';
