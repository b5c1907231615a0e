// Defaults and resolveOptions(): every option checked once, at the factory call, into a frozen config.
import type { Registry } from 'prom-client';
import {
  type MinimalLogger,
  type OptionContext,
  LABEL_NAME_PATTERN,
  prefixOption,
  DEFAULT_BYTES_BUCKETS,
  DEFAULT_SECONDS_BUCKETS,
  booleanOption,
  bucketsOption,
  integerOption,
  loggerOption,
  optionError,
  readOptions,
  registryOption,
  stringOption,
  optionNames,
} from '@vigil/core';
import type { MetricsOptions, NamingScheme, RequestInfo, RouteMatcher } from './types';

/** OpenTelemetry's recommended buckets for http.server.request.duration, in seconds. */
export const DEFAULT_DURATION_BUCKETS: readonly number[] = DEFAULT_SECONDS_BUCKETS;

/** 64 B to 16 MiB by powers of 4. */
export const DEFAULT_SIZE_BUCKETS: readonly number[] = DEFAULT_BYTES_BUCKETS;

export const DEFAULT_MAX_SERIES = 2000;

const KNOWN_OPTIONS = optionNames<MetricsOptions>({
  registry: true,
  prefix: true,
  namingScheme: true,
  durationBuckets: true,
  sizeBuckets: true,
  customLabels: true,
  includeRoutes: true,
  excludeRoutes: true,
  recordOperationalEndpoints: true,
  collectDefaultMetrics: true,
  maxSeries: true,
  streamingContentTypes: true,
  exemplars: true,
  logger: true,
});

/** The names a naming scheme gives to metrics and labels. */
export interface SchemeNames {
  requests: string | undefined;
  duration: string;
  requestSize: string;
  responseSize: string;
  inFlight: string;
  method: string;
  route: string;
  status: string;
}

/**
 * The names each naming scheme gives, without the prefix: the one table the middleware records under
 * and the summary reads.
 */
export const SCHEMES: Readonly<Record<NamingScheme, Readonly<SchemeNames>>> = {
  prometheus: {
    requests: 'http_requests_total',
    duration: 'http_request_duration_seconds',
    requestSize: 'http_request_size_bytes',
    responseSize: 'http_response_size_bytes',
    inFlight: 'http_requests_in_flight',
    method: 'method',
    route: 'route',
    status: 'status_code',
  },
  opentelemetry: {
    // The OpenTelemetry conventions have no request counter: the duration histogram's _count is it.
    requests: undefined,
    duration: 'http_server_request_duration_seconds',
    requestSize: 'http_server_request_body_size_bytes',
    responseSize: 'http_server_response_body_size_bytes',
    inFlight: 'http_server_active_requests',
    method: 'http_request_method',
    route: 'http_route',
    status: 'http_response_status_code',
  },
};

/** Label names the middleware sets itself under either scheme, and the histograms' `le`. */
const RESERVED_LABELS = new Set([
  'le',
  ...Object.values(SCHEMES).flatMap((n) => [n.method, n.route, n.status]),
]);

/** Options after validation and defaults. */
export interface ResolvedOptions {
  readonly registry: Registry;
  readonly prefix: string;
  readonly names: SchemeNames;
  readonly durationBuckets: readonly number[];
  readonly sizeBuckets: readonly number[];
  readonly customLabelNames: readonly string[];
  readonly customLabelFns: readonly ((info: RequestInfo) => string)[];
  readonly routeFilter: ((route: string) => boolean) | undefined;
  readonly recordOperationalEndpoints: boolean;
  readonly collectDefaultMetrics: boolean;
  readonly maxSeries: number;
  readonly streamingContentTypes: readonly string[];
  readonly exemplars: boolean;
  readonly logger: MinimalLogger | undefined;
}

/** The `registry` option: a registry (duck-typed), or prom-client's global one when left out. */
export function resolveRegistry(ctx: OptionContext, value: unknown): Registry {
  // prom-client is a peer dependency of this package, so the global registry is always there.
  return registryOption(ctx, value, { allowFalse: false }) as unknown as Registry;
}

