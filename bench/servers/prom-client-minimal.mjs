// Scenario `prom-client-minimal`: the smallest honest hand-written prom-client middleware.
import express from 'express';
import { Counter, Histogram, register } from 'prom-client';
import { mountRoutes, serve } from './common.mjs';

const labelNames = ['method', 'route', 'status_code'];
const requests = new Counter({
  name: 'http_requests_total',
  help: 'Total HTTP requests',
  labelNames,
});
const duration = new Histogram({
  name: 'http_request_duration_seconds',
  help: 'HTTP request duration in seconds',
  labelNames,
});

const app = express();
app.use(function minimalMetrics(req, res, next) {
  const end = duration.startTimer();
  res.on('finish', () => {
    const labels = {
      method: req.method,
      route: req.baseUrl + (req.route?.path ?? '') || 'unmatched',
      status_code: res.statusCode,
    };
    requests.inc(labels);
    end(labels);
  });
  next();
});
app.get('/metrics', async (_req, res) => {
  res.type(register.contentType).send(await register.metrics());
});
mountRoutes(app);
serve(app);
