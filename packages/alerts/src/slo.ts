// SLOs: SLI recording rules over count-based windows, error budget, and multiwindow multi-burn-rate alerts.
import {
  DEFAULT_SECONDS_BUCKETS,
  bucketsOption,
  codedError,
  optionError,
  readOptions,
} from '@vigil/core';
import { ALERTS_ERROR_CODES, PACKAGE, context } from './errors';
import {
  type BuildContext,
  type BuiltRules,
  annotationOption,
  defineBuilt,
  labelsOption,
  nameOption,
  renderLabels,
  severityOption,
  sortKeys,
  stringListOption,
  urlOption,
} from './definition';
import { type Decimal, compare, decimalOf, formatDecimal, mul, sub, toNumber } from './decimal';
import { DAY, HOUR, MINUTE, formatDuration } from './duration';
import { camelCase, leMatcher, matchAny, quote, selector } from './selectors';
import { counterValues, inputSeries } from './series';
import { checkRuleExpression } from './expression-check';
import type {
  AlertingRuleData,
  BurnTier,
  InhibitRuleData,
  PromtoolInputSeries,
  PromtoolTestGroup,
  RecordingRuleData,
  Severity,
  SloDefinition,
  SloOptions,
  SloPeriod,
} from './types';

/** One tier of the multiwindow, multi-burn-rate alerts (Google SRE workbook, chapter 5). */
export interface BurnTierSpec {
  readonly tier: BurnTier;
  readonly longMs: number;
  readonly shortMs: number;
  /** Fraction of the period's error budget the tier reacts to spending within its long window. */
  readonly budgetSpent?: string;
  /** A fixed burn-rate factor instead (the last tier: on course to spend exactly the budget). */
  readonly factor?: string;
  readonly severity: Severity;
}

/**
 * The workbook's tiers. For 30 days: 2% of the budget in 1h (14.4x), 5% in 6h (6x), 10% in 1d (3x),
 * and 1x over 3d. For 28 days the same budget fractions give 13.44x, 5.6x and 2.8x; the last tier
 * stays 1x (exactly the sustainable rate), where 10% in 3d would be 0.9333...x.
 */
export const BURN_TIERS: readonly BurnTierSpec[] = Object.freeze([
  {
    tier: 'page-fast',
    longMs: HOUR,
    shortMs: 5 * MINUTE,
    budgetSpent: '0.02',
    severity: 'critical',
  },
  {
    tier: 'page-slow',
    longMs: 6 * HOUR,
    shortMs: 30 * MINUTE,
    budgetSpent: '0.05',
    severity: 'critical',
  },
  { tier: 'ticket-fast', longMs: DAY, shortMs: 2 * HOUR, budgetSpent: '0.1', severity: 'warning' },
  { tier: 'ticket-slow', longMs: 3 * DAY, shortMs: 6 * HOUR, factor: '1', severity: 'warning' },
]);

const PERIODS: Readonly<Record<SloPeriod, number>> = { '30d': 30 * DAY, '28d': 28 * DAY };
/** Windows computed from the raw counters with increase(); longer ones are sums of recorded 5m increases. */
const SHORT_WINDOWS = [5 * MINUTE, 30 * MINUTE, HOUR, 2 * HOUR, 6 * HOUR];
const BASE = '5m';
/** Evaluation interval, in minutes, of the generated tests of the ticket tiers. */
export const SLOW_STEP = 5;
const SLO_NAME_PATTERN = /^[a-z][a-z0-9]*(?:[-_][a-z0-9]+)*$/;

/** The burn-rate factor of a tier for a period, exactly. */
export function burnFactor(spec: BurnTierSpec, period: SloPeriod): Decimal {
  if (spec.factor !== undefined) return decimalOf(spec.factor);
  return mul(decimalOf(spec.budgetSpent as string), decimalOf(PERIODS[period] / spec.longMs));
}

interface SloSource {
  /** PromQL of the bad-event increase over a window. */
  readonly errors: (w: string) => string;
  /** PromQL of the event increase over a window. */
  readonly events: (w: string) => string;
  /** Test input: series for per-minute events and bad events. */
  readonly series: (
    phases: readonly TrafficPhase[],
    variant?: 'le-normalised',
  ) => PromtoolInputSeries[];
  readonly what: string;
}

/** A phase of an SLO test: per-minute events and bad events, or a restart (counters back to 0, no traffic). */
export interface TrafficPhase {
  readonly minutes: number;
  readonly events: number;
  readonly bad: number;
  readonly reset?: boolean;
}

