// evaluate(): Prometheus 2.42's instant-query semantics (promql/engine.go) over a Queryable, for the
// tree compileExpr built. Data problems come back as { error }, never as a throw.
import type { LabelSet } from '../model';
import type {
  AggregateNode,
  BinaryNode,
  CallNode,
  MatrixNode,
  Node,
  SelectorNode,
  SubqueryNode,
  VectorMatching,
} from './ast';
import { compile, type Compiled, treeOf } from './compile';
import {
  type Bucket,
  bucketQuantile,
  byValueNaNFirst,
  expandTemplate,
  extrapolatedRate,
  formatGoFloat,
  goPow,
  holtWinters,
  instantValue,
  linearRegression,
  lowerBound,
  parseGoFloat,
  type Points,
  quantile,
  SUMMABLE,
  upperBound,
} from './functions';
import { dropMetricName, isLabelName, LabelCache, labelsKey, METRIC_NAME } from './labels';
import type { CompiledExpr, InstantSample, Queryable, SeriesView, Value } from './types';

/** An evaluation error, returned as `{ error }`. */
class EvalError extends Error {}

type Sample = InstantSample;
type Internal =
  | { readonly type: 'vector'; readonly samples: Sample[] }
  | { readonly type: 'scalar'; readonly value: number }
  | { readonly type: 'string'; readonly value: string };

// The operators whose result drops the metric name (shouldDropMetricName): atan2 is not one of them
// in Prometheus 2.42.
const ARITHMETIC = new Set(['+', '-', '*', '/', '%', '^']);
const COMPARISON = new Set(['==', '!=', '>', '<', '>=', '<=']);

/** Prometheus's labels.String(): `{a="1", b="2"}`. */
export function formatLabels(labels: LabelSet): string {
  const names = Object.keys(labels).sort();
  return `{${names.map((n) => `${n}=${JSON.stringify(labels[n])}`).join(', ')}}`;
}

/** vectorElemBinop: the value, and whether a comparison keeps the element. */
function elemBinop(op: string, lhs: number, rhs: number): [number, boolean] {
  switch (op) {
    case '+':
      return [lhs + rhs, true];
    case '-':
      return [lhs - rhs, true];
    case '*':
      return [lhs * rhs, true];
    case '/':
      return [lhs / rhs, true];
    case '%':
      return [lhs % rhs, true];
    case '^':
      return [goPow(lhs, rhs), true];
    case 'atan2':
      return [Math.atan2(lhs, rhs), true];
    case '==':
      return [lhs, lhs === rhs];
    case '!=':
      return [lhs, lhs !== rhs];
    case '>':
      return [lhs, lhs > rhs];
    case '<':
      return [lhs, lhs < rhs];
    case '>=':
      return [lhs, lhs >= rhs];
    case '<=':
      return [lhs, lhs <= rhs];
    default:
      throw new EvalError(`operator "${op}" not allowed for operations between vectors`);
  }
}

/** The key of the labels a matching compares: `on` labels, or all but the ignored ones and the name. */
function signature(labels: LabelSet, on: boolean, names: readonly string[]): string {
  let key = '';
  if (on) {
    for (const n of names) {
      const v = labels[n];
      if (v !== undefined && v !== '') key += `${n}\xff${v}\xff`;
    }
    return key;
  }
  if (names.length === 0) {
    const full = labelsKey(labels);
    const name = labels[METRIC_NAME];
    return name === undefined ? full : labelsKey(dropMetricName(labels));
  }
  const out: Record<string, string> = {};
  for (const n in labels) if (n !== METRIC_NAME && !names.includes(n)) out[n] = labels[n] as string;
  return labelsKey(out);
}

/** The matched labels of a series, for error messages (Prometheus's MatchLabels). */
function matchLabels(labels: LabelSet, on: boolean, names: readonly string[]): LabelSet {
  const out: Record<string, string> = {};
  for (const n in labels) {
    const listed = names.includes(n);
    if (on ? listed : !listed && n !== METRIC_NAME) out[n] = labels[n] as string;
  }
  return out;
}

function checkUnique(samples: readonly Sample[]): void {
  if (samples.length < 2) return;
  const seen = new Set<string>();
  for (const s of samples) {
    const key = labelsKey(s.labels);
    if (seen.has(key)) throw new EvalError('vector cannot contain metrics with the same labelset');
    seen.add(key);
  }
}

