// livePage(): the built-in live page at `/_vigil` and the JSON overview at `/observability`. A lazy
// sampler feeds one snapshot per interval to every server-sent-events client (and to polling); the
// page, its script and uPlot come from the package. Operational: never counted, logged or limited.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  type ProblemReporter,
  acceptId,
  createProblemReporter,
  findRequest,
  generateId,
  getActiveRequestIds,
  type OperationalServer,
  hasBearerToken,
  digestToken,
  integerOption,
  listenOperational,
  optionNames,
  readOptions,
  stringOption,
  looksLikeFrameworkCall,
  markOperational,
  notCalledError,
  pathOfUrl,
} from '@vigil/core';
import { PKG, context } from '../errors';
import { type Asset, CONTENT_SECURITY_POLICY, loadAssets } from './assets';
import { type ResolvedLiveOptions, resolveLiveOptions } from './options';
import { Sampler } from './sampler';
import type { LivePage, LivePageListenOptions, LivePageOptions } from './types';

const LISTEN_OPTIONS = optionNames<LivePageListenOptions>({ port: true, host: true });

const COOKIE = 'vigil_dashboard';
const TRACE_ID = /^[0-9a-f]{32}$/;
const POLL_KEEPALIVE_MS = 30_000;
const HEALTH_EVERY_MS = 5000;
const MAX_BUFFERED = 1 << 20;

type Route =
  | { kind: 'asset'; asset: Asset }
  | { kind: 'events' | 'snapshot' | 'overview' }
  | { kind: 'trace'; traceId: string }
  | { kind: 'action'; action: 'acknowledge' | 'silence'; fingerprint: string };

/** Who the page's operator actions are made by, in the alert and the audit event. */
const ACTOR = 'live-page';
const FINGERPRINT = /^[0-9a-f]{1,64}$/;

interface HealthView {
  status: string;
  httpStatus: number;
  checks: { name: string; status: string; output?: string }[];
}

/**
 * The live page over what the app has: its registry (required), and optionally its alerting, health,
 * trace buffer and audit logger. Mount it with `.express()` or `.koa()`.
 * @throws VigilError `ERR_VIGIL_DASHBOARDS_INVALID_OPTION`, `_UNKNOWN_OPTION` or `_NOT_CALLED`.
 */
export function livePage(options: LivePageOptions): LivePage {
  if (looksLikeFrameworkCall(options, arguments.length)) {
    throw notCalledError(context('livePage'), options);
  }
  const o = resolveLiveOptions(options, arguments.length);
  return new LivePageServer(o);
}

class LivePageServer implements LivePage {
  private readonly assets: Map<string, Asset>;
  private readonly sampler: Sampler;
  private readonly problems: ProblemReporter;
  private readonly streams = new Set<ServerResponse>();
  private readonly cookie: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;
  private latest: string | undefined;
  private lastPoll = 0;
  private healthView: { live?: HealthView; ready?: HealthView } | undefined;
  private healthAt = 0;

  constructor(private readonly o: ResolvedLiveOptions) {
    this.assets = loadAssets(o.basePath);
    this.sampler = new Sampler(o.registry, o.maxPoints, o.maxRoutes);
    this.problems = createProblemReporter(PKG, o.problemLogger);
    const digest = o.access.tokenDigest;
    this.cookie =
      digest === undefined
        ? undefined
        : createHash('sha256').update(digest).update('vigil-dashboard-cookie').digest('hex');
  }

  get size(): { raw: number; gzip: number } {
    let raw = 0;
    let gzip = 0;
    for (const a of this.assets.values()) {
      raw += a.raw.length;
      gzip += a.gzip.length;
    }
    return { raw, gzip };
  }

  get clients(): number {
    return this.streams.size;
  }

  express(): ReturnType<LivePage['express']> {
    return (req, res, next) => {
      if (this.route(req) === undefined) {
        next();
        return;
      }
      void this.handle(req, res);
    };
  }

  koa(): ReturnType<LivePage['koa']> {
    return async (ctx, next) => {
      if (this.route(ctx.req) === undefined) {
        await next();
        return;
      }
      // The page writes the response itself (a stream, for events); Koa must not touch it.
      ctx.respond = false;
      await this.handle(ctx.req, ctx.res);
    };
  }

  handler(): ReturnType<LivePage['handler']> {
    return (req, res) => {
      void this.handle(req, res).then((answered) => {
        if (answered) return;
        res.statusCode = 404;
        res.setHeader('Cache-Control', 'no-store');
        res.end();
      });
    };
  }