interface ResolvedSlo {
  readonly name: string;
  readonly objective: Decimal;
  readonly period: SloPeriod;
  readonly minEvents: number;
  readonly alertName: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly runbookUrl?: string;
  readonly tiers: readonly (BurnTierSpec & {
    readonly factorValue: Decimal;
    readonly threshold: Decimal;
  })[];
  readonly description?: string;
}

const COMMON_SLO_KEYS = [
  'kind',
  'name',
  'objective',
  'period',
  'minEvents',
  'alertName',
  'description',
  'labels',
  'runbookUrl',
  'severities',
  'tiers',
] as const;

/** Defines an SLO: availability, latency or a business ratio, with its objective and period. */
export function defineSlo(options: SloOptions & { tiers?: readonly BurnTier[] }): SloDefinition {
  const factory = 'defineSlo';
  const kind = (options as { kind?: unknown } | undefined)?.kind;
  const own =
    kind === 'availability'
      ? ['routes', 'methods', 'errorStatus']
      : kind === 'latency'
        ? ['routes', 'methods', 'threshold', 'buckets']
        : kind === 'business'
          ? ['metric', 'goodOutcomes', 'badOutcomes', 'matchers']
          : [];
  const o = readOptions<Record<string, unknown>>(context(factory), options, arguments.length, [
    ...COMMON_SLO_KEYS,
    ...own,
  ]);
  if (own.length === 0) {
    throw optionError(
      context(factory),
      'INVALID_OPTION',
      'kind',
      '"availability", "latency" or "business"',
      kind,
    );
  }
  if (typeof o.name !== 'string' || !SLO_NAME_PATTERN.test(o.name)) {
    throw optionError(
      context(factory),
      'INVALID_NAME',
      'name',
      'an SLO name of lower-case words and digits joined by "-" or "_" (it becomes the `slo` label)',
      o.name,
      'For example "api-availability".',
    );
  }
  const name = o.name;
  const objective = objectiveOption(o.objective);
  const period = (o.period ?? '30d') as SloPeriod;
  if (!(period in PERIODS)) {
    throw optionError(context(factory), 'INVALID_OPTION', 'period', '"30d" or "28d"', o.period);
  }
  const minEvents = o.minEvents ?? 0;
  if (typeof minEvents !== 'number' || !Number.isInteger(minEvents) || minEvents < 0) {
    throw optionError(
      context(factory),
      'INVALID_OPTION',
      'minEvents',
      'a whole number of events, 0 or more',
      o.minEvents,
    );
  }
  const severities = (o.severities ?? {}) as Record<string, unknown>;
  if (typeof severities !== 'object' || severities === null) {
    throw optionError(
      context(factory),
      'INVALID_OPTION',
      'severities',
      'an object of tier to severity',
      o.severities,
    );
  }
  const tierNames = stringListOption(
    factory,
    'tiers',
    o.tiers,
    BURN_TIERS.map((t) => t.tier),
    /^(page-fast|page-slow|ticket-fast|ticket-slow)$/,
  );
  for (const key of Object.keys(severities)) {
    if (!BURN_TIERS.some((t) => t.tier === key)) {
      throw optionError(
        context(factory),
        'INVALID_OPTION',
        'severities',
        `keys among ${BURN_TIERS.map((t) => t.tier).join(', ')}`,
        key,
      );
    }
  }
  const budget = sub(decimalOf(1), objective);
  const tiers = BURN_TIERS.filter((t) => tierNames.includes(t.tier)).map((t) => {
    const factorValue = burnFactor(t, period);
    const threshold = mul(factorValue, budget);
    if (compare(mul(threshold, decimalOf('1.1')), decimalOf(1)) >= 0) {
      throw codedError(
        { pkg: PACKAGE },
        ALERTS_ERROR_CODES.NEVER_FIRES,
        `defineSlo(): SLO "${name}": tier ${t.tier} alerts when the error ratio exceeds ${formatDecimal(factorValue)} x (1 - ${formatDecimal(objective)}) = ${formatDecimal(threshold)}, which ${compare(threshold, decimalOf(1)) >= 0 ? 'no ratio can exceed: it could never fire' : 'leaves no room for a test input 1.1 times above it'}.`,
        `Raise the objective, or leave the tier out with "tiers": [${tierNames
          .filter((n) => n !== t.tier)
          .map((n) => `"${n}"`)
          .join(', ')}].`,
      );
    }
    return Object.freeze({
      ...t,
      severity: severityOption(factory, severities[t.tier], t.severity),
      factorValue,
      threshold,
    });
  });
  const alertName = nameOption(
    factory,
    'alertName',
    o.alertName,
    `${camelCase(name)}ErrorBudgetBurn`,
  );
  const labels = labelsOption(factory, 'labels', o.labels);
  const runbookUrl = urlOption(factory, 'runbookUrl', o.runbookUrl);
  const description = annotationOption(factory, 'description', o.description, undefined);
  const slo: ResolvedSlo = Object.freeze({
    name,
    objective,
    period,
    minEvents,
    alertName,
    labels,
    tiers,
    ...(runbookUrl === undefined ? {} : { runbookUrl }),
    ...(description === undefined ? {} : { description }),
  });
  const sourceOf = sourceFactory(factory, kind as SloOptions['kind'], o);
  return defineBuilt<SloDefinition>(
    {
      kind: 'slo',
      name,
      sloKind: kind as SloOptions['kind'],
      objective: formatDecimal(objective),
      period,
    },
    (ctx) => buildSlo(ctx, slo, sourceOf(ctx)),
  );
}

