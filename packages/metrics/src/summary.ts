// /metrics/summary: a JSON digest of the HTTP metrics (totals, success rate, top routes, uptime),
// plus sections other packages contribute (business totals), served for Express and Koa.
import {
  type MinimalLogger,
  type OptionContext,
  type ProblemReporter,
  prefixOption,
  createProblemReporter,
  integerOption,
  looksLikeFrameworkCall,
  loggerOption,
  notCalledError,
  optionError,
  readOptions,
  optionNames,
} from '@vigil/core';
import type { Registry } from 'prom-client';
import { context } from './errors';
import type { ExpressMiddleware } from './express';
import type { KoaMiddleware } from './koa';
import { SCHEMES, namingSchemeOption, resolveRegistry } from './options';
import type { NamingScheme } from './types';
import {
  type EndpointAccess,
  type ScrapeResponder,
  operationalResponder,
  resolveAccess,
} from './handler';

/** Options of the summary handlers. */
export interface MetricsSummaryOptions {
  /** Registry to read. Default: prom-client's global registry. */
  registry?: Registry;
  /** The `prefix` the metrics middleware was given. Default: `''`. */
  prefix?: string;
  /** The `namingScheme` the metrics middleware was given. Default: `'prometheus'`. */
  namingScheme?: NamingScheme;
  /** How many routes `topRoutes` lists, busiest first (0 to 100). Default: `10`. */
  topRoutes?: number;
  /**
   * Extra top-level sections, each computed on every request by its function (which may return a
   * promise): `{ business: () => catalogue.totals() }`. A section that throws shows
   * `{ error: message }`. Default: none.
   */
  sections?: Record<string, () => unknown>;
  /** Bearer token required, as for the scrape handler. Default: `VIGIL_METRICS_TOKEN`, else none. */
  token?: string;
  /** Answer only this path and pass other requests on. Default: answer every request it receives. */
  path?: string;
  /** Logger for sections that fail (pino or anything with `warn`). Default: process warnings. */
  logger?: MinimalLogger;
}

/** One route in `topRoutes`. */
export interface RouteSummary {
  method: string;
  route: string;
  requests: number;
  /** Responses with a 5xx status. */
  errors: number;
  /** Median duration in seconds, interpolated from the duration histogram's buckets. */
  p50?: number;
  /** 95th percentile duration in seconds, likewise. */
  p95?: number;
}

/** The JSON body of /metrics/summary. */
export interface MetricsSummary {
  /** When the summary was computed (ISO 8601). */
  timestamp: string;
  /** Seconds since the process started. */
  uptimeSeconds: number;
  requests: {
    /** Every recorded request (operational endpoints excluded unless recorded). */
    total: number;
    /** Responses with a 5xx status. */
    errors: number;
    /** Responses with a 4xx status. */
    clientErrors: number;
    /** Requests the client abandoned before the response finished. */
    aborted: number;
    /** `1 - errors / total`, or null before the first request. */
    successRate: number | null;
  };
  topRoutes: RouteSummary[];
  /** The `sections` given, by name. */
  [section: string]: unknown;
}

const KNOWN = optionNames<MetricsSummaryOptions>({
  registry: true,
  prefix: true,
  namingScheme: true,
  topRoutes: true,
  sections: true,
  token: true,
  path: true,
  logger: true,
});
const BUILT_IN = new Set(['timestamp', 'uptimeSeconds', 'requests', 'topRoutes']);

interface Names {
  /** The counter, or the duration histogram's `_count` series (OpenTelemetry scheme). */
  counter: string;
  countSample: string | undefined;
  duration: string;
  method: string;
  route: string;
  status: string;
}

/** The series the summary reads: the middleware's own names (`SCHEMES`) under the given prefix. */
function namesFor(scheme: NamingScheme, prefix: string): Names {
  const { requests, duration, method, route, status } = SCHEMES[scheme];
  const histogram = prefix + duration;
  // Without a request counter (OpenTelemetry scheme), the duration histogram's _count counts requests.
  const counter = requests === undefined ? histogram : prefix + requests;
  const countSample = requests === undefined ? `${histogram}_count` : undefined;
  return { counter, countSample, duration: histogram, method, route, status };
}

interface SummaryConfig extends EndpointAccess {
  registry: Registry;
  names: Names;
  topRoutes: number;
  sections: [string, () => unknown][];
  problems: ProblemReporter;
}

