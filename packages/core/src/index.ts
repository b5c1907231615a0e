// Public API of @vigil/core.
export {
  VigilError,
  describeValue,
  codedError,
  optionError,
  looksLikeFrameworkCall,
  frameworkOf,
  notCalledError,
  usageFix,
} from './errors';
export type { FactoryUsage, Framework, OptionContext } from './errors';
export {
  readOptions,
  booleanOption,
  stringOption,
  integerOption,
  functionOption,
  bucketsOption,
  hasMethod,
  loggerOption,
  prefixOption,
  optionNames,
  METRIC_NAME_PATTERN,
  LABEL_NAME_PATTERN,
} from './validate';
export {
  OTHER_METHOD,
  STANDARD_METHODS,
  METHOD_LABELS,
  methodIndex,
  normalizeMethod,
} from './methods';
export { OVERFLOW_LABEL_VALUE, createLabelGuard } from './label-guard';
export type { LabelGuard, LabelGuardOptions, LabelOverflowInfo } from './label-guard';
export { UNMATCHED_ROUTE, pathToTemplate, joinTemplates } from './route';
export type { RoutePath } from './route';
export {
  expressRouteTemplate,
  express4LayerTemplate,
  expressWouldMatchTemplate,
} from './express-route';
export type { ExpressRequestLike } from './express-route';
export { koaRouteTemplate, koaWouldMatchTemplate } from './koa-route';
export {
  OPERATIONAL_PATHS,
  OPERATIONAL_PATH_PATTERN,
  isOperationalPath,
  markOperational,
  isOperational,
} from './operational';
export {
  MIN_TOKEN_LENGTH,
  admitOperational,
  digestToken,
  hasBearerToken,
  listenOperational,
  operationalResponder,
  pathOfUrl,
  resolveEndpointAccess,
  sendOperational,
} from './operational-access';
export type {
  EndpointAccess,
  EndpointBody,
  OperationalResponder,
  OperationalServer,
} from './operational-access';
export type {
  ExpressErrorMiddleware,
  ExpressMiddleware,
  KoaContextLike,
  KoaMiddleware,
  NextFunction,
} from './framework-types';
export { RequestRecord, Connection, allocateSlot, beginRequest, findRequest } from './lifecycle';
export type { RequestSink } from './lifecycle';
export { V8_NEEDS_REQUEST_SHAPES, requestShapesOf } from './request-shapes';
export type { ObjectShape, ServerShapes } from './request-shapes';
export { requestRouteTemplate } from './request-route';
export { targetPath } from './request-path';
export {
  canonicalPath,
  canonicalRoute,
  collapseSlashes,
  foldPath,
  pathListOption,
  pathMatcher,
} from './path-match';
export type { PathMatchRules, PathPattern } from './path-match';
export { acceptId, generateId, MAX_ID_LENGTH } from './request-id';
export { defineRequestAccessor, requestPrototypeOf } from './request-accessor';
export { setTraceContextProvider, getActiveTraceContext } from './trace-context';
export type { ActiveTraceContext, TraceContextProvider } from './trace-context';
export { createProblemReporter, emitVigilWarning } from './report';
export type { MinimalLogger, ProblemReporter } from './report';
export { setRequestIdsProvider, getActiveRequestIds } from './request-ids';
export type { ActiveRequestIds, RequestIdsProvider } from './request-ids';
export { onShutdownSignal, SHUTDOWN_TIMEOUT_MS } from './shutdown';
export type { ShutdownTask, ShutdownTaskOptions } from './shutdown';
export {
  REDACTED,
  DEFAULT_REDACTED_QUERY_PARAMS,
  DEFAULT_REDACTED_KEYS,
  SECRET_REQUEST_HEADERS,
  SECRET_RESPONSE_HEADERS,
  SECRET_SUFFIXES,
  isSecretHeader,
  isSecretKey,
  redactUrlQuery,
  secretQueryNames,
} from './secrets';
export { DEFAULT_SECONDS_BUCKETS, DEFAULT_BYTES_BUCKETS } from './buckets';
export {
  FastCounter,
  FastGauge,
  FastHistogram,
  kVigilInstrument,
  getOrRegister,
  histogramSeries,
  histogramValues,
  observeHistogram,
  registryState,
  resetHistogram,
  scalarValues,
  sharedCounter,
} from './instruments';
export type {
  CounterCell,
  SharedCounter,
  CounterSeries,
  Exemplar,
  GaugeSeries,
  HistogramSeries,
  InstrumentType,
  Labels,
  MetricJson,
  MetricValue,
  ScalarSeries,
  VigilInstrument,
} from './instruments';
export { defaultRegistry, isRegistryLike, registryOption } from './registry';
export type { RegistryLike, RegistryOptionRules } from './registry';
export { collectMetrics, isPromRegistry, promReadKind, withDefaultLabels } from './prom-internals';
export type { PromHistogram, PromReadKind, PromScalar, RawLabels } from './prom-internals';
