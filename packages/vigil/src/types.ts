// Public types of vigil: the options of vigil(), vigil.koa() and vigil.primary(), and what they return.
import type { Registry } from 'prom-client';
import type { Alerting, AlertingOptions } from '@vigil/alerts';
import type { AuditLogger, AuditLoggerOptions } from '@vigil/audit';
import type { Catalogue, CatalogueOptions, MetricDefinitions } from '@vigil/business-metrics';
import type { LivePage, LivePageOptions } from '@vigil/dashboards';
import type { Health, HealthOptions } from '@vigil/health';
import type { RequestLoggerOptions } from '@vigil/logging';
import type { MetricsOptions, MetricsSummaryOptions } from '@vigil/metrics';
import type {
  ExpressRateLimit,
  KoaRateLimit,
  LimiterControls,
  RateLimitOptions,
} from '@vigil/rate-limit';
import type { Tracing, TracingMiddlewareOptions, TracingOptions } from '@vigil/tracing';

/** `tracing`: startTracing()'s options, and the request middleware's under `middleware`. */
export interface VigilTracingOptions extends TracingOptions {
  /** Options of expressTracing() / koaTracing(). Default: theirs. */
  middleware?: TracingMiddlewareOptions;
  /**
   * Start tracing (the OpenTelemetry SDK) when no setup runs yet. `false` leaves it to the app: with
   * none started, the middleware alone runs (request ids, W3C propagation, log correlation, no spans
   * recorded). Default: true.
   */
  start?: boolean;
}

/** `metrics`: expressMetrics() / koaMetrics() options (`registry` is the umbrella's). */
export interface VigilMetricsOptions extends Omit<MetricsOptions, 'registry'> {
  /** Options of the `/metrics/summary` handler besides registry, token and path. Default: theirs. */
  summary?: Pick<MetricsSummaryOptions, 'topRoutes' | 'sections' | 'logger'>;
  /** Serve OpenMetrics (with exemplars) to scrapers that ask for it. Default: true. */
  openMetrics?: boolean;
}

/** `business`: a catalogue from defineBusinessMetrics(), or its definitions (and options). */
export type VigilBusinessOptions =
  Catalogue | { definitions: MetricDefinitions; options?: Omit<CatalogueOptions, 'registry'> };

/** `alerts`: createAlerting()'s options; `rules` defaults to an error-ratio, a latency and an event-loop alert. */
export interface VigilAlertsOptions extends Omit<AlertingOptions, 'rules' | 'registry'> {
  rules?: AlertingOptions['rules'];
}

/** `operational`: serve the operational endpoints on a port of their own instead of on the app. */
export interface VigilOperationalOptions {
  /** Port; 0 picks a free one. Default: `VIGIL_OPERATIONAL_PORT`. */
  port?: number;
  /** Interface. Default: `VIGIL_OPERATIONAL_HOST`, else `127.0.0.1`. */
  host?: string;
}

/** Options of vigil(), vigil.express() and vigil.koa(). Every capability is on unless set to `false`. */
export interface VigilOptions {
  /** The service name (live page, health, alerts, audit events). Default: `OTEL_SERVICE_NAME`, else `app`. */
  service?: string;
  /** The registry every capability writes to. Default: prom-client's global registry. */
  registry?: Registry;
  /**
   * One bearer token for every operational endpoint (at least 16 characters). Default:
   * `VIGIL_TOKEN`, else each package's own variable (`VIGIL_METRICS_TOKEN`, `VIGIL_HEALTH_TOKEN`,
   * `VIGIL_ALERTS_TOKEN`, `VIGIL_DASHBOARD_TOKEN`).
   */
  token?: string;
  /**
   * Operational endpoints on a port of their own (`false`: on the app). Default: on the app, unless
   * `VIGIL_OPERATIONAL_PORT` is set.
   */
  operational?: VigilOperationalOptions | false;
  /**
   * Tracing: started with these options unless already started (`vigil/register`, startTracing()),
   * then the request middleware. Default: on (OTEL_* variables apply).
   */
  tracing?: VigilTracingOptions | false;
  /** The request log (pino JSON lines): expressRequestLogger() / koaRequestLogger() options. Default: on, stdout. */
  requestLog?: RequestLoggerOptions | false;
  /** HTTP metrics, `/metrics` and `/metrics/summary`. Default: on. */
  metrics?: VigilMetricsOptions | false;
  /** Business metrics: its totals in `/metrics/summary`, its handle in the result. Default: none. */
  business?: VigilBusinessOptions | false;
  /**
   * Rate limiting: expressRateLimit() / koaRateLimit() options (`registry` and `audit` filled in), or
   * a limiter they made (used as it is). Default: off (it needs `policies`).
   */
  rateLimit?: RateLimitOptions | ExpressRateLimit | KoaRateLimit | false;
  /** The audit trail (rate-limit decisions, alert actions): createAuditLogger() options or a logger. Default: on, stdout. */
  audit?: AuditLoggerOptions | AuditLogger | false;
  /**
   * `/health/live`, `/health/ready`, `/health/startup` and drain on SIGTERM: createHealth() options
   * (the automatic checks added), or a Health it made (used as it is). Default: on.
   */
  health?: HealthOptions | Health | false;
  /**
   * Alert rules evaluated in the process and the API at `/alerts`: createAlerting() options, or an
   * Alerting it made (used as it is: the app starts and stops it). Default: on, with default rules;
   * off in cluster workers.
   */
  alerts?: VigilAlertsOptions | Alerting | false;
  /** The live page at `/_vigil` and the overview at `/observability`: livePage() options. Default: on. */
  live?: Partial<LivePageOptions> | false;
}

