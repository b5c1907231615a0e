// Business instruments: series found through one map per label, served to prom-client's registry.
//
// prom-client hashes the label object on every inc()/observe(). These instruments keep a tree of
// maps, one level per label in declaration order, keyed by the recorded value, so recording is a
// few map lookups and an addition. A value seen for the first time (or one that overflows) takes
// the slow path, which bounds it through the label's resolver. They implement the part of
// prom-client's metric contract its Registry reads (name, help, type, aggregator, get(), reset()),
// so exposition and default labels stay prom-client's own.
import type { Registry } from 'prom-client';
import type { ProblemReporter } from '@vigil/core';
import type { LabelOwner, LabelResolver } from './labels';
import type { MetricType } from './types';

/** Marks business instruments, so a registry lookup can tell them from foreign metrics. */
export const kBusinessInstrument = Symbol.for('vigil.business-metrics.instrument');

type Labels = Record<string, string>;

interface MetricValue {
  labels: Labels;
  value: number;
  metricName?: string;
}

interface MetricJson {
  name: string;
  help: string;
  type: MetricType;
  values: MetricValue[];
  aggregator: 'sum';
}

export interface ScalarSeries {
  readonly labels: Labels;
  value: number;
}

export interface HistogramSeries {
  readonly labels: Labels;
  /** Per-bucket counts (not cumulative); the last slot is +Inf. */
  readonly counts: Float64Array;
  sum: number;
  count: number;
}

type Node = Map<string, unknown>;

export abstract class Instrument<S extends { readonly labels: Labels }> implements LabelOwner {
  readonly [kBusinessInstrument] = true;
  readonly aggregator = 'sum';
  abstract readonly type: MetricType;
  /** Every series, in creation order. */
  readonly series: S[] = [];
  readonly labels: readonly LabelResolver[];
  readonly labelNames: readonly string[];
  private readonly root: Node = new Map();
  // The one series of a label-less metric, created on first use (after subclass fields are set).
  private single: S | undefined;
  /** Where problems go: the reporter of the catalogue that registered the instrument. */
  reporter: ProblemReporter | undefined;

  constructor(
    readonly name: string,
    readonly help: string,
    /** Identity of the definition: the same signature on one registry means the same metric. */
    readonly signature: string,
    makeLabels: (owner: LabelOwner) => readonly LabelResolver[],
  ) {
    this.labels = makeLabels(this);
    this.labelNames = this.labels.map((l) => l.name);
  }

  report(key: string, message: string): void {
    this.reporter?.report(key, message);
  }

  /** The series for a label object; never throws. */
  find(labels: Readonly<Record<string, unknown>>): S {
    const defs = this.labels;
    if (defs.length === 0) return (this.single ??= this.create([]));
    let node: unknown = this.root;
    for (let i = 0; i < defs.length; i++) {
      const raw = labels[defs[i]!.name];
      const next = typeof raw === 'string' ? (node as Node).get(raw) : undefined;
      if (next === undefined) return this.slow((j) => labels[defs[j]!.name], labels);
      node = next;
    }
    return node as S;
  }

  /** The series for values given in label order. */
  findValues(values: readonly unknown[]): S {
    if (this.labels.length === 0) return (this.single ??= this.create([]));
    let node: unknown = this.root;
    for (let i = 0; i < this.labels.length; i++) {
      const raw = values[i];
      const next = typeof raw === 'string' ? (node as Node).get(raw) : undefined;
      if (next === undefined) {
        const copy = values.slice();
        return this.slow((j) => copy[j]);
      }
      node = next;
    }
    return node as S;
  }

  // A value not seen at this place of the tree: bound each value, then create what is missing.
  // Only values a resolver admits become keys, so overflowing values never grow the tree.
  private slow(get: (i: number) => unknown, labels?: Readonly<Record<string, unknown>>): S {
    const n = this.labels.length;
    const values: string[] = new Array<string>(n);
    let node: Node = this.root;
    for (let i = 0; i < n; i++) {
      const value = this.labels[i]!.canonical(get(i));
      values[i] = value;
      let next = node.get(value);
      if (next === undefined) {
        next = i === n - 1 ? this.create(values) : new Map();
        node.set(value, next);
      }
      node = next as Node;
    }
    if (labels !== undefined) this.checkUnknown(labels);
    return node as unknown as S;
  }

