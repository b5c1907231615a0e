// Builds every capability once, in the documented order, for one framework: the pieces the Express
// and Koa adapters compose into one middleware, and the handle vigil() returns.
import cluster from 'node:cluster';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { type Registry, register as globalRegistry } from 'prom-client';
import {
  type Alerting,
  createAlerting,
  errorRatioAlert,
  eventLoopLagAlert,
  latencyAlert,
} from '@vigil/alerts';
import { type AuditLogger, createAuditLogger } from '@vigil/audit';
import { type Catalogue, defineBusinessMetrics } from '@vigil/business-metrics';
import {
  type EndpointAccess,
  type ExpressMiddleware,
  type OptionContext,
  OPERATIONAL_PATH_PATTERN,
  type OperationalServer,
  admitOperational,
  beginRequest,
  booleanOption,
  describeValue,
  emitVigilWarning,
  hasMethod,
  isRegistryLike,
  listenOperational,
  optionError,
  optionNames,
  pathOfUrl,
  readOptions,
  resolveEndpointAccess,
  stringOption,
} from '@vigil/core';
import { type LivePage, livePage } from '@vigil/dashboards';
import {
  type Health,
  type HealthCheck,
  type HealthOptions,
  createHealth,
  eventLoopCheck,
  expressHealth,
  rateLimitCheck,
  tracingCheck,
} from '@vigil/health';
import { requestLoggingStatus } from '@vigil/logging';
import { expressMetricsHandler, expressMetricsSummaryHandler } from '@vigil/metrics';
import type { LimiterControls } from '@vigil/rate-limit';
import { type Tracing, getTracing, startTracing, untraced } from '@vigil/tracing';
import { PACKAGE, VIGIL_ERROR_CODES } from './errors';
import type {
  Vigil,
  VigilAlertsOptions,
  VigilBusinessOptions,
  VigilOperationalOptions,
  VigilOptions,
} from './types';

/** A middleware of either framework, as the adapters hand them over. */
export type AnyMiddleware = (...args: never[]) => unknown;

/** The framework's factories of each capability (the packages' own). */
export interface FrameworkFactories {
  tracing(options: unknown): AnyMiddleware;
  requestLog(options: unknown): AnyMiddleware & { logger: unknown };
  metrics(options: unknown): AnyMiddleware;
  metricsHandler(options: unknown): AnyMiddleware;
  summaryHandler(options: unknown): AnyMiddleware;
  health(health: Health): AnyMiddleware;
  rateLimit(options: unknown): AnyMiddleware & LimiterControls<unknown>;
  alertsApi(alerting: Alerting): AnyMiddleware;
  live(page: LivePage): AnyMiddleware;
}

/** What the adapters compose, in order. */
export interface Pieces {
  /** The probes: answered before anything else runs. */
  health: AnyMiddleware | undefined;
  /** Tracing, request log, metrics: every request. */
  before: AnyMiddleware[];
  /** The operational endpoints on the app (empty with an operational port). */
  operational: AnyMiddleware[];
  /** Rate limiting: after the request has an id, a log line and a metric. */
  after: AnyMiddleware[];
  /** Whether a request path may be an operational endpoint (the others skip those middlewares). */
  mayBeOperational: (this: void, url: string | undefined) => boolean;
  /** Recent traces: `GET /_vigil/traces` and `/_vigil/traces/:traceId` (raw handler). */
  traces: RawHandler | undefined;
}

/** A handler on Node's request and response: resolves true when it answered. */
export type RawHandler = (req: IncomingMessage, res: ServerResponse) => Promise<boolean> | boolean;

/** Capability option keys: each takes `false`, `undefined` or an object. */
const CAPABILITIES = [
  'operational',
  'tracing',
  'requestLog',
  'metrics',
  'business',
  'rateLimit',
  'audit',
  'health',
  'alerts',
  'live',
] as const;

const KNOWN = optionNames<VigilOptions>({
  service: true,
  registry: true,
  token: true,
  operational: true,
  tracing: true,
  requestLog: true,
  metrics: true,
  business: true,
  rateLimit: true,
  audit: true,
  health: true,
  alerts: true,
  live: true,
});

/** An environment variable's value; empty (common in compose files) means unset. */
export function envValue(name: string): string | undefined {
  const v = process.env[name];
  return v === undefined || v.trim() === '' ? undefined : v.trim();
}