function resolveSummaryOptions(ctx: OptionContext, raw: unknown): SummaryConfig {
  const o = readOptions<MetricsSummaryOptions>(ctx, raw, 1, KNOWN);
  const prefix = prefixOption(ctx, o.prefix, 'Give the prefix the metrics middleware was given.');
  const scheme = namingSchemeOption(ctx, o.namingScheme);
  const sections: [string, () => unknown][] = [];
  if (o.sections !== undefined) {
    const s = o.sections as unknown;
    if (s === null || typeof s !== 'object' || Array.isArray(s)) {
      throw optionError(
        ctx,
        'INVALID_OPTION',
        'sections',
        'an object mapping section names to functions',
        s,
      );
    }
    for (const [name, fn] of Object.entries(s as Record<string, unknown>)) {
      if (BUILT_IN.has(name) || name === '') {
        throw optionError(
          ctx,
          'INVALID_OPTION',
          `sections.${name}`,
          `a section name other than ${[...BUILT_IN].join(', ')}`,
          name,
          'Those keys are the summary itself; name the section after what it holds, e.g. "business".',
        );
      }
      if (typeof fn !== 'function') {
        throw optionError(ctx, 'INVALID_OPTION', `sections.${name}`, 'a function', fn);
      }
      sections.push([name, fn as () => unknown]);
    }
  }
  return {
    registry: resolveRegistry(ctx, o.registry),
    names: namesFor(scheme, prefix),
    topRoutes: integerOption(ctx, 'topRoutes', o.topRoutes, 10, 0, 100),
    sections,
    ...resolveAccess(ctx, o),
    problems: createProblemReporter('@vigil/metrics', loggerOption(ctx, o.logger)),
  };
}

interface JsonValue {
  labels?: Record<string, string | number>;
  value: number;
  metricName?: string;
}

interface RouteTotals {
  method: string;
  route: string;
  requests: number;
  errors: number;
}

async function valuesOf(registry: Registry, name: string): Promise<JsonValue[]> {
  const metric = registry.getSingleMetric(name);
  if (metric === undefined) return [];
  const json = (await metric.get()) as { values?: JsonValue[] };
  return json.values ?? [];
}

/**
 * The q-quantile of a histogram from cumulative bucket counts, as PromQL's histogram_quantile()
 * computes it: linear interpolation inside the bucket; the highest finite bound when it falls in +Inf.
 */
function quantile(q: number, buckets: readonly [number, number][]): number | undefined {
  const total = buckets.at(-1)?.[1] ?? 0;
  if (total === 0) return undefined;
  const rank = q * total;
  let lower = 0;
  let below = 0;
  for (const [le, count] of buckets) {
    if (count >= rank) {
      if (le === Infinity) return lower;
      const inBucket = count - below;
      const value = inBucket === 0 ? le : lower + ((le - lower) * (rank - below)) / inBucket;
      return Math.round(value * 1e6) / 1e6;
    }
    lower = le;
    below = count;
  }
  return lower;
}