  async listen(options?: LivePageListenOptions): Promise<OperationalServer> {
    const ctx = context('livePage().listen');
    const o = readOptions<LivePageListenOptions>(ctx, options, 1, LISTEN_OPTIONS);
    const port = integerOption(ctx, 'port', o.port, 0, 0, 65535);
    const host = stringOption(ctx, 'host', o.host, '127.0.0.1');
    const server = await listenOperational(
      {
        matches: (req) => this.route(req) !== undefined,
        handle: async (req, res) => {
          await this.handle(req, res);
        },
      },
      port,
      host,
      this.o.basePath,
    );
    return {
      url: server.url,
      port: server.port,
      close: async () => {
        // The live streams are never idle: end them, or the server would wait for them forever.
        this.close();
        await server.close();
      },
    };
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    const route = this.route(req);
    if (route === undefined) return false;
    try {
      markOperational(req);
      if (!this.admit(req, res, route)) return true;
      switch (route.kind) {
        case 'asset':
          this.sendAsset(req, res, route.asset);
          break;
        case 'events':
          this.openStream(req, res);
          break;
        case 'snapshot':
          this.lastPoll = Date.now();
          this.ensureRunning();
          if (this.latest === undefined) await this.ticking;
          this.sendJson(req, res, 200, this.latest ?? this.snapshotJson());
          break;
        case 'trace': {
          const spans = this.o.traces?.get(route.traceId);
          if (spans === undefined) this.sendJson(req, res, 404, '{"error":"not_found"}');
          else this.sendJson(req, res, 200, JSON.stringify(spans.slice(0, 500)));
          break;
        }
        case 'overview':
          this.sendJson(req, res, 200, JSON.stringify(await this.overview(req)));
          break;
        case 'action':
          this.act(req, res, route.action, route.fingerprint);
          break;
      }
    } catch (error) {
      this.problems.report('request', error);
      if (!res.headersSent) this.sendJson(req, res, 500, '{"error":"internal_error"}');
      else res.destroy();
    }
    return true;
  }

  close(): void {
    for (const res of this.streams) res.end();
    this.streams.clear();
    this.stop();
  }

  // ---- routing and access

  private route(req: IncomingMessage): Route | undefined {
    const path = pathOfUrl(req.url);
    const lower = path.toLowerCase();
    const base = this.o.basePath.toLowerCase();
    const over = this.o.overviewPath?.toLowerCase();
    if (over !== undefined && (lower === over || lower === `${over}/`)) return { kind: 'overview' };
    if (lower === base || lower === `${base}/`)
      return { kind: 'asset', asset: this.assets.get('')! };
    if (!lower.startsWith(`${base}/`)) return undefined;
    const sub = path.slice(base.length);
    if (sub === '/events') return { kind: 'events' };
    if (sub === '/snapshot') return { kind: 'snapshot' };
    const asset = this.assets.get(sub);
    if (asset !== undefined && sub !== '') return { kind: 'asset', asset };
    const action = /^\/alerts\/([^/]+)\/(acknowledge|silence)$/.exec(sub);
    if (action !== null && this.actionsEnabled() && FINGERPRINT.test(action[1]!)) {
      return {
        kind: 'action',
        action: action[2] as 'acknowledge' | 'silence',
        fingerprint: action[1]!,
      };
    }
    const trace = /^\/trace\/([^/]+)$/.exec(sub)?.[1];
    if (trace !== undefined && this.o.traces !== undefined && TRACE_ID.test(trace)) {
      return { kind: 'trace', traceId: trace };
    }
    // Anything else below the base path is the app's (the reference app serves /_vigil/traces).
    return undefined;
  }

