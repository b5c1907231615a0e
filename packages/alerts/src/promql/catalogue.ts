// What each Prometheus version's PromQL knows: functions with their signatures, aggregations, and the
// syntax added since 2.33, each with the version that introduced it and the feature flag it needs.

/** Value types of PromQL, as Prometheus names them in its parser. */
export type ValueType = 'vector' | 'scalar' | 'matrix' | 'string';

/** A feature flag (`--enable-feature=...`) that gates experimental PromQL. */
export type PromQLFeature =
  | 'promql-experimental-functions'
  | 'promql-duration-expr'
  | 'promql-extended-range-selectors'
  | 'promql-binop-fill-modifiers';

/** The feature flags that gate experimental PromQL, which the `features` option accepts. */
export const PROMQL_FEATURES: readonly PromQLFeature[] = Object.freeze([
  'promql-experimental-functions',
  'promql-duration-expr',
  'promql-extended-range-selectors',
  'promql-binop-fill-modifiers',
]);

/** A version as [major, minor]. */
export type Version = readonly [number, number];

export interface Availability {
  /** First version that has it. */
  readonly since: Version;
  /** Last version that has it, when it was removed. */
  readonly until?: Version;
  /** Feature flag it needs, from `since` on (experimental). */
  readonly flag?: PromQLFeature;
  /** First version that no longer needs `flag` (it became stable or enabled by default). */
  readonly stable?: Version;
  /** What replaced it, for the message when it was removed. */
  readonly replacedBy?: string;
}

export interface FunctionSignature extends Availability {
  readonly args: readonly ValueType[];
  /** 0: exactly `args`; n > 0: up to n trailing arguments are optional; -1: the last repeats. */
  readonly variadic: number;
  readonly returns: ValueType;
}

const V = 'vector';
const S = 'scalar';
const M = 'matrix';
const STR = 'string';
const BASE: Version = [2, 33];
const EXPERIMENTAL = 'promql-experimental-functions' as const;

const fn = (
  args: readonly ValueType[],
  returns: ValueType = V,
  more: Partial<Omit<FunctionSignature, 'args' | 'returns'>> = {},
): FunctionSignature => ({ args, returns, variadic: 0, since: BASE, ...more });

const onVector = fn([V]);
const onMatrix = fn([M]);
const clock = fn([V], V, { variadic: 1 });