// Go's container/heap, on an array of samples with a "less" of Prometheus's value heaps.
type Less = (a: Sample, b: Sample) => boolean;
const topLess: Less = (a, b) => Number.isNaN(a.value) || a.value < b.value;
const bottomLess: Less = (a, b) => Number.isNaN(a.value) || a.value > b.value;
function heapUp(h: Sample[], j0: number, less: Less): void {
  let j = j0;
  for (;;) {
    const i = Math.trunc((j - 1) / 2);
    if (i === j || !less(h[j] as Sample, h[i] as Sample)) break;
    [h[i], h[j]] = [h[j] as Sample, h[i] as Sample];
    j = i;
  }
}
function heapDown(h: Sample[], i0: number, less: Less): boolean {
  let i = i0;
  const n = h.length;
  for (;;) {
    const j1 = 2 * i + 1;
    if (j1 >= n) break;
    let j = j1;
    const j2 = j1 + 1;
    if (j2 < n && less(h[j2] as Sample, h[j1] as Sample)) j = j2;
    if (!less(h[j] as Sample, h[i] as Sample)) break;
    [h[i], h[j]] = [h[j] as Sample, h[i] as Sample];
    i = j;
  }
  return i > i0;
}

/** Go's %f: six decimals, NaN and infinities spelled as Go spells them. */
const goFixed6 = (v: number): string =>
  Number.isNaN(v) ? 'NaN' : v === Infinity ? '+Inf' : v === -Infinity ? '-Inf' : v.toFixed(6);

const at0 = (p: Points): number => p.timestamps[p.from] as number;

/** Points reused from series to series, so that a range selection allocates nothing per series. */
interface MutablePoints {
  timestamps: ArrayLike<number>;
  values: ArrayLike<number>;
  from: number;
  to: number;
}
const EMPTY = new Float64Array(0);

/** A sample's group in an aggregation: its key and the group's labels. */
interface GroupOf {
  readonly key: string;
  readonly labels: LabelSet;
}

// Per-node caches of values derived from label sets, which stay valid across evaluations because the
// label sets of stored series (and their name-dropped forms) are the same objects every time.
const caches = new WeakMap<object, LabelCache<unknown>>();
function cacheOf<T>(node: object): LabelCache<T> {
  let c = caches.get(node);
  if (c === undefined) {
    c = new LabelCache<unknown>();
    caches.set(node, c);
  }
  return c as LabelCache<T>;
}
const resultKeys = new WeakMap<object, object>();
/** A second cache key for a node (its result labels, besides its signatures). */
function resultsKey(node: object): object {
  let k = resultKeys.get(node);
  if (k === undefined) {
    k = {};
    resultKeys.set(node, k);
  }
  return k;
}

interface Group {
  labels: LabelSet;
  value: number;
  mean: number;
  count: number;
  heap: Sample[];
  values: number[];
}

class Evaluator {
  constructor(
    private readonly storage: Queryable,
    private readonly t: number,
    private readonly lookbackDeltaMs: number,
  ) {}

  eval(node: Node): Internal {
    switch (node.kind) {
      case 'number':
        return { type: 'scalar', value: node.value };
      case 'string':
        return { type: 'string', value: node.value };
      case 'selector':
        return { type: 'vector', samples: this.instant(node).samples };
      case 'matrix':
      case 'subquery':
        throw new EvalError('a range vector cannot be the result of an instant evaluation');
      case 'unary': {
        const v = this.eval(node.expr);
        if (!node.negate) return v;
        if (v.type === 'scalar') return { type: 'scalar', value: -v.value };
        if (v.type !== 'vector') throw new EvalError('unary minus of a string');
        const samples = v.samples.map((s) => ({
          labels: dropMetricName(s.labels),
          value: -s.value,
        }));
        checkUnique(samples);
        return { type: 'vector', samples };
      }
      case 'call':
        return this.call(node);
      case 'aggregate':
        return this.aggregate(node);
      case 'binary':
        return this.binary(node);
    }
  }

  private vector(node: Node): Sample[] {
    const v = this.eval(node);
    if (v.type !== 'vector') throw new EvalError(`expected an instant vector, got a ${v.type}`);
    return v.samples;
  }

  private scalar(node: Node): number {
    const v = this.eval(node);
    if (v.type !== 'scalar') throw new EvalError(`expected a scalar, got a ${v.type}`);
    return v.value;
  }

  private string(node: Node): string {
    const v = this.eval(node);
    if (v.type !== 'string') throw new EvalError(`expected a string, got a ${v.type}`);
    return v.value;
  }

  /** An instant vector selector: the last sample in [ref - lookback, ref], unless it is stale. */
  private instant(node: SelectorNode): { samples: Sample[]; times: number[] } {
    const ref = this.t - node.offset;
    const min = ref - this.lookbackDeltaMs;
    const samples: Sample[] = [];
    const times: number[] = [];
    for (const s of this.storage.select(node.matchers, min, ref)) {
      const i = upperBound(s.timestamps, s.length, ref) - 1;
      if (i < 0) continue;
      const t = s.timestamps[i] as number;
      if (t < min || s.stale?.[i] === 1) continue;
      samples.push({ labels: s.labels, value: s.values[i] as number });
      times.push(t);
    }
    return { samples, times };
  }

