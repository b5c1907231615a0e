// The public "gateway" service: the media platform's API, which calls the catalog for video metadata.
// Its observability is one vigil(app, {...}) call; the routes live in routes/.
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import { Registry } from 'prom-client';
import type { AuditLoggerOptions } from '@vigil/audit';
import { check, eventLoopCheck } from '@vigil/health';
import { type Vigil, expressTracingErrors, vigil } from 'vigil';
import {
  GATEWAY_JOB,
  gatewayAlertmanagerConfig,
  gatewayAlerts,
  gatewayEvaluationInterval,
} from './alerts';
import { type BusinessMetrics, VIDEO_FORMATS, createBusinessMetrics } from './business';
import { type RateLimitSettings, gatewayRateLimitOptions } from './limits';
import { DEMO_USER, authRoutes } from './routes/auth';
import { MAX_SLOW_MS, drillRoutes } from './routes/drills';
import { streamRoutes } from './routes/streams';
import { traceContextTestRoute } from './routes/trace-context-test';
import { videoRoutes } from './routes/videos';

export { DEMO_USER, MAX_SLOW_MS, VIDEO_FORMATS };

export interface GatewayOptions {
  /** The gateway's registry (createGatewayRegistry()): every capability writes to it, `/metrics` serves it. */
  registry: Registry;
  /** Base URL of the catalog service, e.g. http://127.0.0.1:3001. */
  catalogUrl: string;
  /** The rate-limit policies' settings (see rateLimitSettingsFromEnv()). */
  rateLimit: RateLimitSettings;
  /** Where audit events go: a file path, a file descriptor or a stream. */
  auditDestination: AuditLoggerOptions['destination'];
  /** The demo variant of the alerts (short windows, 5 s evaluations). */
  alertsDemo: boolean;
  /** Hand alerts to this Alertmanager. Default: `ALERTMANAGER_URL`, else Vigil notifies itself. */
  alertmanagerUrl?: string;
  /** Serve the W3C Trace Context test-harness endpoint `POST /test`. Default: VIGIL_TRACECONTEXT_TEST=1. */
  traceContextTest?: boolean;
  /** Where request log lines go. Default: stdout. */
  logDestination?: { write(line: string): unknown };
}

export interface Gateway {
  app: Express;
  /** What vigil() returned: health, alerting, audit, tracing, the limiter, close(). */
  vigil: Vigil;
  /** The business-metric catalogue, on the gateway's registry. */
  business: BusinessMetrics;
}

/**
 * The gateway app with every Vigil capability on. Tracing is the setup started before the app loaded
 * (main.ts's startTracing(), or the caller's); with none started, the tracing middleware alone runs
 * (request ids, W3C propagation, log correlation) and no SDK is started.
 */
export function createGateway(options: GatewayOptions): Gateway {
  const { registry, catalogUrl, logDestination } = options;
  const business = createBusinessMetrics(registry);
  const app = express();
  app.disable('x-powered-by');
  const demo = options.alertsDemo;
  // Everything Vigil has, in one call, before the routes: probes, tracing, the request log, HTTP and
  // business metrics, /metrics and /metrics/summary, the alerts API, the live page and recent traces,
  // then rate limiting (so a limited request still has an id, a log line and a metric).
  const v = vigil.express(app, {
    service: 'gateway',
    registry,
    business,
    // Tracing is main.ts's (or the caller's) setup; with none, the middleware alone runs.
    tracing: { start: false },
    // One JSON line per request with trace_id, span_id and request_id; secrets redacted.
    ...(logDestination === undefined ? {} : { requestLog: { destination: logDestination } }),
    // Login attempts, rate-limit decisions and alert actions.
    audit: { destination: options.auditDestination, service: 'gateway', default: false },
    rateLimit: gatewayRateLimitOptions(options.rateLimit),
    // Liveness watches the process only; readiness also the catalog the API depends on (the
    // limiter's store and the span exporters are added by vigil()). Startup answers 503 until the
    // gateway listens (markStarted()).
    health: {
      started: false,
      liveness: [eventLoopCheck({ maxDelayMs: 2000 })],
      readiness: [
        check(
          'catalog',
          async () => {
            const res = await fetch(`${catalogUrl}/metrics`, { signal: AbortSignal.timeout(1000) });
            await res.arrayBuffer();
            return res.ok;
          },
          { componentType: 'component' },
        ),
      ],
    },
    // The part-1 rules, evaluated over the gateway's own registry as Prometheus would scrape it (job
    // `gateway`); with ALERTMANAGER_URL the alerts are handed to Alertmanager, which notifies.
    alerts: {
      rules: gatewayAlerts(demo),
      job: GATEWAY_JOB,
      interval: gatewayEvaluationInterval(demo),
      alertmanager: gatewayAlertmanagerConfig(demo),
      ...(options.alertmanagerUrl === undefined
        ? {}
        : { alertmanagerUrl: options.alertmanagerUrl }),
    },
  });
  if (v.audit === undefined) throw new Error('vigil() set up no audit trail');
  const auditLogger = v.audit;
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

  // A route's error on the request's span and log line, then the app's own 404 and error handler.
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
  return { app, vigil: v, business };
}

export function createGatewayRegistry(): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service: 'gateway' });
  return registry;
}
