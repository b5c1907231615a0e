// MemoryStorage: the sample store the embedded evaluator reads, series indexed by metric name, samples in
// growable typed arrays.
import type { LabelSet } from '../model';
import { compareLabels, dropMetricName, labelsKey, matchesAll, METRIC_NAME } from './labels';
import type { Matcher, Queryable, SeriesView } from './types';

const INITIAL_CAPACITY = 8;
// Selections remembered; more distinct selectors than this (rules read far fewer) start over.
const MAX_SELECTIONS = 4096;

const matcherKey = (matchers: readonly Matcher[]): string =>
  matchers.map((m) => `${m.name}\xff${m.type}\xff${m.value}`).join('\xfe');
// Rough per-series cost of the label set, key and bookkeeping objects, for the memory report.
const SERIES_OVERHEAD_BYTES = 200;

/** One stored series. Samples are the first `length` entries of the arrays. */
class StoredSeries implements SeriesView {
  length = 0;
  timestamps = new Float64Array(INITIAL_CAPACITY);
  values = new Float64Array(INITIAL_CAPACITY);
  stale: Uint8Array | undefined = undefined;

  readonly unnamed: LabelSet;

  constructor(
    readonly labels: LabelSet,
    readonly key: string,
    readonly labelBytes: number,
  ) {
    this.unnamed = dropMetricName(labels);
  }

  append(t: number, v: number, stale: boolean): void {
    const n = this.length;
    if (n > 0 && (this.timestamps[n - 1] as number) >= t) {
      // Same timestamp: the new sample replaces the last one. Older: dropped (Prometheus refuses
      // out-of-order samples).
      if (this.timestamps[n - 1] === t) {
        this.values[n - 1] = v;
        if (stale || this.stale !== undefined) this.markStale(n - 1, stale);
      }
      return;
    }
    if (n === this.timestamps.length) this.grow(Math.ceil(n * 1.5));
    this.timestamps[n] = t;
    this.values[n] = v;
    if (stale || this.stale !== undefined) this.markStale(n, stale);
    this.length = n + 1;
  }

  private markStale(i: number, stale: boolean): void {
    if (this.stale === undefined) this.stale = new Uint8Array(this.timestamps.length);
    this.stale[i] = stale ? 1 : 0;
  }

  private grow(capacity: number): void {
    const t = new Float64Array(capacity);
    t.set(this.timestamps.subarray(0, this.length));
    this.timestamps = t;
    const v = new Float64Array(capacity);
    v.set(this.values.subarray(0, this.length));
    this.values = v;
    if (this.stale !== undefined) {
      const s = new Uint8Array(capacity);
      s.set(this.stale.subarray(0, this.length));
      this.stale = s;
    }
  }

  /** Drops samples before `minT`; shrinks arrays that became mostly empty. */
  trimBefore(minT: number): void {
    let i = 0;
    while (i < this.length && (this.timestamps[i] as number) < minT) i++;
    if (i === 0) return;
    const rest = this.length - i;
    this.timestamps.copyWithin(0, i, this.length);
    this.values.copyWithin(0, i, this.length);
    this.stale?.copyWithin(0, i, this.length);
    this.length = rest;
    if (this.timestamps.length > INITIAL_CAPACITY && rest * 4 < this.timestamps.length) {
      const capacity = Math.max(INITIAL_CAPACITY, rest * 2);
      this.timestamps = this.timestamps.slice(0, capacity);
      this.values = this.values.slice(0, capacity);
      this.stale = this.stale?.slice(0, capacity);
    }
    if (this.stale !== undefined && !this.stale.subarray(0, rest).includes(1)) {
      this.stale = undefined;
    }
  }

  get bytes(): number {
    return (
      this.timestamps.byteLength +
      this.values.byteLength +
      (this.stale?.byteLength ?? 0) +
      this.labelBytes +
      SERIES_OVERHEAD_BYTES
    );
  }
}

/** Series of one metric name, sorted in label order when read. */
interface NameIndex {
  series: StoredSeries[];
  sorted: boolean;
  /** Bumped when a series of the name is created or dropped. */
  version: number;
}

/**
 * The sample store of the embedded evaluator: series to samples in time order, in typed arrays,
 * indexed by metric name. Appends are O(1) amortized; a selection with a `__name__="..."` matcher
 * reads only that name's series.
 */