/** The one token of the operational endpoints: `token`, else VIGIL_TOKEN, checked as core checks tokens. */
export function resolveToken(ctx: OptionContext, token: unknown): string | undefined {
  const access = resolveEndpointAccess(ctx, { token }, 'VIGIL_TOKEN');
  return access.tokenDigest === undefined
    ? undefined
    : ((token as string | undefined) ?? envValue('VIGIL_TOKEN'));
}

/** The operational port and host: options, else VIGIL_OPERATIONAL_PORT / VIGIL_OPERATIONAL_HOST. */
export function resolveOperational(
  ctx: OptionContext,
  value: VigilOperationalOptions | false | undefined,
  fallbackPort?: number,
): { port: number; host: string } | undefined {
  if (value === false) return undefined;
  const o = readOptions<VigilOperationalOptions>(
    { ...ctx, factory: `${ctx.factory}: operational` },
    value,
    1,
    ['port', 'host'],
  );
  let port = o.port;
  if (port === undefined) {
    const raw = envValue('VIGIL_OPERATIONAL_PORT');
    if (raw !== undefined) {
      port = Number(raw);
      if (!Number.isInteger(port) || port < 0 || port > 65535) {
        throw optionError(
          ctx,
          'INVALID_ENV',
          'VIGIL_OPERATIONAL_PORT',
          'a port number from 0 to 65535',
          raw,
          'Set the variable to a free port, or unset it to serve the operational endpoints on the app.',
        );
      }
    }
  } else if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw optionError(
      ctx,
      'INVALID_OPTION',
      'operational.port',
      'an integer from 0 to 65535',
      port,
    );
  }
  port ??= fallbackPort;
  if (port === undefined) {
    if (value !== undefined) {
      throw optionError(
        ctx,
        'INVALID_OPTION',
        'operational.port',
        'a port (or VIGIL_OPERATIONAL_PORT set)',
        undefined,
      );
    }
    return undefined;
  }
  const host = stringOption(
    ctx,
    'operational.host',
    o.host,
    envValue('VIGIL_OPERATIONAL_HOST') ?? '127.0.0.1',
  );
  return { port, host };
}

/** A limiter from expressRateLimit() / koaRateLimit(). */
export function isLimiter(value: unknown): boolean {
  return typeof value === 'function' && hasMethod(value, 'status') && hasMethod(value, 'policy');
}

/** A Health from createHealth(). */
export function isHealth(value: unknown): boolean {
  return hasMethod(value, 'probe') && hasMethod(value, 'attach') && hasMethod(value, 'markStarted');
}

/** An Alerting from createAlerting(). */
export function isAlerting(value: unknown): boolean {
  return hasMethod(value, 'evaluateNow') && typeof (value as { api?: unknown }).api === 'object';
}

/** Checks that a capability option is `false`, `undefined`, an object or a limiter. */
export function capabilityOption(ctx: OptionContext, name: string, value: unknown): void {
  if (value === undefined || value === false || isLimiter(value)) return;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw optionError(
      ctx,
      'INVALID_OPTION',
      name,
      `false or the options object of that capability`,
      value,
      'Leave it out for the default, or set it to false to switch the capability off.',
    );
  }
}

/** The registry option: a prom-client Registry, or the global one. */
export function registryOf(ctx: OptionContext, value: unknown): Registry {
  if (value === undefined) return globalRegistry;
  if (!isRegistryLike(value) || typeof (value as Registry).getMetricsAsJSON !== 'function') {
    throw optionError(
      ctx,
      'INVALID_OPTION',
      'registry',
      'a prom-client Registry',
      value,
      'Pass `new Registry()` from prom-client, or leave it out to use the global registry.',
    );
  }
  return value as Registry;
}

/** The audit option: an AuditLogger as is, or one created from its options. */
export function auditOf(
  value: VigilOptions['audit'],
  registry: Registry,
  service: string,
): { logger: AuditLogger | undefined; owned: boolean } {
  if (value === false) return { logger: undefined, owned: false };
  if (
    value !== undefined &&
    typeof (value as AuditLogger).record === 'function' &&
    typeof (value as AuditLogger).close === 'function'
  ) {
    return { logger: value as AuditLogger, owned: false };
  }
  return {
    logger: createAuditLogger({ registry, service, ...value }),
    owned: true,
  };
}

