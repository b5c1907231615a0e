// Metric objects that keep label children in maps resolved once per series, served through prom-client.
//
// prom-client hashes the label object on every inc()/observe(), about 0.3 µs each; recording five HTTP
// metrics that way costs more than the whole request budget. These instruments implement the part of
// prom-client's metric contract its Registry and AggregatorRegistry read (name, help, type, aggregator,
// get(), reset()), so exposition, default labels and cluster aggregation stay prom-client's own, while
// a request only does a map lookup and a few additions.
import type { Registry } from 'prom-client';

/** An exemplar as prom-client's registry renders it in OpenMetrics. */
export interface Exemplar {
  labelSet: Record<string, string>;
  value: number;
  timestamp: number;
}

type Labels = Record<string, string>;

interface MetricValue {
  labels: Labels;
  value: number;
  metricName?: string;
  exemplar?: Exemplar;
}

interface MetricJson {
  name: string;
  help: string;
  type: 'counter' | 'gauge' | 'histogram';
  values: MetricValue[];
  aggregator: 'sum';
}

/** Marks Vigil instruments so a registry lookup can tell them from foreign metrics of the same name. */
export const kVigilInstrument = Symbol.for('vigil.instrument');

abstract class Instrument<S extends { labels: Labels }> {
  readonly [kVigilInstrument] = true;
  readonly aggregator = 'sum';
  abstract readonly type: 'counter' | 'gauge' | 'histogram';
  protected series = new Map<string, S>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
  ) {}

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

export interface CounterSeries {
  labels: Labels;
  value: number;
}

export class FastCounter extends Instrument<CounterSeries> {
  readonly type = 'counter';
  protected create(labels: Labels): CounterSeries {
    return { labels, value: 0 };
  }
  protected values(): MetricValue[] {
    return Array.from(this.series.values(), (s) => ({ labels: s.labels, value: s.value }));
  }
  reset(): void {
    for (const s of this.series.values()) s.value = 0;
  }
}

export interface GaugeSeries {
  labels: Labels;
  value: number;
}

export class FastGauge extends Instrument<GaugeSeries> {
  readonly type = 'gauge';
  protected create(labels: Labels): GaugeSeries {
    return { labels, value: 0 };
  }
  protected values(): MetricValue[] {
    return Array.from(this.series.values(), (s) => ({ labels: s.labels, value: s.value }));
  }
  reset(): void {
    // In-flight requests are still in flight after a registry reset, and will decrement on completion.
  }
}

export interface HistogramSeries {
  labels: Labels;
  /** Per-bucket counts (not cumulative); the last slot is +Inf. */
  counts: Float64Array;
  sum: number;
  count: number;
  exemplars: (Exemplar | undefined)[] | undefined;
}

export class FastHistogram extends Instrument<HistogramSeries> {
  readonly type = 'histogram';

  constructor(
    name: string,
    help: string,
    labelNames: readonly string[],
    readonly buckets: readonly number[],
  ) {
    super(name, help, labelNames);
  }

  protected create(labels: Labels): HistogramSeries {
    return {
      labels,
      counts: new Float64Array(this.buckets.length + 1),
      sum: 0,
      count: 0,
      exemplars: undefined,
    };
  }

  /** Records `value`; `exemplar` labels (trace_id, span_id) are kept per bucket, last one wins. */
  observe(s: HistogramSeries, value: number, exemplar?: Labels): void {
    const b = this.buckets;
    let i = 0;
    while (i < b.length && value > (b[i] as number)) i++;
    s.counts[i]!++;
    s.sum += value;
    s.count++;
    if (exemplar !== undefined) {
      s.exemplars ??= new Array<Exemplar | undefined>(b.length + 1);
      s.exemplars[i] = { labelSet: exemplar, value, timestamp: Date.now() / 1000 };
    }
  }

  reset(): void {
    for (const s of this.series.values()) {
      s.counts.fill(0);
      s.sum = 0;
      s.count = 0;
      s.exemplars = undefined;
    }
  }

  protected values(): MetricValue[] {
    const out: MetricValue[] = [];
    const bucketName = `${this.name}_bucket`;
    for (const s of this.series.values()) {
      let cumulative = 0;
      for (let i = 0; i <= this.buckets.length; i++) {
        cumulative += s.counts[i] as number;
        const le = i < this.buckets.length ? (this.buckets[i] as number) : '+Inf';
        const v: MetricValue = {
          labels: { ...s.labels, le: le as unknown as string },
          value: cumulative,
          metricName: bucketName,
        };
        const ex = s.exemplars?.[i];
        if (ex !== undefined) v.exemplar = ex;
        out.push(v);
      }
      out.push({ labels: s.labels, value: s.sum, metricName: `${this.name}_sum` });
      out.push({ labels: s.labels, value: s.count, metricName: `${this.name}_count` });
    }
    return out;
  }
}

type AnyInstrument = FastCounter | FastGauge | FastHistogram;

/** Why an existing registry entry cannot be reused. */
export type ConflictReason = 'foreign' | 'shape';

/** Why an existing metric of the same name blocks `candidate`, or undefined when it can be reused. */
export function findConflict(
  registry: Registry,
  candidate: AnyInstrument,
): ConflictReason | undefined {
  const existing = registry.getSingleMetric(candidate.name) as unknown;
  if (existing === undefined) return undefined;
  const other = existing as Partial<AnyInstrument> & { [kVigilInstrument]?: boolean };
  if (other[kVigilInstrument] !== true) return 'foreign';
  const same =
    other.type === candidate.type &&
    other.labelNames?.join() === candidate.labelNames.join() &&
    (candidate.type !== 'histogram' ||
      (other as FastHistogram).buckets.join() === candidate.buckets.join());
  return same ? undefined : 'shape';
}

/**
 * Returns the instrument registered under `candidate.name`, registering `candidate` if there is none.
 * Reusing an identical instrument makes two middleware instances, or a hot reload, share series
 * instead of failing with "already registered". Call findConflict() first.
 */
export function getOrRegister<T extends AnyInstrument>(registry: Registry, candidate: T): T {
  const existing = registry.getSingleMetric(candidate.name) as unknown;
  if (existing !== undefined) return existing as T;
  registry.registerMetric(candidate as never);
  return candidate;
}