function objectiveOption(value: unknown): Decimal {
  const d = typeof value === 'number' && Number.isFinite(value) ? decimalOf(value) : undefined;
  if (d === undefined || compare(d, decimalOf(0)) <= 0 || compare(d, decimalOf(1)) >= 0) {
    throw optionError(
      context('defineSlo'),
      'INVALID_OBJECTIVE',
      'objective',
      'a fraction between 0 and 1 (exclusive): 0.999 for 99.9%',
      value,
      'Write the objective as a fraction, not a percentage.',
    );
  }
  return d;
}

/** The bucket bounds either side of `value`, for the NOT_A_BUCKET message. */
function nearestBuckets(buckets: readonly number[], value: number): string {
  const below = [...buckets].reverse().find((b) => b < value);
  const above = buckets.find((b) => b > value);
  return [below, above]
    .filter((b): b is number => b !== undefined)
    .map((b) => `${b}`)
    .join(' or ');
}

function sourceFactory(
  factory: string,
  kind: SloOptions['kind'],
  o: Record<string, unknown>,
): (ctx: BuildContext) => SloSource {
  const routes =
    o.routes === undefined ? undefined : stringListOption(factory, 'routes', o.routes, []);
  const methods =
    o.methods === undefined
      ? undefined
      : stringListOption(factory, 'methods', o.methods, [], /^[A-Z]+$/);
  const scope = [
    ...(routes === undefined ? [] : [matchAny('route', routes)]),
    ...(methods === undefined ? [] : [matchAny('method', methods)]),
  ];
  const testLabels = { method: methods?.[0] ?? 'GET', route: routes?.[0] ?? '/api/test' };
  const where = routes === undefined ? 'HTTP requests' : `HTTP requests to ${routes.join(', ')}`;
  if (kind === 'availability') {
    const errorStatus = o.errorStatus ?? '5..';
    if (typeof errorStatus !== 'string' || !/^[0-9.|()[\]x-]+$/.test(errorStatus)) {
      throw optionError(
        context(factory),
        'INVALID_OPTION',
        'errorStatus',
        'a regular expression over status codes, such as "5.."',
        errorStatus,
      );
    }
    let re: RegExp;
    try {
      re = new RegExp(`^(?:${errorStatus})$`);
    } catch {
      re = /$^/;
    }
    const errorCode = ['500', '503', '502', '504', '429'].find((c) => re.test(c));
    if (errorCode === undefined || re.test('200')) {
      throw optionError(
        context(factory),
        'INVALID_OPTION',
        'errorStatus',
        'a regular expression matching error status codes (not 200), such as "5.."',
        errorStatus,
      );
    }
    return (ctx) => {
      const metric = `${ctx.prefix}http_requests_total`;
      const sel = [...ctx.selector, ...scope];
      const total = selector(metric, [...sel, 'status_code!="aborted"']);
      const bad = selector(metric, [...sel, `status_code=~${quote(errorStatus)}`]);
      const labels = { ...ctx.selectorLabels, ...testLabels };
      return {
        what: `${where} answered with ${errorStatus}`,
        events: (w) => `sum(increase(${total}[${w}]))`,
        errors: (w) => `sum(increase(${bad}[${w}])) or 0 * sum(increase(${total}[${w}]))`,
        series: (phases) =>
          goodAndBad(
            metric,
            { ...labels, status_code: '200' },
            { ...labels, status_code: errorCode },
            phases,
          ),
      };
    };
  }
  if (kind === 'latency') {
    const buckets = bucketsOption(context(factory), 'buckets', o.buckets, DEFAULT_SECONDS_BUCKETS);
    const threshold = o.threshold;
    if (typeof threshold !== 'number' || !Number.isFinite(threshold) || threshold <= 0) {
      throw optionError(
        context(factory),
        'INVALID_OPTION',
        'threshold',
        'a positive number of seconds, one of the histogram buckets',
        threshold,
      );
    }
    if (!buckets.includes(threshold)) {
      throw codedError(
        { pkg: PACKAGE },
        ALERTS_ERROR_CODES.NOT_A_BUCKET,
        `defineSlo(): latency threshold ${threshold}s is not a bucket of the duration histogram, so the share of requests under it cannot be counted (only estimated); the nearest buckets are ${nearestBuckets(buckets, threshold)}.`,
        `Use one of them, or add ${threshold} to the histogram's buckets ("durationBuckets" of @vigil/metrics) and pass the same "buckets" here.`,
      );
    }
    return (ctx) => {
      const metric = `${ctx.prefix}http_request_duration_seconds`;
      const sel = [...ctx.selector, ...scope];
      const count = selector(`${metric}_count`, sel);
      const good = selector(`${metric}_bucket`, [...sel, leMatcher(threshold)]);
      const labels = { ...ctx.selectorLabels, ...testLabels, status_code: '200' };
      const le = formatDecimal(decimalOf(threshold));
      return {
        what: `${where} slower than ${le}s`,
        events: (w) => `sum(increase(${count}[${w}]))`,
        errors: (w) => `sum(increase(${count}[${w}])) - sum(increase(${good}[${w}]))`,
        series: (phases, variant) => {
          const counter = (f: (p: TrafficPhase) => number): string =>
            counterValues(
              phases.map((p) => ({ minutes: p.minutes, perMinute: f(p), reset: p.reset })),
            );
          // Prometheus 3 stores le="1" as le="1.0": the same rules must see either form.
          const leText =
            variant === 'le-normalised' && Number.isInteger(threshold) ? `${le}.0` : le;
          return [
            inputSeries(
              `${metric}_bucket`,
              { ...labels, le: leText },
              counter((p) => p.events - p.bad),
            ),
            inputSeries(
              `${metric}_bucket`,
              { ...labels, le: '+Inf' },
              counter((p) => p.events),
            ),
            inputSeries(
              `${metric}_count`,
              labels,
              counter((p) => p.events),
            ),
          ];
        },
      };
    };
  }
  const metricValue = o.metric;
  const metric =
    typeof metricValue === 'object' && metricValue !== null
      ? (metricValue as { name?: unknown }).name
      : metricValue;
  if (typeof metric !== 'string' || !/^[a-zA-Z_:][a-zA-Z0-9_:]*_total$/.test(metric)) {
    throw optionError(
      context(factory),
      'INVALID_OPTION',
      'metric',
      'the full name of a catalogue counter (ending in _total), or its entry from catalogue.describe()',
      metricValue,
    );
  }
  const goodOutcomes = stringListOption(factory, 'goodOutcomes', o.goodOutcomes, ['success']);
  const badOutcomes = stringListOption(factory, 'badOutcomes', o.badOutcomes, ['failure']);
  if (goodOutcomes.some((g) => badOutcomes.includes(g))) {
    throw optionError(
      context(factory),
      'INVALID_OPTION',
      'badOutcomes',
      'outcomes not also in goodOutcomes',
      o.badOutcomes,
    );
  }
  const matchers = labelsOption(factory, 'matchers', o.matchers);
  return (ctx) => {
    const sel = [
      ...ctx.selector,
      ...Object.keys(matchers).map((k) => `${k}=${quote(matchers[k] as string)}`),
    ];
    const total = selector(metric, [
      ...sel,
      matchAny('outcome', [...goodOutcomes, ...badOutcomes].sort()),
    ]);
    const bad = selector(metric, [...sel, matchAny('outcome', badOutcomes)]);
    const labels = { ...ctx.selectorLabels, ...matchers };
    return {
      what: `${metric.replace(/_total$/, '')} events with outcome ${badOutcomes.join(' or ')}`,
      events: (w) => `sum(increase(${total}[${w}]))`,
      errors: (w) => `sum(increase(${bad}[${w}])) or 0 * sum(increase(${total}[${w}]))`,
      series: (phases) =>
        goodAndBad(
          metric,
          { ...labels, outcome: goodOutcomes[0] as string },
          { ...labels, outcome: badOutcomes[0] as string },
          phases,
        ),
    };
  };
}