  private call(node: CallNode): Internal {
    const { name, args } = node;
    const arg = args[0];
    const matrixArg = args.find(
      (a): a is MatrixNode | SubqueryNode => a.kind === 'matrix' || a.kind === 'subquery',
    );
    if (matrixArg !== undefined) return this.matrixCall(node, matrixArg);
    switch (name) {
      case 'time':
        return { type: 'scalar', value: this.t / 1000 };
      case 'vector':
        return { type: 'vector', samples: [{ labels: {}, value: this.scalar(arg as Node) }] };
      case 'pi':
        return { type: 'scalar', value: Math.PI };
      case 'scalar': {
        const v = this.vector(arg as Node);
        return { type: 'scalar', value: v.length === 1 ? (v[0] as Sample).value : NaN };
      }
      default:
        break;
    }
    let samples: Sample[];
    switch (name) {
      case 'days_in_month':
      case 'day_of_month':
      case 'day_of_week':
      case 'day_of_year':
      case 'hour':
      case 'minute':
      case 'month':
      case 'year': {
        // Without an argument these read vector(time()).
        const vec = arg === undefined ? [{ labels: {}, value: this.t / 1000 }] : this.vector(arg);
        const f = CLOCK[name] as (d: Date) => number;
        samples = vec.map((s) => ({
          labels: dropMetricName(s.labels),
          value: f(new Date(Math.trunc(s.value) * 1000)),
        }));
        break;
      }
      case 'abs':
      case 'sgn':
      case 'acos':
      case 'acosh':
      case 'asin':
      case 'asinh':
      case 'atan':
      case 'atanh':
      case 'cos':
      case 'cosh':
      case 'sin':
      case 'sinh':
      case 'tan':
      case 'tanh':
      case 'deg':
      case 'rad':
      case 'ceil':
      case 'floor':
      case 'sqrt':
      case 'exp':
      case 'ln':
      case 'log2':
      case 'log10': {
        const f = MATH[name] as (x: number) => number;
        samples = this.vector(arg as Node).map((s) => ({
          labels: dropMetricName(s.labels),
          value: f(s.value),
        }));
        break;
      }
      case 'round': {
        const vec = this.vector(arg as Node);
        const toNearest = args[1] === undefined ? 1 : this.scalar(args[1]);
        const inverse = 1 / toNearest;
        samples = vec.map((s) => ({
          labels: dropMetricName(s.labels),
          value: Math.floor(s.value * inverse + 0.5) / inverse,
        }));
        break;
      }
      case 'clamp': {
        const vec = this.vector(arg as Node);
        const min = this.scalar(args[1] as Node);
        const max = this.scalar(args[2] as Node);
        if (max < min) return { type: 'vector', samples: [] };
        samples = vec.map((s) => ({
          labels: dropMetricName(s.labels),
          value: Math.max(min, Math.min(max, s.value)),
        }));
        break;
      }
      case 'clamp_min':
      case 'clamp_max': {
        const vec = this.vector(arg as Node);
        const bound = this.scalar(args[1] as Node);
        const f = name === 'clamp_min' ? Math.max : Math.min;
        samples = vec.map((s) => ({ labels: dropMetricName(s.labels), value: f(s.value, bound) }));
        break;
      }
      case 'timestamp': {
        if (arg?.kind === 'selector') {
          const { samples: vec, times } = this.instant(arg);
          samples = vec.map((s, i) => ({
            labels: dropMetricName(s.labels),
            value: (times[i] as number) / 1000,
          }));
        } else {
          samples = this.vector(arg as Node).map((s) => ({
            labels: dropMetricName(s.labels),
            value: this.t / 1000,
          }));
        }
        break;
      }
      case 'sort':
      case 'sort_desc': {
        samples = [...this.vector(arg as Node)];
        // Prometheus sorts with NaN last in both directions.
        samples.sort((a, b) => {
          const an = Number.isNaN(a.value);
          const bn = Number.isNaN(b.value);
          if (an || bn) return an === bn ? 0 : an ? 1 : -1;
          return name === 'sort' ? a.value - b.value : b.value - a.value;
        });
        break;
      }
      case 'absent':
        samples =
          this.vector(arg as Node).length > 0
            ? []
            : [{ labels: node.absentLabels ?? {}, value: 1 }];
        break;
      case 'histogram_quantile':
        samples = this.histogramQuantile(this.scalar(arg as Node), this.vector(args[1] as Node));
        break;
      case 'label_replace':
        samples = this.labelReplace(node);
        break;
      case 'label_join':
        samples = this.labelJoin(node);
        break;
      default:
        throw new EvalError(`function ${name}() is not evaluated`);
    }
    checkUnique(samples);
    return { type: 'vector', samples };
  }

