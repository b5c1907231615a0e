// The alert builders over Vigil's own metrics, and raw PromQL rules for anything else.
import {
  DEFAULT_SECONDS_BUCKETS,
  LABEL_NAME_PATTERN,
  METRIC_NAME_PATTERN,
  booleanOption,
  bucketsOption,
  optionError,
  readOptions,
} from '@vigil/core';
import { context } from './errors';
import {
  type BuildContext,
  type BuiltRules,
  type ResolvedCommon,
  type Signal,
  type SignalPhase,
  alertingRule,
  defineBuilt,
  durationOption,
  labelsOption,
  nameOption,
  neverFires,
  numberOption,
  readBuilderOptions,
  resolveCommon,
  severityOption,
  stringListOption,
  urlOption,
  thresholdTests,
  COMMON_KEYS,
} from './definition';
import { type Decimal, decimalOf, formatDecimal, mul, toNumber } from './decimal';
import { formatDuration, MINUTE } from './duration';
import { byClause, camelCase, matchAny, quote, selector } from './selectors';
import { counterValues, gaugeValues, inputSeries } from './series';
import { checkRuleExpression } from './expression-check';
import type {
  AlertDefinition,
  AuditFailureAlertOptions,
  BusinessFailureAlertOptions,
  ErrorRatioAlertOptions,
  EventLoopLagAlertOptions,
  InFlightAlertOptions,
  LatencyAlertOptions,
  MemoryAlertOptions,
  PromqlAlertOptions,
  PromtoolInputSeries,
  PromtoolTestGroup,
  RateLimitAlertOptions,
  AlertingRuleData,
  RecordingRuleData,
  RecordingRuleDefinition,
  RecordingRuleOptions,
  TargetDownAlertOptions,
} from './types';

const TEST_ROUTE = '/api/test';
const TEST_METHOD = 'GET';
const LABEL_VALUE_FOR_TESTS = 'example';

const fraction = (n: number): boolean => n > 0 && n < 1;
const positive = (n: number): boolean => n > 0;

function windowOption(factory: string, value: unknown): number {
  return durationOption(factory, 'window', value, '5m', 2 * MINUTE) as number;
}

function byOption(factory: string, value: unknown): readonly string[] {
  if (value === undefined) return [];
  if (
    !Array.isArray(value) ||
    !value.every(
      (v) =>
        typeof v === 'string' && LABEL_NAME_PATTERN.test(v) && !v.startsWith('__') && v !== 'le',
    )
  ) {
    throw optionError(
      context(factory),
      'INVALID_OPTION',
      'by',
      'an array of label names (not "le")',
      value,
    );
  }
  return Object.freeze([...new Set(value as string[])].sort());
}

function withSelector(ctx: BuildContext, matchers: readonly string[]): string[] {
  return [...ctx.selector, ...matchers];
}

/** Labels of test input series: the rule set's selector, the signal's own, and a value for each `by` label. */
function seriesLabels(
  ctx: BuildContext,
  by: readonly string[],
  own: Readonly<Record<string, string>>,
): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const b of by) labels[b] = LABEL_VALUE_FOR_TESTS;
  return { ...labels, ...ctx.selectorLabels, ...own };
}

function pick(
  labels: Readonly<Record<string, string>>,
  names: readonly string[],
): Record<string, string> {
  return Object.fromEntries(names.filter((n) => n in labels).map((n) => [n, labels[n] as string]));
}

/**
 * Events per minute of a ratio test: a power of ten large enough that the bad events at 0.9 and 1.1
 * times the threshold are whole numbers (so the ratio in the test is exactly what it says).
 */
function ratioTraffic(threshold: Decimal): number {
  const scale = Math.max(
    mul(threshold, decimalOf('1.1')).scale,
    mul(threshold, decimalOf('0.9')).scale,
    2,
  );
  return 10 ** scale;
}

function badPerMinute(threshold: Decimal, level: number, total: number): number {
  if (level === 0) return 0;
  return toNumber(mul(mul(threshold, decimalOf(level)), decimalOf(total)));
}