/** A test's input as two counters of `metric`: the good events under `good`, the bad under `bad`. */
function goodAndBad(
  metric: string,
  good: Readonly<Record<string, string>>,
  bad: Readonly<Record<string, string>>,
  phases: readonly TrafficPhase[],
): PromtoolInputSeries[] {
  const counter = (perMinute: (p: TrafficPhase) => number): string =>
    counterValues(
      phases.map((p) => ({ minutes: p.minutes, perMinute: perMinute(p), reset: p.reset })),
    );
  return [
    inputSeries(
      metric,
      good,
      counter((p) => p.events - p.bad),
    ),
    inputSeries(
      metric,
      bad,
      counter((p) => p.bad),
    ),
  ];
}

const win = (ms: number): string => formatDuration(ms);

/** The rule-group name parts and records of one SLO. */
export function buildSlo(
  ctx: BuildContext,
  slo: ResolvedSlo,
  source: SloSource,
): BuiltRules & {
  readonly slowTests: readonly PromtoolTestGroup[];
  readonly longRecords: readonly RecordingRuleData[];
  readonly inhibitRules: readonly InhibitRuleData[];
} {
  // The selector's labels (job, namespace) stay on every record, so that two services with an SLO of
  // the same name in one Prometheus record distinct series.
  const lbl = sortKeys({ ...ctx.selectorLabels, slo: slo.name });
  const sel = seriesSelector(lbl);
  const records: RecordingRuleData[] = [];
  const budget = sub(decimalOf(1), slo.objective);
  // How many times faster than the objective allows the budget burns over window `w`: 1 spends
  // exactly the budget over the period (what dashboards plot next to the tiers' factors).
  const burnRate = (w: string): string =>
    `slo:sli_error:ratio_rate${w}${sel} / ${formatDecimal(budget)}`;
  const add = (list: RecordingRuleData[], record: string, expr: string): void => {
    checkRuleExpression(
      expr,
      ctx.prometheusVersion,
      `SLO "${slo.name}", rule "${record}"`,
      ctx.promqlFeatures,
    );
    list.push({ record, expr, labels: lbl });
  };
  for (const ms of SHORT_WINDOWS) {
    const w = win(ms);
    add(records, `slo:sli_events:increase${w}`, source.events(w));
    add(records, `slo:sli_errors:increase${w}`, source.errors(w));
    add(
      records,
      `slo:sli_error:ratio_rate${w}`,
      `slo:sli_errors:increase${w}${sel}\n/\nslo:sli_events:increase${w}${sel}`,
    );
    add(records, `slo:burn_rate:ratio_rate${w}`, burnRate(w));
  }
  const longRecords: RecordingRuleData[] = [];
  const period = PERIODS[slo.period];
  const longWindows = [
    ...new Set([...slo.tiers.map((t) => t.longMs), ...slo.tiers.map((t) => t.shortMs), period]),
  ]
    .filter((ms) => !SHORT_WINDOWS.includes(ms))
    .sort((a, b) => a - b);
  for (const ms of longWindows) {
    const w = win(ms);
    // Count-based: the bad and all events of the window, summed from the recorded 5m increases; never an
    // average of short-window ratios, which weighs a quiet hour like a busy one.
    add(
      longRecords,
      `slo:sli_error:ratio_rate${w}`,
      `sum_over_time(slo:sli_errors:increase${BASE}${sel}[${w}])\n/\nsum_over_time(slo:sli_events:increase${BASE}${sel}[${w}])`,
    );
    add(longRecords, `slo:burn_rate:ratio_rate${w}`, burnRate(w));
  }
  add(longRecords, 'slo:objective:ratio', `vector(${formatDecimal(slo.objective)})`);
  add(
    longRecords,
    'slo:error_budget:remaining_ratio',
    `1 - slo:sli_error:ratio_rate${win(period)}${sel} / ${formatDecimal(budget)}`,
  );
  const alerts: AlertingRuleData[] = slo.tiers.map((t) => {
    const thr = formatDecimal(t.threshold);
    const guard =
      slo.minEvents > 0
        ? `\nand\nslo:sli_events:increase${win(t.shortMs)}${sel} >= ${slo.minEvents}`
        : '';
    const expr = `slo:sli_error:ratio_rate${win(t.longMs)}${sel} > ${thr}\nand\nslo:sli_error:ratio_rate${win(t.shortMs)}${sel} > ${thr}${guard}`;
    checkRuleExpression(
      expr,
      ctx.prometheusVersion,
      `SLO "${slo.name}", tier ${t.tier}`,
      ctx.promqlFeatures,
    );
    const runbook =
      slo.runbookUrl ??
      (ctx.runbookBaseUrl === undefined
        ? undefined
        : `${ctx.runbookBaseUrl}#${slo.alertName.toLowerCase()}`);
    const spent = formatDuration(Math.round(period / toNumber(t.factorValue)));
    return {
      alert: slo.alertName,
      expr,
      labels: sortKeys({
        ...ctx.selectorLabels,
        ...slo.labels,
        slo: slo.name,
        burn_tier: t.tier,
        severity: t.severity,
      }),
      annotations: {
        summary: `SLO ${slo.name}: error budget burning ${formatDecimal(t.factorValue)}x too fast (${win(t.longMs)} and ${win(t.shortMs)} windows)`,
        description: `${slo.description ?? capitalise(source.what)}: more than ${pct(t.threshold)} over the last ${win(t.longMs)} and ${win(t.shortMs)}, ${formatDecimal(t.factorValue)} times what the ${pct(slo.objective)} objective over ${slo.period} allows. At this rate the error budget lasts ${spent}.`,
        ...(runbook === undefined ? {} : { runbook_url: runbook }),
      },
    };
  });
  const equal = ['alertname', 'slo', ...Object.keys(ctx.selectorLabels).sort()];
  const names = slo.tiers.map((t) => t.tier);
  const inhibitRules: InhibitRuleData[] = names.slice(0, -1).map((tier, i) => ({
    source_matchers: [`alertname=${quote(slo.alertName)}`, `burn_tier=${quote(tier)}`],
    target_matchers: [
      `alertname=${quote(slo.alertName)}`,
      `burn_tier=~${quote(names.slice(i + 1).join('|'))}`,
    ],
    equal,
  }));
  return {
    alerts,
    records,
    longRecords,
    inhibitRules,
    ...sloTests(slo, source, alerts, Math.max(1, Math.round(ctx.longWindowMs / MINUTE)), lbl),
    untested: [],
  };
}

