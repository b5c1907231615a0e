// livePage()'s options: validated once at the factory call, resolved into a frozen configuration.
import {
  type EndpointAccess,
  type MinimalLogger,
  hasMethod,
  integerOption,
  loggerOption,
  optionError,
  optionNames,
  readOptions,
  resolveEndpointAccess,
} from '@vigil/core';
import { context } from '../errors';
import type { LivePageOptions } from './types';

export interface ResolvedLiveOptions {
  registry: LivePageOptions['registry'];
  service: string;
  basePath: string;
  overviewPath: string | undefined;
  alerting: LivePageOptions['alerting'];
  health: LivePageOptions['health'];
  traces: LivePageOptions['traces'];
  audit: LivePageOptions['audit'];
  logger: LivePageOptions['logger'];
  logging: LivePageOptions['logging'];
  access: EndpointAccess;
  intervalMs: number;
  maxPoints: number;
  maxClients: number;
  maxRoutes: number;
  problemLogger: MinimalLogger | undefined;
}

const KNOWN = optionNames<LivePageOptions>({
  registry: true,
  service: true,
  basePath: true,
  overviewPath: true,
  alerting: true,
  health: true,
  traces: true,
  audit: true,
  logger: true,
  logging: true,
  token: true,
  intervalMs: true,
  historySeconds: true,
  maxClients: true,
  maxRoutes: true,
  problemLogger: true,
});

/** The environment variable the token comes from when the option is not given. */
export const TOKEN_ENV = 'VIGIL_DASHBOARD_TOKEN';

const PATH = /^\/[A-Za-z0-9._~\-/]*$/;

export function resolveLiveOptions(raw: unknown, argCount: number): ResolvedLiveOptions {
  const ctx = context('livePage');
  const o = readOptions<LivePageOptions>(ctx, raw, argCount, KNOWN);
  if (!hasMethod(o.registry, 'getMetricsAsJSON')) {
    throw optionError(
      ctx,
      'INVALID_OPTION',
      'registry',
      'a prom-client Registry (the one the HTTP metrics middleware writes to)',
      o.registry,
    );
  }
  const duck = (name: keyof LivePageOptions, methods: string[], what: string): void => {
    const v = o[name];
    if (v !== undefined && !methods.every((m) => hasMethod(v, m))) {
      throw optionError(ctx, 'INVALID_OPTION', name, what, v);
    }
  };
  duck('alerting', ['alerts', 'stats'], "@vigil/alerts' Alerting (what createAlerting() returns)");
  duck('health', ['probe'], "@vigil/health's Health (what createHealth() returns)");
  duck('traces', ['recent', 'get'], "@vigil/tracing's TraceBuffer (tracing.traces)");
  duck('audit', ['recent'], "@vigil/audit's AuditLogger (what createAuditLogger() returns)");
  if (o.logging !== undefined && typeof o.logging !== 'function') {
    throw optionError(
      ctx,
      'INVALID_OPTION',
      'logging',
      "@vigil/logging's requestLoggingStatus (the function, not its result)",
      o.logging,
    );
  }
  const path = (name: 'basePath' | 'overviewPath', value: unknown, fallback: string): string => {
    if (value === undefined) return fallback;
    if (typeof value !== 'string' || !PATH.test(value) || value.length > 200) {
      throw optionError(ctx, 'INVALID_OPTION', name, 'a path such as "/_vigil"', value);
    }
    return value.length > 1 ? value.replace(/\/+$/, '') : value;
  };
  const service = o.service ?? (process.env.OTEL_SERVICE_NAME || 'app');
  if (typeof service !== 'string' || service === '') {
    throw optionError(ctx, 'INVALID_OPTION', 'service', 'a non-empty string', service);
  }
  const intervalMs = integerOption(ctx, 'intervalMs', o.intervalMs, 1000, 500, 10_000);
  const historySeconds = integerOption(ctx, 'historySeconds', o.historySeconds, 300, 30, 3600);
  return Object.freeze({
    registry: o.registry!,
    service,
    basePath: path('basePath', o.basePath, '/_vigil'),
    overviewPath:
      o.overviewPath === false ? undefined : path('overviewPath', o.overviewPath, '/observability'),
    alerting: o.alerting,
    health: o.health,
    traces: o.traces,
    audit: o.audit,
    logger: o.logger,
    logging: o.logging,
    access: resolveEndpointAccess(ctx, { token: o.token }, TOKEN_ENV),
    intervalMs,
    maxPoints: Math.ceil((historySeconds * 1000) / intervalMs),
    maxClients: integerOption(ctx, 'maxClients', o.maxClients, 20, 1, 1000),
    maxRoutes: integerOption(ctx, 'maxRoutes', o.maxRoutes, 50, 1, 1000),
    problemLogger: loggerOption(ctx, o.problemLogger),
  });
}