/** The default rules: an error ratio, a latency and an event-loop alert over the HTTP metrics. */
export function defaultRules(): VigilAlertsOptions['rules'] {
  return { alerts: [errorRatioAlert(), latencyAlert(), eventLoopLagAlert()] };
}

/** createAlerting() with the umbrella's registry, service, token and audit filled in. */
export function alertingOf(
  value: VigilAlertsOptions | undefined,
  registry: Registry,
  service: string,
  token: string | undefined,
  audit: AuditLogger | undefined,
): Alerting {
  const { rules, ...rest } = value ?? {};
  return createAlerting({
    service,
    ...(token === undefined ? {} : { token }),
    ...(audit === undefined ? {} : { audit }),
    ...rest,
    rules: rules ?? defaultRules()!,
    registry,
  });
}

/** The live page with the umbrella's capabilities filled in. */
export function liveOf(
  value: VigilOptions['live'],
  fill: {
    registry: Pick<Registry, 'getMetricsAsJSON'>;
    service: string;
    token: string | undefined;
    alerting: Alerting | undefined;
    health: Health | undefined;
    tracing: Tracing | undefined;
    audit: AuditLogger | undefined;
    logger?: unknown;
  },
): LivePage | undefined {
  if (value === false) return undefined;
  return livePage({
    registry: fill.registry,
    service: fill.service,
    ...(fill.token === undefined ? {} : { token: fill.token }),
    ...(fill.alerting === undefined ? {} : { alerting: fill.alerting }),
    ...(fill.health === undefined ? {} : { health: fill.health }),
    ...(fill.tracing?.traces === undefined ? {} : { traces: fill.tracing.traces }),
    ...(fill.audit === undefined ? {} : { audit: fill.audit }),
    ...(fill.logger === undefined ? {} : { logger: fill.logger as { level?: unknown } }),
    // The request loggers' state (lines written, write failures) in /observability.
    ...(fill.logger === undefined ? {} : { logging: requestLoggingStatus }),
    ...value,
  });
}

/** createHealth() with the automatic checks added (unless a check of the same name is given). */
export function healthOf(
  value: HealthOptions | false | undefined,
  fill: {
    registry: Registry | false;
    service: string;
    token: string | undefined;
    rateLimit?: Parameters<typeof rateLimitCheck>[0];
    tracing?: Tracing;
  },
): Health | undefined {
  if (value === false) return undefined;
  const o = value ?? {};
  const given = new Set(
    [...(o.liveness ?? []), ...(o.readiness ?? []), ...(o.startup ?? [])].map((c) => c.name),
  );
  const add = (check: () => HealthCheck, name: string): HealthCheck[] =>
    given.has(name) ? [] : [check()];
  const liveness = [...(o.liveness ?? []), ...add(() => eventLoopCheck(), 'eventLoop')];
  const readiness = [
    ...(o.readiness ?? []),
    // The limiter's Redis (REDIS_URL): down, readiness fails while the policies' onStoreError applies.
    ...(fill.rateLimit === undefined
      ? []
      : add(() => rateLimitCheck(fill.rateLimit!), 'rateLimitStore')),
    // The span exporters: an unreachable collector warns, not fails.
    ...(fill.tracing === undefined || fill.tracing.disabled
      ? []
      : add(() => tracingCheck(fill.tracing!), 'tracing')),
  ];
  // A check's calls to its dependency (a ping every interval) start no trace of their own.
  const quiet = (checks: readonly HealthCheck[] | undefined): HealthCheck[] | undefined =>
    fill.tracing === undefined || fill.tracing.disabled
      ? checks?.slice()
      : checks?.map((c) => ({ ...c, run: () => untraced(() => c.run()) }));
  return createHealth({
    registry: fill.registry,
    serviceId: fill.service,
    started: true,
    // The one token does not gate the probes: Kubernetes probes and load balancers carry no header.
    // They answer only their status instead (VIGIL_HEALTH_TOKEN or `health.token` gates them).
    ...(fill.token === undefined ? {} : { terse: true }),
    ...o,
    liveness: quiet(liveness),
    readiness: quiet(readiness),
    ...(o.startup === undefined ? {} : { startup: quiet(o.startup) }),
  });
}

const TRACE_LIST = /^\/_vigil\/traces\/?$/i;
const TRACE_ONE = /^\/_vigil\/traces\/([0-9a-f]{32})\/?$/i;
const GET: readonly string[] = ['GET', 'HEAD'];