/** What vigil() returns: every capability it set up, for the advanced cases. */
export interface Vigil {
  /** The framework it was mounted on. */
  readonly framework: 'express' | 'koa';
  readonly registry: Registry;
  /** The tracing setup (started by vigil() or before it); undefined when switched off. */
  readonly tracing: Tracing | undefined;
  readonly health: Health | undefined;
  readonly alerting: Alerting | undefined;
  readonly audit: AuditLogger | undefined;
  readonly business: Catalogue | undefined;
  /**
   * The rate limiter's controls: `status()` of each policy's store, `policy(name)` (a middleware of
   * the app's framework applying one policy, for one route), `close()`; undefined when off.
   */
  readonly rateLimit: LimiterControls<unknown> | undefined;
  readonly live: LivePage | undefined;
  /** The request logger (pino); undefined when switched off. */
  readonly logger: unknown;
  /** The operational server's URL once `ready`, when the endpoints have a port of their own. */
  readonly operationalUrl: string | undefined;
  /** Resolves once the operational server listens (at once without one). */
  readonly ready: Promise<void>;
  /** Drains `server` on SIGTERM (done for you when the app's own listen() makes the server). */
  attach<S extends import('node:http').Server>(server: S): S;
  /** Drains the attached servers now, as SIGTERM would. */
  shutdown(): Promise<void>;
  /** Stops alerting, the live page, the operational server and the limiter's store; flushes audit and spans started here. */
  close(): Promise<void>;
}

/** Options of vigil.primary(). */
export interface VigilPrimaryOptions {
  /** Port of the primary's operational server; 0 picks a free one. Default: `VIGIL_OPERATIONAL_PORT`, else 9464. */
  port?: number;
  /** Interface. Default: `VIGIL_OPERATIONAL_HOST`, else `127.0.0.1`. */
  host?: string;
  /** The service name. Default: `OTEL_SERVICE_NAME`, else `app`. */
  service?: string;
  /** Bearer token of every endpoint. Default: `VIGIL_TOKEN`, else the packages' own variables. */
  token?: string;
  /** Longest wait for a worker's metrics, in ms. Default: 2000. */
  timeoutMs?: number;
  /** Probes of the primary: createHealth() options. Default: on. */
  health?: HealthOptions | false;
  /** Alerts over the aggregated metrics, evaluated here only. Default: on, with default rules. */
  alerts?: VigilAlertsOptions | false;
  /** The live page over the aggregated metrics. Default: on. */
  live?: Partial<LivePageOptions> | false;
  /** Audit trail of alert actions. Default: on, stdout. */
  audit?: AuditLoggerOptions | AuditLogger | false;
}

/** What vigil.primary() returns. */
export interface VigilPrimary {
  readonly url: string;
  readonly port: number;
  /** The cluster's metrics (aggregated from the workers) and the primary's own. */
  readonly registry: Registry;
  readonly health: Health | undefined;
  readonly alerting: Alerting | undefined;
  readonly audit: AuditLogger | undefined;
  readonly live: LivePage | undefined;
  close(): Promise<void>;
}