/** A counter-ratio or counter-rate signal over one counter with a label that tells bad events apart. */
function counterSignal(
  metric: string,
  labels: Readonly<Record<string, string>>,
  badLabels: Readonly<Record<string, string>>,
  goodLabels: Readonly<Record<string, string>>,
  measure: 'ratio' | 'rate',
  threshold: Decimal,
  windowMinutes: number,
  alertLabels: Readonly<Record<string, string>>,
): Signal {
  const total = measure === 'ratio' ? ratioTraffic(threshold) : 0;
  return {
    windowMinutes,
    labels: alertLabels,
    series: (phases: readonly SignalPhase[]): PromtoolInputSeries[] => {
      const bad = phases.map((p) =>
        p.level === 'restart'
          ? { minutes: p.minutes, perMinute: 0, reset: true }
          : {
              minutes: p.minutes,
              // rate: events a second times 60; ratio: the fraction of the minute's events.
              perMinute:
                measure === 'rate'
                  ? toNumber(mul(mul(threshold, decimalOf(p.level)), decimalOf(60)))
                  : badPerMinute(threshold, p.level, total),
            },
      );
      const good = phases.map((p, i) =>
        p.level === 'restart'
          ? { minutes: p.minutes, perMinute: 0, reset: true }
          : {
              minutes: p.minutes,
              perMinute: measure === 'rate' ? 100 : total - (bad[i]?.perMinute ?? 0),
            },
      );
      return [
        inputSeries(metric, { ...labels, ...goodLabels }, counterValues(good)),
        inputSeries(metric, { ...labels, ...badLabels }, counterValues(bad)),
      ];
    },
  };
}

function gaugeSignal(
  metric: string,
  labels: Readonly<Record<string, string>>,
  threshold: number,
  alertLabels: Readonly<Record<string, string>>,
  healthy: number,
): Signal {
  return {
    windowMinutes: 0,
    labels: alertLabels,
    series: (phases) => [
      inputSeries(
        metric,
        labels,
        gaugeValues(
          phases.map((p) => ({
            minutes: p.minutes,
            value:
              p.level === 'restart'
                ? 0
                : p.level === 0
                  ? healthy
                  : toNumber(mul(decimalOf(threshold), decimalOf(p.level))),
          })),
        ),
      ),
    ],
  };
}

function built(
  ctx: BuildContext,
  common: ResolvedCommon,
  expr: string,
  signal: Signal,
): BuiltRules {
  checkRuleExpression(expr, ctx.prometheusVersion, `alert "${common.name}"`, ctx.promqlFeatures);
  const rule = alertingRule(ctx, common, expr);
  return { alerts: [rule], records: [], tests: thresholdTests(rule, common, signal), untested: [] };
}

function alertDefinition(
  builder: string,
  common: ResolvedCommon,
  build: (ctx: BuildContext) => BuiltRules,
): AlertDefinition {
  return defineBuilt<AlertDefinition>({ kind: 'alert', builder, name: common.name }, build);
}

function requestMatchers(
  routes: readonly string[] | undefined,
  methods: readonly string[] | undefined,
): string[] {
  return [
    ...(routes === undefined ? [] : [matchAny('route', routes)]),
    ...(methods === undefined ? [] : [matchAny('method', methods)]),
  ];
}

function routesOption(factory: string, value: unknown): readonly string[] | undefined {
  return value === undefined ? undefined : stringListOption(factory, 'routes', value, []);
}

function methodsOption(factory: string, value: unknown): readonly string[] | undefined {
  return value === undefined
    ? undefined
    : stringListOption(factory, 'methods', value, [], /^[A-Z]+$/);
}

/** A status code the `errorStatus` expression matches, for test input. */
function statusFor(factory: string, pattern: string): string {
  let re: RegExp;
  try {
    re = new RegExp(`^(?:${pattern})$`);
  } catch {
    re = /$^/;
  }
  const code = ['500', '503', '502', '504', '429', '400', '404', '499'].find((c) => re.test(c));
  if (code === undefined || re.test('200')) {
    throw optionError(
      context(factory),
      'INVALID_OPTION',
      'errorStatus',
      'a regular expression matching error status codes (and not 200), such as "5.." or "5..|429"',
      pattern,
    );
  }
  return code;
}

/** What the HTTP-request alerts share: their rate window, `by` labels, and the requests they select. */
function requestScope(
  factory: string,
  o: { window?: unknown; by?: unknown; routes?: unknown; methods?: unknown },
) {
  const windowMs = windowOption(factory, o.window);
  return {
    windowMs,
    window: formatDuration(windowMs),
    by: byOption(factory, o.by),
    routes: routesOption(factory, o.routes),
    methods: methodsOption(factory, o.methods),
  };
}

/** The ` ({{ $labels.route }} ...)` a summary ends with when the alert is computed `by` labels. */
function byNote(by: readonly string[]): string {
  return by.length ? ` (${by.map((b) => `{{ $labels.${b} }}`).join(' ')})` : '';
}