function matcherList(
  ctx: OptionContext,
  name: string,
  value: unknown,
): ((route: string) => boolean)[] | undefined {
  if (value === undefined) return undefined;
  const ok =
    Array.isArray(value) &&
    value.every((m) => typeof m === 'string' || m instanceof RegExp || typeof m === 'function');
  if (!ok)
    throw optionError(
      ctx,
      'INVALID_OPTION',
      name,
      'an array of route templates, RegExps or predicates',
      value,
    );
  return (value as RouteMatcher[]).map((m) => {
    if (typeof m === 'string') return (route: string) => route === m;
    if (m instanceof RegExp) {
      // A g or y flag would make test() depend on the lastIndex left by the previous call.
      const re = new RegExp(m.source, m.flags.replace(/[gy]/g, ''));
      return (route: string) => re.test(route);
    }
    return m;
  });
}

/** The `namingScheme` option: `prometheus` (default) or `opentelemetry`. */
export function namingSchemeOption(ctx: OptionContext, value: unknown): NamingScheme {
  return stringOption(
    ctx,
    'namingScheme',
    value,
    'prometheus',
    /^(prometheus|opentelemetry)$/,
    '"prometheus" or "opentelemetry"',
  ) as NamingScheme;
}

export function resolveOptions(
  ctx: OptionContext,
  raw: unknown,
  argCount: number,
): ResolvedOptions {
  const o = readOptions<MetricsOptions>(ctx, raw, argCount, KNOWN_OPTIONS);
  const registry = resolveRegistry(ctx, o.registry);
  const prefix = prefixOption(
    ctx,
    o.prefix,
    'Use letters, digits, underscores and colons, e.g. "myapp_".',
  );
  const scheme = namingSchemeOption(ctx, o.namingScheme);

  const customLabelNames: string[] = [];
  const customLabelFns: ((info: RequestInfo) => string)[] = [];
  if (o.customLabels !== undefined) {
    const cl = o.customLabels as unknown;
    if (cl === null || typeof cl !== 'object' || Array.isArray(cl)) {
      throw optionError(
        ctx,
        'INVALID_OPTION',
        'customLabels',
        'an object mapping label names to functions',
        cl,
      );
    }
    for (const [name, fn] of Object.entries(cl as Record<string, unknown>)) {
      if (!LABEL_NAME_PATTERN.test(name) || name.startsWith('__') || RESERVED_LABELS.has(name)) {
        throw optionError(
          ctx,
          'INVALID_LABEL',
          `customLabels.${name}`,
          'a Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*), not starting with "__" and not one Vigil already sets',
          name,
        );
      }
      if (typeof fn !== 'function')
        throw optionError(
          ctx,
          'INVALID_OPTION',
          `customLabels.${name}`,
          'a function (info) => string',
          fn,
        );
      customLabelNames.push(name);
      customLabelFns.push(fn as (info: RequestInfo) => string);
    }
  }

  const include = matcherList(ctx, 'includeRoutes', o.includeRoutes);
  const exclude = matcherList(ctx, 'excludeRoutes', o.excludeRoutes);
  const routeFilter =
    include || exclude
      ? (route: string) =>
          (!include || include.some((m) => m(route))) && !(exclude && exclude.some((m) => m(route)))
      : undefined;

  const streaming = o.streamingContentTypes as unknown;
  if (
    streaming !== undefined &&
    !(Array.isArray(streaming) && streaming.every((s) => typeof s === 'string'))
  ) {
    throw optionError(
      ctx,
      'INVALID_OPTION',
      'streamingContentTypes',
      'an array of content types',
      streaming,
    );
  }
  const logger = loggerOption(ctx, o.logger);

  return Object.freeze({
    registry,
    prefix,
    names: SCHEMES[scheme],
    durationBuckets: bucketsOption(
      ctx,
      'durationBuckets',
      o.durationBuckets,
      DEFAULT_DURATION_BUCKETS,
    ),
    sizeBuckets: bucketsOption(ctx, 'sizeBuckets', o.sizeBuckets, DEFAULT_SIZE_BUCKETS),
    customLabelNames: Object.freeze(customLabelNames),
    customLabelFns: Object.freeze(customLabelFns),
    routeFilter,
    recordOperationalEndpoints: booleanOption(
      ctx,
      'recordOperationalEndpoints',
      o.recordOperationalEndpoints,
      false,
    ),
    collectDefaultMetrics: booleanOption(
      ctx,
      'collectDefaultMetrics',
      o.collectDefaultMetrics,
      true,
    ),
    maxSeries: integerOption(ctx, 'maxSeries', o.maxSeries, DEFAULT_MAX_SERIES, 1, 1_000_000),
    streamingContentTypes: Object.freeze(
      streaming?.map((s) => s.toLowerCase()) ?? ['text/event-stream'],
    ),
    exemplars: booleanOption(ctx, 'exemplars', o.exemplars, true),
    logger,
  });
}
