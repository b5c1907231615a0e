// Scenario `vigil-business-metrics`: `vigil-metrics` plus three business metrics recorded on every
// request, in two of the package's styles (see business-metrics-common.mjs).
import express from 'express';
import { expressMetrics, expressMetricsHandler } from '@vigil/metrics';
import { benchBusinessMetrics, recordBusinessMetrics } from './business-metrics-common.mjs';
import { mountRoutes, serve } from './common.mjs';

const business = benchBusinessMetrics();

const app = express();
app.use(expressMetrics({ collectDefaultMetrics: false }));
app.get('/metrics', expressMetricsHandler());
recordBusinessMetrics(app, business);
mountRoutes(app);
serve(app);