/** Error ratio of HTTP requests (`http_requests_total`), by default over every route. */
export function errorRatioAlert(options?: ErrorRatioAlertOptions): AlertDefinition {
  const factory = 'errorRatioAlert';
  const o = readBuilderOptions<ErrorRatioAlertOptions>(factory, options, arguments.length, [
    'threshold',
    'window',
    'errorStatus',
    'by',
    'routes',
    'methods',
  ]);
  const threshold = numberOption(
    factory,
    'threshold',
    o.threshold,
    0.05,
    fraction,
    'a fraction between 0 and 1 (exclusive), such as 0.05',
  );
  const errorStatus = o.errorStatus ?? '5..';
  const errorCode = statusFor(factory, errorStatus);
  const { windowMs, window, by, routes, methods } = requestScope(factory, o);
  const t = decimalOf(threshold);
  const common = resolveCommon(factory, o, {
    name: 'HttpErrorRatioHigh',
    severity: 'critical',
    for: '5m',
    summary: `HTTP error ratio above ${pct(t)}${byNote(by)}`,
    description: `More than ${pct(t)} of HTTP requests answered with a status matching ${errorStatus} over the last ${window}.`,
  });
  return alertDefinition('errorRatio', common, (ctx) => {
    const metric = `${ctx.prefix}http_requests_total`;
    const sel = withSelector(ctx, requestMatchers(routes, methods));
    const rate = (extra: string): string =>
      `sum ${byClause(by)}(rate(${selector(metric, [...sel, extra])}[${window}]))`;
    const expr = `${rate(`status_code=~${quote(errorStatus)}`)}\n/\n${rate('status_code!="aborted"')}\n> ${formatDecimal(t)}`;
    const labels = seriesLabels(ctx, by, {
      method: methods?.[0] ?? TEST_METHOD,
      route: routes?.[0] ?? TEST_ROUTE,
    });
    return built(
      ctx,
      common,
      expr,
      counterSignal(
        metric,
        labels,
        { status_code: errorCode },
        { status_code: '200' },
        'ratio',
        t,
        windowMs / MINUTE,
        pick(labels, by),
      ),
    );
  });
}

function pct(d: Decimal): string {
  return `${formatDecimal(mul(d, decimalOf(100)))}%`;
}

/**
 * Where the mass of a test histogram goes so that histogram_quantile(q) gives about `target`:
 * cumulative counts per bucket bound (the last one +Inf), out of `total`.
 */
export function histogramFor(
  buckets: readonly number[],
  q: number,
  target: number,
  total: number,
): number[] {
  const i = buckets.findIndex((b) => target <= b);
  const lo = i <= 0 ? 0 : (buckets[i - 1] as number);
  const hi = buckets[i] as number;
  const p = (target - lo) / (hi - lo);
  // Below: a fraction `a` at the first bucket, the rest spread in (lo, hi]; above: a fraction `c`
  // past hi and the rest in (lo, hi]. Linear interpolation then lands the quantile on target.
  let below = 0;
  let above = 0;
  if (p <= q && i > 0) below = (q - p) / (1 - p);
  else above = 1 - q / p;
  const atFirst = Math.round(below * total);
  const past = Math.round(above * total);
  const inBucket = total - atFirst - past;
  return [...buckets, Infinity].map((_b, j) => {
    if (j < i) return atFirst;
    if (j === i) return atFirst + inBucket;
    return total;
  });
}

