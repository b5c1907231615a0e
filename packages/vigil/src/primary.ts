// vigil.primary(): in a Node cluster's primary, one operational server over the workers' aggregated
// metrics, with the probes, the alerts (evaluated here once, not in every worker) and the live page.
import cluster from 'node:cluster';
import { AggregatorRegistry, Registry } from 'prom-client';
import {
  codedError,
  listenOperational,
  looksLikeFrameworkCall,
  notCalledError,
  optionNames,
  pathOfUrl,
  readOptions,
  integerOption,
  stringOption,
} from '@vigil/core';
import {
  type ClusterAggregator,
  createClusterAggregator,
  expressMetricsHandler,
  expressMetricsSummaryHandler,
  renderJson,
} from '@vigil/metrics';
import { expressHealth } from '@vigil/health';
import { PACKAGE, VIGIL_ERROR_CODES, context } from './errors';
import {
  type RawHandler,
  alertingOf,
  auditOf,
  capabilityOption,
  envValue,
  healthOf,
  liveOf,
  rawOf,
  resolveOperational,
  resolveToken,
  runRaw,
} from './setup';
import type { VigilPrimary, VigilPrimaryOptions } from './types';

const KNOWN = optionNames<VigilPrimaryOptions>({
  port: true,
  host: true,
  service: true,
  token: true,
  timeoutMs: true,
  health: true,
  alerts: true,
  live: true,
  audit: true,
});

type MetricJson = Awaited<ReturnType<Registry['getMetricsAsJSON']>>;

/**
 * The primary's registry: its own metrics (the alert engine's) and the workers' aggregated ones, as
 * one registry the alerts, the live page and `/metrics` read.
 */
class ClusterRegistry extends Registry {
  constructor(private readonly aggregator: ClusterAggregator) {
    super();
  }

  override async getMetricsAsJSON(): Promise<MetricJson> {
    const [own, workers] = await Promise.all([
      super.getMetricsAsJSON(),
      this.aggregator.getMetricsAsJSON(),
    ]);
    return AggregatorRegistry.aggregate([own, workers as unknown as MetricJson]).getMetricsAsJSON();
  }

  override async metrics(): Promise<string> {
    return renderJson((await this.getMetricsAsJSON()) as never, 'prometheus');
  }
}

const SUMMARY = /^\/metrics\/summary\/?$/i;

/**
 * `/metrics/summary` over the cluster: the summary reads metrics one by one and synchronously, so it
 * is computed over a snapshot of the aggregate taken for the request.
 */
function summaryOf(registry: Registry, token: string | undefined): RawHandler {
  return async (req, res) => {
    if (!SUMMARY.test(pathOfUrl(req.url))) return false;
    const snapshot = AggregatorRegistry.aggregate([await registry.getMetricsAsJSON()]);
    const handler = expressMetricsSummaryHandler({
      registry: snapshot as Registry,
      path: pathOfUrl(req.url),
      ...(token === undefined ? {} : { token }),
    });
    return rawOf(handler)(req, res);
  };
}

/**
 * Starts the primary's operational server: `/metrics` (every worker's metrics, aggregated),
 * `/metrics/summary`, `/health/*`, `/alerts*`, `/observability` and `/_vigil`. Workers call vigil(app)
 * as usual; their alerts stay off unless configured.
 * @throws VigilError `ERR_VIGIL_NOT_PRIMARY` outside a cluster primary, `ERR_VIGIL_*` for options.
 */
export async function vigilPrimary(options?: VigilPrimaryOptions): Promise<VigilPrimary> {
  const ctx = context('vigil.primary');
  if (looksLikeFrameworkCall(options, arguments.length)) throw notCalledError(ctx, options);
  const o = readOptions<VigilPrimaryOptions>(ctx, options, arguments.length, KNOWN);
  for (const name of ['health', 'alerts', 'live', 'audit'] as const) {
    capabilityOption(ctx, name, o[name]);
  }
  if (!cluster.isPrimary) {
    throw codedError(
      { pkg: PACKAGE },
      VIGIL_ERROR_CODES.NOT_PRIMARY,
      'vigil.primary() was called in a cluster worker.',
      'Call it in the primary (`if (cluster.isPrimary)`), and vigil(app) in the workers.',
    );
  }
  const service = stringOption(ctx, 'service', o.service, envValue('OTEL_SERVICE_NAME') ?? 'app');
  const token = resolveToken(ctx, o.token);
  const listen = resolveOperational(
    ctx,
    {
      ...(o.port === undefined ? {} : { port: o.port }),
      ...(o.host === undefined ? {} : { host: o.host }),
    },
    9464,
  )!;
  const timeoutMs = integerOption(ctx, 'timeoutMs', o.timeoutMs, 2000, 1, 60_000);
  const aggregator = createClusterAggregator({ timeoutMs });
  const registry = new ClusterRegistry(aggregator);
  const audit = auditOf(o.audit, registry, service);
  // The primary serves no requests: its probes watch its own event loop, and write no metrics that
  // would be summed with the workers'.
  const health = healthOf(o.health, { registry: false, service, token });
  const alerting =
    o.alerts === false
      ? undefined
      : alertingOf(o.alerts || undefined, registry, service, token, audit.logger);
  const live = liveOf(o.live, {
    registry,
    service,
    token,
    alerting,
    health,
    tracing: undefined,
    audit: audit.logger,
  });
  const scrape = { registry, path: '/metrics', ...(token === undefined ? {} : { token }) };
  const handlers: RawHandler[] = [
    ...(health === undefined ? [] : [rawOf(expressHealth(health))]),
    rawOf(expressMetricsHandler(scrape)),
    summaryOf(registry, token),
    ...(alerting === undefined
      ? []
      : ([(req, res) => alerting.api.handle(req, res)] as RawHandler[])),
    ...(live === undefined ? [] : ([(req, res) => live.handle(req, res)] as RawHandler[])),
  ];
  let server;
  try {
    server = await listenOperational(
      { matches: () => true, handle: (req, res) => runRaw(handlers, req, res) },
      listen.port,
      listen.host,
    );
  } catch (err) {
    aggregator.close();
    live?.close();
    health?.close();
    await audit.logger?.close();
    throw err;
  }
  alerting?.start();
  const s = server;
  let closing: Promise<void> | undefined;
  return {
    url: s.url,
    port: s.port,
    registry,
    health,
    alerting,
    audit: audit.logger,
    live,
    close() {
      closing ??= (async () => {
        live?.close();
        health?.close();
        await alerting?.stop();
        aggregator.close();
        await s.close();
        if (audit.owned) await audit.logger?.close();
      })();
      return closing;
    },
  };
}
