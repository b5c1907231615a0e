// Starts the reference app: gateway on `port`, catalog on `catalogPort` (default port + 1).
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { type Alerting, createAlerting } from '@vigil/alerts';
import { type AuditLogger, type AuditLoggerOptions, createAuditLogger } from '@vigil/audit';
import {
  type Health,
  check,
  createHealth,
  eventLoopCheck,
  rateLimitCheck,
  tracingCheck,
} from '@vigil/health';
import type { Tracing } from '@vigil/tracing';
import { createCatalogApp, createCatalogRegistry } from './catalog';
import { createGatewayApp, createGatewayRegistry } from './gateway';
import { type RateLimitSettings, createGatewayRateLimit, rateLimitSettingsFromEnv } from './limits';
import { createBusinessMetrics } from './business';
import {
  GATEWAY_JOB,
  gatewayAlertmanagerConfig,
  gatewayAlerts,
  gatewayEvaluationInterval,
} from './alerts';

export { createCatalogApp, createCatalogRegistry, createGatewayApp, createGatewayRegistry };
export { VIDEO_FORMATS, MAX_SLOW_MS, DEMO_USER } from './gateway';
export { ANALYTICS_REPORTS, createBusinessMetrics } from './business';
export type { BusinessMetrics } from './business';
export { rateLimitSettingsFromEnv, createGatewayRateLimit } from './limits';
export type { RateLimitSettings } from './limits';

export interface ReferenceAppOptions {
  /** Gateway port; 0 picks a free one. Default: `PORT` or 3000. */
  port?: number;
  /** Catalog port; 0 picks a free one. Default: gateway port + 1. */
  catalogPort?: number;
  /** Address to bind. Default: `HOST` or 127.0.0.1. */
  host?: string;
  /** A started tracing setup: the catalog gets its own service name, the gateway serves the trace buffer. */
  tracing?: Tracing;
  /** Serve the W3C Trace Context test-harness endpoint. Default: VIGIL_TRACECONTEXT_TEST=1. */
  traceContextTest?: boolean;
  /** Where both services' request log lines go. Default: stdout. */
  logDestination?: { write(line: string): unknown };
  /** Where audit events go: a file path, a file descriptor or a stream. Default: `VIGIL_AUDIT_FILE`, else stdout. */
  auditDestination?: AuditLoggerOptions['destination'];
  /** Rate-limit settings; unset fields come from the environment (see rateLimitSettingsFromEnv()). */
  rateLimit?: Partial<RateLimitSettings>;
  /** The demo variant of the alerts (short windows, 5 s evaluations). Default: VIGIL_ALERTS_DEMO=1. */
  alertsDemo?: boolean;
  /** Hand alerts to this Alertmanager. Default: `ALERTMANAGER_URL`, else Vigil notifies itself. */
  alertmanagerUrl?: string;
}

export interface ReferenceApp {
  gatewayUrl: string;
  catalogUrl: string;
  /** The gateway's audit trail (its recent() tail, its chain head). */
  audit: AuditLogger;
  /** The gateway's alerting: its rules evaluated in the process, served at /alerts. */
  alerting: Alerting;
  /** The gateway's probes, served at /health/live, /health/ready and /health/startup. */
  health: Health;
  close(): Promise<void>;
}

function listen(
  app: { listen: (port: number, host: string) => Server },
  port: number,
  host: string,
): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = app.listen(port, host);
    server.once('listening', () => resolve(server));
    server.once('error', reject);
  });
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value;
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

export async function startReferenceApp(options: ReferenceAppOptions = {}): Promise<ReferenceApp> {
  const host = options.host ?? process.env.HOST ?? '127.0.0.1';
  const port = options.port ?? Number(process.env.PORT ?? 3000);
  const catalogPort = options.catalogPort ?? (port === 0 ? 0 : port + 1);
  const tracing = options.tracing;
  const catalog = await listen(
    createCatalogApp({
      registry: createCatalogRegistry(),
      tracerProvider: tracing?.providerFor('catalog'),
      logDestination: options.logDestination,
    }),
    catalogPort,
    host,
  );
  const catalogUrl = `http://${host}:${(catalog.address() as AddressInfo).port}`;
  const gatewayRegistry = createGatewayRegistry();
  const auditLogger = createAuditLogger({
    destination: options.auditDestination ?? nonEmpty(process.env.VIGIL_AUDIT_FILE) ?? 1,
    registry: gatewayRegistry,
    service: 'gateway',
    default: false,
  });
  const rateLimit = createGatewayRateLimit(
    { ...rateLimitSettingsFromEnv(), ...options.rateLimit },
    gatewayRegistry,
    auditLogger,
  );
  const demo = options.alertsDemo ?? process.env.VIGIL_ALERTS_DEMO === '1';
  // The part-1 rules, evaluated over the gateway's own registry as Prometheus would scrape it (job
  // `gateway`); with ALERTMANAGER_URL the alerts are handed to Alertmanager, which notifies.
  const alerting = createAlerting({
    rules: gatewayAlerts(demo),
    service: 'gateway',
    registry: gatewayRegistry,
    job: GATEWAY_JOB,
    interval: gatewayEvaluationInterval(demo),
    alertmanager: gatewayAlertmanagerConfig(demo),
    ...(options.alertmanagerUrl === undefined ? {} : { alertmanagerUrl: options.alertmanagerUrl }),
    audit: auditLogger,
  });
  // Liveness watches the process only; readiness also the catalog the API depends on, the rate
  // limiter's store and the span exporters.
  const health = createHealth({
    registry: gatewayRegistry,
    serviceId: 'gateway',
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
      // The limiter's Redis (REDIS_URL): down, readiness fails while the policies' onStoreError applies.
      rateLimitCheck(rateLimit),
      // The OTLP exporter's state, when tracing exports: an unreachable collector warns, not fails.
      ...(tracing === undefined || tracing.disabled ? [] : [tracingCheck(tracing)]),
    ],
  });
  const gateway = await listen(
    createGatewayApp({
      alerting,
      health,
      registry: gatewayRegistry,
      auditLogger,
      rateLimit,
      business: createBusinessMetrics(gatewayRegistry),
      catalogUrl,
      traces: tracing?.traces,
      traceContextTest: options.traceContextTest,
      logDestination: options.logDestination,
    }),
    port,
    host,
  );
  const gatewayUrl = `http://${host}:${(gateway.address() as AddressInfo).port}`;
  // SIGTERM drains the gateway (readiness 503 at once) before spans and audit events are flushed.
  health.attach(gateway);
  alerting.start();
  health.markStarted();
  return {
    gatewayUrl,
    catalogUrl,
    audit: auditLogger,
    alerting,
    health,
    async close() {
      health.close();
      await alerting.stop();
      await Promise.all([close(gateway), close(catalog)]);
      await rateLimit.close();
      await auditLogger.close();
    },
  };
}