  /** The token gate: a bearer token, the page's cookie, or `?token=` on the page (sets the cookie). */
  private admit(req: IncomingMessage, res: ServerResponse, route: Route): boolean {
    const digest = this.o.access.tokenDigest;
    const bearer = digest !== undefined && hasBearerToken(req, digest);
    if (digest !== undefined && !bearer && !this.hasCookie(req)) {
      const query = new URLSearchParams((req.url ?? '').split('?')[1] ?? '');
      const given = query.get('token');
      const isPage = route.kind === 'asset' && route.asset === this.assets.get('');
      if (isPage && given !== null && timingSafeEqual(digestToken(given), digest)) {
        // The token leaves the address bar (and the history) at once: the cookie carries it on.
        const secure = (req.socket as { encrypted?: boolean }).encrypted === true ? '; Secure' : '';
        res.statusCode = 303;
        res.setHeader(
          'Set-Cookie',
          `${COOKIE}=${this.cookie}; Path=${this.o.basePath}; HttpOnly; SameSite=Strict${secure}`,
        );
        res.setHeader('Location', this.o.basePath);
        res.setHeader('Cache-Control', 'no-store');
        res.setHeader('Referrer-Policy', 'no-referrer');
        res.end();
        return false;
      }
      res.statusCode = 401;
      res.setHeader('WWW-Authenticate', 'Bearer');
      res.setHeader('Cache-Control', 'no-store');
      res.end();
      return false;
    }
    const allowed = route.kind === 'action' ? ['POST'] : ['GET', 'HEAD'];
    if (!allowed.includes(req.method ?? '')) {
      res.statusCode = 405;
      res.setHeader('Allow', allowed.join(', '));
      res.setHeader('Cache-Control', 'no-store');
      res.end();
      return false;
    }
    if (route.kind === 'action' && !bearer && !sameOrigin(req)) {
      // A cookie (or no token at all) authenticates the browser, not the page that sent the POST:
      // only the page's own origin may act (cross-site request forgery).
      this.sendJson(req, res, 403, '{"error":"cross_origin"}');
      return false;
    }
    return true;
  }

  private hasCookie(req: IncomingMessage): boolean {
    if (this.cookie === undefined) return false;
    const header = req.headers.cookie;
    if (typeof header !== 'string') return false;
    for (const part of header.split(';')) {
      const [name, value] = part.trim().split('=', 2);
      if (name === COOKIE && value !== undefined && value.length === this.cookie.length) {
        return timingSafeEqual(Buffer.from(value), Buffer.from(this.cookie));
      }
    }
    return false;
  }

  // ---- operator actions: the alert buttons, behind the page's own token

  private actionsEnabled(): boolean {
    const a = this.o.alerting;
    return typeof a?.acknowledge === 'function' && typeof a.silence === 'function';
  }

  private act(
    req: IncomingMessage,
    res: ServerResponse,
    action: 'acknowledge' | 'silence',
    fingerprint: string,
  ): void {
    const alerting = this.o.alerting!;
    const query = new URLSearchParams((req.url ?? '').split('?')[1] ?? '');
    const minutesText = query.get('minutes') ?? '60';
    const minutes = /^\d{1,4}$/.test(minutesText) ? Number(minutesText) : NaN;
    if (action === 'silence' && !(minutes >= 1 && minutes <= 1440)) {
      this.sendJson(req, res, 400, '{"error":"invalid_minutes"}');
      return;
    }
    const result =
      action === 'acknowledge'
        ? alerting.acknowledge!(fingerprint, ACTOR)
        : alerting.silence!(
            fingerprint,
            minutes,
            ACTOR,
            `Silenced for ${minutes} minutes from the live page`,
          );
    this.recordAction(req, action, fingerprint, result !== undefined, minutes);
    if (result === undefined) this.sendJson(req, res, 404, '{"error":"alert_not_found"}');
    else this.sendJson(req, res, 200, JSON.stringify({ status: 'success', action, fingerprint }));
  }

  /** The same audit event the alerts API records for the action, when the audit logger can record. */
  private recordAction(
    req: IncomingMessage,
    action: 'acknowledge' | 'silence',
    fingerprint: string,
    ok: boolean,
    minutes: number,
  ): void {
    const audit = this.o.audit;
    if (typeof audit?.record !== 'function') return;
    try {
      audit.record({
        type: `alerts.${action}`,
        outcome: ok ? 'success' : 'failure',
        actor: ACTOR,
        action,
        resource: `alert:${fingerprint}`,
        metadata: action === 'silence' ? { duration_minutes: minutes } : {},
        correlation_id: correlationId(req),
      });
    } catch (error) {
      this.problems.report('audit', error);
    }
  }

  // ---- responses