/** `GET /_vigil/traces` (the recent traces) and `/_vigil/traces/:traceId` (one trace's spans). */
export function tracesHandler(
  traces: NonNullable<Tracing['traces']>,
  access: EndpointAccess,
): RawHandler {
  return (req, res) => {
    const path = pathOfUrl(req.url);
    const one = TRACE_ONE.exec(path)?.[1];
    if (one === undefined && !TRACE_LIST.test(path)) return false;
    if (!admitOperational(req, res, access, GET)) return true;
    let status = 200;
    let body: unknown;
    if (one === undefined) {
      const limit = Number(new URLSearchParams((req.url ?? '').split('?')[1] ?? '').get('limit'));
      body = traces.recent(Math.min(Number.isInteger(limit) && limit > 0 ? limit : 50, 200));
    } else {
      body = traces.get(one.toLowerCase());
      if (body === undefined) {
        status = 404;
        body = { error: 'not_found' };
      }
    }
    const text = JSON.stringify(body);
    res.statusCode = status;
    res.setHeader('Content-Type', 'application/json; charset=utf-8');
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('Content-Length', Buffer.byteLength(text));
    res.end(req.method === 'HEAD' ? undefined : text);
    return true;
  };
}

/** A catalogue as given, or one made from its definitions on the umbrella's registry. */
function businessOf(
  ctx: OptionContext,
  value: VigilBusinessOptions | false | undefined,
  registry: Registry,
): Catalogue | undefined {
  if (value === undefined || value === false) return undefined;
  if ('totals' in value && typeof value.totals === 'function' && 'metrics' in value) return value;
  if (
    'definitions' in value &&
    value.definitions !== null &&
    typeof value.definitions === 'object'
  ) {
    const catalogue: Catalogue = defineBusinessMetrics(value.definitions, {
      ...value.options,
      registry,
    });
    return catalogue;
  }
  throw optionError(
    ctx,
    'INVALID_OPTION',
    'business',
    'a catalogue from defineBusinessMetrics(), or { definitions, options }',
    value,
  );
}

/** Everything set up, for the adapters and the handle. */
export interface Setup {
  pieces: Pieces;
  /** The operational endpoints as raw handlers, for a port of their own. */
  operationalHandlers: RawHandler[];
  handle: Omit<Vigil, 'framework'>;
}

/**
 * Resolves `options` and builds every capability in the documented order. The framework's own
 * factories (`fw`) make the app's middlewares; the operational port gets raw handlers of its own.
 */
