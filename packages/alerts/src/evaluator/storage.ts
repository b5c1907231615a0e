// MemoryStorage: the sample store the embedded evaluator reads, series indexed by metric name, samples in
// growable typed arrays; for series read over long windows, per-interval sums beyond the raw samples.
import type { LabelSet } from '../model';
import { lowerBound, upperBound } from './functions';
import { compareLabels, dropMetricName, labelsKey, matchesAll, METRIC_NAME } from './labels';
import type { Matcher, Queryable, SeriesView } from './types';

const INITIAL_CAPACITY = 8;
// Selections remembered; more distinct selectors than this (rules read far fewer) start over.
const MAX_SELECTIONS = 4096;

const matcherKey = (matchers: readonly Matcher[]): string =>
  matchers.map((m) => `${m.name}\xff${m.type}\xff${m.value}`).join('\xfe');
// Rough per-series cost of the label set, key and bookkeeping objects, for the memory report.
const SERIES_OVERHEAD_BYTES = 200;

/**
 * How a series keeps per-interval sums: intervals `[phaseMs + k * widthMs, phaseMs + (k + 1) *
 * widthMs)`, kept for `retentionMs`. A range that starts on an interval boundary is answered exactly;
 * the rule engine aligns the intervals with the evaluations of the group that reads the series.
 */
export interface RollupSpec {
  readonly widthMs: number;
  readonly phaseMs: number;
  readonly retentionMs: number;
}

/** Options of a MemoryStorage. */
export interface MemoryStorageOptions {
  /**
   * Called once per new series: the per-interval sums to keep for it, if any. Such a series keeps
   * its raw samples only as long as `trim()` is told, and answers sum, count, avg and present over
   * time from the sums before them.
   */
  readonly rollupOf?: (labels: LabelSet) => RollupSpec | undefined;
}

/** Per-interval sums and counts of a series' non-stale samples, interval `first + i` at index `i`. */
class Rollup {
  first = 0;
  size = 0;
  sums = new Float64Array(INITIAL_CAPACITY);
  counts = new Uint32Array(INITIAL_CAPACITY);
  /** Every sample at or after this time is still held raw. */
  rawFrom = -Infinity;

  constructor(readonly spec: RollupSpec) {}

  index(t: number): number {
    return Math.floor((t - this.spec.phaseMs) / this.spec.widthMs);
  }

  start(k: number): number {
    return this.spec.phaseMs + k * this.spec.widthMs;
  }

  add(t: number, v: number, sign: 1 | -1): void {
    const k = this.index(t);
    if (this.size === 0) {
      this.first = k;
      this.size = 1;
      this.sums[0] = 0;
      this.counts[0] = 0;
    } else if (k < this.first) {
      return;
    } else if (k >= this.first + this.size) {
      const size = k - this.first + 1;
      if (size > this.sums.length) this.resize(Math.max(size, Math.ceil(this.sums.length * 1.5)));
      this.sums.fill(0, this.size, size);
      this.counts.fill(0, this.size, size);
      this.size = size;
    }
    const i = k - this.first;
    this.sums[i] = (this.sums[i] as number) + sign * v;
    this.counts[i] = (this.counts[i] as number) + sign;
  }

  /** Recomputes interval k from raw samples (after a replaced value that was not finite). */
  refold(k: number, series: StoredSeries): void {
    const i = k - this.first;
    if (i < 0 || i >= this.size) return;
    const from = lowerBound(series.timestamps, series.length, this.start(k));
    const to = lowerBound(series.timestamps, series.length, this.start(k + 1));
    let sum = 0;
    let count = 0;
    for (let j = from; j < to; j++) {
      if (series.stale?.[j] === 1) continue;
      sum += series.values[j] as number;
      count++;
    }
    this.sums[i] = sum;
    this.counts[i] = count;
  }

  /** Drops the intervals that end at or before `minT`. */
  trimBefore(minT: number): void {
    const drop = Math.min(this.size, Math.max(0, this.index(minT) - this.first));
    if (drop > 0) {
      this.sums.copyWithin(0, drop, this.size);
      this.counts.copyWithin(0, drop, this.size);
      this.first += drop;
      this.size -= drop;
    }
    if (!this.counts.subarray(0, this.size).some((c) => c > 0)) this.size = 0;
    if (this.sums.length > INITIAL_CAPACITY && this.size * 4 < this.sums.length) {
      this.resize(Math.max(INITIAL_CAPACITY, this.size * 2));
    }
  }

  private resize(capacity: number): void {
    const sums = new Float64Array(capacity);
    sums.set(this.sums.subarray(0, Math.min(this.size, capacity)));
    this.sums = sums;
    const counts = new Uint32Array(capacity);
    counts.set(this.counts.subarray(0, Math.min(this.size, capacity)));
    this.counts = counts;
  }

