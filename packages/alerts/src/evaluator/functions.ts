// Numeric kernels of PromQL functions, following Prometheus 2.42's promql/functions.go and quantile.go
// step by step so that results agree to the last bits where the order of operations matters.

/** A run of samples of one series: `values[from..to)` at `timestamps[from..to)`. */
export interface Points {
  readonly timestamps: ArrayLike<number>;
  readonly values: ArrayLike<number>;
  readonly from: number;
  readonly to: number;
}

const at = (a: ArrayLike<number>, i: number): number => a[i] as number;

/** The range functions a sum and a count of the samples answer (see SeriesView.sumOver). */
export const SUMMABLE: ReadonlySet<string> = new Set([
  'sum_over_time',
  'count_over_time',
  'avg_over_time',
  'present_over_time',
]);

/** Index of the first timestamp >= t in the first `n` entries. */
export function lowerBound(ts: Float64Array, n: number, t: number): number {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((ts[mid] as number) < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Index of the first timestamp > t in the first `n` entries. */
export function upperBound(ts: Float64Array, n: number, t: number): number {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((ts[mid] as number) <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * rate(), increase() and delta(): Prometheus's extrapolatedRate. Undefined for fewer than two samples.
 * `rangeStart` and `rangeEnd` are the range's bounds in ms, `rangeMs` its length.
 */
export function extrapolatedRate(
  p: Points,
  rangeStart: number,
  rangeEnd: number,
  rangeMs: number,
  isCounter: boolean,
  isRate: boolean,
): number | undefined {
  const n = p.to - p.from;
  if (n < 2) return undefined;
  const first = at(p.values, p.from);
  const last = at(p.values, p.to - 1);
  let result = last - first;
  if (isCounter) {
    let prev = first;
    for (let i = p.from + 1; i < p.to; i++) {
      const cur = at(p.values, i);
      if (cur < prev) result += prev;
      prev = cur;
    }
  }
  const firstT = at(p.timestamps, p.from);
  const lastT = at(p.timestamps, p.to - 1);
  let durationToStart = (firstT - rangeStart) / 1000;
  const durationToEnd = (rangeEnd - lastT) / 1000;
  const sampledInterval = (lastT - firstT) / 1000;
  const averageDurationBetweenSamples = sampledInterval / (n - 1);
  if (isCounter && result > 0 && first >= 0) {
    const durationToZero = sampledInterval * (first / result);
    if (durationToZero < durationToStart) durationToStart = durationToZero;
  }
  const extrapolationThreshold = averageDurationBetweenSamples * 1.1;
  let extrapolateToInterval = sampledInterval;
  extrapolateToInterval +=
    durationToStart < extrapolationThreshold ? durationToStart : averageDurationBetweenSamples / 2;
  extrapolateToInterval +=
    durationToEnd < extrapolationThreshold ? durationToEnd : averageDurationBetweenSamples / 2;
  let factor = extrapolateToInterval / sampledInterval;
  if (isRate) factor /= rangeMs / 1000;
  return result * factor;
}

/** Kahan-Babuska-Neumaier summation step, as Prometheus's kahanSumInc. */
function kahanSumInc(inc: number, sum: number, c: number): [number, number] {
  const t = sum + inc;
  let comp = c;
  if (Math.abs(sum) >= Math.abs(inc)) comp += sum - t + inc;
  else comp += inc - t + sum;
  return [t, comp];
}

/**
 * deriv() and predict_linear(): Prometheus's linearRegression, least squares with x in seconds from
 * `interceptTime`. A constant series has slope 0 (NaN when the constant is infinite).
 */
export function linearRegression(p: Points, interceptTime: number): [number, number] {
  let n = 0;
  let sumX = 0;
  let cX = 0;
  let sumY = 0;
  let cY = 0;
  let sumXY = 0;
  let cXY = 0;
  let sumX2 = 0;
  let cX2 = 0;
  const initY = at(p.values, p.from);
  let constY = true;
  for (let i = p.from; i < p.to; i++) {
    const v = at(p.values, i);
    if (constY && i > p.from && v !== initY) constY = false;
    n += 1;
    const x = (at(p.timestamps, i) - interceptTime) / 1e3;
    [sumX, cX] = kahanSumInc(x, sumX, cX);
    [sumY, cY] = kahanSumInc(v, sumY, cY);
    [sumXY, cXY] = kahanSumInc(x * v, sumXY, cXY);
    [sumX2, cX2] = kahanSumInc(x * x, sumX2, cX2);
  }
  if (constY) {
    if (initY === Infinity || initY === -Infinity) return [NaN, NaN];
    return [0, initY];
  }
  sumX += cX;
  sumY += cY;
  sumXY += cXY;
  sumX2 += cX2;
  const covXY = sumXY - (sumX * sumY) / n;
  const varX = sumX2 - (sumX * sumX) / n;
  const slope = covXY / varX;
  const intercept = sumY / n - (slope * sumX) / n;
  return [slope, intercept];
}

/** holt_winters(): double exponential smoothing, as Prometheus 2.42's funcHoltWinters. */
export function holtWinters(p: Points, sf: number, tf: number): number | undefined {
  const n = p.to - p.from;
  if (n < 2) return undefined;
  let s0 = 0;
  let s1 = at(p.values, p.from);
  let b = at(p.values, p.from + 1) - s1;
  for (let i = 1; i < n; i++) {
    const x = sf * at(p.values, p.from + i);
    // calcTrendValue: the first trend is the initial difference.
    if (i - 1 !== 0) b = tf * (s1 - s0) + (1 - tf) * b;
    const y = (1 - sf) * (s1 + b);
    s0 = s1;
    s1 = x + y;
  }
  return s1;
}

/** irate() and idelta(): Prometheus's instantValue. */
export function instantValue(p: Points, isRate: boolean): number | undefined {
  if (p.to - p.from < 2) return undefined;
  const last = at(p.values, p.to - 1);
  const prev = at(p.values, p.to - 2);
  const result = isRate && last < prev ? last : last - prev;
  const interval = at(p.timestamps, p.to - 1) - at(p.timestamps, p.to - 2);
  if (interval === 0) return undefined;
  return isRate ? result / (interval / 1000) : result;
}

/** Sorts ascending with NaN first, as Prometheus's vectorByValueHeap does. */
export const byValueNaNFirst = (a: number, b: number): number => {
  if (Number.isNaN(a)) return Number.isNaN(b) ? 0 : -1;
  if (Number.isNaN(b)) return 1;
  return a - b;
};

/** Prometheus's quantile() of the quantile aggregation and quantile_over_time. Sorts `values`. */
export function quantile(q: number, values: number[]): number {
  if (values.length === 0 || Number.isNaN(q)) return NaN;
  if (q < 0) return -Infinity;
  if (q > 1) return Infinity;
  values.sort(byValueNaNFirst);
  const n = values.length;
  const rank = q * (n - 1);
  const lower = Math.max(0, Math.floor(rank));
  const upper = Math.min(n - 1, lower + 1);
  const weight = rank - Math.floor(rank);
  return at(values, lower) * (1 - weight) + at(values, upper) * weight;
}

/** A classic histogram bucket. */
export interface Bucket {
  upperBound: number;
  count: number;
}

/** Prometheus 2.42's bucketQuantile, with coalescing of equal bounds and the monotonicity fix. */
export function bucketQuantile(q: number, input: Bucket[]): number {
  if (Number.isNaN(q)) return NaN;
  if (q < 0) return -Infinity;
  if (q > 1) return Infinity;
  input.sort((a, b) => a.upperBound - b.upperBound);
  const top = input[input.length - 1];
  if (top === undefined || top.upperBound !== Infinity) return NaN;
  // coalesceBuckets
  const buckets: Bucket[] = [];
  let last = { ...(input[0] as Bucket) };
  for (let i = 1; i < input.length; i++) {
    const b = input[i] as Bucket;
    if (b.upperBound === last.upperBound) last.count += b.count;
    else {
      buckets.push(last);
      last = { ...b };
    }
  }
  buckets.push(last);
  // ensureMonotonic
  let max = -Infinity;
  for (const b of buckets) {
    if (b.count > max) max = b.count;
    else if (b.count < max) b.count = max;
  }
  if (buckets.length < 2) return NaN;
  const observations = (buckets[buckets.length - 1] as Bucket).count;
  if (observations === 0) return NaN;
  let rank = q * observations;
  // sort.Search over all but the +Inf bucket.
  let lo = 0;
  let hi = buckets.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((buckets[mid] as Bucket).count >= rank) hi = mid;
    else lo = mid + 1;
  }
  const b = lo;
  if (b === buckets.length - 1) return (buckets[buckets.length - 2] as Bucket).upperBound;
  if (b === 0 && (buckets[0] as Bucket).upperBound <= 0) return (buckets[0] as Bucket).upperBound;
  let bucketStart = 0;
  const bucketEnd = (buckets[b] as Bucket).upperBound;
  let count = (buckets[b] as Bucket).count;
  if (b > 0) {
    const prev = buckets[b - 1] as Bucket;
    bucketStart = prev.upperBound;
    count -= prev.count;
    rank -= prev.count;
  }
  return bucketStart + (bucketEnd - bucketStart) * (rank / count);
}

/** Go's strconv.ParseFloat for `le` values; undefined where Go returns an error. */
export function parseGoFloat(text: string): number | undefined {
  const t = text.toLowerCase();
  const m = /^([+-]?)(inf|infinity)$/.exec(t);
  if (m !== null) return m[1] === '-' ? -Infinity : Infinity;
  if (/^[+-]?nan$/.test(t)) return NaN;
  if (/^[+-]?(?:\d+(?:_\d+)*\.?\d*(?:_\d+)*|\.\d+)(?:e[+-]?\d+)?$/.test(t) && !t.includes('_')) {
    const v = Number(t);
    return Number.isFinite(v) ? v : undefined;
  }
  if (/^[+-]?0x[0-9a-f]*\.?[0-9a-f]*p[+-]?\d+$/.test(t)) return undefined;
  return undefined;
}

/** Go's strconv.FormatFloat(v, 'f', -1, 64): shortest digits, never an exponent. */
export function formatGoFloat(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  const s = String(v);
  const m = /^(-?)(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(s);
  if (m === null) return Object.is(v, -0) ? '-0' : s;
  const sign = m[1] as string;
  const digits = (m[2] as string) + (m[3] ?? '');
  const exp = Number(m[4]);
  if (exp >= 0) {
    const intLen = exp + 1;
    return (
      sign +
      (digits.length <= intLen
        ? digits + '0'.repeat(intLen - digits.length)
        : `${digits.slice(0, intLen)}.${digits.slice(intLen)}`)
    );
  }
  return `${sign}0.${'0'.repeat(-exp - 1)}${digits}`;
}

/** Go's math.Pow, which differs from JavaScript's `**` for a base of 1 or -1. */
export function goPow(x: number, y: number): number {
  if (y === 0) return 1;
  if (x === 1) return 1;
  if (x === -1 && (y === Infinity || y === -Infinity)) return 1;
  return x ** y;
}

/**
 * Go's Regexp.Expand for label_replace: `$1`, `${1}`, `$name`, `${name}` (longest name), `$$`.
 * Unknown names and unmatched groups expand to nothing.
 */
export function expandTemplate(template: string, match: RegExpExecArray): string {
  let out = '';
  for (let i = 0; i < template.length; i++) {
    const c = template[i] as string;
    if (c !== '$') {
      out += c;
      continue;
    }
    const rest = template.slice(i + 1);
    if (rest.startsWith('$')) {
      out += '$';
      i++;
      continue;
    }
    const m = /^\{([A-Za-z0-9_]+)\}/.exec(rest) ?? /^([A-Za-z0-9_]+)/.exec(rest);
    if (m === null) {
      out += '$';
      continue;
    }
    const name = m[1] as string;
    i += m[0].length;
    if (/^\d+$/.test(name)) {
      const n = Number(name);
      out += n < match.length ? (match[n] ?? '') : '';
    } else {
      out += match.groups?.[name] ?? '';
    }
  }
  return out;
}