/** A latency quantile of HTTP requests from `http_request_duration_seconds`. */
export function latencyAlert(options?: LatencyAlertOptions): AlertDefinition {
  const factory = 'latencyAlert';
  const o = readBuilderOptions<LatencyAlertOptions>(factory, options, arguments.length, [
    'quantile',
    'threshold',
    'window',
    'buckets',
    'by',
    'routes',
    'methods',
  ]);
  const q = numberOption(
    factory,
    'quantile',
    o.quantile,
    0.99,
    fraction,
    'a quantile between 0 and 1 (exclusive), such as 0.99',
  );
  const threshold = numberOption(
    factory,
    'threshold',
    o.threshold,
    1,
    positive,
    'a positive number of seconds',
  );
  const buckets = bucketsOption(context(factory), 'buckets', o.buckets, DEFAULT_SECONDS_BUCKETS);
  const largest = buckets.at(-1) as number;
  if (threshold * 1.1 >= largest) {
    throw neverFires(
      `latencyAlert(): threshold ${threshold}s is not below the largest finite bucket (${largest}s) by 10%: histogram_quantile() never returns more than ${largest}, so the alert could never fire (and its test could not prove it).`,
      'Lower the threshold, or add larger buckets to the duration histogram ("durationBuckets" of @vigil/metrics) and give the same "buckets" here.',
    );
  }
  if (threshold * 0.9 <= (buckets[0] as number)) {
    throw optionError(
      context(factory),
      'INVALID_OPTION',
      'threshold',
      `seconds above the first bucket (${buckets[0]}s) by 10%, where the histogram can tell latencies apart`,
      threshold,
    );
  }
  const { windowMs, window, by, routes, methods } = requestScope(factory, o);
  const qText = formatDecimal(decimalOf(q));
  const tText = formatDecimal(decimalOf(threshold));
  const common = resolveCommon(factory, o, {
    name: 'HttpLatencyHigh',
    severity: 'warning',
    for: '10m',
    summary: `HTTP p${formatDecimal(mul(decimalOf(q), decimalOf(100)))} latency above ${tText}s${byNote(by)}`,
    description: `The ${qText} quantile of HTTP request durations over the last ${window} is above ${tText}s (estimated from the duration histogram's buckets).`,
  });
  return alertDefinition('latency', common, (ctx) => {
    const metric = `${ctx.prefix}http_request_duration_seconds`;
    const sel = withSelector(ctx, requestMatchers(routes, methods));
    const expr = `histogram_quantile(${qText}, sum by (${[...by, 'le'].join(', ')}) (rate(${selector(`${metric}_bucket`, sel)}[${window}])))\n> ${tText}`;
    const labels = seriesLabels(ctx, by, {
      method: methods?.[0] ?? TEST_METHOD,
      route: routes?.[0] ?? TEST_ROUTE,
      status_code: '200',
    });
    const total = 10000;
    const signal: Signal = {
      windowMinutes: windowMs / MINUTE,
      labels: pick(labels, by),
      series: (phases) => {
        const perPhase = phases.map((p) =>
          p.level === 'restart'
            ? undefined
            : p.level === 0
              ? [...buckets, Infinity].map(() => total)
              : histogramFor(buckets, q, threshold * p.level, total),
        );
        return [...buckets.map(String), '+Inf'].map((le, j) =>
          inputSeries(
            `${metric}_bucket`,
            { ...labels, le },
            counterValues(
              phases.map((p, i) => {
                const counts = perPhase[i];
                return counts === undefined
                  ? { minutes: p.minutes, perMinute: 0, reset: true }
                  : { minutes: p.minutes, perMinute: counts[j] as number };
              }),
            ),
          ),
        );
      },
    };
    return built(ctx, common, expr, signal);
  });
}

/** Requests in flight in one process (`http_requests_in_flight`, summed over methods). */
export function inFlightAlert(options?: InFlightAlertOptions): AlertDefinition {
  const factory = 'inFlightAlert';
  const o = readBuilderOptions<InFlightAlertOptions>(factory, options, arguments.length, [
    'threshold',
  ]);
  const threshold = numberOption(
    factory,
    'threshold',
    o.threshold,
    100,
    positive,
    'a positive number of requests',
  );
  const tText = formatDecimal(decimalOf(threshold));
  const common = resolveCommon(factory, o, {
    name: 'HttpInFlightHigh',
    severity: 'warning',
    for: '5m',
    summary: `More than ${tText} HTTP requests in flight`,
    description: `More than ${tText} HTTP requests have been in flight at once in one process: the service is saturated or requests are stuck.`,
  });
  return alertDefinition('inFlight', common, (ctx) => {
    const metric = `${ctx.prefix}http_requests_in_flight`;
    const expr = `sum without (method) (${selector(metric, ctx.selector)})\n> ${tText}`;
    const labels = seriesLabels(ctx, [], { method: TEST_METHOD });
    return built(
      ctx,
      common,
      expr,
      gaugeSignal(metric, labels, threshold, { ...ctx.selectorLabels }, 0),
    );
  });
}

function measureOption(factory: string, value: unknown): 'ratio' | 'rate' {
  if (value === undefined) return 'ratio';
  if (value !== 'ratio' && value !== 'rate') {
    throw optionError(context(factory), 'INVALID_OPTION', 'measure', '"ratio" or "rate"', value);
  }
  return value;
}

function counterThreshold(
  factory: string,
  measure: 'ratio' | 'rate',
  value: unknown,
  ratioDefault: number,
): Decimal {
  const n =
    measure === 'ratio'
      ? numberOption(
          factory,
          'threshold',
          value,
          ratioDefault,
          fraction,
          'a fraction between 0 and 1 (exclusive) with measure "ratio"',
        )
      : numberOption(
          factory,
          'threshold',
          value,
          undefined,
          positive,
          'a positive number of events per second with measure "rate"',
        );
  return decimalOf(n);
}

