// What vigil-full-stack-10 and vigil-full-stack-100 share: every Vigil part on one app, in the order
// the reference app mounts them. startTracing() (no exporter, the trace buffer on) before Express
// loads, then expressTracing(), the request logger to /dev/null, @vigil/metrics and /metrics, a
// never-reached rate-limit policy with audit, and three business metrics per request, all on one
// registry.
import { Registry } from 'prom-client';
import { expressMetrics, expressMetricsHandler } from '@vigil/metrics';
import { expressRequestLogger } from '@vigil/logging';
import { expressTracing, startTracing } from '@vigil/tracing';
import { benchBusinessMetrics, recordBusinessMetrics } from './business-metrics-common.mjs';
import { BENCH_LOG_MAX_LENGTH, devNullDestination, mountLogCheck } from './log-common.mjs';
import { vigilRateLimiter } from './rate-limit-vigil.mjs';
import { mountShapesCheck } from './shapes-common.mjs';
import { loadExpressAfterTracing, mountTraceBufferCheck } from './tracing-common.mjs';

/**
 * Starts tracing sampling `ratio` of requests, then serves the route mix behind the whole stack.
 * `extend`, when given, runs after the route mix and the checks, before the server listens: the
 * scrape and soak scripts add their series and IPC questions there (servers/full-stack-extras.mjs).
 * `logMaxLength` is the log destination's bound (servers/log-common.mjs); 0 leaves it to
 * @vigil/logging, as the soak does.
 * @param {number} ratio
 * @param {{ extend?: (app: import('express').Express, registry: Registry) => void, logMaxLength?: number }} [options]
 */
export async function serveVigilFullStack(
  ratio,
  { extend, logMaxLength = BENCH_LOG_MAX_LENGTH } = {},
) {
  const tracing = startTracing({
    exporter: 'none',
    sampler: 'parentbased_traceidratio',
    samplerRatio: ratio,
  });
  // Express loads only now, after the SDK is set up.
  const { express, mountRoutes, serve } = await loadExpressAfterTracing();
  const registry = new Registry();
  const log = devNullDestination(logMaxLength);
  const business = benchBusinessMetrics({ registry });

  const app = express();
  // Tracing first, so the logger and the metrics see the request's span and ids.
  app.use(expressTracing());
  app.use(expressRequestLogger({ destination: log }));
  app.use(expressMetrics({ registry, collectDefaultMetrics: false }));
  app.get('/metrics', expressMetricsHandler({ registry }));
  // After tracing, logging and metrics, as in the reference app; /metrics is one of its skipPaths.
  app.use(vigilRateLimiter({ registry }));
  recordBusinessMetrics(app, business);
  mountRoutes(app);
  mountTraceBufferCheck(app, tracing.traces);
  mountLogCheck(app, log);
  mountShapesCheck(app);
  extend?.(app, registry);
  serve(app);
}
