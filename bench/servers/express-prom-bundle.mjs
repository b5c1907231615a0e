// Scenario `express-prom-bundle`: its usual setup; it serves /metrics itself. No default metrics.
import express from 'express';
import promBundle from 'express-prom-bundle';
import { mountRoutes, serve } from './common.mjs';

const app = express();
app.use(promBundle({ includeMethod: true, includePath: true, includeStatusCode: true }));
mountRoutes(app);
serve(app);