/** `{a="b",slo="x"}` for labels in key order. */
function seriesSelector(labels: Readonly<Record<string, string>>): string {
  return `{${Object.keys(labels)
    .map((k) => `${k}=${quote(labels[k] as string)}`)
    .join(',')}}`;
}

function capitalise(text: string): string {
  return text[0]!.toUpperCase() + text.slice(1);
}

function pct(d: Decimal): string {
  return `${formatDecimal(mul(d, decimalOf(100)))}%`;
}

// ---- generated tests --------------------------------------------------------------------------

/** Per-minute increments of a timeline (index m: the minute ending at m). */
function increments(phases: readonly TrafficPhase[]): { events: number[]; bad: number[] } {
  const events = [0];
  const bad = [0];
  for (const p of phases) {
    for (let i = 0; i < p.minutes; i++) {
      events.push(p.reset === true ? 0 : p.events);
      bad.push(p.reset === true ? 0 : p.bad);
    }
  }
  return { events, bad };
}

function sumRange(values: readonly number[], from: number, to: number): number {
  let s = 0;
  for (let m = Math.max(1, from); m <= Math.min(to, values.length - 1); m++)
    s += values[m] as number;
  return s;
}

/**
 * Whether a tier's alert is firing at minute `t` of a timeline, by the arithmetic the rules do: raw
 * windows count the minutes they span (give or take one at the edges), long windows sum recorded 5m
 * increases sampled every minute and are refreshed every `longEvery` minutes. Returns undefined when
 * the variants disagree (too close to the threshold to assert).
 */
