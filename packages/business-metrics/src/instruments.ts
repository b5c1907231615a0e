// Business instruments: series found through one map per label, served to prom-client's registry.
//
// prom-client hashes the label object on every inc()/observe(). These instruments keep a tree of
// maps, one level per label in declaration order, keyed by the recorded value, so recording is a
// few map lookups and an addition. A value seen for the first time (or one that overflows) takes
// the slow path, which bounds it through the label's resolver. They implement the part of
// prom-client's metric contract its Registry reads (name, help, type, aggregator, get(), reset()),
// through @vigil/core's instrument interface, so exposition and default labels stay prom-client's own.
import {
  type HistogramSeries,
  type Labels,
  type MetricJson,
  type MetricValue,
  type ProblemReporter,
  type ScalarSeries,
  type VigilInstrument,
  histogramSeries,
  histogramValues,
  kVigilInstrument,
  observeHistogram,
  resetHistogram,
  scalarValues,
} from '@vigil/core';
import { PACKAGE } from './errors';
import type { LabelOwner, LabelResolver } from './labels';
import type { MetricType } from './types';

export type { HistogramSeries, ScalarSeries } from '@vigil/core';

type Node = Map<string, unknown>;

export abstract class Instrument<S extends { readonly labels: Labels }>
  implements LabelOwner, VigilInstrument
{
  readonly [kVigilInstrument] = true as const;
  readonly owner = PACKAGE;
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
    return scalarValues(this.series);
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
    return histogramSeries(labels, this.buckets);
  }

  observe(s: HistogramSeries, value: number): void {
    observeHistogram(s, this.buckets, value);
  }

  reset(): void {
    for (const s of this.series) resetHistogram(s);
  }

  protected values(): MetricValue[] {
    return histogramValues(this.name, this.buckets, this.series);
  }
}

export type AnyInstrument = BusinessCounter | BusinessGauge | BusinessHistogram;