  /**
   * A subquery's series: the inner expression evaluated at every multiple of the step in
   * [t - offset - range, t - offset], its samples gathered by label set.
   */
  private subquery(node: SubqueryNode): SeriesView[] {
    const end = this.t - node.offset;
    const from = end - node.range;
    let start = node.step * Math.floor(from / node.step);
    if (start < from) start += node.step;
    const bySet = new Map<string, { labels: LabelSet; ts: number[]; vs: number[] }>();
    for (let ts = start; ts <= end; ts += node.step) {
      const inner = new Evaluator(this.storage, ts, this.lookbackDeltaMs).eval(node.expr);
      if (inner.type !== 'vector') throw new EvalError('a subquery of a non-vector');
      for (const s of inner.samples) {
        const key = labelsKey(s.labels);
        let series = bySet.get(key);
        if (series === undefined) {
          series = { labels: s.labels, ts: [], vs: [] };
          bySet.set(key, series);
        }
        series.ts.push(ts);
        series.vs.push(s.value);
      }
    }
    return [...bySet.entries()].map(([key, s]) => ({
      labels: s.labels,
      key,
      length: s.ts.length,
      timestamps: Float64Array.from(s.ts),
      values: Float64Array.from(s.vs),
      stale: undefined,
    }));
  }

  private matrixCall(node: CallNode, matrixArg: MatrixNode | SubqueryNode): Internal {
    const { name } = node;
    let sf = NaN;
    let tf = NaN;
    if (name === 'holt_winters') {
      sf = this.scalar(node.args[1] as Node);
      tf = this.scalar(node.args[2] as Node);
      // Prometheus checks the factors only when a series has samples in the range.
    }
    const q =
      name === 'quantile_over_time'
        ? this.scalar(node.args[0] as Node)
        : name === 'predict_linear'
          ? this.scalar(node.args[1] as Node)
          : NaN;
    const selector = matrixArg.kind === 'matrix' ? matrixArg.selector : undefined;
    const ref = this.t - (selector ?? (matrixArg as SubqueryNode)).offset;
    const start = ref - matrixArg.range;
    const samples: Sample[] = [];
    let found = false;
    const scratch: MutablePoints = { timestamps: EMPTY, values: EMPTY, from: 0, to: 0 };
    const series =
      selector !== undefined
        ? this.storage.select(selector.matchers, start, ref)
        : this.subquery(matrixArg as SubqueryNode);
    // sum, count, avg and present over time can be answered from a store's per-interval sums.
    const summable = selector !== undefined && SUMMABLE.has(name);
    const acc = { sum: 0, count: 0 };
    for (const s of series) {
      if (summable && s.sumOver?.(start, ref, acc) === true) {
        if (acc.count === 0) continue;
        const value =
          name === 'sum_over_time'
            ? acc.sum
            : name === 'count_over_time'
              ? acc.count
              : name === 'avg_over_time'
                ? acc.sum / acc.count
                : 1;
        samples.push({ labels: s.unnamed ?? dropMetricName(s.labels), value });
        continue;
      }
      const from = lowerBound(s.timestamps, s.length, start);
      const to = upperBound(s.timestamps, s.length, ref);
      if (from >= to) continue;
      const p = withoutStale(s, from, to, scratch);
      if (p.to <= p.from) continue;
      found = true;
      if (name === 'absent_over_time') break;
      if (name === 'holt_winters') {
        if (!(sf > 0 && sf < 1)) {
          throw new EvalError(
            `invalid smoothing factor. Expected: 0 < sf < 1, got: ${goFixed6(sf)}`,
          );
        }
        if (!(tf > 0 && tf < 1)) {
          throw new EvalError(`invalid trend factor. Expected: 0 < tf < 1, got: ${goFixed6(tf)}`);
        }
        const value = holtWinters(p, sf, tf);
        if (value !== undefined)
          samples.push({ labels: s.unnamed ?? dropMetricName(s.labels), value });
        continue;
      }
      const value = this.overTime(name, p, start, ref, matrixArg.range, q);
      if (value === undefined) continue;
      samples.push({
        labels: name === 'last_over_time' ? s.labels : (s.unnamed ?? dropMetricName(s.labels)),
        value,
      });
    }
    if (name === 'absent_over_time') {
      return {
        type: 'vector',
        samples: found ? [] : [{ labels: node.absentLabels ?? {}, value: 1 }],
      };
    }
    // Series of one metric name stay distinct without it; other selections may collide.
    if (!selector?.matchers.some((m) => m.name === METRIC_NAME && m.type === '=')) {
      checkUnique(samples);
    }
    return { type: 'vector', samples };
  }

