// Vigil's metric instruments, shared by every package that records metrics: series resolved once per
// label set and served through prom-client's registry, and the one get-or-create on a registry.
//
// prom-client hashes the label object on every inc()/observe(), about 0.3 µs each; recording five HTTP
// metrics that way costs more than the whole request budget. These instruments implement the part of
// prom-client's metric contract its Registry and AggregatorRegistry read (name, help, type, aggregator,
// get(), reset()), so exposition, default labels and cluster aggregation stay prom-client's own, while
// a request only does a map lookup and a few additions. They need no import of prom-client itself.
import type { RegistryLike } from './registry';

/** An exemplar as prom-client's registry renders it in OpenMetrics. */
export interface Exemplar {
  labelSet: Record<string, string>;
  value: number;
  timestamp: number;
}

/** Label names to values. */
export type Labels = Record<string, string>;

/** One sample as prom-client's registry reads it. */
export interface MetricValue {
  labels: Labels;
  value: number;
  metricName?: string;
  exemplar?: Exemplar;
}

/** What get() returns: prom-client's metric JSON. */
export interface MetricJson {
  name: string;
  help: string;
  type: InstrumentType;
  values: MetricValue[];
  aggregator: 'sum';
}

export type InstrumentType = 'counter' | 'gauge' | 'histogram';

/** Marks Vigil instruments so a registry lookup can tell them from foreign metrics of the same name. */
export const kVigilInstrument = Symbol.for('vigil.instrument');

/**
 * What every Vigil instrument is to a registry: a prom-client metric (name, help, type, aggregator,
 * get(), reset()), plus the package that defined it and a signature of its definition, so two
 * definitions of one name can be told apart (see registryState).
 */
export interface VigilInstrument {
  readonly [kVigilInstrument]: true;
  readonly name: string;
  readonly help: string;
  readonly type: InstrumentType;
  readonly labelNames: readonly string[];
  /** The package that defines it (`@vigil/metrics`). */
  readonly owner: string;
  /** Identity of the definition: the same owner and signature on one registry mean the same metric. */
  readonly signature: string;
  get(): MetricJson;
  reset(): void;
}

/** The series of a counter or gauge. */
export interface ScalarSeries {
  readonly labels: Labels;
  value: number;
}

/** The series of a histogram. */
export interface HistogramSeries {
  readonly labels: Labels;
  /** Per-bucket counts (not cumulative); the last slot is +Inf. */
  readonly counts: Float64Array;
  sum: number;
  count: number;
  exemplars: (Exemplar | undefined)[] | undefined;
}

/** Samples of counter or gauge series. */
export function scalarValues(series: Iterable<ScalarSeries>): MetricValue[] {
  return Array.from(series, (s) => ({ labels: s.labels, value: s.value }));
}

/** A new, empty histogram series for `buckets`. */
export function histogramSeries(labels: Labels, buckets: readonly number[]): HistogramSeries {
  return {
    labels,
    counts: new Float64Array(buckets.length + 1),
    sum: 0,
    count: 0,
    exemplars: undefined,
  };
}

/** Records `value` in `s`; `exemplar` labels (trace_id, span_id) are kept per bucket, last one wins. */
export function observeHistogram(
  s: HistogramSeries,
  buckets: readonly number[],
  value: number,
  exemplar?: Labels,
): void {
  let i = 0;
  while (i < buckets.length && value > (buckets[i] as number)) i++;
  s.counts[i]!++;
  s.sum += value;
  s.count++;
  if (exemplar !== undefined) {
    s.exemplars ??= new Array<Exemplar | undefined>(buckets.length + 1);
    s.exemplars[i] = { labelSet: exemplar, value, timestamp: Date.now() / 1000 };
  }
}

/** Zeroes a histogram series in place. */
export function resetHistogram(s: HistogramSeries): void {
  s.counts.fill(0);
  s.sum = 0;
  s.count = 0;
  s.exemplars = undefined;
}