  private securityHeaders(res: ServerResponse): void {
    res.setHeader('Content-Security-Policy', CONTENT_SECURITY_POLICY);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'no-referrer');
  }

  private sendAsset(req: IncomingMessage, res: ServerResponse, asset: Asset): void {
    this.securityHeaders(res);
    res.setHeader('Content-Type', asset.contentType);
    res.setHeader('Cache-Control', 'no-cache');
    res.setHeader('ETag', asset.etag);
    res.setHeader('Vary', 'Accept-Encoding');
    if (req.headers['if-none-match'] === asset.etag) {
      res.statusCode = 304;
      res.end();
      return;
    }
    const gzip = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
    const body = gzip ? asset.gzip : asset.raw;
    if (gzip) res.setHeader('Content-Encoding', 'gzip');
    res.setHeader('Content-Length', body.length);
    res.statusCode = 200;
    res.end(req.method === 'HEAD' ? undefined : body);
  }

  private sendJson(req: IncomingMessage, res: ServerResponse, status: number, body: string): void {
    this.securityHeaders(res);
    res.statusCode = status;
    res.setHeader('Content-Type', 'application/json; charset=utf-8');
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('Content-Length', Buffer.byteLength(body));
    res.end(req.method === 'HEAD' ? undefined : body);
  }

  // ---- server-sent events

  private openStream(req: IncomingMessage, res: ServerResponse): void {
    if (this.streams.size >= this.o.maxClients) {
      res.setHeader('Retry-After', '5');
      this.sendJson(req, res, 503, '{"error":"too_many_clients"}');
      return;
    }
    this.securityHeaders(res);
    res.statusCode = 200;
    res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
    // no-transform: compression() and proxies leave the stream alone; flush() below covers the rest.
    res.setHeader('Cache-Control', 'no-store, no-transform');
    res.setHeader('X-Accel-Buffering', 'no');
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    req.socket.setNoDelay(true);
    this.streams.add(res);
    const drop = (): void => {
      this.streams.delete(res);
    };
    res.on('close', drop);
    res.on('error', drop);
    this.write(res, `retry: ${Math.max(2000, this.o.intervalMs * 2)}\n\n`);
    if (this.latest !== undefined) this.write(res, event(this.latest));
    this.ensureRunning();
  }

  private write(res: ServerResponse, chunk: string): void {
    // A client that does not read is dropped rather than buffered without bound.
    if (res.writableLength > MAX_BUFFERED) {
      res.destroy();
      this.streams.delete(res);
      return;
    }
    res.write(chunk);
    const flush = (res as { flush?: () => void }).flush;
    if (typeof flush === 'function') flush.call(res);
  }

  // ---- the sampler's lifecycle: running while someone watches

  private ensureRunning(): void {
    if (this.timer !== undefined) return;
    this.timer = setInterval(() => void this.tick(), this.o.intervalMs);
    this.timer.unref();
    void this.tick();
  }

  private stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    this.latest = undefined;
    this.sampler.reset();
  }

  private tick(): Promise<void> {
    if (this.ticking !== undefined) return this.ticking;
    // Nobody watches: stop here, before any tick is in flight. (Inside the async body this would
    // finish synchronously, clear `ticking` before it was set, and leave it set for good: every later
    // tick would return that settled promise and the page would get no snapshot again.)
    if (this.streams.size === 0 && Date.now() - this.lastPoll > POLL_KEEPALIVE_MS) {
      this.stop();
      return Promise.resolve();
    }
    this.ticking = (async () => {
      try {
        await this.sampler.sample();
        this.refreshHealth();
        this.latest = this.snapshotJson();
        const data = event(this.latest);
        for (const res of this.streams) this.write(res, data);
      } catch (error) {
        this.problems.report('sample', error);
      } finally {
        this.ticking = undefined;
      }
    })();
    return this.ticking;
  }

  private refreshHealth(): void {
    const health = this.o.health;
    if (health === undefined || Date.now() - this.healthAt < HEALTH_EVERY_MS) return;
    this.healthAt = Date.now();
    const view = async (name: 'live' | 'ready'): Promise<HealthView> => {
      const { httpStatus, report } = await health.probe(name);
      return healthView(httpStatus, report);
    };
    Promise.all([view('live'), view('ready')]).then(
      ([live, ready]) => {
        this.healthView = { live, ready };
      },
      (error: unknown) => this.problems.report('health', error),
    );
  }

  // ---- what the page shows

  private snapshotJson(): string {
    const o = this.o;
    return JSON.stringify({
      service: o.service,
      time: Date.now(),
      intervalMs: o.intervalMs,
      series: this.sampler.series(),
      routes: this.sampler.routes(),
      inFlight: this.sampler.inFlight(),
      rateLimits: this.sampler.rateLimits(),
      business: this.sampler.business(),
      alerts: o.alerting === undefined ? null : this.safe('alerts', () => this.alerts()),
      traces: o.traces === undefined ? null : this.safe('traces', () => this.traces()),
      audit: o.audit === undefined ? null : this.safe('audit', () => this.auditTail()),
      health: o.health === undefined ? null : (this.healthView ?? {}),
    });
  }

  private safe<T>(what: string, read: () => T): T | null {
    try {
      return read();
    } catch (error) {
      this.problems.report(what, error);
      return null;
    }
  }

  private alerts() {
    const items = this.o
      .alerting!.alerts()
      .filter((a) => a.status !== 'resolved')
      .slice(0, 50)
      .map((a) => ({
        fingerprint: a.fingerprint,
        alertname: a.labels.alertname ?? '',
        severity: a.labels.severity ?? '',
        status: a.status,
        summary: a.annotations.summary ?? '',
        startsAt: a.startsAt,
        value: a.value ?? null,
        acknowledged: a.acknowledgement !== undefined,
      }));
    // The page's own actions when the alerting object offers them (the page's token, not the API's).
    return { api: this.actionsEnabled() ? `${this.o.basePath}/alerts` : '/alerts', items };
  }

  private traces() {
    const buffer = this.o.traces!;
    const recent = buffer.recent(20);
    // The waterfall shows the latest trace that crosses services, else the latest one.
    const pick = recent.find((t) => t.services.length > 1) ?? recent[0];
    const spans = pick === undefined ? undefined : buffer.get(pick.traceId);
    return {
      recent,
      waterfall:
        pick === undefined || spans === undefined
          ? null
          : { traceId: pick.traceId, spans: spans.slice(0, 200).map(spanView) },
    };
  }

  private auditTail() {
    return this.o.audit!.recent(20).map((e) => ({
      time: e.time,
      type: e.type,
      outcome: e.outcome,
      actor: e.actor,
      action: e.action,
      resource: e.resource,
      reason: e.reason,
      request_id: e.request_id,
      trace_id: e.trace_id,
    }));
  }

  /** The logging part of the overview: the request loggers' status, else the logger's level. */
  private loggingView(): { component: string; section: Record<string, unknown> } {
    const o = this.o;
    const service = o.service;
    if (o.logging !== undefined) {
      const status = this.safe('logging', () => o.logging!());
      if (status === null) return { component: 'unhealthy', section: { status: 'error', service } };
      const active = status.requestLoggers > 0;
      return {
        component: active ? 'healthy' : 'disabled',
        section: {
          status: active ? 'active' : 'disabled',
          service,
          log_level: status.level,
          request_loggers: status.requestLoggers,
          lines_written: status.lines ?? null,
          write_failures: status.failures ?? null,
        },
      };
    }
    if (o.logger === undefined)
      return { component: 'unknown', section: { status: 'unknown', service } };
    const level = o.logger.level;
    return {
      component: 'healthy',
      section: { status: 'active', service, log_level: typeof level === 'string' ? level : null },
    };
  }

  /** The `/observability` overview, shaped as the alerts API answers: timestamp, correlation_id, service. */
  private async overview(req: IncomingMessage): Promise<Record<string, unknown>> {
    const o = this.o;
    let requests = 0;
    let failed = 0;
    const routes = new Set<string>();
    for (const m of await o.registry.getMetricsAsJSON()) {
      if (m.name !== 'http_requests_total') continue;
      for (const v of m.values ?? []) {
        requests += v.value;
        if (Number(v.labels?.status_code) >= 500) failed += v.value;
        routes.add(`${String(v.labels?.method)} ${String(v.labels?.route)}`);
      }
    }
    const stats =
      o.alerting === undefined ? undefined : this.safe('alerts', () => o.alerting!.stats());
    const health =
      o.health === undefined
        ? undefined
        : await o.health.probe('ready').then(
            (p) => healthView(p.httpStatus, p.report),
            () => undefined,
          );
    const traceStats = o.traces?.stats;
    const latestTrace =
      o.traces === undefined ? undefined : this.safe('traces', () => o.traces!.recent(1)[0]);
    const logging = this.loggingView();
    const components = {
      metrics: 'healthy',
      tracing: o.traces === undefined ? 'disabled' : 'healthy',
      alerting: o.alerting === undefined ? 'disabled' : stats === null ? 'unhealthy' : 'healthy',
      logging: logging.component,
      health:
        health === undefined
          ? o.health === undefined
            ? 'disabled'
            : 'unhealthy'
          : health.status === 'fail'
            ? 'unhealthy'
            : health.status === 'warn'
              ? 'degraded'
              : 'healthy',
    };
    const firingCritical = (stats?.activeBySeverity?.critical ?? 0) > 0;
    const values = Object.values(components);
    const overall = values.includes('unhealthy')
      ? 'unhealthy'
      : values.includes('degraded') || firingCritical
        ? 'degraded'
        : 'healthy';
    return {
      timestamp: new Date().toISOString(),
      correlation_id: correlationId(req),
      service: o.service,
      observability: {
        metrics: {
          status: 'active',
          summary: {
            total_requests: requests,
            successful_requests: requests - failed,
            failed_requests: failed,
            success_rate: requests > 0 ? (requests - failed) / requests : 1,
            routes: routes.size,
            uptime_seconds: Math.round(process.uptime()),
          },
        },
        tracing:
          o.traces === undefined
            ? { status: 'disabled' }
            : {
                status: 'active',
                service_name: o.service,
                current_trace_id: latestTrace?.traceId ?? null,
                buffered_traces: traceStats?.traces ?? null,
                buffered_bytes: traceStats?.bytes ?? null,
              },
        alerting:
          o.alerting === undefined
            ? { status: 'disabled' }
            : {
                status: stats === null ? 'error' : 'active',
                mode: o.alerting.mode ?? null,
                statistics: {
                  active_alerts: stats?.active ?? null,
                  total_rules: stats?.rulesTotal ?? null,
                  active_by_severity: stats?.activeBySeverity ?? {},
                },
              },
        logging: logging.section,
        health:
          o.health === undefined
            ? { status: 'disabled' }
            : {
                status: health?.status ?? 'fail',
                phase: o.health.phase ?? null,
                checks: health?.checks ?? [],
              },
        live_page: { path: o.basePath, clients: this.streams.size },
      },
      health: { overall_status: overall, components },
    };
  }
}