  private overTime(
    name: string,
    p: Points,
    start: number,
    end: number,
    range: number,
    q: number,
  ): number | undefined {
    const { values: v, from, to } = p;
    const n = to - from;
    switch (name) {
      case 'rate':
        return extrapolatedRate(p, start, end, range, true, true);
      case 'increase':
        return extrapolatedRate(p, start, end, range, true, false);
      case 'delta':
        return extrapolatedRate(p, start, end, range, false, false);
      case 'deriv':
        return n < 2 ? undefined : linearRegression(p, at0(p))[0];
      case 'predict_linear': {
        if (n < 2) return undefined;
        const [slope, intercept] = linearRegression(p, this.t);
        return slope * q + intercept;
      }
      case 'irate':
        return instantValue(p, true);
      case 'idelta':
        return instantValue(p, false);
      case 'resets':
      case 'changes': {
        let count = 0;
        let prev = v[from] as number;
        for (let i = from + 1; i < to; i++) {
          const cur = v[i] as number;
          if (
            name === 'resets'
              ? cur < prev
              : cur !== prev && !(Number.isNaN(cur) && Number.isNaN(prev))
          ) {
            count++;
          }
          prev = cur;
        }
        return count;
      }
      case 'sum_over_time': {
        let sum = 0;
        for (let i = from; i < to; i++) sum += v[i] as number;
        return sum;
      }
      case 'avg_over_time': {
        let mean = 0;
        let count = 0;
        for (let i = from; i < to; i++) {
          const x = v[i] as number;
          count++;
          if (mean === Infinity || mean === -Infinity) {
            if ((x === Infinity || x === -Infinity) && mean > 0 === x > 0) continue;
            if (Number.isFinite(x)) continue;
          }
          mean += x / count - mean / count;
        }
        return mean;
      }
      case 'min_over_time':
      case 'max_over_time': {
        let m = v[from] as number;
        for (let i = from; i < to; i++) {
          const x = v[i] as number;
          if ((name === 'max_over_time' ? x > m : x < m) || Number.isNaN(m)) m = x;
        }
        return m;
      }
      case 'count_over_time':
        return n;
      case 'last_over_time':
        return v[to - 1];
      case 'present_over_time':
        return 1;
      case 'quantile_over_time':
        return quantile(
          q,
          Array.from({ length: n }, (_, i) => v[from + i] as number),
        );
      case 'stddev_over_time':
      case 'stdvar_over_time': {
        let count = 0;
        let mean = 0;
        let aux = 0;
        for (let i = from; i < to; i++) {
          const x = v[i] as number;
          count++;
          const delta = x - mean;
          mean += delta / count;
          aux += delta * (x - mean);
        }
        return name === 'stddev_over_time' ? Math.sqrt(aux / count) : aux / count;
      }
      default:
        throw new EvalError(`function ${name}() is not evaluated`);
    }
  }

  private histogramQuantile(q: number, vec: Sample[]): Sample[] {
    const groups = new Map<string, { labels: LabelSet; buckets: Bucket[] }>();
    for (const s of vec) {
      const le = s.labels.le;
      const upperBound = le === undefined ? undefined : parseGoFloat(le);
      if (upperBound === undefined) continue;
      const labels: Record<string, string> = {};
      for (const n in s.labels)
        if (n !== 'le' && n !== METRIC_NAME) labels[n] = s.labels[n] as string;
      const key = labelsKey(labels);
      let g = groups.get(key);
      if (g === undefined) {
        g = { labels, buckets: [] };
        groups.set(key, g);
      }
      g.buckets.push({ upperBound, count: s.value });
    }
    const out: Sample[] = [];
    for (const g of groups.values()) {
      if (g.buckets.length > 0) out.push({ labels: g.labels, value: bucketQuantile(q, g.buckets) });
    }
    return out;
  }

  private labelReplace(node: CallNode): Sample[] {
    const [v, dstN, replN, srcN] = node.args;
    const vec = this.vector(v as Node);
    const dst = this.string(dstN as Node);
    const repl = this.string(replN as Node);
    const src = this.string(srcN as Node);
    const regex = node.regex as RegExp;
    if (!isLabelName(dst))
      throw new EvalError(`invalid destination label name in label_replace(): ${dst}`);
    return vec.map((s) => {
      const match = regex.exec(s.labels[src] ?? '');
      if (match === null) return s;
      const res = expandTemplate(repl, match);
      const labels: Record<string, string> = { ...s.labels };
      delete labels[dst];
      if (res !== '') labels[dst] = res;
      return { labels, value: s.value };
    });
  }

  private labelJoin(node: CallNode): Sample[] {
    const [v, dstN, sepN, ...srcN] = node.args;
    const vec = this.vector(v as Node);
    const dst = this.string(dstN as Node);
    const sep = this.string(sepN as Node);
    const src = srcN.map((n) => this.string(n));
    for (const name of src) {
      if (!isLabelName(name))
        throw new EvalError(`invalid source label name in label_join(): ${name}`);
    }
    if (!isLabelName(dst))
      throw new EvalError(`invalid destination label name in label_join(): ${dst}`);
    return vec.map((s) => {
      const joined = src.map((n) => s.labels[n] ?? '').join(sep);
      const labels: Record<string, string> = { ...s.labels };
      delete labels[dst];
      if (joined !== '') labels[dst] = joined;
      return { labels, value: s.value };
    });
  }

