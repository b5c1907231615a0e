// Public types of the live page: its options, and the shapes it reads from the other Vigil packages
// (structurally, so @vigil/dashboards depends on none of them).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type {
  ExpressMiddleware,
  KoaContextLike,
  KoaMiddleware,
  MinimalLogger,
  OperationalServer,
} from '@vigil/core';

/** A prom-client Registry, as far as the live page reads it. */
export interface LiveRegistryLike {
  getMetricsAsJSON(): Promise<readonly MetricJson[]> | readonly MetricJson[];
}

/** One metric of `registry.getMetricsAsJSON()`. */
export interface MetricJson {
  name: string;
  help?: string;
  type: string | number;
  values?: readonly {
    value: number;
    labels?: Readonly<Record<string, string | number | undefined>>;
    metricName?: string;
  }[];
}

/** @vigil/alerts' Alerting (or any AlertsService), as far as the live page reads it. */
export interface LiveAlertingLike {
  readonly service?: string;
  readonly mode?: string;
  alerts(): readonly {
    fingerprint: string;
    labels: Readonly<Record<string, string>>;
    annotations: Readonly<Record<string, string>>;
    status: string;
    startsAt: string;
    value?: number;
    acknowledgement?: unknown;
  }[];
  stats(): {
    active: number;
    rulesTotal: number;
    activeBySeverity?: Readonly<Record<string, number>>;
  };
  /** Serves the page's Acknowledge button; undefined when no alert has the fingerprint. */
  acknowledge?(fingerprint: string, by: string, comment?: string): unknown;
  /** Serves the page's Silence button; undefined when no alert has the fingerprint. */
  silence?(fingerprint: string, minutes: number, by: string, comment?: string): unknown;
}

/** @vigil/health's Health, as far as the live page reads it. */
export interface LiveHealthLike {
  readonly phase?: string;
  probe(name: 'live' | 'ready' | 'startup'): Promise<{ httpStatus: number; report: unknown }>;
}

/** @vigil/tracing's TraceBuffer, as far as the live page reads it. */
export interface LiveTraceBufferLike {
  recent(limit?: number): readonly {
    traceId: string;
    rootName: string;
    startTimeMs: number;
    durationMs: number;
    spanCount: number;
    services: readonly string[];
    error: boolean;
  }[];
  get(traceId: string):
    | readonly {
        traceId: string;
        spanId: string;
        parentSpanId?: string | undefined;
        name: string;
        kind: string;
        service: string;
        startTimeMs: number;
        durationMs: number;
        status: string;
      }[]
    | undefined;
  readonly stats?: { traces: number; bytes: number };
}

/** @vigil/audit's AuditLogger, as far as the live page reads it: its in-memory tail. */
export interface LiveAuditLike {
  recent(limit?: number): readonly LiveAuditEvent[];
  /** Records the page's alert actions (`alerts.acknowledge`, `alerts.silence`) when present. */
  record?(event: LiveAuditRecord): unknown;
}

/** The audit event the page records for an alert action, as the alerts API records it. */
export interface LiveAuditRecord {
  type: string;
  outcome: 'success' | 'failure';
  actor: string;
  action: string;
  resource: string;
  correlation_id: string;
  metadata: Readonly<Record<string, unknown>>;
}

/** The fields of an audit event the page shows. */
export interface LiveAuditEvent {
  readonly time?: string;
  readonly type?: string;
  readonly outcome?: string;
  readonly actor?: string;
  readonly action?: string;
  readonly resource?: string;
  readonly reason?: string;
  readonly request_id?: string;
  readonly trace_id?: string;
}

/** What `@vigil/logging`'s requestLoggingStatus() returns, as far as the live page reads it. */
export interface LiveLoggingStatus {
  readonly requestLoggers: number;
  readonly level: string | null;
  readonly lines?: number;
  readonly failures?: number;
}