export function setUp(
  ctx: OptionContext,
  options: unknown,
  argCount: number,
  fw: FrameworkFactories,
): Setup {
  const o = readOptions<VigilOptions>(ctx, options, argCount, KNOWN);
  for (const name of CAPABILITIES) capabilityOption(ctx, name, o[name]);
  const service = stringOption(ctx, 'service', o.service, envValue('OTEL_SERVICE_NAME') ?? 'app');
  const registry = registryOf(ctx, o.registry);
  const token = resolveToken(ctx, o.token);
  const operational = resolveOperational(ctx, o.operational);
  const inWorker = cluster.isWorker;
  // What was set up before an option of a later capability failed is released before the error
  // reaches the caller: no timer, signal listener or connection is left behind.
  const undo: (() => unknown)[] = [];
  try {
    return build();
  } catch (err) {
    for (const u of undo.reverse()) {
      try {
        void Promise.resolve(u()).catch(() => undefined);
      } catch {
        // Best effort: the configuration error is what the caller needs to see.
      }
    }
    throw err;
  }

  function build(): Setup {
    // 1. Tracing: the one started before the app loaded (vigil/register), else one started here.
    let tracing: Tracing | undefined;
    let ownTracing = false;
    let tracingMw: AnyMiddleware | undefined;
    if (o.tracing !== false) {
      const { middleware, start, ...setup } = o.tracing ?? {};
      const mayStart = booleanOption(ctx, 'tracing.start', start, true);
      tracing = getTracing();
      // `start: false`: with no setup running, the middleware alone gives ids, propagation and log
      // correlation, and no SDK is started.
      if (tracing === undefined && mayStart) {
        tracing = startTracing({
          ...(o.service === undefined ? {} : { serviceName: service }),
          registry,
          ...setup,
        });
        ownTracing = true;
        const started = tracing;
        undo.push(() => started.shutdown());
      }
      tracingMw = fw.tracing(middleware);
    }
    // 2. The request log.
    const requestLog = o.requestLog === false ? undefined : fw.requestLog(o.requestLog);
    // 3. Metrics, and 4. the business catalogue in the summary.
    const business = businessOf(ctx, o.business, registry);
    let metricsMw: AnyMiddleware | undefined;
    const endpoints: AnyMiddleware[] = [];
    const rawEndpoints: RawHandler[] = [];
    if (o.metrics !== false) {
      const { summary, openMetrics, ...metricsOptions } = o.metrics ?? {};
      metricsMw = fw.metrics({ ...metricsOptions, registry });
      const scrape = {
        registry,
        path: '/metrics',
        ...(token === undefined ? {} : { token }),
        ...(openMetrics === undefined ? {} : { openMetrics }),
      };
      const summaryOptions = {
        registry,
        path: '/metrics/summary',
        ...(token === undefined ? {} : { token }),
        ...(metricsOptions.prefix === undefined ? {} : { prefix: metricsOptions.prefix }),
        ...(metricsOptions.namingScheme === undefined
          ? {}
          : { namingScheme: metricsOptions.namingScheme }),
        ...summary,
        sections: {
          ...(business === undefined ? {} : { business: () => business.totals() }),
          ...summary?.sections,
        },
      };
      endpoints.push(fw.metricsHandler(scrape), fw.summaryHandler(summaryOptions));
      if (operational !== undefined) {
        rawEndpoints.push(
          rawOf(expressMetricsHandler(scrape)),
          rawOf(expressMetricsSummaryHandler(summaryOptions)),
        );
      }
    }
    // 5. The audit trail, and rate limiting that writes to it.
    const audit = auditOf(o.audit, registry, service);
    if (audit.owned) undo.push(() => audit.logger?.close());
    let rateLimit: (AnyMiddleware & LimiterControls<unknown>) | undefined;
    // A limiter made by expressRateLimit() / koaRateLimit() is used as it is, and stays the app's.
    const givenLimiter = isLimiter(o.rateLimit);
    if (givenLimiter) {
      rateLimit = o.rateLimit as unknown as AnyMiddleware & LimiterControls<unknown>;
    } else if (o.rateLimit !== undefined && o.rateLimit !== false) {
      rateLimit = fw.rateLimit({
        registry,
        ...(audit.logger === undefined ? {} : { audit: audit.logger }),
        ...o.rateLimit,
      });
      const limiter = rateLimit;
      undo.push(() => limiter.close());
    }
    // 6. Health, with the limiter's store and the exporters wired in.
    // A Health or an Alerting made by the app is used as it is (its checks, its start), and stays the app's.
    const givenHealth = isHealth(o.health);
    const health = givenHealth
      ? (o.health as Health)
      : healthOf(o.health as HealthOptions | false | undefined, {
          registry,
          service,
          token,
          rateLimit: rateLimit,
          tracing,
        });
    if (!givenHealth) undo.push(() => health?.close());
    // 7. Alerts: evaluated in the process; in a cluster worker only when asked (the primary evaluates).
    const alertsOn = o.alerts === false ? false : o.alerts !== undefined || !inWorker;
    const givenAlerting = isAlerting(o.alerts);
    const alerting = givenAlerting
      ? (o.alerts as Alerting)
      : alertsOn
        ? alertingOf(
            (o.alerts as VigilAlertsOptions | false | undefined) || undefined,
            registry,
            service,
            token,
            audit.logger,
          )
        : undefined;
    if (!givenAlerting) {
      alerting?.start();
      undo.push(() => alerting?.stop());
    }
    // 8. The live page and /observability.
    const live = liveOf(o.live, {
      registry,
      service,
      token,
      alerting,
      health,
      tracing,
      audit: audit.logger,
      logger: requestLog?.logger,
    });
    undo.push(() => live?.close());
    const traces =
      tracing?.traces === undefined || o.live === false
        ? undefined
        : tracesHandler(
            tracing.traces,
            resolveEndpointAccess(ctx, { token }, 'VIGIL_DASHBOARD_TOKEN'),
          );

    if (alerting !== undefined) endpoints.push(fw.alertsApi(alerting));
    if (live !== undefined) endpoints.push(fw.live(live));
    const healthMw = health === undefined ? undefined : fw.health(health);
    if (alerting !== undefined) rawEndpoints.push((req, res) => alerting.api.handle(req, res));
    if (live !== undefined) rawEndpoints.push((req, res) => live.handle(req, res));

    // The operational endpoints answer their own paths only; other requests skip them, unless the live
    // page was moved off its default paths.
    const movedLive =
      o.live !== false &&
      o.live !== undefined &&
      (o.live.basePath !== undefined || o.live.overviewPath !== undefined);
    const mayBeOperational = movedLive
      ? () => true
      : (url: string | undefined) => OPERATIONAL_PATH_PATTERN.test(pathOfUrl(url));

    const operationalHandlers: RawHandler[] = [
      ...(health === undefined ? [] : [rawOf(expressHealth(health))]),
      ...rawEndpoints,
      ...(traces === undefined ? [] : [traces]),
    ];
    const pieces: Pieces = {
      health: operational === undefined ? healthMw : undefined,
      before: [tracingMw, requestLog, metricsMw].filter((m) => m !== undefined),
      operational: operational === undefined ? endpoints : [],
      after: rateLimit === undefined ? [] : [rateLimit],
      mayBeOperational,
      traces: operational === undefined ? traces : undefined,
    };

    let server: OperationalServer | undefined;
    const ready =
      operational === undefined
        ? Promise.resolve()
        : listenOperational(
            {
              matches: () => true,
              handle: (req, res) => runRaw(operationalHandlers, req, res),
            },
            operational.port,
            operational.host,
          ).then((s) => {
            server = s;
          });
    // A failure to listen (the port taken) is said once as a process warning, and `ready` rejects
    // with it; it must not become an unhandled rejection when `ready` is never read.
    ready.catch((err: unknown) => {
      emitVigilWarning(
        PACKAGE,
        `the operational endpoints could not listen on ${operational?.host}:${operational?.port}: ${describeValue(err)}`,
      );
    });

    let closing: Promise<void> | undefined;
    const handle: Omit<Vigil, 'framework'> = {
      registry,
      tracing,
      health,
      alerting,
      audit: audit.logger,
      business,
      rateLimit,
      live,
      logger: requestLog?.logger,
      get operationalUrl() {
        return server?.url;
      },
      ready,
      attach(s) {
        return health === undefined ? s : health.attach(s);
      },
      shutdown() {
        return health === undefined ? Promise.resolve() : health.shutdown();
      },
      close() {
        closing ??= (async () => {
          live?.close();
          if (!givenHealth) health?.close();
          if (!givenAlerting) await alerting?.stop();
          await ready.catch(() => undefined);
          await server?.close();
          if (!givenLimiter) await rateLimit?.close();
          if (audit.owned) await audit.logger?.close();
          if (ownTracing) await tracing?.shutdown();
        })();
        return closing;
      },
    };
    return { pieces, operationalHandlers, handle };
  }
}