  private aggregate(node: AggregateNode): Internal {
    const { op, without } = node;
    let k = 0;
    let q = NaN;
    let valueLabel = '';
    if (op === 'topk' || op === 'bottomk') {
      const f = this.scalar(node.param as Node);
      if (!(f >= -9.223372036854776e18 && f <= 9.223372036854776e18)) {
        throw new EvalError(`Scalar value ${formatGoFloat(f)} overflows int64`);
      }
      k = Math.trunc(f);
    } else if (op === 'quantile') {
      q = this.scalar(node.param as Node);
    } else if (op === 'count_values') {
      valueLabel = this.string(node.param as Node);
      if (!isLabelName(valueLabel)) throw new EvalError(`invalid label name "${valueLabel}"`);
    }
    const vec = this.vector(node.expr);
    if ((op === 'topk' || op === 'bottomk') && k < 1) return { type: 'vector', samples: [] };
    const grouping =
      op === 'count_values' && !without ? [...node.grouping, valueLabel] : node.grouping;
    const groups = new Map<string, Group>();
    const less = op === 'topk' ? topLess : bottomLess;
    for (const s of vec) {
      let metric = s.labels;
      if (op === 'count_values') metric = { ...metric, [valueLabel]: formatGoFloat(s.value) };
      const derive = (m: LabelSet): GroupOf => {
        const labels: Record<string, string> = {};
        if (without) {
          for (const n in m) {
            if (n !== METRIC_NAME && !grouping.includes(n)) labels[n] = m[n] as string;
          }
        } else {
          for (const n of grouping) {
            const v = m[n];
            if (v !== undefined && v !== '') labels[n] = v;
          }
        }
        return { key: labelsKey(labels), labels };
      };
      const { key, labels } =
        op === 'count_values' ? derive(metric) : cacheOf<GroupOf>(node).get(metric, derive);
      const group = groups.get(key);
      if (group === undefined) {
        groups.set(key, {
          labels,
          value: op === 'group' ? 1 : op === 'stddev' || op === 'stdvar' ? 0 : s.value,
          mean: s.value,
          count: 1,
          heap: [s],
          values: [s.value],
        });
        continue;
      }
      switch (op) {
        case 'sum':
          group.value += s.value;
          break;
        case 'avg': {
          group.count++;
          const m = group.mean;
          if (m === Infinity || m === -Infinity) {
            if ((s.value === Infinity || s.value === -Infinity) && m > 0 === s.value > 0) break;
            if (Number.isFinite(s.value)) break;
          }
          group.mean += s.value / group.count - group.mean / group.count;
          break;
        }
        case 'max':
          if (group.value < s.value || Number.isNaN(group.value)) group.value = s.value;
          break;
        case 'min':
          if (group.value > s.value || Number.isNaN(group.value)) group.value = s.value;
          break;
        case 'count':
        case 'count_values':
          group.count++;
          break;
        case 'stddev':
        case 'stdvar': {
          group.count++;
          const delta = s.value - group.mean;
          group.mean += delta / group.count;
          group.value += delta * (s.value - group.mean);
          break;
        }
        case 'topk':
        case 'bottomk': {
          const h = group.heap;
          if (h.length < k) {
            h.push(s);
            heapUp(h, h.length - 1, less);
          } else {
            const top = (h[0] as Sample).value;
            const replace =
              op === 'topk'
                ? top < s.value || (Number.isNaN(top) && !Number.isNaN(s.value))
                : top > s.value || (Number.isNaN(top) && !Number.isNaN(s.value));
            if (replace) {
              h[0] = s;
              if (k > 1 && !heapDown(h, 0, less)) heapUp(h, 0, less);
            }
          }
          break;
        }
        case 'quantile':
          group.values.push(s.value);
          break;
        default:
          break;
      }
    }
    const samples: Sample[] = [];
    for (const g of groups.values()) {
      switch (op) {
        case 'avg':
          samples.push({ labels: g.labels, value: g.mean });
          break;
        case 'count':
        case 'count_values':
          samples.push({ labels: g.labels, value: g.count });
          break;
        case 'stdvar':
          samples.push({ labels: g.labels, value: g.value / g.count });
          break;
        case 'stddev':
          samples.push({ labels: g.labels, value: Math.sqrt(g.value / g.count) });
          break;
        case 'topk':
        case 'bottomk':
          for (const s of g.heap) samples.push(s);
          break;
        case 'quantile':
          samples.push({ labels: g.labels, value: quantile(q, g.values) });
          break;
        default:
          samples.push({ labels: g.labels, value: g.value });
      }
    }
    if (op === 'topk' || op === 'bottomk') {
      const dir = op === 'topk' ? -1 : 1;
      samples.sort((a, b) => dir * byValueNaNFirst(a.value, b.value));
    }
    // Groups have distinct keys, and topk/bottomk keep series of an input that has no duplicates.
    return { type: 'vector', samples };
  }