/** The ratio (or rate) of events with some label values over all events of one counter. */
function counterAlert(
  ctx: BuildContext,
  common: ResolvedCommon,
  metric: string,
  scope: readonly string[],
  badMatcher: string,
  totalMatcher: string | undefined,
  by: readonly string[],
  measure: 'ratio' | 'rate',
  threshold: Decimal,
  windowMs: number,
  labels: Record<string, string>,
  bad: Record<string, string>,
  good: Record<string, string>,
): BuiltRules {
  const window = formatDuration(windowMs);
  const sel = withSelector(ctx, scope);
  const rate = (extra: readonly string[]): string =>
    `sum ${byClause(by)}(rate(${selector(metric, [...sel, ...extra])}[${window}]))`;
  const numerator = rate([badMatcher]);
  const expr =
    measure === 'rate'
      ? `${numerator}\n> ${formatDecimal(threshold)}`
      : `${numerator}\n/\n${rate(totalMatcher === undefined ? [] : [totalMatcher])}\n> ${formatDecimal(threshold)}`;
  return built(
    ctx,
    common,
    expr,
    counterSignal(
      metric,
      labels,
      bad,
      good,
      measure,
      threshold,
      windowMs / MINUTE,
      pick(labels, by),
    ),
  );
}

/** Rate-limit decisions that rejected requests (or failed on the store), by policy. */
export function rateLimitAlert(options?: RateLimitAlertOptions): AlertDefinition {
  const factory = 'rateLimitAlert';
  const o = readBuilderOptions<RateLimitAlertOptions>(factory, options, arguments.length, [
    'measure',
    'threshold',
    'window',
    'policies',
    'result',
  ]);
  const result = o.result ?? 'limited';
  if (result !== 'limited' && result !== 'store_error') {
    throw optionError(
      context(factory),
      'INVALID_OPTION',
      'result',
      '"limited" or "store_error"',
      result,
    );
  }
  const measure = measureOption(factory, o.measure);
  const threshold = counterThreshold(
    factory,
    measure,
    o.threshold,
    result === 'limited' ? 0.1 : 0.01,
  );
  const windowMs = windowOption(factory, o.window);
  const policies =
    o.policies === undefined ? undefined : stringListOption(factory, 'policies', o.policies, []);
  const what = result === 'limited' ? 'rejected' : 'failed on the rate-limit store';
  const amount = measure === 'ratio' ? `${pct(threshold)} of` : `${formatDecimal(threshold)}/s`;
  const common = resolveCommon(factory, o, {
    name: result === 'limited' ? 'RateLimitRejectionsHigh' : 'RateLimitStoreErrors',
    severity: 'warning',
    for: '5m',
    summary: `Rate-limit policy {{ $labels.policy }}: more than ${amount} requests ${what}`,
    description: `More than ${amount} the requests checked by rate-limit policy {{ $labels.policy }} were ${what} over the last ${formatDuration(windowMs)}.`,
  });
  return alertDefinition('rateLimit', common, (ctx) => {
    const labels = seriesLabels(ctx, [], { policy: policies?.[0] ?? 'api' });
    return counterAlert(
      ctx,
      common,
      `rate_limit_requests_total`,
      policies === undefined ? [] : [matchAny('policy', policies)],
      `result=${quote(result)}`,
      undefined,
      ['policy'],
      measure,
      threshold,
      windowMs,
      labels,
      { result },
      { result: 'allowed' },
    );
  });
}

/** Audit events with a failing outcome, by event type. */
export function auditFailureAlert(options?: AuditFailureAlertOptions): AlertDefinition {
  const factory = 'auditFailureAlert';
  const o = readBuilderOptions<AuditFailureAlertOptions>(factory, options, arguments.length, [
    'measure',
    'threshold',
    'window',
    'types',
    'outcomes',
  ]);
  const measure = measureOption(factory, o.measure);
  const threshold = counterThreshold(factory, measure, o.threshold, 0.1);
  const windowMs = windowOption(factory, o.window);
  const types = o.types === undefined ? undefined : stringListOption(factory, 'types', o.types, []);
  const outcomes = stringListOption(
    factory,
    'outcomes',
    o.outcomes,
    ['error', 'failure'],
    /^(success|failure|denied|error|unknown)$/,
  );
  if (outcomes.includes('success')) {
    throw optionError(
      context(factory),
      'INVALID_OPTION',
      'outcomes',
      'failing outcomes (not "success")',
      o.outcomes,
    );
  }
  const amount = measure === 'ratio' ? `${pct(threshold)} of` : `${formatDecimal(threshold)}/s`;
  const common = resolveCommon(factory, o, {
    name: 'AuditFailuresHigh',
    severity: 'warning',
    for: '5m',
    summary: `Audit events {{ $labels.type }}: more than ${amount} with outcome ${outcomes.join(' or ')}`,
    description: `More than ${amount} the audit events of type {{ $labels.type }} had outcome ${outcomes.join(' or ')} over the last ${formatDuration(windowMs)}.`,
  });
  return alertDefinition('auditFailure', common, (ctx) => {
    const labels = seriesLabels(ctx, [], { type: types?.[0] ?? 'auth.login' });
    return counterAlert(
      ctx,
      common,
      'audit_events_total',
      types === undefined ? [] : [matchAny('type', types)],
      matchAny('outcome', outcomes),
      undefined,
      ['type'],
      measure,
      threshold,
      windowMs,
      labels,
      { outcome: outcomes[0] as string },
      { outcome: 'success' },
    );
  });
}

