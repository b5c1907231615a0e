// Public API of @vigil/core.
export {
  VigilError,
  describeValue,
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
export { expressRouteTemplate, express4LayerTemplate } from './express-route';
export type { ExpressRequestLike } from './express-route';
export { koaRouteTemplate } from './koa-route';
export { markOperational, isOperational, onOperational } from './operational';
export { setTraceContextProvider, getActiveTraceContext } from './trace-context';
export type { ActiveTraceContext, TraceContextProvider } from './trace-context';
export { createProblemReporter } from './report';
export type { MinimalLogger, ProblemReporter } from './report';
export { setRequestIdsProvider, getActiveRequestIds } from './request-ids';
export type { ActiveRequestIds, RequestIdsProvider } from './request-ids';
export { onShutdownSignal, SHUTDOWN_TIMEOUT_MS } from './shutdown';
export type { ShutdownTask } from './shutdown';
export {
  REDACTED,
  DEFAULT_REDACTED_QUERY_PARAMS,
  redactUrlQuery,
  secretQueryNames,
} from './secret-query';
export { DEFAULT_SECONDS_BUCKETS, DEFAULT_BYTES_BUCKETS } from './buckets';