/** Computes the summary from the registry and the sections. */
async function summarize(config: SummaryConfig): Promise<MetricsSummary> {
  const { registry, names } = config;
  const routes = new Map<string, RouteTotals>();
  let total = 0;
  let errors = 0;
  let clientErrors = 0;
  let aborted = 0;
  for (const v of await valuesOf(registry, names.counter)) {
    if (names.countSample !== undefined && v.metricName !== names.countSample) continue;
    const labels = v.labels ?? {};
    const method = String(labels[names.method] ?? '');
    const route = String(labels[names.route] ?? '');
    const status = String(labels[names.status] ?? '');
    const n = v.value;
    total += n;
    const isError = status.startsWith('5');
    if (isError) errors += n;
    else if (status.startsWith('4')) clientErrors += n;
    else if (status === 'aborted') aborted += n;
    const key = `${method} ${route}`;
    let r = routes.get(key);
    if (r === undefined) routes.set(key, (r = { method, route, requests: 0, errors: 0 }));
    r.requests += n;
    if (isError) r.errors += n;
  }
  const top = [...routes.values()]
    .filter((r) => r.requests > 0)
    .sort((a, b) => b.requests - a.requests || (a.route < b.route ? -1 : a.route > b.route ? 1 : 0))
    .slice(0, config.topRoutes);

  // Latency of the listed routes: their buckets summed over status codes.
  const wanted = new Map<string, Map<number, number>>(
    top.map((r) => [`${r.method} ${r.route}`, new Map<number, number>()]),
  );
  if (wanted.size > 0) {
    const bucketName = `${names.duration}_bucket`;
    for (const v of await valuesOf(registry, names.duration)) {
      if (v.metricName !== bucketName) continue;
      const labels = v.labels ?? {};
      const perLe = wanted.get(`${String(labels[names.method])} ${String(labels[names.route])}`);
      if (perLe === undefined) continue;
      const le = labels.le === '+Inf' ? Infinity : Number(labels.le);
      perLe.set(le, (perLe.get(le) ?? 0) + v.value);
    }
  }
  const topRoutes: RouteSummary[] = top.map((r) => {
    const out: RouteSummary = { ...r };
    const perLe = wanted.get(`${r.method} ${r.route}`);
    const buckets = [...(perLe ?? [])].sort((a, b) => a[0] - b[0]);
    const p50 = quantile(0.5, buckets);
    const p95 = quantile(0.95, buckets);
    if (p50 !== undefined) out.p50 = p50;
    if (p95 !== undefined) out.p95 = p95;
    return out;
  });

  const summary: MetricsSummary = {
    timestamp: new Date().toISOString(),
    uptimeSeconds: Math.round(process.uptime() * 1000) / 1000,
    requests: {
      total,
      errors,
      clientErrors,
      aborted,
      successRate: total === 0 ? null : 1 - errors / total,
    },
    topRoutes,
  };
  for (const [name, fn] of config.sections) {
    try {
      summary[name] = await fn();
    } catch (err) {
      config.problems.report(`summary section "${name}" failed`, err);
      summary[name] = { error: err instanceof Error ? err.message : String(err) };
    }
  }
  return summary;
}

function createSummaryResponder(ctx: OptionContext, raw: unknown): ScrapeResponder {
  const config = resolveSummaryOptions(ctx, raw);
  return operationalResponder(config, async () => {
    const contentType = 'application/json; charset=utf-8';
    try {
      return { status: 200, contentType, body: JSON.stringify(await summarize(config)) };
    } catch (err) {
      const error = err instanceof Error ? err.message : String(err);
      return { status: 500, contentType, body: JSON.stringify({ error }) };
    }
  });
}

/**
 * `GET /metrics/summary` for Express: `app.get('/metrics/summary', expressMetricsSummaryHandler())`.
 * JSON totals, success rate, top routes and uptime from the HTTP metrics in the registry, plus any
 * `sections` (e.g. `{ business: () => catalogue.totals() }`). Not recorded as app traffic.
 * @throws VigilError with an `ERR_VIGIL_METRICS_*` code on invalid options.
 */
export function expressMetricsSummaryHandler(options?: MetricsSummaryOptions): ExpressMiddleware {
  const ctx = context('expressMetricsSummaryHandler');
  if (looksLikeFrameworkCall(options, arguments.length)) throw notCalledError(ctx, options);
  const respond = createSummaryResponder(ctx, options);
  return function vigilMetricsSummary(req, res, next) {
    if (!respond.matches(req)) return next();
    respond.handle(req, res).catch(next);
  };
}

/**
 * `GET /metrics/summary` for Koa: `router.get('/metrics/summary', koaMetricsSummaryHandler())`, or
 * `app.use(koaMetricsSummaryHandler({ path: '/metrics/summary' }))` without a router.
 * @throws VigilError with an `ERR_VIGIL_METRICS_*` code on invalid options.
 */
export function koaMetricsSummaryHandler(options?: MetricsSummaryOptions): KoaMiddleware {
  const ctx = context('koaMetricsSummaryHandler');
  if (looksLikeFrameworkCall(options, arguments.length)) throw notCalledError(ctx, options);
  const respond = createSummaryResponder(ctx, options);
  return async function vigilMetricsSummary(koaCtx, next) {
    if (!respond.matches(koaCtx.req)) {
      await next();
      return;
    }
    // The handler writes the response itself; tell Koa not to touch it.
    koaCtx.respond = false;
    await respond.handle(koaCtx.req, koaCtx.res);
  };
}