  private binary(node: BinaryNode): Internal {
    const lhs = this.eval(node.lhs);
    const rhs = this.eval(node.rhs);
    const { op, returnBool } = node;
    if (lhs.type === 'scalar' && rhs.type === 'scalar') {
      const [value, keep] = elemBinop(op, lhs.value, rhs.value);
      return { type: 'scalar', value: COMPARISON.has(op) ? (keep ? 1 : 0) : value };
    }
    let samples: Sample[];
    if (lhs.type === 'vector' && rhs.type === 'vector') {
      samples = this.vectorBinop(node, lhs.samples, rhs.samples);
    } else if (lhs.type === 'vector' && rhs.type === 'scalar') {
      samples = vectorScalar(op, lhs.samples, rhs.value, false, returnBool);
    } else if (lhs.type === 'scalar' && rhs.type === 'vector') {
      samples = vectorScalar(op, rhs.samples, lhs.value, true, returnBool);
    } else {
      throw new EvalError('binary expression must contain only scalar and instant vector types');
    }
    // Set operations and filters keep their input's distinct label sets; anything else may collide.
    const keepsLabels =
      op === 'and' ||
      op === 'or' ||
      op === 'unless' ||
      (lhs.type !== rhs.type && !ARITHMETIC.has(op) && !returnBool);
    if (!keepsLabels) checkUnique(samples);
    return { type: 'vector', samples };
  }

  private vectorBinop(node: BinaryNode, lhs: Sample[], rhs: Sample[]): Sample[] {
    const { op, matching } = node;
    const cache = cacheOf<string>(node);
    const derive = (l: LabelSet): string => signature(l, matching.on, matching.labels);
    const sig = (l: LabelSet): string => cache.get(l, derive);
    switch (op) {
      case 'and': {
        if (lhs.length === 0 || rhs.length === 0) return [];
        const right = new Set(rhs.map((s) => sig(s.labels)));
        return lhs.filter((s) => right.has(sig(s.labels)));
      }
      case 'or': {
        if (lhs.length === 0) return [...rhs];
        if (rhs.length === 0) return [...lhs];
        const left = new Set(lhs.map((s) => sig(s.labels)));
        return [...lhs, ...rhs.filter((s) => !left.has(sig(s.labels)))];
      }
      case 'unless': {
        if (lhs.length === 0 || rhs.length === 0) return [...lhs];
        const right = new Set(rhs.map((s) => sig(s.labels)));
        return lhs.filter((s) => !right.has(sig(s.labels)));
      }
      default:
        return this.matchedBinop(node, lhs, rhs);
    }
  }

  private matchedBinop(node: BinaryNode, lhsIn: Sample[], rhsIn: Sample[]): Sample[] {
    const { op, matching, returnBool } = node;
    if (lhsIn.length === 0 || rhsIn.length === 0) return [];
    const oneToMany = matching.card === 'one-to-many';
    const [lhs, rhs] = oneToMany ? [rhsIn, lhsIn] : [lhsIn, rhsIn];
    const cache = cacheOf<string>(node);
    const derive = (l: LabelSet): string => signature(l, matching.on, matching.labels);
    const sig = (l: LabelSet): string => cache.get(l, derive);
    const right = new Map<string, Sample>();
    for (const rs of rhs) {
      const key = sig(rs.labels);
      const dupl = right.get(key);
      if (dupl !== undefined) {
        throw new EvalError(
          `found duplicate series for the match group ${formatLabels(matchLabels(rs.labels, matching.on, matching.labels))} on the ${oneToMany ? 'left' : 'right'} hand-side of the operation: [${formatLabels(rs.labels)}, ${formatLabels(dupl.labels)}];many-to-many matching not allowed: matching labels must be unique on one side`,
        );
      }
      right.set(key, rs);
    }
    const matched = new Map<string, Set<string> | null>();
    const results = cacheOf<LabelSet>(resultsKey(node));
    const out: Sample[] = [];
    for (const ls of lhs) {
      const key = sig(ls.labels);
      const rs = right.get(key);
      if (rs === undefined) continue;
      const [vl, vr] = oneToMany ? [rs.value, ls.value] : [ls.value, rs.value];
      const [computed, keep] = elemBinop(op, vl, vr);
      let value = computed;
      if (returnBool) value = keep ? 1 : 0;
      else if (!keep) continue;
      let labels =
        matching.include.length === 0
          ? results.get(ls.labels, (l) => resultMetric(l, rs.labels, op, matching))
          : resultMetric(ls.labels, rs.labels, op, matching);
      if (returnBool) labels = dropMetricName(labels);
      const inserted = matched.get(key);
      if (matching.card === 'one-to-one') {
        if (inserted !== undefined) {
          throw new EvalError(
            'multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)',
          );
        }
        matched.set(key, null);
      } else {
        const metricKey = labelsKey(labels);
        let set = inserted ?? undefined;
        if (set === undefined) {
          set = new Set();
          matched.set(key, set);
        } else if (set.has(metricKey)) {
          throw new EvalError(
            'multiple matches for labels: grouping labels must ensure unique matches',
          );
        }
        set.add(metricKey);
      }
      out.push({ labels, value });
    }
    return out;
  }
}