/** Options of livePage(). */
export interface LivePageOptions {
  /** The prom-client registry the HTTP metrics middleware writes to. Required. */
  registry: LiveRegistryLike;
  /** Service name shown on the page and in `/observability`. Default: `OTEL_SERVICE_NAME`, else `app`. */
  service?: string;
  /** Where the page answers; its events, snapshot and assets live below it. Default: `/_vigil`. */
  basePath?: string;
  /** Path of the JSON overview, or false for none. Default: `/observability`. */
  overviewPath?: string | false;
  /**
   * Firing alerts, with acknowledge and silence buttons. With its `acknowledge()` and `silence()` (an
   * `@vigil/alerts` Alerting has them) the buttons post to the page's own
   * `<basePath>/alerts/:fingerprint/acknowledge` and `/silence`, behind the page's token; otherwise to
   * the alerts API at `/alerts`. Default: none.
   */
  alerting?: LiveAlertingLike;
  /** Health checks shown on the page (readiness and liveness). Default: none. */
  health?: LiveHealthLike;
  /** Recent traces and their span waterfall. Default: none. */
  traces?: LiveTraceBufferLike;
  /** The audit tail. Default: none. */
  audit?: LiveAuditLike;
  /** The app's logger, for its level in `/observability` (pino works). Default: none. */
  logger?: { level?: unknown };
  /**
   * The request loggers' state for `/observability`: `requestLoggingStatus` of `@vigil/logging`
   * (the function itself). Default: none (the overview then shows `logger`'s level, or "unknown").
   */
  logging?: () => LiveLoggingStatus;
  /**
   * Token the page and its data require: `Authorization: Bearer <token>`, or `?token=` once on the
   * page, which sets an HttpOnly cookie. At least 16 characters. Default: `VIGIL_DASHBOARD_TOKEN`, else none.
   */
  token?: string;
  /** Sampling interval of the registry, in ms (500 to 10000). Default: 1000. */
  intervalMs?: number;
  /** How much history the charts keep, in seconds (30 to 3600). Default: 300. */
  historySeconds?: number;
  /** Most live (SSE) clients at once; more get 503. Default: 20. */
  maxClients?: number;
  /** Most routes shown, busiest first. Default: 50. */
  maxRoutes?: number;
  /** Where problems at run time are reported once. Default: process warnings. */
  problemLogger?: MinimalLogger;
}

/** Options of `livePage(...).listen()`. */
export interface LivePageListenOptions {
  /** Port; 0 picks a free one (read it from the result). Default: 0. */
  port?: number;
  /** Interface to listen on. Default: `127.0.0.1`. */
  host?: string;
}

/** The live page: middleware for Express and Koa, or a plain handler. */
export interface LivePage {
  /** Express 4/5 middleware: `app.use(live.express())`. Other requests pass through. */
  express(): ExpressMiddleware;
  /** Koa 2/3 middleware: `app.use(live.koa())`. Other requests pass through. */
  koa(): KoaMiddleware<KoaContextLike & { respond?: boolean }>;
  /** Answers `req` when it is for the page, resolving true once answered; else resolves false. */
  handle(req: IncomingMessage, res: ServerResponse): Promise<boolean>;
  /**
   * A `node:http` request listener serving only the page (other paths get 404), for a process with
   * no Express or Koa app: `http.createServer(live.handler())`.
   */
  handler(): (req: IncomingMessage, res: ServerResponse) => void;
  /**
   * Serves the page on an HTTP server of its own, as `@vigil/core`'s other operational servers
   * (other paths get 404), such as a cluster primary's page over the aggregated registry.
   * `url` is the page's address; `close()` ends the live streams and stops the server.
   */
  listen(options?: LivePageListenOptions): Promise<OperationalServer>;
  /** Sizes of the page and its assets, in bytes, raw and gzipped. */
  readonly size: { raw: number; gzip: number };
  /** Live clients connected now. */
  readonly clients: number;
  /** Ends every live stream and stops sampling. */
  close(): void;
}
