// What vigil-umbrella-10 runs: the same work as vigil-full-stack (see vigil-full-stack.mjs), wired by
// the umbrella's one call instead of one app.use() per part, with everything on: tracing, the request
// log to /dev/null, metrics and /metrics, the never-reached `api` policy with audit, the business
// catalogue, and also the probes, the in-process alerts (default rules) and the live page's sampler.
import pino from 'pino';
import { Registry } from 'prom-client';
import { startTracing } from '@vigil/tracing';
import { benchBusinessMetrics, recordBusinessMetrics } from './business-metrics-common.mjs';
import { devNullDestination, mountLogCheck } from './log-common.mjs';
import { LIMIT, WINDOW_MS } from './rate-limit-common.mjs';
import { mountShapesCheck } from './shapes-common.mjs';
import { loadExpressAfterTracing, mountTraceBufferCheck } from './tracing-common.mjs';

/**
 * Starts tracing sampling `ratio` of requests, then serves the route mix behind `vigil(app)`.
 * @param {number} ratio
 */
export async function serveVigilUmbrella(ratio) {
  const tracing = startTracing({
    exporter: 'none',
    sampler: 'parentbased_traceidratio',
    samplerRatio: ratio,
  });
  // Express and the umbrella load only now, after the SDK is set up.
  const [{ express, mountRoutes, serve }, { vigil }] = await Promise.all([
    loadExpressAfterTracing(),
    import('vigil'),
  ]);
  const registry = new Registry();
  const log = devNullDestination();
  const business = benchBusinessMetrics({ registry });

  const app = express();
  vigil(app, {
    service: 'bench',
    registry,
    requestLog: { destination: log },
    metrics: { collectDefaultMetrics: false },
    business,
    // Nothing is limited and the store never fails, so no audit event is written: this is the cost
    // of having audit configured, as in vigil-full-stack.
    rateLimit: { policies: [{ name: 'api', limit: LIMIT, windowMs: WINDOW_MS }], store: 'memory' },
    audit: { destination: pino.destination('/dev/null') },
  });
  recordBusinessMetrics(app, business);
  mountRoutes(app);
  mountTraceBufferCheck(app, tracing.traces);
  mountLogCheck(app, log);
  mountShapesCheck(app);
  serve(app);
}