export class MemoryStorage implements Queryable {
  readonly #byKey = new Map<string, StoredSeries>();
  readonly #byName = new Map<string, NameIndex>();
  // Selections by matcher set, valid while no series of the selected name (of any name, for a
  // selector without a `__name__="..."` matcher) is created or dropped: rules read the same selectors
  // every cycle, and which series match does not change as samples, staleness markers included, are
  // appended.
  readonly #selections = new Map<
    string,
    { index: NameIndex | undefined; version: number; series: StoredSeries[] }
  >();
  /** Bumped when any series is created or dropped. */
  #version = 0;

  #series(labels: LabelSet): StoredSeries {
    const key = labelsKey(labels);
    let s = this.#byKey.get(key);
    if (s === undefined) {
      const frozen: LabelSet = Object.freeze(
        Object.fromEntries(Object.entries(labels).filter(([, v]) => v !== '')),
      );
      s = new StoredSeries(frozen, key, key.length * 2);
      this.#byKey.set(key, s);
      const name = frozen[METRIC_NAME] ?? '';
      let index = this.#byName.get(name);
      if (index === undefined) {
        index = { series: [], sorted: true, version: 0 };
        this.#byName.set(name, index);
      }
      index.series.push(s);
      index.sorted = false;
      index.version++;
      this.#version++;
    }
    return s;
  }

  /** Appends a sample; `t` (ms) must not decrease per series, and the same `t` replaces the value. */
  append(labels: LabelSet, t: number, v: number): void {
    this.#series(labels).append(t, v, false);
  }

  /** Appends a Prometheus staleness marker: the series ends here for instant selection. */
  appendStale(labels: LabelSet, t: number): void {
    this.#series(labels).append(t, NaN, true);
  }

  /** Drops samples older than now - retentionOf(labels) for each series; drops series left empty. */
  trim(now: number, retentionOf: (labels: LabelSet) => number): void {
    for (const [key, s] of this.#byKey) {
      s.trimBefore(now - retentionOf(s.labels));
      if (s.length === 0) {
        this.#version++;
        this.#byKey.delete(key);
        const name = s.labels[METRIC_NAME] ?? '';
        const index = this.#byName.get(name);
        if (index !== undefined) {
          index.version++;
          index.series = index.series.filter((x) => x !== s);
          if (index.series.length === 0) this.#byName.delete(name);
        }
      }
    }
  }

  /**
   * Series matching every matcher, in label order. May include series without samples in
   * `[minT, maxT]`: the evaluator selects samples by time itself.
   */
  select(matchers: readonly Matcher[], _minT: number, _maxT: number): readonly SeriesView[] {
    const key = matcherKey(matchers);
    const name = matchers.find((m) => m.name === METRIC_NAME && m.type === '=');
    // A selection of one name depends on that name's series only (an absent name: on any creation).
    const index = name === undefined ? undefined : this.#byName.get(name.value);
    const version = name !== undefined && index !== undefined ? index.version : this.#version;
    const cached = this.#selections.get(key);
    if (cached !== undefined && cached.index === index && cached.version === version) {
      return cached.series;
    }
    const indexes =
      name !== undefined ? (index === undefined ? [] : [index]) : [...this.#byName.values()];
    const out: StoredSeries[] = [];
    for (const x of indexes) {
      if (!x.sorted) {
        x.series.sort((a, b) => compareLabels(a.labels, b.labels));
        x.sorted = true;
      }
      for (const s of x.series) if (matchesAll(matchers, s.labels)) out.push(s);
    }
    if (indexes.length > 1) out.sort((a, b) => compareLabels(a.labels, b.labels));
    if (this.#selections.size >= MAX_SELECTIONS) this.#selections.clear();
    this.#selections.set(key, { index, version, series: out });
    return out;
  }

  /** Number of series held. */
  get seriesCount(): number {
    return this.#byKey.size;
  }

  /** Number of samples held, staleness markers included. */
  get sampleCount(): number {
    let n = 0;
    for (const s of this.#byKey.values()) n += s.length;
    return n;
  }

  /** Approximate bytes held (for the memory report). */
  get bytes(): number {
    let n = 0;
    for (const s of this.#byKey.values()) n += s.bytes;
    return n;
  }
}
