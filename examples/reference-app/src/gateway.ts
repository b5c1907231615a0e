// The public "gateway" service: the media platform's API, calling the catalog for video metadata.
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import { Registry } from 'prom-client';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { type AuditLogger, audit } from '@vigil/audit';
import { markOperational } from '@vigil/core';
import { metrics, track } from '@vigil/business-metrics';
import {
  expressMetrics,
  expressMetricsHandler,
  expressMetricsSummaryHandler,
} from '@vigil/metrics';
import {
  type TraceBuffer,
  expressRequestLogger,
  expressTracing,
  expressTracingErrors,
  getRequestContext,
} from '@vigil/tracing';
import { type ExpressRateLimit } from '@vigil/rate-limit';

import {
  ANALYTICS_REPORTS,
  type AnalyticsReport,
  type BusinessMetrics,
  VIDEO_FORMATS,
  createAnalyticsService,
} from './business';

export { VIDEO_FORMATS };
type VideoFormat = (typeof VIDEO_FORMATS)[number];
/** Longest delay /api/slow will wait, whatever the caller asks. */
export const MAX_SLOW_MS = 10_000;

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
}

/** The demo account of POST /api/auth/login (see the README). */
export const DEMO_USER = { username: 'demo', password: 'vigil-demo' } as const;

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

export function createGatewayApp(options: GatewayOptions): Express {
  const { registry, catalogUrl, traces, logDestination, auditLogger, rateLimit, business } =
    options;
  const {
    video_uploads_total,
    video_upload_size_bytes,
    streams_started_total,
    streams_active,
    login_attempts_total,
  } = business.metrics;
  const analytics = createAnalyticsService(business);
  const app = express();
  app.disable('x-powered-by');
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
  // After tracing, logging and metrics, so a limited request still has an id, a log line and a
  // metric; operational endpoints (/metrics, /health, /_vigil) are never limited.
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
    // The W3C Trace Context test harness: POST each element's `arguments` to its `url`, in order,
    // from inside this request, so the context this service received is propagated.
    app.post('/test', express.json({ limit: '1mb' }), async (req, res) => {
      const steps = Array.isArray(req.body) ? (req.body as unknown[]) : [];
      for (const step of steps) {
        const { url, arguments: args } = (step ?? {}) as { url?: unknown; arguments?: unknown };
        if (typeof url !== 'string') continue;
        await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(args ?? []),
          signal: AbortSignal.timeout(5_000),
        }).catch(() => undefined);
      }
      res.json({ ok: true });
    });
  }

  const api = express.Router();
  api.use(express.json({ limit: '64kb' }));

  api.post('/auth/login', (req, res) => {
    const body = (req.body ?? {}) as { username?: unknown; password?: unknown };
    const username =
      typeof body.username === 'string' && /^[\w.@-]{1,64}$/.test(body.username)
        ? body.username
        : undefined;
    const ok =
      username === DEMO_USER.username &&
      typeof body.password === 'string' &&
      sameSecret(body.password, DEMO_USER.password);
    // Request-scoped recording: the attempt's result, counted against this request.
    metrics(req).inc(login_attempts_total, { result: ok ? 'success' : 'failure' });
    // One audit event per attempt, with the request's ids; the password is never part of it.
    audit(req, auditLogger).record({
      type: 'auth.login',
      outcome: ok ? 'success' : 'failure',
      action: 'login',
      ...(username !== undefined && { actor: username }),
      ...(!ok && { reason: username === undefined ? 'malformed username' : 'invalid credentials' }),
    });
    if (!ok) {
      res.status(401).json({ error: 'invalid_credentials' });
      return;
    }
    res.json({ token: randomBytes(24).toString('base64url') });
  });

  const videos = express.Router();
  videos.get('/:id', async (req, res) => {
    // fetch carries traceparent, baggage, x-request-id and x-correlation-id to the catalog.
    const upstream = await fetch(`${catalogUrl}/videos/${encodeURIComponent(req.params.id)}`, {
      signal: AbortSignal.timeout(5_000),
    });
    res
      .status(upstream.status)
      .json({ ...((await upstream.json()) as object), requestId: getRequestContext()?.requestId });
  });
  // Route middleware: each upload is counted by format and outcome once the response has finished (a
  // format outside the known set lands in one overflow series, never a new one).
  const countUpload = track(video_uploads_total, {
    labels: ({ req }) => ({
      format: ((req as Request | undefined)?.body as { format?: unknown } | undefined)
        ?.format as VideoFormat,
    }),
  });
  videos.post('/', countUpload, (req, res) => {
    const body = (req.body ?? {}) as { title?: unknown; format?: unknown; sizeBytes?: unknown };
    if (typeof body.title !== 'string' || body.title.length === 0 || body.title.length > 200) {
      res.status(400).json({ error: 'invalid_title' });
      return;
    }
    if (
      typeof body.format !== 'string' ||
      !(VIDEO_FORMATS as readonly string[]).includes(body.format)
    ) {
      res.status(400).json({ error: 'unsupported_format', allowed: VIDEO_FORMATS });
      return;
    }
    if (
      typeof body.sizeBytes !== 'number' ||
      !Number.isFinite(body.sizeBytes) ||
      body.sizeBytes <= 0
    ) {
      res.status(400).json({ error: 'invalid_size' });
      return;
    }
    const format = body.format as VideoFormat;
    metrics(req).observe(video_upload_size_bytes, { format }, body.sizeBytes);
    res.status(201).json({ id: `v${Date.now().toString(36)}`, title: body.title, format });
  });
  api.use('/videos', videos);

  const activeStreams = new Set<string>();
  const streams = express.Router();
  streams.post('/:id/start', track(streams_started_total), (req, res) => {
    activeStreams.add(req.params.id);
    streams_active.set(activeStreams.size);
    res.json({ id: req.params.id, active: activeStreams.size });
  });
  streams.post('/:id/stop', (req, res) => {
    activeStreams.delete(req.params.id);
    streams_active.set(activeStreams.size);
    res.json({ id: req.params.id, active: activeStreams.size });
  });
  api.use('/streams', streams);

  // Decorated service: the generation is timed by report and outcome, failures included.
  api.post('/analytics/:report', async (req, res) => {
    try {
      res.json(await analytics.generate(req.params.report as AnalyticsReport, activeStreams.size));
    } catch {
      res.status(400).json({ error: 'unknown_report', allowed: ANALYTICS_REPORTS });
    }
  });

  api.get('/fail', () => {
    throw new Error('this endpoint always fails (it drives the error-rate alert)');
  });
  api.get('/slow', async (req, res) => {
    const asked = Number(req.query.ms ?? 500);
    const ms = Number.isFinite(asked) ? Math.min(Math.max(asked, 0), MAX_SLOW_MS) : 500;
    await new Promise((resolve) => setTimeout(resolve, ms));
    res.json({ waitedMs: ms });
  });
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
