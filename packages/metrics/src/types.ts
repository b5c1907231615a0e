// Public types of @vigil/metrics: middleware options, hook info, handler and server options.
import type { Registry } from 'prom-client';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { MinimalLogger } from '@vigil/core';

/** The metric and label names emitted. */
export type NamingScheme = 'prometheus' | 'opentelemetry';

/** What a custom-label function is told about a finished request. */
export interface RequestInfo {
  /** Node request (Express `req`, or Koa `ctx.req`). */
  req: IncomingMessage;
  /** Node response. */
  res: ServerResponse;
  /** Normalised method label (`GET`, ..., `OTHER`). */
  method: string;
  /** Route template, or `<unmatched>`. */
  route: string;
  /** Status code label, or `aborted` when the client went away before the response finished. */
  statusCode: string;
  /** The Koa context, when recorded by koaMetrics(). */
  ctx?: unknown;
}

/** A route filter: a template string, a RegExp tested on the template, or a predicate. */
export type RouteMatcher = string | RegExp | ((route: string) => boolean);

/** Options of expressMetrics() and koaMetrics(). */
export interface MetricsOptions {
  /** Registry the metrics are registered in (get-or-create). Default: prom-client's global registry. */
  registry?: Registry;
  /** Prefix put before every metric name, e.g. `myapp_`. Default: `''`. */
  prefix?: string;
  /**
   * Names and labels: `prometheus` (`http_requests_total`, `method`, `route`, `status_code`) or
   * `opentelemetry` (`http_server_request_duration_seconds`, `http_request_method`, `http_route`,
   * `http_response_status_code`). Default: `prometheus`.
   */
  namingScheme?: NamingScheme;
  /** Duration histogram buckets in seconds. Default: OpenTelemetry's HTTP server buckets, 5 ms to 10 s. */
  durationBuckets?: number[];
  /** Request and response size buckets in bytes. Default: 64 B to 16 MiB by powers of 4. */
  sizeBuckets?: number[];
  /**
   * Extra labels on the request counter and duration histogram, each computed from the finished
   * request. Values are bounded by `maxSeries`. Default: none.
   */
  customLabels?: Record<string, (info: RequestInfo) => string>;
  /** Only record routes matching one of these (templates). Default: every route. */
  includeRoutes?: RouteMatcher[];
  /** Never record routes matching one of these (templates). Default: none. */
  excludeRoutes?: RouteMatcher[];
  /** Record requests answered by Vigil's operational endpoints (/metrics, health). Default: `false`. */
  recordOperationalEndpoints?: boolean;
  /** Collect prom-client's Node.js and process default metrics in the same registry. Default: `true`. */
  collectDefaultMetrics?: boolean;
  /** Most label sets per metric; further ones share one `__overflow__` series. Default: `2000`. */
  maxSeries?: number;
  /**
   * Response content types whose duration is not observed (still counted): long-lived streams such as
   * server-sent events would otherwise swamp the latency histogram. Default: `['text/event-stream']`.
   */
  streamingContentTypes?: string[];
  /** Attach the active trace id as an exemplar to duration observations. Default: `true`. */
  exemplars?: boolean;
  /** Logger for request-time problems (pino or anything with `warn`). Default: process warnings. */
  logger?: MinimalLogger;
}

/** Options of the /metrics handlers. */
export interface MetricsHandlerOptions {
  /** Registry to expose. Default: prom-client's global registry. */
  registry?: Registry;
  /**
   * Bearer token required to scrape; requests without it get 401 and no body. Default: none
   * (open). Read from `VIGIL_METRICS_TOKEN` when not given.
   */
  token?: string;
  /** Serve OpenMetrics (with exemplars) to scrapers that ask for it. Default: `true`. */
  openMetrics?: boolean;
  /**
   * Answer only this path and pass other requests on (for `app.use()` without a router).
   * Default: answer every request the handler receives (startMetricsServer: `'/metrics'`).
   */
  path?: string;
}

/** Options of startMetricsServer(). */
export interface MetricsServerOptions extends MetricsHandlerOptions {
  /** Port to listen on; 0 picks a free one. Default: `9464`. */
  port?: number;
  /** Address to bind. Default: `'127.0.0.1'`; use `'0.0.0.0'` to let a remote Prometheus scrape it. */
  host?: string;
}

/** A running metrics server. */
export interface MetricsServer {
  /** The URL of the endpoint, with the bound port. */
  readonly url: string;
  /** The bound port. */
  readonly port: number;
  /** Stops listening and closes idle connections. */
  close(): Promise<void>;
}