function metricOption(factory: string, value: unknown): string {
  const name =
    typeof value === 'object' && value !== null ? (value as { name?: unknown }).name : value;
  if (typeof name !== 'string' || !METRIC_NAME_PATTERN.test(name) || !name.endsWith('_total')) {
    throw optionError(
      context(factory),
      'INVALID_OPTION',
      'metric',
      'the full name of a catalogue counter (ending in _total), or its entry from catalogue.describe()',
      value,
    );
  }
  return name;
}

/** Failure ratio of a business-metrics catalogue counter with an `outcome` label. */
export function businessFailureAlert(options: BusinessFailureAlertOptions): AlertDefinition {
  const factory = 'businessFailureAlert';
  const o = readBuilderOptions<BusinessFailureAlertOptions>(factory, options, arguments.length, [
    'metric',
    'measure',
    'threshold',
    'window',
    'failureOutcomes',
    'outcomes',
    'by',
  ]);
  const metric = metricOption(factory, o.metric);
  const measure = measureOption(factory, o.measure);
  const threshold = counterThreshold(factory, measure, o.threshold, 0.05);
  const windowMs = windowOption(factory, o.window);
  const failures = stringListOption(factory, 'failureOutcomes', o.failureOutcomes, ['failure']);
  const outcomes = stringListOption(factory, 'outcomes', o.outcomes, ['failure', 'success']);
  const good = outcomes.find((x) => !failures.includes(x));
  if (!failures.every((f) => outcomes.includes(f)) || good === undefined) {
    throw optionError(
      context(factory),
      'INVALID_OPTION',
      'outcomes',
      'every failure outcome and at least one other',
      o.outcomes,
    );
  }
  const by = byOption(factory, o.by);
  const base = metric.replace(/_total$/, '');
  const amount = measure === 'ratio' ? `${pct(threshold)} of` : `${formatDecimal(threshold)}/s`;
  const common = resolveCommon(factory, o, {
    name: `${camelCase(base)}FailuresHigh`,
    severity: 'warning',
    for: '5m',
    summary: `${base}: more than ${amount} ${failures.join(' or ')}${byNote(by)}`,
    description: `More than ${amount} the ${base} events had outcome ${failures.join(' or ')} over the last ${formatDuration(windowMs)}.`,
  });
  return alertDefinition('businessFailure', common, (ctx) => {
    const labels = seriesLabels(ctx, by, {});
    return counterAlert(
      ctx,
      common,
      metric,
      [],
      matchAny('outcome', failures),
      matchAny('outcome', [...outcomes].sort()),
      by,
      measure,
      threshold,
      windowMs,
      labels,
      { outcome: failures[0] as string },
      { outcome: good },
    );
  });
}

const LAG_METRICS = {
  p99: 'nodejs_eventloop_lag_p99_seconds',
  p90: 'nodejs_eventloop_lag_p90_seconds',
  p50: 'nodejs_eventloop_lag_p50_seconds',
  mean: 'nodejs_eventloop_lag_mean_seconds',
  max: 'nodejs_eventloop_lag_max_seconds',
} as const;

/** Event-loop lag from prom-client's default metrics. */
export function eventLoopLagAlert(options?: EventLoopLagAlertOptions): AlertDefinition {
  const factory = 'eventLoopLagAlert';
  const o = readBuilderOptions<EventLoopLagAlertOptions>(factory, options, arguments.length, [
    'threshold',
    'statistic',
  ]);
  const threshold = numberOption(
    factory,
    'threshold',
    o.threshold,
    0.2,
    positive,
    'a positive number of seconds',
  );
  const statistic = o.statistic ?? 'p99';
  if (!(statistic in LAG_METRICS)) {
    throw optionError(
      context(factory),
      'INVALID_OPTION',
      'statistic',
      `one of ${Object.keys(LAG_METRICS).join(', ')}`,
      statistic,
    );
  }
  const tText = formatDecimal(decimalOf(threshold));
  const common = resolveCommon(factory, o, {
    name: 'EventLoopLagHigh',
    severity: 'warning',
    for: '5m',
    summary: `Event-loop lag (${statistic}) above ${tText}s on {{ $labels.instance }}`,
    description: `The ${statistic} event-loop delay of the process has stayed above ${tText}s: every request it serves waits that long.`,
  });
  return alertDefinition('eventLoopLag', common, (ctx) => {
    const metric = `${ctx.prefix}${LAG_METRICS[statistic]}`;
    const expr = `${selector(metric, ctx.selector)} > ${tText}`;
    const labels = seriesLabels(ctx, [], { instance: 'localhost:3000' });
    return built(ctx, common, expr, gaugeSignal(metric, labels, threshold, labels, 0.01));
  });
}

