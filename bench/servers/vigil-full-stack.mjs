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

/** The parts BENCH_FULL_STACK_WITHOUT may name. */
const PARTS = ['tracing', 'log', 'metrics', 'rate-limit', 'business'];

/**
 * The parts to leave out, from BENCH_FULL_STACK_WITHOUT (comma-separated names of PARTS): for
 * measuring what each part costs with instructions.mjs, gc.mjs or profile.mjs, which pass their
 * environment to the server. The throughput run's checks expect every part, so run.mjs refuses it.
 * @returns {Set<string>}
 */
function partsLeftOut() {
  const raw = process.env.BENCH_FULL_STACK_WITHOUT ?? '';
  const names = raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const unknown = names.filter((n) => !PARTS.includes(n));
  if (unknown.length > 0) {
    throw new Error(
      `BENCH_FULL_STACK_WITHOUT names unknown part(s) ${unknown.join(', ')}; known: ${PARTS.join(', ')}`,
    );
  }
  return new Set(names);
}

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
  const without = partsLeftOut();
  // Left out, tracing also goes without the SDK and its trace buffer.
  const tracing = without.has('tracing')
    ? undefined
    : startTracing({
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
  if (!without.has('tracing')) app.use(expressTracing());
  if (!without.has('log')) app.use(expressRequestLogger({ destination: log }));
  if (!without.has('metrics')) app.use(expressMetrics({ registry, collectDefaultMetrics: false }));
  app.get('/metrics', expressMetricsHandler({ registry }));
  // After tracing, logging and metrics, as in the reference app; /metrics is one of its skipPaths.
  if (!without.has('rate-limit')) app.use(vigilRateLimiter({ registry }));
  if (!without.has('business')) recordBusinessMetrics(app, business);
  mountRoutes(app);
  if (tracing !== undefined) mountTraceBufferCheck(app, tracing.traces);
  mountLogCheck(app, log);
  mountShapesCheck(app);
  extend?.(app, registry);
  serve(app);
}