/** An Express-style operational endpoint as a raw handler: true unless it called next(). */
export function rawOf(mw: ExpressMiddleware): RawHandler {
  return (req, res) =>
    new Promise<boolean>((resolve, reject) => {
      // Answered once the request's record ends: its response finished, or its connection closed
      // first. A record that ended already (the client left between two handlers) needs no answer.
      if (!beginRequest(req, res).subscribe({ requestEnded: () => resolve(true) })) {
        resolve(true);
        return;
      }
      mw(req, res, (err?: unknown) =>
        err === undefined
          ? resolve(false)
          : reject(err instanceof Error ? err : new Error(describeValue(err))),
      );
    });
}

/** Runs raw handlers in order until one answers; 404 when none does. */
export async function runRaw(
  handlers: readonly RawHandler[],
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  for (const h of handlers) {
    if (await h(req, res)) return;
  }
  res.statusCode = 404;
  res.end();
}

/** Wraps `app.listen` so the server it makes is drained on SIGTERM (health.attach()). */
export function drainOnListen(
  app: { listen: (...args: never[]) => unknown },
  attach: (server: Server) => unknown,
): void {
  const listen = app.listen;
  app.listen = function vigilListen(this: unknown, ...args: never[]) {
    const server = listen.apply(this, args) as Server;
    attach(server);
    return server;
  };
}

export { VIGIL_ERROR_CODES };