/** Prometheus's resultMetric: the labels of a vector-vector operation's element. */
function resultMetric(
  lhs: LabelSet,
  rhs: LabelSet,
  op: string,
  matching: VectorMatching,
): LabelSet {
  const out: Record<string, string> = {};
  const drop = ARITHMETIC.has(op);
  for (const n in lhs) {
    if (drop && n === METRIC_NAME) continue;
    if (matching.card === 'one-to-one') {
      const listed = matching.labels.includes(n);
      if (matching.on ? !listed : listed) continue;
    }
    out[n] = lhs[n] as string;
  }
  for (const n of matching.include) {
    const v = rhs[n];
    if (v !== undefined && v !== '') out[n] = v;
    else delete out[n];
  }
  return out;
}

/** Prometheus's VectorscalarBinop. `swap` when the scalar is the left operand. */
function vectorScalar(
  op: string,
  vec: Sample[],
  scalar: number,
  swap: boolean,
  returnBool: boolean,
): Sample[] {
  const out: Sample[] = [];
  const comparison = COMPARISON.has(op);
  for (const s of vec) {
    const [lv, rv] = swap ? [scalar, s.value] : [s.value, scalar];
    let [value, keep] = elemBinop(op, lv, rv);
    if (comparison && swap) value = rv;
    if (returnBool) {
      value = keep ? 1 : 0;
      keep = true;
    }
    if (!keep) continue;
    const labels = ARITHMETIC.has(op) || returnBool ? dropMetricName(s.labels) : s.labels;
    out.push({ labels, value });
  }
  return out;
}

/** The points of `s[from, to)` without staleness markers (a copy only when there are some). */
function withoutStale(s: SeriesView, from: number, to: number, scratch: MutablePoints): Points {
  const stale = s.stale;
  if (stale === undefined || !stale.subarray(from, to).includes(1)) {
    scratch.timestamps = s.timestamps;
    scratch.values = s.values;
    scratch.from = from;
    scratch.to = to;
    return scratch;
  }
  const ts: number[] = [];
  const vs: number[] = [];
  for (let i = from; i < to; i++) {
    if (stale[i] === 1) continue;
    ts.push(s.timestamps[i] as number);
    vs.push(s.values[i] as number);
  }
  return { timestamps: ts, values: vs, from: 0, to: ts.length };
}

/** The clock functions, on a time in UTC as Go's time.Unix(v, 0).UTC() reads it. */
const CLOCK: Readonly<Record<string, (d: Date) => number>> = {
  days_in_month: (d) => new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)).getUTCDate(),
  day_of_month: (d) => d.getUTCDate(),
  day_of_week: (d) => d.getUTCDay(),
  day_of_year: (d) =>
    Math.round(
      (Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()) -
        Date.UTC(d.getUTCFullYear(), 0, 1)) /
        86_400_000,
    ) + 1,
  hour: (d) => d.getUTCHours(),
  minute: (d) => d.getUTCMinutes(),
  month: (d) => d.getUTCMonth() + 1,
  year: (d) => d.getUTCFullYear(),
};

const MATH: Readonly<Record<string, (x: number) => number>> = {
  abs: Math.abs,
  acos: Math.acos,
  acosh: Math.acosh,
  asin: Math.asin,
  asinh: Math.asinh,
  atan: Math.atan,
  atanh: Math.atanh,
  cos: Math.cos,
  cosh: Math.cosh,
  sin: Math.sin,
  sinh: Math.sinh,
  tan: Math.tan,
  tanh: Math.tanh,
  deg: (x: number) => (x * 180) / Math.PI,
  rad: (x: number) => (x * Math.PI) / 180,
  sgn: (x: number) => (x > 0 ? 1 : x < 0 ? -1 : x),
  ceil: Math.ceil,
  floor: Math.floor,
  sqrt: Math.sqrt,
  exp: Math.exp,
  ln: Math.log,
  log2: Math.log2,
  log10: Math.log10,
};

/**
 * Evaluates a compiled expression at time `t` (ms) over `storage`, with Prometheus 2.42's semantics
 * for an instant query. Never throws for data reasons: evaluation errors such as many-to-many
 * matching come back as `{ error }`.
 */
export function evaluate(
  expr: CompiledExpr,
  t: number,
  storage: Queryable,
): Value | { readonly error: string } {
  try {
    const c: Compiled = treeOf(expr) ?? compile(expr.text);
    const v = new Evaluator(storage, t, c.lookbackDeltaMs).eval(c.root);
    return v;
  } catch (e) {
    if (e instanceof EvalError) return { error: e.message };
    return { error: `evaluation failed: ${e instanceof Error ? e.message : String(e)}` };
  }
}
