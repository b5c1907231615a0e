// Error codes of @vigil/business-metrics and the option context used to build their messages.
import {
  type FactoryUsage,
  type OptionContext,
  type VigilError,
  codedError,
  describeValue,
} from '@vigil/core';

/** Every code this package throws, each documented in the README. */
export const BUSINESS_METRICS_ERROR_CODES = {
  NOT_CALLED: 'ERR_VIGIL_BUSINESS_METRICS_NOT_CALLED',
  INVALID_OPTIONS: 'ERR_VIGIL_BUSINESS_METRICS_INVALID_OPTIONS',
  UNKNOWN_OPTION: 'ERR_VIGIL_BUSINESS_METRICS_UNKNOWN_OPTION',
  INVALID_OPTION: 'ERR_VIGIL_BUSINESS_METRICS_INVALID_OPTION',
  INVALID_REGISTRY: 'ERR_VIGIL_BUSINESS_METRICS_INVALID_REGISTRY',
  INVALID_PREFIX: 'ERR_VIGIL_BUSINESS_METRICS_INVALID_PREFIX',
  INVALID_DEFINITION: 'ERR_VIGIL_BUSINESS_METRICS_INVALID_DEFINITION',
  INVALID_TYPE: 'ERR_VIGIL_BUSINESS_METRICS_INVALID_TYPE',
  INVALID_HELP: 'ERR_VIGIL_BUSINESS_METRICS_INVALID_HELP',
  INVALID_NAME: 'ERR_VIGIL_BUSINESS_METRICS_INVALID_NAME',
  INVALID_SUFFIX: 'ERR_VIGIL_BUSINESS_METRICS_INVALID_SUFFIX',
  INVALID_UNIT: 'ERR_VIGIL_BUSINESS_METRICS_INVALID_UNIT',
  RESERVED_NAME: 'ERR_VIGIL_BUSINESS_METRICS_RESERVED_NAME',
  INVALID_LABEL_NAME: 'ERR_VIGIL_BUSINESS_METRICS_INVALID_LABEL_NAME',
  INVALID_LABEL_SPEC: 'ERR_VIGIL_BUSINESS_METRICS_INVALID_LABEL_SPEC',
  INVALID_BUCKETS: 'ERR_VIGIL_BUSINESS_METRICS_INVALID_BUCKETS',
  METRIC_CONFLICT: 'ERR_VIGIL_BUSINESS_METRICS_METRIC_CONFLICT',
  INVALID_METRIC: 'ERR_VIGIL_BUSINESS_METRICS_INVALID_METRIC',
  INVALID_SPEC: 'ERR_VIGIL_BUSINESS_METRICS_INVALID_SPEC',
  INVALID_LABELS: 'ERR_VIGIL_BUSINESS_METRICS_INVALID_LABELS',
  INVALID_DECORATOR_TARGET: 'ERR_VIGIL_BUSINESS_METRICS_INVALID_DECORATOR_TARGET',
} as const;

export const PACKAGE = '@vigil/business-metrics';
const PREFIX = 'ERR_VIGIL_BUSINESS_METRICS';

const DECORATOR = 'It is a method decorator factory: decorate a class method with its call, given';

/**
 * How each factory is used: the fix of its NOT_CALLED error (README, "Error codes"). `business` is
 * the app's catalogue, `handler` its route handler.
 */
const USAGE: Readonly<Record<string, FactoryUsage>> = {
  defineBusinessMetrics: {
    what: 'It is not middleware: declare your metrics once at startup, then record them with track() on a route, metrics(req) in a handler, or the decorators.',
    express:
      "const business = defineBusinessMetrics({ uploads_total: { type: 'counter', help: 'Video uploads' } })",
  },
  track: {
    what: 'It takes the metric to record (from your catalogue, business) and returns a route middleware: put the result on the route, before its handler.',
    express: "app.post('/api/videos', track(business.metrics.uploads_total), handler)",
    koa: "router.post('/api/videos', track(business.metrics.uploads_total), handler)",
  },
  totals: {
    what: 'It returns a snapshot of the business totals, not a handler: call it where you need them.',
    express: "app.get('/business-totals', (req, res) => res.json(business.totals()))",
    koa: "router.get('/business-totals', (ctx) => { ctx.body = business.totals(); })",
  },
  Counted: {
    what: `${DECORATOR} the counter to count into.`,
    express: '@Counted(business.metrics.uploads_total)',
  },
  Timed: {
    what: `${DECORATOR} a histogram in seconds.`,
    express: '@Timed(business.metrics.upload_duration_seconds)',
  },
  Observed: {
    what: `${DECORATOR} the metric that records the returned value.`,
    express: '@Observed(business.metrics.upload_size_bytes)',
  },
};

export function context(factory: string): OptionContext {
  return { pkg: PACKAGE, codePrefix: PREFIX, factory, usage: USAGE[factory] };
}

/**
 * An error about something other than an option value (a decorator target, a factory used without
 * its call), in the same shape as optionError(): the code, what happened, how to fix it, the docs.
 */
export function usageError(
  what: keyof typeof BUSINESS_METRICS_ERROR_CODES,
  factory: string,
  problem: string,
  received: unknown,
  fix: string,
): VigilError {
  return codedError(
    { pkg: PACKAGE },
    BUSINESS_METRICS_ERROR_CODES[what],
    `${factory}(): ${problem}, received ${describeValue(received)}.`,
    fix,
  );
}