  private checkUnknown(labels: Readonly<Record<string, unknown>>): void {
    for (const key of Object.keys(labels)) {
      if (!this.labelNames.includes(key)) {
        this.report(
          `${this.name}.${key}: unknown label`,
          `the metric's labels are ${this.labelNames.join(', ') || 'none'}; "${key}" was ignored`,
        );
      }
    }
  }

  private create(values: readonly string[]): S {
    const labels: Labels = {};
    this.labels.forEach((l, i) => (labels[l.name] = values[i]!));
    const s = this.make(labels);
    this.series.push(s);
    return s;
  }

  protected abstract make(labels: Labels): S;
  protected abstract values(): MetricValue[];
  abstract reset(): void;

  get(): MetricJson {
    // A label-less metric shows its zero from the start, as prom-client's own metrics do.
    if (this.labels.length === 0) this.single ??= this.create([]);
    return {
      name: this.name,
      help: this.help,
      type: this.type,
      values: this.values(),
      aggregator: 'sum',
    };
  }
}

/** A counter or a gauge: one number per series. */
abstract class ScalarInstrument extends Instrument<ScalarSeries> {
  protected make(labels: Labels): ScalarSeries {
    return { labels, value: 0 };
  }
  protected values(): MetricValue[] {
    return this.series.map((s) => ({ labels: s.labels, value: s.value }));
  }
  /** Zeroes in place: handles and bound children keep recording after `registry.resetMetrics()`. */
  reset(): void {
    for (const s of this.series) s.value = 0;
  }
}

export class BusinessCounter extends ScalarInstrument {
  readonly type = 'counter';
}

export class BusinessGauge extends ScalarInstrument {
  readonly type = 'gauge';
}

export class BusinessHistogram extends Instrument<HistogramSeries> {
  readonly type = 'histogram';

  constructor(
    name: string,
    help: string,
    signature: string,
    makeLabels: (owner: LabelOwner) => readonly LabelResolver[],
    readonly buckets: readonly number[],
  ) {
    super(name, help, signature, makeLabels);
  }

  protected make(labels: Labels): HistogramSeries {
    return { labels, counts: new Float64Array(this.buckets.length + 1), sum: 0, count: 0 };
  }

  observe(s: HistogramSeries, value: number): void {
    const b = this.buckets;
    let i = 0;
    while (i < b.length && value > b[i]!) i++;
    s.counts[i]!++;
    s.sum += value;
    s.count++;
  }

  reset(): void {
    for (const s of this.series) {
      s.counts.fill(0);
      s.sum = 0;
      s.count = 0;
    }
  }

  protected values(): MetricValue[] {
    const out: MetricValue[] = [];
    const bucketName = `${this.name}_bucket`;
    for (const s of this.series) {
      let cumulative = 0;
      for (let i = 0; i <= this.buckets.length; i++) {
        cumulative += s.counts[i]!;
        // prom-client's registry renders a numeric `le` itself, and `+Inf` as given.
        const le = i < this.buckets.length ? this.buckets[i]! : '+Inf';
        out.push({
          labels: { ...s.labels, le: le as unknown as string },
          value: cumulative,
          metricName: bucketName,
        });
      }
      out.push({ labels: s.labels, value: s.sum, metricName: `${this.name}_sum` });
      out.push({ labels: s.labels, value: s.count, metricName: `${this.name}_count` });
    }
    return out;
  }
}

export type AnyInstrument = BusinessCounter | BusinessGauge | BusinessHistogram;

/**
 * What the registry holds under `candidate.name`: `free`, `same` (an identical business metric, to
 * reuse), `foreign` (something else) or `different` (a business metric defined otherwise).
 */
export function registryState(
  registry: Registry,
  candidate: AnyInstrument,
): 'free' | 'same' | 'foreign' | 'different' {
  const existing = registry.getSingleMetric(candidate.name) as unknown;
  if (existing === undefined) return 'free';
  const other = existing as Partial<AnyInstrument> & { [kBusinessInstrument]?: boolean };
  if (other[kBusinessInstrument] !== true) return 'foreign';
  return other.signature === candidate.signature ? 'same' : 'different';
}

/** The instrument registered under `candidate.name`, registering `candidate` when there is none. */
export function getOrRegister<T extends AnyInstrument>(registry: Registry, candidate: T): T {
  const existing = registry.getSingleMetric(candidate.name) as unknown;
  if (existing !== undefined) return existing as T;
  registry.registerMetric(candidate as never);
  return candidate;
}
