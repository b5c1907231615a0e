// What the business-metrics scenarios share: the three business metrics and the middlewares that record
// them on every request, in two of @vigil/business-metrics' styles.
//
// No express import here: vigil-full-stack loads this before tracing is set up (see tracing-common.mjs).
import { defineBusinessMetrics, metrics, track } from '@vigil/business-metrics';

/**
 * The catalogue: a counter by route and outcome, a handler-time histogram, a counter by kind.
 * @param {{ registry?: import('prom-client').Registry }} [options]
 */
export function benchBusinessMetrics({ registry } = {}) {
  return defineBusinessMetrics(
    {
      bench_operations_total: {
        type: 'counter',
        help: 'Operations by route and outcome',
        labels: { route: 'route', outcome: 'outcome' },
      },
      bench_operation_duration_seconds: {
        type: 'histogram',
        help: 'Handler time by outcome',
        unit: 'seconds',
        labels: { outcome: 'outcome' },
      },
      bench_visits_total: {
        type: 'counter',
        help: 'Visits by kind',
        labels: { kind: { values: ['read', 'write'] } },
      },
    },
    // Only when given: without it the catalogue goes to prom-client's global registry.
    registry ? { registry } : undefined,
  );
}

/**
 * Records the three metrics on every request: two track() middlewares (the counter labelled by route
 * template and outcome, the histogram timing the handler) and one request-scoped metrics(req).inc().
 * @param {import('express').Express} app
 * @param {ReturnType<typeof benchBusinessMetrics>} business
 */
export function recordBusinessMetrics(app, business) {
  const { bench_operations_total, bench_operation_duration_seconds, bench_visits_total } =
    business.metrics;
  app.use(track(bench_operations_total, { when: 'always' }));
  app.use(track(bench_operation_duration_seconds, { when: 'always' }));
  app.use(
    /**
     * @param {import('express').Request} req
     * @param {import('express').Response} _res
     * @param {import('express').NextFunction} next
     */
    (req, _res, next) => {
      metrics(req).inc(bench_visits_total, { kind: req.method === 'GET' ? 'read' : 'write' });
      next();
    },
  );
}