/** Every PromQL function this checker knows. */
export const FUNCTIONS: Readonly<Record<string, FunctionSignature>> = {
  abs: onVector,
  absent: onVector,
  absent_over_time: onMatrix,
  acos: onVector,
  acosh: onVector,
  asin: onVector,
  asinh: onVector,
  atan: onVector,
  atanh: onVector,
  avg_over_time: onMatrix,
  ceil: onVector,
  changes: onMatrix,
  clamp: fn([V, S, S]),
  clamp_max: fn([V, S]),
  clamp_min: fn([V, S]),
  cos: onVector,
  cosh: onVector,
  count_over_time: onMatrix,
  days_in_month: clock,
  day_of_month: clock,
  day_of_week: clock,
  day_of_year: clock,
  deg: onVector,
  delta: onMatrix,
  deriv: onMatrix,
  double_exponential_smoothing: fn([M, S, S], V, { since: [3, 0], flag: EXPERIMENTAL }),
  exp: onVector,
  first_over_time: fn([M], V, { since: [3, 7], flag: EXPERIMENTAL, stable: [3, 14] }),
  floor: onVector,
  histogram_avg: fn([V], V, { since: [2, 51] }),
  histogram_count: fn([V], V, { since: [2, 40] }),
  histogram_fraction: fn([S, S, V], V, { since: [2, 40] }),
  histogram_quantile: fn([S, V]),
  histogram_quantiles: fn([V, STR, S, S], V, { variadic: 9, since: [3, 9], flag: EXPERIMENTAL }),
  histogram_stddev: fn([V], V, { since: [2, 46] }),
  histogram_stdvar: fn([V], V, { since: [2, 46] }),
  histogram_sum: fn([V], V, { since: [2, 40] }),
  holt_winters: fn([M, S, S], V, { until: [2, 99], replacedBy: 'double_exponential_smoothing' }),
  hour: clock,
  idelta: onMatrix,
  increase: onMatrix,
  info: fn([V, V], V, { variadic: 1, since: [3, 0], flag: EXPERIMENTAL }),
  irate: onMatrix,
  label_join: fn([V, STR, STR, STR], V, { variadic: -1 }),
  label_replace: fn([V, STR, STR, STR, STR]),
  last_over_time: onMatrix,
  ln: onVector,
  log10: onVector,
  log2: onVector,
  mad_over_time: fn([M], V, { since: [2, 49], flag: EXPERIMENTAL }),
  max_over_time: onMatrix,
  min_over_time: onMatrix,
  minute: clock,
  month: clock,
  pi: fn([], S),
  predict_linear: fn([M, S]),
  present_over_time: onMatrix,
  quantile_over_time: fn([S, M]),
  rad: onVector,
  rate: onMatrix,
  resets: onMatrix,
  round: fn([V, S], V, { variadic: 1 }),
  scalar: fn([V], S),
  sgn: onVector,
  sin: onVector,
  sinh: onVector,
  sort: onVector,
  sort_by_label: fn([V, STR], V, { variadic: -1, since: [2, 49], flag: EXPERIMENTAL }),
  sort_by_label_desc: fn([V, STR], V, { variadic: -1, since: [2, 49], flag: EXPERIMENTAL }),
  sort_desc: onVector,
  sqrt: onVector,
  stddev_over_time: onMatrix,
  stdvar_over_time: onMatrix,
  sum_over_time: onMatrix,
  tan: onVector,
  tanh: onVector,
  time: fn([], S),
  timestamp: onVector,
  ts_of_first_over_time: fn([M], V, { since: [3, 7], flag: EXPERIMENTAL, stable: [3, 14] }),
  ts_of_last_over_time: fn([M], V, { since: [3, 5], flag: EXPERIMENTAL }),
  ts_of_max_over_time: fn([M], V, { since: [3, 5], flag: EXPERIMENTAL }),
  ts_of_min_over_time: fn([M], V, { since: [3, 5], flag: EXPERIMENTAL }),
  vector: fn([S]),
  year: clock,
};

export interface AggregationSignature extends Availability {
  /** Type of the parameter before the vector (`topk(3, ...)`), when it takes one. */
  readonly param?: ValueType;
}

/** Every aggregation operator. */
export const AGGREGATIONS: Readonly<Record<string, AggregationSignature>> = {
  avg: { since: BASE },
  bottomk: { since: BASE, param: S },
  count: { since: BASE },
  count_values: { since: BASE, param: STR },
  group: { since: BASE },
  limit_ratio: { since: [2, 54], flag: EXPERIMENTAL, param: S },
  limitk: { since: [2, 54], flag: EXPERIMENTAL, param: S },
  max: { since: BASE },
  min: { since: BASE },
  quantile: { since: BASE, param: S },
  stddev: { since: BASE },
  stdvar: { since: BASE },
  sum: { since: BASE },
  topk: { since: BASE, param: S },
};

/** Syntax that appeared after 2.33, by what the checker calls it in messages. */
export const SYNTAX: Readonly<Record<string, Availability>> = {
  'quoted (UTF-8) metric and label names': { since: [3, 0] },
  'a number as a duration, or a duration as a number': { since: [3, 0] },
  'duration arithmetic': { since: [3, 4], flag: 'promql-duration-expr', stable: [3, 14] },
  'the anchored and smoothed modifiers': {
    since: [3, 7],
    flag: 'promql-extended-range-selectors',
    stable: [3, 16],
  },
  'fill modifiers of binary operators': { since: [3, 9], flag: 'promql-binop-fill-modifiers' },
  'the histogram trim operators </ and >/': { since: [3, 9], flag: EXPERIMENTAL },
};

export const formatVersion = (v: Version): string => `${v[0]}.${v[1]}`;

export const atLeast = (v: Version, min: Version): boolean =>
  v[0] > min[0] || (v[0] === min[0] && v[1] >= min[1]);