/** Samples of histogram series: cumulative `_bucket`s with their exemplars, `_sum`, `_count`. */
export function histogramValues(
  name: string,
  buckets: readonly number[],
  series: Iterable<HistogramSeries>,
): MetricValue[] {
  const out: MetricValue[] = [];
  const bucketName = `${name}_bucket`;
  for (const s of series) {
    let cumulative = 0;
    for (let i = 0; i <= buckets.length; i++) {
      cumulative += s.counts[i] as number;
      // prom-client's registry renders a numeric `le` itself, and `+Inf` as given.
      const le = i < buckets.length ? (buckets[i] as number) : '+Inf';
      const v: MetricValue = {
        labels: { ...s.labels, le: le as unknown as string },
        value: cumulative,
        metricName: bucketName,
      };
      const ex = s.exemplars?.[i];
      if (ex !== undefined) v.exemplar = ex;
      out.push(v);
    }
    out.push({ labels: s.labels, value: s.sum, metricName: `${name}_sum` });
    out.push({ labels: s.labels, value: s.count, metricName: `${name}_count` });
  }
  return out;
}

/** An instrument whose series are kept in a map by a key the caller builds (see FastCounter). */
abstract class Instrument<S extends { labels: Labels }> implements VigilInstrument {
  readonly [kVigilInstrument] = true as const;
  readonly aggregator = 'sum';
  abstract readonly type: InstrumentType;
  protected series = new Map<string, S>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
    readonly owner: string,
  ) {}

  get signature(): string {
    return `${this.type}|${this.labelNames.join(',')}`;
  }

  /** The series for `key`, created with `labels` on first use. */
  child(key: string, labels: Labels): S {
    let s = this.series.get(key);
    if (s === undefined) {
      s = this.create(labels);
      this.series.set(key, s);
    }
    return s;
  }

  /** Number of series held. */
  get size(): number {
    return this.series.size;
  }

  protected abstract create(labels: Labels): S;
  protected abstract values(): MetricValue[];

  get(): MetricJson {
    return {
      name: this.name,
      help: this.help,
      type: this.type,
      values: this.values(),
      aggregator: 'sum',
    };
  }

  /**
   * Zeroes every series in place. Series objects stay the same so that middleware holding them keeps
   * recording into the registry after `registry.resetMetrics()`.
   */
  abstract reset(): void;
}

export type CounterSeries = ScalarSeries;

/** A counter: `child(key, labels).value++`. */
export class FastCounter extends Instrument<CounterSeries> {
  readonly type = 'counter';
  protected create(labels: Labels): CounterSeries {
    return { labels, value: 0 };
  }
  protected values(): MetricValue[] {
    return scalarValues(this.series.values());
  }
  reset(): void {
    for (const s of this.series.values()) s.value = 0;
  }
}

export type GaugeSeries = ScalarSeries;

/** A gauge: `child(key, labels).value` set or moved. */
export class FastGauge extends Instrument<GaugeSeries> {
  readonly type = 'gauge';
  constructor(
    name: string,
    help: string,
    labelNames: readonly string[],
    owner: string,
    /** Whether registry.resetMetrics() zeroes it; an in-flight gauge must not be (its requests still end). */
    private readonly resettable = true,
  ) {
    super(name, help, labelNames, owner);
  }
  protected create(labels: Labels): GaugeSeries {
    return { labels, value: 0 };
  }
  protected values(): MetricValue[] {
    return scalarValues(this.series.values());
  }
  reset(): void {
    if (this.resettable) for (const s of this.series.values()) s.value = 0;
  }
}

/** A histogram: `observe(child(key, labels), value, exemplar?)`. */
export class FastHistogram extends Instrument<HistogramSeries> {
  readonly type = 'histogram';

  constructor(
    name: string,
    help: string,
    labelNames: readonly string[],
    owner: string,
    readonly buckets: readonly number[],
  ) {
    super(name, help, labelNames, owner);
  }

  override get signature(): string {
    return `${super.signature}|${this.buckets.join(',')}`;
  }

