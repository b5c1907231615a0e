// The media platform on Koa 3: a gateway with every Vigil capability through vigil.koa(), and the
// catalog service it calls over real HTTP (one trace across both).
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { bodyParser } from '@koa/bodyparser';
import { Router } from '@koa/router';
import Koa from 'koa';
import { Registry } from 'prom-client';
import { audit } from '@vigil/audit';
import { metrics, track } from '@vigil/business-metrics';
import { check } from '@vigil/health';
import { getRequestContext } from '@vigil/tracing';
import { type Vigil, type VigilOptions, vigil } from 'vigil';
import { koaAppAlerts } from './alerts';
import {
  ANALYTICS_REPORTS,
  type AnalyticsReport,
  type BusinessMetrics,
  VIDEO_FORMATS,
  type VideoFormat,
  createAnalyticsService,
  createBusinessMetrics,
} from './business';

/** The demo account of POST /api/auth/login. */
export const DEMO_USER = { username: 'demo', password: 'vigil-demo' } as const;
/** Longest delay /api/slow waits, whatever the caller asks. */
export const MAX_SLOW_MS = 10_000;

export interface KoaAppOptions {
  /** Gateway port; 0 picks a free one. Default: `PORT`, else 3000. */
  port?: number;
  /** Catalog port; 0 picks a free one. Default: gateway port + 1. */
  catalogPort?: number;
  /** Address to bind. Default: `HOST`, else 127.0.0.1. */
  host?: string;
  /** Login attempts per client address per minute. Default: `VIGIL_LOGIN_LIMIT`, else 5. */
  loginLimit?: number;
  /** Where request log lines go. Default: stdout. */
  logDestination?: { write(line: string): unknown };
  /** Where audit events go: a path, a file descriptor or a stream. Default: `VIGIL_AUDIT_FILE`, else stdout. */
  auditDestination?: string | number | { write(line: string): unknown };
  /** More vigil.koa() options, merged over the app's. */
  vigil?: VigilOptions;
}

export interface KoaApp {
  url: string;
  catalogUrl: string;
  /** What vigil.koa() returned: registry, health, alerting, audit, tracing. */
  vigil: Vigil;
  business: BusinessMetrics;
  close(): Promise<void>;
}

function listen(app: Koa, port: number, host: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = app.listen(port, host);
    server.once('listening', () => resolve(server));
    server.once('error', reject);
  });
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

const urlOf = (server: Server, host: string) =>
  `http://${host}:${(server.address() as AddressInfo).port}`;

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The catalog service: video metadata by id, with its own metrics and probes. */
function createCatalog(
  logDestination: KoaAppOptions['logDestination'],
  tracing: Vigil['tracing'],
): { app: Koa; v: Vigil } {
  const app = new Koa();
  const v = vigil.koa(app, {
    service: 'catalog',
    registry: new Registry(),
    // Its endpoints stay on its own port: VIGIL_OPERATIONAL_PORT is the gateway's.
    operational: false,
    // The gateway's tracing setup, under the catalog's own service name.
    tracing:
      tracing === undefined
        ? false
        : { middleware: { tracerProvider: tracing.providerFor('catalog') } },
    ...(logDestination === undefined ? {} : { requestLog: { destination: logDestination } }),
    audit: false,
    alerts: false,
    live: false,
  });
  const router = new Router();
  router.get('/videos/:id', (ctx) => {
    const id = ctx.params.id ?? '';
    if (!/^\d{1,9}$/.test(id)) {
      ctx.status = 404;
      ctx.body = { error: 'not_found' };
      return;
    }
    ctx.body = { id, title: `Video ${id}`, durationSeconds: 60 + (Number(id) % 600) };
  });
  app.use(router.routes());
  return { app, v };
}