  get bytes(): number {
    return this.sums.byteLength + this.counts.byteLength;
  }
}

/** One stored series. Samples are the first `length` entries of the arrays. */
class StoredSeries implements SeriesView {
  length = 0;
  timestamps = new Float64Array(INITIAL_CAPACITY);
  values = new Float64Array(INITIAL_CAPACITY);
  stale: Uint8Array | undefined = undefined;

  readonly unnamed: LabelSet;
  readonly rollup: Rollup | undefined;

  constructor(
    readonly labels: LabelSet,
    readonly key: string,
    readonly labelBytes: number,
    rollup: RollupSpec | undefined,
  ) {
    this.unnamed = dropMetricName(labels);
    this.rollup = rollup === undefined ? undefined : new Rollup(rollup);
  }

  append(t: number, v: number, stale: boolean): void {
    const n = this.length;
    const rollup = this.rollup;
    if (n > 0 && (this.timestamps[n - 1] as number) >= t) {
      // Same timestamp: the new sample replaces the last one. Older: dropped (Prometheus refuses
      // out-of-order samples).
      if (this.timestamps[n - 1] === t) {
        const old = this.values[n - 1] as number;
        const wasStale = this.stale?.[n - 1] === 1;
        this.values[n - 1] = v;
        if (stale || this.stale !== undefined) this.markStale(n - 1, stale);
        if (rollup !== undefined) {
          if (!Number.isFinite(old)) rollup.refold(rollup.index(t), this);
          else {
            if (!wasStale) rollup.add(t, old, -1);
            if (!stale) rollup.add(t, v, 1);
          }
        }
      }
      return;
    }
    if (n === this.timestamps.length) this.grow(Math.ceil(n * 1.5));
    this.timestamps[n] = t;
    this.values[n] = v;
    if (stale || this.stale !== undefined) this.markStale(n, stale);
    this.length = n + 1;
    if (rollup !== undefined && !stale) rollup.add(t, v, 1);
  }

  sumOver(start: number, end: number, out: { sum: number; count: number }): boolean {
    const r = this.rollup;
    if (r === undefined || start >= r.rawFrom) return false;
    // Raw samples are complete from the first interval boundary at or after rawFrom; whole intervals
    // inside the range answer the part before it. An interval the range starts inside is left out:
    // the engine aligns ranges with the intervals, so that happens only off its schedule.
    const split = Math.ceil((r.rawFrom - r.spec.phaseMs) / r.spec.widthMs);
    const kFrom = Math.max(r.first, Math.ceil((start - r.spec.phaseMs) / r.spec.widthMs));
    // The interval holding `end` may hold later samples: it is read raw, or left out.
    const kTo = Math.min(r.first + r.size, split, r.index(end));
    let sum = 0;
    let count = 0;
    for (let k = kFrom; k < kTo; k++) {
      const i = k - r.first;
      if (r.counts[i] === 0) continue;
      sum += r.sums[i] as number;
      count += r.counts[i] as number;
    }
    const from = lowerBound(this.timestamps, this.length, Math.max(start, r.start(split)));
    const to = upperBound(this.timestamps, this.length, end);
    for (let j = from; j < to; j++) {
      if (this.stale?.[j] === 1) continue;
      sum += this.values[j] as number;
      count++;
    }
    out.sum = sum;
    out.count = count;
    return true;
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
      (this.rollup?.bytes ?? 0) +
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
  readonly #rollupOf: MemoryStorageOptions['rollupOf'];

  constructor(options: MemoryStorageOptions = {}) {
    this.#rollupOf = options.rollupOf;
  }

  #series(labels: LabelSet): StoredSeries {
    const key = labelsKey(labels);
    let s = this.#byKey.get(key);
    if (s === undefined) {
      const frozen: LabelSet = Object.freeze(
        Object.fromEntries(Object.entries(labels).filter(([, v]) => v !== '')),
      );
      s = new StoredSeries(frozen, key, key.length * 2, this.#rollupOf?.(frozen));
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

  /**
   * Drops samples older than now - retentionOf(labels) for each series, and per-interval sums older
   * than their spec's retention; drops series left empty.
   */
  trim(now: number, retentionOf: (labels: LabelSet) => number): void {
    for (const [key, s] of this.#byKey) {
      const minT = now - retentionOf(s.labels);
      s.trimBefore(minT);
      const r = s.rollup;
      if (r !== undefined) {
        r.rawFrom = Math.max(r.rawFrom, minT);
        r.trimBefore(now - r.spec.retentionMs);
      }
      if (s.length === 0 && (r === undefined || r.size === 0)) {
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
