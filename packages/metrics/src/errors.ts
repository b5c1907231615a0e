// Error codes of @vigil/metrics and the option context used to build their messages.
import type { FactoryUsage, OptionContext } from '@vigil/core';

/** Every code this package throws, each documented in the README. */
export const METRICS_ERROR_CODES = {
  NOT_CALLED: 'ERR_VIGIL_METRICS_NOT_CALLED',
  INVALID_OPTIONS: 'ERR_VIGIL_METRICS_INVALID_OPTIONS',
  UNKNOWN_OPTION: 'ERR_VIGIL_METRICS_UNKNOWN_OPTION',
  INVALID_OPTION: 'ERR_VIGIL_METRICS_INVALID_OPTION',
  INVALID_PREFIX: 'ERR_VIGIL_METRICS_INVALID_PREFIX',
  INVALID_BUCKETS: 'ERR_VIGIL_METRICS_INVALID_BUCKETS',
  INVALID_LABEL: 'ERR_VIGIL_METRICS_INVALID_LABEL',
  INVALID_REGISTRY: 'ERR_VIGIL_METRICS_INVALID_REGISTRY',
  METRIC_CONFLICT: 'ERR_VIGIL_METRICS_METRIC_CONFLICT',
} as const;

/** The package's name, in messages and as the owner of its instruments. */
export const PACKAGE = '@vigil/metrics';

const MIDDLEWARE = 'It returns the middleware: mount the result before your routes.';
const SERVER_PORT = 'It is not middleware: it starts a server of its own for Prometheus to scrape;';

/** How each factory is used: the fix of its NOT_CALLED error (README, "Error codes"). */
const USAGE: Readonly<Record<string, FactoryUsage>> = {
  expressMetrics: {
    what: MIDDLEWARE,
    express: 'app.use(expressMetrics())',
    koa: 'app.use(koaMetrics())',
  },
  koaMetrics: {
    what: MIDDLEWARE,
    express: 'app.use(expressMetrics())',
    koa: 'app.use(koaMetrics())',
  },
  expressMetricsHandler: {
    what: 'It returns the scrape endpoint: serve the result on its route.',
    express: "app.get('/metrics', expressMetricsHandler())",
    koa: [
      "router.get('/metrics', koaMetricsHandler())",
      "app.use(koaMetricsHandler({ path: '/metrics' }))",
    ],
  },
  koaMetricsHandler: {
    what: 'It returns the scrape endpoint: serve the result on its route.',
    express: "app.get('/metrics', expressMetricsHandler())",
    koa: [
      "router.get('/metrics', koaMetricsHandler())",
      "app.use(koaMetricsHandler({ path: '/metrics' }))",
    ],
  },
  expressMetricsSummaryHandler: {
    what: 'It returns the summary endpoint: serve the result on its route.',
    express: "app.get('/metrics/summary', expressMetricsSummaryHandler())",
    koa: [
      "router.get('/metrics/summary', koaMetricsSummaryHandler())",
      "app.use(koaMetricsSummaryHandler({ path: '/metrics/summary' }))",
    ],
  },
  koaMetricsSummaryHandler: {
    what: 'It returns the summary endpoint: serve the result on its route.',
    express: "app.get('/metrics/summary', expressMetricsSummaryHandler())",
    koa: [
      "router.get('/metrics/summary', koaMetricsSummaryHandler())",
      "app.use(koaMetricsSummaryHandler({ path: '/metrics/summary' }))",
    ],
  },
  startMetricsServer: {
    what: `${SERVER_PORT} call it once at startup, next to the metrics middleware.`,
    express: 'const metricsServer = await startMetricsServer({ port: 9464 })',
  },
  startClusterMetricsServer: {
    what: `${SERVER_PORT} call it once in the cluster primary, and mount expressMetrics() or koaMetrics() in the workers.`,
    express: 'const metricsServer = await startClusterMetricsServer({ port: 9464 })',
  },
  createClusterAggregator: {
    what: 'It is not middleware: call it once in the cluster primary (startClusterMetricsServer() does it for you).',
    express: 'const aggregator = createClusterAggregator()',
  },
  exposeToClusterPrimary: {
    what: 'It is not middleware: expressMetrics() and koaMetrics() call it for their registry; in a cluster worker, call it once for any other registry the primary should serve.',
    express: 'exposeToClusterPrimary(registry)',
  },
};

export function context(factory: string): OptionContext {
  return { pkg: PACKAGE, codePrefix: 'ERR_VIGIL_METRICS', factory, usage: USAGE[factory] };
}
