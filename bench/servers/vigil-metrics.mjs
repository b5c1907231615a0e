// Scenario `vigil-metrics`: @vigil/metrics (all five HTTP metrics) and its /metrics route.
import express from 'express';
import { expressMetrics, expressMetricsHandler } from '@vigil/metrics';
import { mountRoutes, serve } from './common.mjs';

const app = express();
app.use(expressMetrics({ collectDefaultMetrics: false }));
app.get('/metrics', expressMetricsHandler());
mountRoutes(app);
serve(app);
