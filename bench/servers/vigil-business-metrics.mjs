// Scenario `vigil-business-metrics`: `vigil-metrics` plus three business metrics recorded on every
// request, in two of the package's styles: two track() middlewares (a counter by route and outcome,
// a histogram timing the handler) and one request-scoped metrics(req).inc().
import express from 'express';
import { expressMetrics, expressMetricsHandler } from '@vigil/metrics';
import { defineBusinessMetrics, metrics, track } from '@vigil/business-metrics';
import { mountRoutes, serve } from './common.mjs';

const business = defineBusinessMetrics({
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
});
const { bench_operations_total, bench_operation_duration_seconds, bench_visits_total } =
  business.metrics;

const app = express();
app.use(expressMetrics({ collectDefaultMetrics: false }));
app.get('/metrics', expressMetricsHandler());
app.use(track(bench_operations_total, { when: 'always' }));
app.use(track(bench_operation_duration_seconds, { when: 'always' }));
app.use((req, _res, next) => {
  metrics(req).inc(bench_visits_total, { kind: req.method === 'GET' ? 'read' : 'write' });
  next();
});
mountRoutes(app);
serve(app);