/** Process memory from prom-client's default metrics: resident set size, or used heap. */
export function memoryAlert(options: MemoryAlertOptions): AlertDefinition {
  const factory = 'memoryAlert';
  const o = readBuilderOptions<MemoryAlertOptions>(factory, options, arguments.length, [
    'threshold',
    'measure',
  ]);
  const threshold = numberOption(
    factory,
    'threshold',
    o.threshold,
    undefined,
    (n) => Number.isInteger(n) && n > 0,
    'a positive whole number of bytes, such as 1073741824 for 1 GiB',
  );
  const measure = o.measure ?? 'rss';
  if (measure !== 'rss' && measure !== 'heap') {
    throw optionError(context(factory), 'INVALID_OPTION', 'measure', '"rss" or "heap"', measure);
  }
  const mib = formatDecimal(decimalOf(Math.round((threshold / 1048576) * 10) / 10));
  const common = resolveCommon(factory, o, {
    name: measure === 'rss' ? 'ProcessMemoryHigh' : 'HeapUsedHigh',
    severity: 'warning',
    for: '15m',
    summary: `${measure === 'rss' ? 'Resident memory' : 'Used heap'} above ${mib} MiB on {{ $labels.instance }}`,
    description: `The process has used more than ${threshold} bytes of ${measure === 'rss' ? 'resident memory' : 'V8 heap'} for a while: a leak, or a limit too small for its load.`,
  });
  return alertDefinition('memory', common, (ctx) => {
    const metric = `${ctx.prefix}${measure === 'rss' ? 'process_resident_memory_bytes' : 'nodejs_heap_size_used_bytes'}`;
    const expr = `${selector(metric, ctx.selector)} > ${threshold}`;
    const labels = seriesLabels(ctx, [], { instance: 'localhost:3000' });
    return built(
      ctx,
      common,
      expr,
      gaugeSignal(metric, labels, threshold, labels, Math.floor(threshold / 2)),
    );
  });
}

/** A scrape target that Prometheus cannot reach (`up == 0`). */
export function targetDownAlert(options?: TargetDownAlertOptions): AlertDefinition {
  const factory = 'targetDownAlert';
  const o = readBuilderOptions<TargetDownAlertOptions>(factory, options, arguments.length, ['job']);
  if (o.job !== undefined && (typeof o.job !== 'string' || o.job === '')) {
    throw optionError(context(factory), 'INVALID_OPTION', 'job', 'a job name', o.job);
  }
  const common = resolveCommon(factory, o, {
    name: 'TargetDown',
    severity: 'critical',
    for: '2m',
    summary: 'Target {{ $labels.instance }} of job {{ $labels.job }} is down',
    description:
      'Prometheus has failed to scrape {{ $labels.instance }} (job {{ $labels.job }}): the process is down or unreachable.',
  });
  return alertDefinition('targetDown', common, (ctx) => {
    const sel =
      o.job === undefined
        ? [...ctx.selector]
        : [...ctx.selector.filter((m) => !m.startsWith('job=')), `job=${quote(o.job)}`];
    const expr = `${selector('up', sel)} == 0`;
    const labels = {
      instance: 'localhost:3000',
      job: 'api',
      ...ctx.selectorLabels,
      ...(o.job === undefined ? {} : { job: o.job }),
    };
    const signal: Signal = {
      windowMinutes: 0,
      labels,
      restart: 'blip',
      series: (phases) => [
        inputSeries(
          'up',
          labels,
          gaugeValues(
            phases.map((p) => ({
              minutes: p.minutes,
              value: p.level === 'restart' ? 0 : p.level >= 1 ? 0 : 1,
            })),
          ),
        ),
      ],
    };
    return built(ctx, common, expr, signal);
  });
}

