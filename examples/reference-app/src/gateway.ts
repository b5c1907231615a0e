// The public "gateway" service: Vigil's observability wiring around the media platform's API, which
// calls the catalog for video metadata. The routes live in routes/.
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import { Registry } from 'prom-client';
import type { Alerting } from '@vigil/alerts';
import type { AuditLogger } from '@vigil/audit';
import { markOperational } from '@vigil/core';
import { livePage } from '@vigil/dashboards';
import { type Health, expressHealth } from '@vigil/health';
import {
  expressMetrics,
  expressMetricsHandler,
  expressMetricsSummaryHandler,
} from '@vigil/metrics';
import type { ExpressRateLimit } from '@vigil/rate-limit';
import { expressRequestLogger, requestLoggingStatus } from '@vigil/logging';
import { type TraceBuffer, expressTracing, expressTracingErrors } from '@vigil/tracing';
import { type BusinessMetrics, VIDEO_FORMATS } from './business';
import { DEMO_USER, authRoutes } from './routes/auth';
import { MAX_SLOW_MS, drillRoutes } from './routes/drills';
import { streamRoutes } from './routes/streams';
import { traceContextTestRoute } from './routes/trace-context-test';
import { videoRoutes } from './routes/videos';

export { DEMO_USER, MAX_SLOW_MS, VIDEO_FORMATS };

export interface GatewayOptions {
  registry: Registry;
  /** Base URL of the catalog service, e.g. http://127.0.0.1:3001. */
  catalogUrl: string;
  /** The trace buffer to serve at /_vigil/traces, when tracing is started. */
  traces?: TraceBuffer;
  /** Serve the W3C Trace Context test-harness endpoint `POST /test`. Default: VIGIL_TRACECONTEXT_TEST=1. */
  traceContextTest?: boolean;
  /** Where request log lines go. Default: stdout. */
  logDestination?: { write(line: string): unknown };
  /** Audit trail: login attempts and rate-limit events. */
  auditLogger: AuditLogger;
  /** The rate limiter with the `login` and `api` policies (see gatewayRateLimitPolicies()). */
  rateLimit: ExpressRateLimit;
  /** The business-metric catalogue, on `registry`. */
  business: BusinessMetrics;
  /** The in-process alerting whose API is served under /alerts. Default: none. */
  alerting?: Alerting;
  /** The probes served at /health/live, /health/ready and /health/startup. Default: none. */
  health?: Health;
}

export function createGatewayApp(options: GatewayOptions): Express {
  const { registry, catalogUrl, traces, logDestination, auditLogger, rateLimit, business } =
    options;
  const app = express();
  app.disable('x-powered-by');
  // The probes first: operational endpoints, answered before any other middleware runs.
  if (options.health) app.use(expressHealth(options.health));
  // Tracing first, so the metrics middleware sees the span and attaches trace exemplars.
  app.use(expressTracing());
  // One JSON line per request with trace_id, span_id and request_id; secrets redacted.
  app.use(expressRequestLogger(logDestination ? { destination: logDestination } : undefined));
  app.use(expressMetrics({ registry }));
  app.get('/metrics', expressMetricsHandler({ registry }));
  app.get(
    '/metrics/summary',
    expressMetricsSummaryHandler({ registry, sections: { business: () => business.totals() } }),
  );
  // The alerts API (GET /alerts, acknowledge, silence, ...): an operational endpoint, so neither
  // counted, logged nor limited. It reads its own bodies, so it sits outside the /api JSON parser.
  if (options.alerting) app.use(options.alerting.api.express());
  // The live page (GET /_vigil, its events and assets) and the JSON overview (GET /observability):
  // operational too, so its own polling never shows in the metrics it charts.
  app.use(
    livePage({
      registry,
      service: 'gateway',
      alerting: options.alerting,
      health: options.health,
      traces,
      audit: auditLogger,
      logging: requestLoggingStatus,
    }).express(),
  );
  // After tracing, logging and metrics, so a limited request still has an id, a log line and a
  // metric; operational endpoints (/metrics, /health, /_vigil, /alerts) are never limited.
  app.use(rateLimit);
  if (traces) {
    // Recent traces from the in-process buffer: the list, and one trace's spans.
    app.get('/_vigil/traces', (req, res) => {
      markOperational(req);
      res.json(traces.recent(Math.min(Number(req.query.limit ?? 50) || 50, 200)));
    });
    app.get('/_vigil/traces/:traceId', (req, res) => {
      markOperational(req);
      const spans = traces.get(req.params.traceId);
      if (spans) res.json(spans);
      else res.status(404).json({ error: 'not_found' });
    });
  }
  if (options.traceContextTest ?? process.env.VIGIL_TRACECONTEXT_TEST === '1') {
    traceContextTestRoute(app);
  }

  const api = express.Router();
  api.use(express.json({ limit: '64kb' }));
  authRoutes(api, auditLogger, business);
  videoRoutes(api, catalogUrl, business);
  const activeStreams = streamRoutes(api, business);
  drillRoutes(api, business, activeStreams);
  app.use('/api', api);

  app.use(expressTracingErrors());
  app.use((_req: Request, res: Response) => {
    res.status(404).json({ error: 'not_found' });
  });
  // Express recognises error handlers by their four parameters.
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const status = (err as { status?: number }).status ?? 500;
    res
      .status(status >= 400 && status < 600 ? status : 500)
      .json({ error: status === 500 ? 'internal_error' : 'bad_request' });
  });
  return app;
}

export function createGatewayRegistry(): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service: 'gateway' });
  return registry;
}
