// Starts the reference app: gateway on `port`, catalog on `catalogPort` (default port + 1).
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import type { Alerting } from '@vigil/alerts';
import type { AuditLogger, AuditLoggerOptions } from '@vigil/audit';
import type { Health } from '@vigil/health';
import type { Tracing } from '@vigil/tracing';
import { createCatalogApp, createCatalogRegistry } from './catalog';
import { createGateway, createGatewayRegistry } from './gateway';
import { type RateLimitSettings, rateLimitSettingsFromEnv } from './limits';

export { createCatalogApp, createCatalogRegistry, createGateway, createGatewayRegistry };
export type { Gateway, GatewayOptions } from './gateway';
export { VIDEO_FORMATS, MAX_SLOW_MS, DEMO_USER } from './gateway';
export { ANALYTICS_REPORTS, createBusinessMetrics } from './business';
export type { BusinessMetrics } from './business';
export {
  rateLimitSettingsFromEnv,
  createGatewayRateLimit,
  gatewayRateLimitOptions,
} from './limits';
export type { RateLimitSettings } from './limits';

export interface ReferenceAppOptions {
  /** Gateway port; 0 picks a free one. Default: `PORT` or 3000. */
  port?: number;
  /** Catalog port; 0 picks a free one. Default: gateway port + 1. */
  catalogPort?: number;
  /** Address to bind. Default: `HOST` or 127.0.0.1. */
  host?: string;
  /** The started tracing setup (getTracing()): the catalog gets its own service name, the gateway serves the trace buffer. */
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
  // The gateway: its observability is one vigil() call (gateway.ts).
  const { app, vigil } = createGateway({
    registry: createGatewayRegistry(),
    catalogUrl,
    rateLimit: { ...rateLimitSettingsFromEnv(), ...options.rateLimit },
    auditDestination: options.auditDestination ?? nonEmpty(process.env.VIGIL_AUDIT_FILE) ?? 1,
    alertsDemo: options.alertsDemo ?? process.env.VIGIL_ALERTS_DEMO === '1',
    ...(options.alertmanagerUrl === undefined ? {} : { alertmanagerUrl: options.alertmanagerUrl }),
    ...(options.traceContextTest === undefined
      ? {}
      : { traceContextTest: options.traceContextTest }),
    ...(options.logDestination === undefined ? {} : { logDestination: options.logDestination }),
  });
  const { audit, alerting, health } = vigil;
  if (audit === undefined || alerting === undefined || health === undefined) {
    throw new Error('vigil() left out the audit trail, alerting or health');
  }
  // vigil() attached the server app.listen() makes: SIGTERM drains it (readiness 503 at once) before
  // spans and audit events are flushed.
  let gateway: Server;
  try {
    gateway = await listen(app, port, host);
  } catch (err) {
    // The port taken: nothing is left running (alert timers, the catalog, the limiter's store).
    await vigil.close();
    await close(catalog);
    throw err;
  }
  const gatewayUrl = `http://${host}:${(gateway.address() as AddressInfo).port}`;
  health.markStarted();
  return {
    gatewayUrl,
    catalogUrl,
    audit,
    alerting,
    health,
    async close() {
      await Promise.all([close(gateway), close(catalog)]);
      // Alerts, the live page, the probes, the limiter's store; the audit trail flushed.
      await vigil.close();
    },
  };
}