function tierFiring(
  slo: ResolvedSlo,
  tier: ResolvedSlo['tiers'][number],
  inc: { events: number[]; bad: number[] },
  t: number,
  longEvery: number,
  step: number,
): boolean | undefined {
  const outcomes = new Set<boolean>();
  const thr = toNumber(tier.threshold);
  const raw = (values: number[], to: number, w: number, edge: number): number =>
    sumRange(values, to - w + 1 + edge, to);
  // Recorded 5m increases, one per evaluation step, summed over the window.
  const long = (values: number[], to: number, w: number): number => {
    let s = 0;
    for (let u = to - w + 1; u <= to; u++) if (u >= 1 && u % step === 0) s += raw(values, u, 5, 0);
    return s;
  };
  const windowRatio = (ms: number, to: number, edge: number): [number, number] => {
    const w = ms / MINUTE;
    if (SHORT_WINDOWS.includes(ms)) {
      const e = raw(inc.events, to, w, edge);
      return [e === 0 ? NaN : raw(inc.bad, to, w, edge) / e, e];
    }
    const e = long(inc.events, to, w);
    return [e === 0 ? NaN : long(inc.bad, to, w) / e, e];
  };
  for (const edge of [-1, 0, 1]) {
    for (let stale = 0; stale < longEvery; stale++) {
      // The long-window group runs every `longEvery` minutes: its value may be that old.
      const to = SHORT_WINDOWS.includes(tier.longMs) ? t : Math.floor((t - stale) / step) * step;
      const [longRatio] = windowRatio(tier.longMs, to, edge);
      const [shortRatio, shortEvents] = windowRatio(tier.shortMs, t, edge);
      outcomes.add(longRatio > thr && shortRatio > thr && shortEvents >= slo.minEvents);
    }
  }
  return outcomes.size === 1 ? [...outcomes][0] : undefined;
}