function event(json: string): string {
  return `event: snapshot\ndata: ${json}\n\n`;
}

function spanView(
  s: NonNullable<ReturnType<NonNullable<LivePageOptions['traces']>['get']>>[number],
) {
  return {
    spanId: s.spanId,
    parentSpanId: s.parentSpanId ?? null,
    name: s.name,
    kind: s.kind,
    service: s.service,
    startTimeMs: s.startTimeMs,
    durationMs: s.durationMs,
    status: s.status,
  };
}

function healthView(httpStatus: number, report: unknown): HealthView {
  const r = (report ?? {}) as { status?: unknown; checks?: Record<string, unknown> };
  const checks: HealthView['checks'] = [];
  for (const [name, results] of Object.entries(r.checks ?? {})) {
    for (const c of Array.isArray(results) ? (results as Record<string, unknown>[]) : []) {
      checks.push({
        name,
        status: typeof c.status === 'string' ? c.status : 'unknown',
        ...(typeof c.output === 'string' ? { output: c.output } : {}),
      });
    }
  }
  return { status: typeof r.status === 'string' ? r.status : 'unknown', httpStatus, checks };
}

/**
 * True when the request comes from a page of its own origin: `Sec-Fetch-Site: same-origin` where the
 * browser sends it, else an `Origin` whose host (and port) is the request's `Host`; a request with
 * neither header is not from a browser page (browsers send `Origin` with every cross-origin POST).
 * The scheme is not compared: behind a proxy that ends TLS, the page is https and this socket is not.
 */
function sameOrigin(req: IncomingMessage): boolean {
  const site = req.headers['sec-fetch-site'];
  if (typeof site === 'string') return site === 'same-origin';
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  try {
    return new URL(origin).host === String(req.headers.host).toLowerCase();
  } catch {
    // `Origin: null` (a sandboxed frame, a data: page) and anything unparsable: not the page.
    return false;
  }
}

function correlationId(req: IncomingMessage): string {
  const record = findRequest(req);
  if (record !== undefined) return record.correlationId;
  const active = getActiveRequestIds();
  if (active !== undefined) return active.correlationId;
  return (
    acceptId(req.headers['x-correlation-id']) ??
    acceptId(req.headers['x-request-id']) ??
    generateId()
  );
}