/** The gateway's routes: the reference app's API, on @koa/router. */
function apiRouter(catalogUrl: string, business: BusinessMetrics, v: Vigil): Router {
  const { video_uploads_total, video_upload_size_bytes, streams_started_total, streams_active } =
    business.metrics;
  const { login_attempts_total } = business.metrics;
  const router = new Router({ prefix: '/api' });
  const json = bodyParser({ jsonLimit: '64kb', enableTypes: ['json'] });

  router.get('/videos/:id', async (ctx) => {
    const upstream = await fetch(
      `${catalogUrl}/videos/${encodeURIComponent(ctx.params.id ?? '')}`,
      {
        signal: AbortSignal.timeout(5_000),
      },
    );
    ctx.status = upstream.status;
    ctx.body = {
      ...((await upstream.json()) as object),
      requestId: getRequestContext()?.requestId,
    };
  });

  const countUpload = track(video_uploads_total, {
    labels: ({ ctx }) => ({
      format: (ctx as { request?: { body?: { format?: unknown } } } | undefined)?.request?.body
        ?.format as VideoFormat,
    }),
  });
  router.post('/videos', json, countUpload, (ctx) => {
    const body = (ctx.request.body ?? {}) as {
      title?: unknown;
      format?: unknown;
      sizeBytes?: unknown;
    };
    if (typeof body.title !== 'string' || body.title.length === 0 || body.title.length > 200) {
      ctx.status = 400;
      ctx.body = { error: 'invalid_title' };
      return;
    }
    if (
      typeof body.format !== 'string' ||
      !(VIDEO_FORMATS as readonly string[]).includes(body.format)
    ) {
      ctx.status = 400;
      ctx.body = { error: 'unsupported_format', allowed: VIDEO_FORMATS };
      return;
    }
    if (
      typeof body.sizeBytes !== 'number' ||
      !Number.isFinite(body.sizeBytes) ||
      body.sizeBytes <= 0
    ) {
      ctx.status = 400;
      ctx.body = { error: 'invalid_size' };
      return;
    }
    const format = body.format as VideoFormat;
    metrics(ctx).observe(video_upload_size_bytes, { format }, body.sizeBytes);
    ctx.status = 201;
    ctx.body = { id: `v${Date.now().toString(36)}`, title: body.title, format };
  });

  const active = new Set<string>();
  router.post('/streams/:id/start', track(streams_started_total), (ctx) => {
    active.add(ctx.params.id ?? '');
    streams_active.set(active.size);
    ctx.body = { id: ctx.params.id, active: active.size };
  });
  router.post('/streams/:id/stop', (ctx) => {
    active.delete(ctx.params.id ?? '');
    streams_active.set(active.size);
    ctx.body = { id: ctx.params.id, active: active.size };
  });

  const analytics = createAnalyticsService(business);
  // Decorated service: the generation is timed by report and outcome, failures included.
  router.post('/analytics/:report', async (ctx) => {
    try {
      ctx.body = await analytics.generate(ctx.params.report as AnalyticsReport, active.size);
    } catch {
      ctx.status = 400;
      ctx.body = { error: 'unknown_report', allowed: ANALYTICS_REPORTS };
    }
  });

  // The strict `login` policy limits this route (see startKoaApp); every attempt is audited.
  router.post('/auth/login', json, (ctx) => {
    const body = (ctx.request.body ?? {}) as { username?: unknown; password?: unknown };
    const username =
      typeof body.username === 'string' && /^[\w.@-]{1,64}$/.test(body.username)
        ? body.username
        : undefined;
    const ok =
      username === DEMO_USER.username &&
      typeof body.password === 'string' &&
      sameSecret(body.password, DEMO_USER.password);
    metrics(ctx).inc(login_attempts_total, { result: ok ? 'success' : 'failure' });
    audit(ctx, v.audit).record({
      type: 'auth.login',
      outcome: ok ? 'success' : 'failure',
      action: 'login',
      ...(username !== undefined && { actor: username }),
      ...(!ok && { reason: username === undefined ? 'malformed username' : 'invalid credentials' }),
    });
    if (!ok) {
      ctx.status = 401;
      ctx.body = { error: 'invalid_credentials' };
      return;
    }
    ctx.body = { token: randomBytes(24).toString('base64url') };
  });

  router.get('/fail', () => {
    throw new Error('this endpoint always fails (it drives the error-rate alert)');
  });
  router.get('/slow', async (ctx) => {
    const asked = Number(ctx.query.ms ?? 500);
    const ms = Number.isFinite(asked) ? Math.min(Math.max(asked, 0), MAX_SLOW_MS) : 500;
    await new Promise((resolve) => setTimeout(resolve, ms));
    ctx.body = { waitedMs: ms };
  });
  return router;
}

/** Starts the catalog, then the gateway in front of it. */
export async function startKoaApp(options: KoaAppOptions = {}): Promise<KoaApp> {
  const host = options.host ?? process.env.HOST ?? '127.0.0.1';
  const port = options.port ?? Number(process.env.PORT ?? 3000);
  const catalogPort = options.catalogPort ?? (port === 0 ? 0 : port + 1);
  const loginLimit = options.loginLimit ?? Number(process.env.VIGIL_LOGIN_LIMIT ?? 5);
  const demo = process.env.VIGIL_ALERTS_DEMO === '1';

  // Known once the catalog listens; the readiness check reads it then.
  let catalogUrl = '';
  const registry = new Registry();
  registry.setDefaultLabels({ service: 'gateway' });
  const business = createBusinessMetrics(registry);
  const app = new Koa();
  // Everything Vigil has, in one call, before the router.
  const v = vigil.koa(app, {
    service: 'gateway',
    registry,
    business,
    ...(options.logDestination === undefined
      ? {}
      : { requestLog: { destination: options.logDestination } }),
    audit: {
      destination: options.auditDestination ?? (process.env.VIGIL_AUDIT_FILE || 1),
      service: 'gateway',
      default: false,
    },
    // `login`: strict, per address, fails closed when Redis (REDIS_URL) is down; `api`: every /api
    // route per API key or address, per-process counting while Redis is down.
    rateLimit: {
      policies: [
        {
          name: 'login',
          limit: loginLimit,
          windowMs: 60_000,
          routes: ['/api/auth/login'],
          methods: ['POST'],
          onStoreError: 'fail-closed',
        },
        {
          name: 'api',
          limit: 600,
          windowMs: 60_000,
          key: 'api-key',
          routes: ['/api'],
          onStoreError: 'fallback',
        },
      ],
    },
    // Readiness also watches the catalog the API depends on.
    health: {
      started: false,
      readiness: [
        check(
          'catalog',
          async () => {
            const res = await fetch(`${catalogUrl}/health/live`, {
              signal: AbortSignal.timeout(1000),
            });
            await res.arrayBuffer();
            return res.ok;
          },
          { componentType: 'component' },
        ),
      ],
    },
    alerts: { rules: koaAppAlerts(demo), interval: demo ? '5s' : '15s' },
    ...options.vigil,
  });
  // Koa answers a thrown error with 500; the error reaches the request's span and log line too.
  app.on('error', () => undefined);
  const catalog = createCatalog(options.logDestination, v.tracing);
  const catalogServer = await listen(catalog.app, catalogPort, host);
  catalogUrl = urlOf(catalogServer, host);
  app.use(apiRouter(catalogUrl, business, v).routes());
  const server = await listen(app, port, host);
  // The probes' startup answers 503 until the gateway listens.
  v.health?.markStarted();
  const url = urlOf(server, host);
  return {
    url,
    catalogUrl,
    vigil: v,
    business,
    async close() {
      await Promise.all([close(server), close(catalogServer)]);
      await Promise.all([v.close(), catalog.v.close()]);
    },
  };
}