/** An alert on any PromQL expression; give `tests` (promtool test groups) to prove it. */
export function promqlAlert(options: PromqlAlertOptions): AlertDefinition {
  const factory = 'promqlAlert';
  const o = readOptions<PromqlAlertOptions>(context(factory), options, arguments.length, [
    ...COMMON_KEYS,
    'expr',
    'tests',
    'prometheusOnly',
  ]);
  const prometheusOnly = booleanOption(context(factory), 'prometheusOnly', o.prometheusOnly, false);
  const name = nameOption(factory, 'name', o.name, '');
  if (name === '')
    throw optionError(
      context(factory),
      'INVALID_NAME',
      'name',
      'an alert name in CamelCase',
      o.name,
    );
  if (typeof o.expr !== 'string' || o.expr.trim() === '') {
    throw optionError(context(factory), 'INVALID_OPTION', 'expr', 'a PromQL expression', o.expr);
  }
  const expr = o.expr.trim();
  if (o.tests !== undefined && !Array.isArray(o.tests))
    throw optionError(
      context(factory),
      'INVALID_OPTION',
      'tests',
      'an array of promtool test groups',
      o.tests,
    );
  const tests: readonly PromtoolTestGroup[] = o.tests ?? [];
  // Raw alerts take any annotation template: their tests are the user's.
  const keep = durationOption(factory, 'keepFiringFor', o.keepFiringFor, undefined, 1000);
  const text = (key: 'summary' | 'description', v: unknown): string | undefined => {
    if (v === undefined) return undefined;
    if (typeof v !== 'string' || v === '')
      throw optionError(context(factory), 'INVALID_OPTION', key, 'a non-empty string', v);
    return v;
  };
  const runbookUrl = o.runbookUrl;
  const common: ResolvedCommon = {
    name,
    severity: severityOption(factory, o.severity, 'warning'),
    forMs: durationOption(factory, 'for', o.for, '0s') as number,
    ...(keep === undefined ? {} : { keepFiringForMs: keep }),
    labels: labelsOption(factory, 'labels', o.labels),
    summary: text('summary', o.summary) ?? name,
    description:
      text('description', o.description) ?? `The expression of ${name} returned a series.`,
    ...(runbookUrl === undefined
      ? {}
      : { runbookUrl: urlOption(factory, 'runbookUrl', runbookUrl) }),
  };
  return alertDefinition('promql', common, (ctx) => {
    checkRuleExpression(expr, ctx.prometheusVersion, `alert "${name}"`, ctx.promqlFeatures);
    const rule = alertingRule(ctx, common, expr);
    return {
      alerts: [prometheusOnly ? markPrometheusOnly(rule) : rule],
      records: [],
      tests: [...tests],
      untested: tests.length === 0 ? [name] : [],
    };
  });
}

/** A recording rule on any PromQL expression. */
export function recordingRule(options: RecordingRuleOptions): RecordingRuleDefinition {
  const factory = 'recordingRule';
  const o = readOptions<RecordingRuleOptions>(context(factory), options, arguments.length, [
    'record',
    'expr',
    'labels',
    'prometheusOnly',
  ]);
  const prometheusOnly = booleanOption(context(factory), 'prometheusOnly', o.prometheusOnly, false);
  if (typeof o.record !== 'string' || !METRIC_NAME_PATTERN.test(o.record)) {
    throw optionError(
      context(factory),
      'INVALID_NAME',
      'record',
      'a metric name ([a-zA-Z_:][a-zA-Z0-9_:]*), by convention level:metric:operations',
      o.record,
    );
  }
  if (typeof o.expr !== 'string' || o.expr.trim() === '') {
    throw optionError(context(factory), 'INVALID_OPTION', 'expr', 'a PromQL expression', o.expr);
  }
  const record = o.record;
  const expr = o.expr.trim();
  const labels = labelsOption(factory, 'labels', o.labels);
  return defineBuilt<RecordingRuleDefinition>({ kind: 'record', record }, (ctx) => {
    checkRuleExpression(
      expr,
      ctx.prometheusVersion,
      `recording rule "${record}"`,
      ctx.promqlFeatures,
    );
    const data = { record, expr, ...(Object.keys(labels).length ? { labels } : {}) };
    return {
      alerts: [],
      records: [prometheusOnly ? markPrometheusOnly(data) : data],
      tests: [],
      untested: [],
    };
  });
}

/**
 * Flags rule data as left to Prometheus. The flag is non-enumerable so that the emitters, which write
 * the data as it is, never write it.
 */
function markPrometheusOnly<T extends RecordingRuleData | AlertingRuleData>(rule: T): T {
  return Object.defineProperty({ ...rule }, 'prometheusOnly', { value: true, enumerable: false });
}