  protected create(labels: Labels): HistogramSeries {
    return histogramSeries(labels, this.buckets);
  }

  /** Records `value`; `exemplar` labels (trace_id, span_id) are kept per bucket, last one wins. */
  observe(s: HistogramSeries, value: number, exemplar?: Labels): void {
    observeHistogram(s, this.buckets, value, exemplar);
  }

  reset(): void {
    for (const s of this.series.values()) resetHistogram(s);
  }

  protected values(): MetricValue[] {
    return histogramValues(this.name, this.buckets, this.series.values());
  }
}

/**
 * What `registry` holds under `candidate.name`: `free`; `same`, an identical instrument of the same
 * package, to reuse; `different`, an instrument of the same package defined otherwise; `foreign`,
 * anything else (a prom-client metric, another package's instrument).
 */
export function registryState(
  registry: RegistryLike,
  candidate: VigilInstrument,
): 'free' | 'same' | 'different' | 'foreign' {
  const existing = registry.getSingleMetric(candidate.name);
  if (existing === undefined) return 'free';
  const other = existing as Partial<VigilInstrument>;
  if (other[kVigilInstrument] !== true || other.owner !== candidate.owner) return 'foreign';
  return other.signature === candidate.signature ? 'same' : 'different';
}

/**
 * Returns the instrument registered under `candidate.name`, registering `candidate` if there is none.
 * Reusing an identical instrument makes two middleware instances, or a hot reload, share series
 * instead of failing with "already registered". Check registryState() first.
 */
export function getOrRegister<T extends VigilInstrument>(registry: RegistryLike, candidate: T): T {
  const existing = registry.getSingleMetric(candidate.name);
  if (existing !== undefined) return existing as T;
  registry.registerMetric(candidate as never);
  return candidate;
}

/** One series of a shared counter: add to it. */
export interface CounterCell {
  inc(value?: number): void;
}

/** A counter several packages or app code may register under one name: cells by label values. */
export interface SharedCounter {
  /** The series with these label values (every label of the counter, by name). */
  cell(labels: Labels): CounterCell;
}

/** A prom-client Counter an app registered itself, as far as a shared counter uses it. */
interface ForeignCounter {
  type?: unknown;
  labelNames?: unknown;
  labels?: unknown;
}

/**
 * The counter `name` with `labelNames` on `registry`, shared: a Vigil counter registered there by
 * the same package is reused (a second middleware, a hot reload), a free name gets one, and a
 * prom-client Counter the app registered with the same label names is recorded into. Anything else
 * under the name is a conflict: `conflict(found)` builds the error, `found` describing what is there
 * (`a gauge with labels [a, b]`).
 */
export function sharedCounter(
  registry: RegistryLike,
  candidate: FastCounter,
  conflict: (found: string) => Error,
): SharedCounter {
  const state = registryState(registry, candidate);
  if (state === 'free' || state === 'same') {
    const counter = getOrRegister(registry, candidate);
    const names = counter.labelNames;
    return {
      cell(labels) {
        const key = names.map((n) => labels[n] ?? '').join('\u0000');
        const series = counter.child(key, labels);
        return {
          inc(value = 1) {
            series.value += value;
          },
        };
      },
    };
  }
  const existing = registry.getSingleMetric(candidate.name) as ForeignCounter;
  const found = Array.isArray(existing.labelNames) ? (existing.labelNames as string[]) : [];
  const compatible =
    state === 'foreign' &&
    existing.type === 'counter' &&
    typeof existing.labels === 'function' &&
    found.length === candidate.labelNames.length &&
    candidate.labelNames.every((l) => found.includes(l));
  if (!compatible) {
    throw conflict(
      `${typeof existing.type === 'string' ? `a ${existing.type}` : 'a metric'} with labels [${found.join(', ')}]`,
    );
  }
  const labelled = existing.labels as (labels: Labels) => CounterCell;
  return { cell: (labels) => labelled.call(existing, labels) };
}