const at = (m: number): string => formatDuration(m * MINUTE);

function sloTests(
  slo: ResolvedSlo,
  source: SloSource,
  alerts: readonly AlertingRuleData[],
  longEvery: number,
  recordLabels: Readonly<Record<string, string>>,
): { tests: PromtoolTestGroup[]; slowTests: PromtoolTestGroup[] } {
  const groups: PromtoolTestGroup[] = [];
  const slowGroups: PromtoolTestGroup[] = [];
  // Events a minute: enough that every bad count below is a whole number.
  const scale = Math.max(
    2,
    ...slo.tiers.flatMap((t) => [
      mul(t.threshold, decimalOf('1.1')).scale,
      mul(t.threshold, decimalOf('0.9')).scale,
    ]),
  );
  const events = 10 ** scale;
  const badAt = (threshold: Decimal, level: string): number =>
    toNumber(mul(mul(threshold, decimalOf(level)), decimalOf(events)));
  const expected = (phases: readonly TrafficPhase[], t: number, what: string, step: number) => {
    const inc = increments(phases);
    const firing = slo.tiers.filter((tier) => {
      const f = tierFiring(slo, tier, inc, t, longEvery, step);
      if (f === undefined) {
        throw new Error(
          `@vigil/alerts: the generated test "${what}" of SLO ${slo.name} checks tier ${tier.tier} at ${at(t)}, too close to its threshold to assert (a bug of the generator)`,
        );
      }
      return f;
    });
    return firing.map((tier) => {
      const rule = alerts.find((a) => a.labels.burn_tier === tier.tier) as AlertingRuleData;
      return {
        exp_labels: rule.labels,
        exp_annotations: Object.fromEntries(
          Object.entries(rule.annotations).map(([k, v]) => [k, renderLabels(v, rule.labels)]),
        ),
      };
    });
  };
  const check = (phases: readonly TrafficPhase[], t: number, what: string, step = 1) => ({
    eval_time: at(t),
    alertname: slo.alertName,
    exp_alerts: expected(phases, t, what, step),
  });
  for (const tier of slo.tiers) {
    // Ticket tiers (windows of hours and days) are tested with a 5m evaluation interval, which
    // keeps promtool's work small; page tiers with 1m.
    const step = tier.longMs > 6 * HOUR ? SLOW_STEP : 1;
    const out = step === 1 ? groups : slowGroups;
    const roundUp = (m: number): number => Math.ceil(m / step) * step;
    const L = tier.longMs / MINUTE;
    const S = tier.shortMs / MINUTE;
    // A tenth of the long window of clean history: enough that at half the window the long-window
    // ratio (1.1 x 0.5 / 0.6 of the threshold) is still below it, so the test proves the window.
    const H = roundUp(Math.ceil(L / 10));
    const fireName = `SLO ${slo.name}, tier ${tier.tier}: fires at 1.1x its burn rate within ${win(tier.longMs)} + ${step}m, resolves ${win(tier.shortMs)} after recovery`;
    const fire: TrafficPhase[] = [
      { minutes: H, events, bad: 0 },
      { minutes: L + 2 * step, events, bad: badAt(tier.threshold, '1.1') },
      { minutes: S + 3 * step, events, bad: 0 },
    ];
    const chk = (phases: readonly TrafficPhase[], t: number, what: string) =>
      check(phases, t, what, step);
    const firing = chk(fire, H + L + step, fireName);
    if (!firing.exp_alerts.some((a) => a.exp_labels.burn_tier === tier.tier)) {
      throw new Error(
        `@vigil/alerts: generator bug: tier ${tier.tier} of ${slo.name} is not expected to fire in its own test`,
      );
    }
    const variants: (undefined | 'le-normalised')[] = [undefined];
    if (tier.tier === slo.tiers[0]?.tier) variants.push('le-normalised');
    for (const variant of variants) {
      const series = source.series(fire, variant);
      if (variant !== undefined && series.every((x) => !x.series.includes('.0"'))) continue;
      out.push({
        name:
          variant === undefined ? fireName : `${fireName} (le stored as Prometheus 3 stores it)`,
        interval: '1m',
        input_series: series,
        alert_rule_test: [
          chk(fire, H + Math.floor(L / 2 / step) * step, fireName),
          firing,
          chk(fire, H + L + 2 * step + S + 2 * step, fireName),
        ],
      });
    }
    const silentName = `SLO ${slo.name}, tier ${tier.tier}: silent at 0.9x its burn rate`;
    const silent: TrafficPhase[] = [
      { minutes: L + 2 * step, events, bad: badAt(tier.threshold, '0.9') },
    ];
    const quiet = chk(silent, L + step, silentName);
    if (quiet.exp_alerts.some((a) => a.exp_labels.burn_tier === tier.tier)) {
      throw new Error(
        `@vigil/alerts: generator bug: tier ${tier.tier} of ${slo.name} is expected to fire at 0.9x`,
      );
    }
    out.push({
      name: silentName,
      interval: '1m',
      input_series: source.series(silent),
      alert_rule_test: [quiet, chk(silent, L + 2 * step, silentName)],
    });
  }
  // A restart: counters back to zero and no traffic; then nothing fires and the budget is whole.
  const restartName = `SLO ${slo.name}: silent on zero traffic after a restart (counters reset)`;
  const restart: TrafficPhase[] = [
    { minutes: 60, events, bad: 0 },
    { minutes: 180, events: 0, bad: 0, reset: true },
  ];
  groups.push({
    name: restartName,
    interval: '1m',
    input_series: source.series(restart),
    alert_rule_test: [
      check(restart, 65, restartName),
      check(restart, 120, restartName),
      check(restart, 240, restartName),
    ],
    promql_expr_test: [
      // An hour of clean traffic: the budget burns at 0 over every window that has seen it.
      ...['5m', '1h'].map((w) => ({
        expr: `slo:burn_rate:ratio_rate${w}${seriesSelector(recordLabels)}`,
        eval_time: at(59),
        exp_samples: [
          { labels: `slo:burn_rate:ratio_rate${w}${seriesSelector(recordLabels)}`, value: 0 },
        ],
      })),
      {
        expr: `slo:error_budget:remaining_ratio${seriesSelector(recordLabels)}`,
        eval_time: at(240),
        exp_samples: [
          { labels: `slo:error_budget:remaining_ratio${seriesSelector(recordLabels)}`, value: 1 },
        ],
      },
    ],
  });
  if (slo.minEvents > 0) {
    const first = slo.tiers[0] as ResolvedSlo['tiers'][number];
    const perMinute = Math.floor(slo.minEvents / (first.shortMs / MINUTE) / 2);
    if (perMinute > 0) {
      const guardName = `SLO ${slo.name}: tier ${first.tier} silent under ${slo.minEvents} events in ${win(first.shortMs)}, even when every event fails`;
      const low: TrafficPhase[] = [
        { minutes: first.longMs / MINUTE + 10, events: perMinute, bad: perMinute },
      ];
      const t = first.longMs / MINUTE + 5;
      const c = check(low, t, guardName);
      if (c.exp_alerts.some((a) => a.exp_labels.burn_tier === first.tier)) {
        throw new Error(
          '@vigil/alerts: generator bug: the minimum-traffic guard test expects its tier to fire',
        );
      }
      groups.push({
        name: guardName,
        interval: '1m',
        input_series: source.series(low),
        alert_rule_test: [c],
      });
    }
  }
  return { tests: groups, slowTests: slowGroups };
}
