// The rules engine's scrape: prom-client's registry read into the evaluator's storage as Prometheus
// would scrape the process (histogram and summary series, `job`/`instance`, `up`), keeping only series
// a rule reads, with staleness markers for series that disappear.
import {
  type PromHistogram,
  type PromReadKind,
  type PromScalar,
  type RawLabels,
  collectMetrics,
  isPromRegistry,
  promReadKind,
  withDefaultLabels,
} from '@vigil/core';
import type { LabelSet } from '../model';
import { labelsKey } from './labels';

/** A sample as prom-client's `getMetricsAsJSON()` gives it. */
export interface RegistrySample {
  readonly labels: Readonly<Record<string, string | number | undefined>>;
  readonly value: number;
  readonly metricName?: string;
}

/** A metric as prom-client's `getMetricsAsJSON()` gives it. */
export interface RegistryMetric {
  readonly name: string;
  readonly values: readonly RegistrySample[];
}

/** The part of a prom-client Registry the rules engine reads (any prom-client copy). */
export interface ScrapableRegistry {
  getMetricsAsJSON(): Promise<readonly RegistryMetric[]> | readonly RegistryMetric[];
}

/** Where scraped samples go: the evaluator's MemoryStorage. */
export interface SampleSink {
  append(labels: LabelSet, t: number, v: number): void;
  appendStale(labels: LabelSet, t: number): void;
}

interface Entry {
  readonly name: string;
  readonly labels: LabelSet;
  readonly keep: boolean;
  seen: number;
  /** A sample was appended since the series last went stale. */
  live: boolean;
  /** Forgotten by the source: lookups that still hold it must resolve the series again. */
  dead: boolean;
}

/** Bound on remembered series, selected or not; beyond it the cache starts over. */
const MAX_CACHED_SERIES = 200_000;
/** Samples read between two offers to yield to the event loop. */
const PAUSE_EVERY = 512;

/**
 * Prometheus's text exposition carries numbers as prom-client prints them (`0.005`, `1`, `+Inf`) and
 * Prometheus 2.x keeps the label text as scraped.
 */
function labelText(value: string | number): string {
  if (typeof value === 'number') {
    if (value === Infinity) return '+Inf';
    if (value === -Infinity) return '-Inf';
    return String(value);
  }
  return value;
}

/** A series of a prom-client metric, by prom-client's hash: its entries and the labels they were built from. */
interface HashedSeries {
  raw: RawLabels;
  /** No other label set has this hash: a new label object under it needs no comparison. */
  readonly exact: boolean;
  readonly names: readonly string[];
  readonly values: readonly (string | number | undefined)[];
  /** A scalar's one entry; a histogram's buckets in bound order, then +Inf, _sum, _count. */
  readonly entries: readonly Entry[];
}

/** How one registered metric is read: from prom-client's internals, or through its get(). */
interface MetricReader {
  readonly kind: PromReadKind;
  name: string;
  /** The histogram's bounds as property keys of bucketValues. */
  boundKeys: readonly string[];
  bounds: readonly number[];
  readonly byHash: Map<string, HashedSeries>;
  seen: number;
}

/** Options of a registry source. */
export interface RegistrySourceOptions {
  readonly registry: ScrapableRegistry;
  readonly job: string;
  readonly instance: string;
  /** Whether a rule reads this series (labels with `__name__`). */
  readonly selected: (labels: LabelSet) => boolean;
  /** Whether a rule may read a series of this metric name (its `__name__` matchers alone). */
  readonly nameSelected: (name: string) => boolean;
}

/** Figures of the last scrape. */
export interface ScrapeStats {
  readonly samples: number;
  readonly kept: number;
  readonly staleMarked: number;
}

/** Reads the registry into a sink, one scrape at a time. */
export class RegistrySource {
  readonly #options: RegistrySourceOptions;
  /** Every remembered series, by the key of its scraped labels. */
  readonly #cache = new Map<string, Entry>();
  /** Entries by the sample's label object: prom-client hands counters' and gauges' out again. */
  #byObject = new WeakMap<object, Entry>();
  /** Entries by the text of a sample's name and labels as get() gave them. */
  readonly #byRaw = new Map<string, Entry>();
  /** How each registered metric is read, and its series by prom-client's hash. */
  readonly #readers = new Map<object, MetricReader>();
  /** Metric names no selector can match, and names some can. */
  readonly #names = new Map<string, boolean>();
  readonly #up: LabelSet;
  #epoch = 0;
  /** The registry's default labels the remembered series were built with. */
  #defaultsKey = '';
  // The scrape in progress.
  #t = 0;
  #sink: SampleSink | undefined;
  #seen = 0;
  #kept = 0;

  constructor(options: RegistrySourceOptions) {
    this.#options = options;
    this.#up = { __name__: 'up', job: options.job, instance: options.instance };
  }

  /** Series the source remembers (selected or not). */
  get cachedSeries(): number {
    return this.#cache.size;
  }

  /**
   * Scrapes the registry at time `t` (ms) into `sink`. `pause`, called every few hundred samples,
   * may yield to the event loop so a large registry is read in slices.
   */
  async scrape(t: number, sink: SampleSink, pause?: () => Promise<void>): Promise<ScrapeStats> {
    const registry: unknown = this.#options.registry;
    const direct = isPromRegistry(registry);
    // prom-client's getMetricsAsJSON(): every metric's get() (collect hooks run) before reading any.
    let metrics: readonly unknown[];
    let gets: unknown[] | undefined;
    let defaults: RawLabels = {};
    if (direct) {
      metrics = registry.getMetricsAsArray();
      defaults = registry._defaultLabels;
      const epoch = this.#epoch;
      gets = await collectMetrics(
        metrics,
        (i) => this.#reader(metrics[i] as object, epoch).kind !== 'json',
      );
    } else {
      metrics = await this.#options.registry.getMetricsAsJSON();
    }
    const epoch = ++this.#epoch;
    let defaultsKey = '';
    for (const k in defaults) defaultsKey += `${k}\xfe${defaults[k] ?? ''}\xff`;
    if (this.#cache.size > MAX_CACHED_SERIES) this.#forget(true);
    // New default labels: series are looked up again (and those whose labels changed go stale).
    else if (defaultsKey !== this.#defaultsKey) this.#forget(false);
    this.#defaultsKey = defaultsKey;
    this.#t = t;
    this.#sink = sink;
    this.#seen = 0;
    this.#kept = 0;
    let samples = 0;
    let unpaused = 0;
    for (let i = 0; i < metrics.length; i++) {
      const metric = metrics[i];
      const reader = direct ? this.#reader(metric as object, epoch) : undefined;
      const name = reader === undefined ? '' : (metric as { name: string }).name;
      if (reader?.kind === 'scalar' && !this.#wanted(name)) continue;
      if (
        reader?.kind === 'histogram' &&
        !this.#wanted(`${name}_bucket`) &&
        !this.#wanted(`${name}_sum`) &&
        !this.#wanted(`${name}_count`)
      ) {
        continue;
      }
      let n: number;
      if (reader?.kind === 'scalar') n = this.#readScalar(reader, metric as PromScalar, defaults);
      else if (reader?.kind === 'histogram')
        n = this.#readHistogram(reader, metric as PromHistogram, defaults);
      else {
        const json = (direct ? gets?.[i] : metric) as RegistryMetric | undefined;
        n = json === undefined ? 0 : this.#readJson(json, direct ? defaults : {});
      }
      samples += n;
      unpaused += n;
      if (unpaused >= PAUSE_EVERY && pause !== undefined) {
        unpaused = 0;
        await pause();
      }
    }
    sink.append(this.#up, t, 1);
    this.#sink = undefined;
    let staleMarked = 0;
    if (this.#seen < this.#cache.size) {
      for (const [key, entry] of this.#cache) {
        if (entry.seen === epoch) continue;
        if (entry.live) {
          sink.appendStale(entry.labels, t);
          staleMarked++;
        }
        entry.dead = true;
        this.#cache.delete(key);
      }
      this.#prune(epoch);
    }
    return { samples, kept: this.#kept, staleMarked };
  }

  /** Marks every live series stale (the engine stops, as Prometheus does when a target goes away). */
  markAllStale(t: number, sink: SampleSink): void {
    for (const entry of this.#cache.values()) {
      if (entry.live) sink.appendStale(entry.labels, t);
      entry.live = false;
    }
    sink.appendStale(this.#up, t);
  }

  /** Forgets how series are looked up, and with `all` the series (the cache is full). */
  #forget(all: boolean): void {
    if (all) {
      for (const entry of this.#cache.values()) entry.dead = true;
      this.#cache.clear();
    }
    this.#byRaw.clear();
    this.#byObject = new WeakMap();
    this.#readers.clear();
  }

  /** After series were forgotten: drops lookups that lead to them, and readers of metrics gone. */
  #prune(epoch: number): void {
    for (const [key, entry] of this.#byRaw) if (entry.dead) this.#byRaw.delete(key);
    for (const [metric, reader] of this.#readers) {
      if (reader.seen !== epoch && reader.seen !== epoch - 1) {
        this.#readers.delete(metric);
        continue;
      }
      for (const [hash, s] of reader.byHash)
        if (s.entries[0]?.dead !== false) reader.byHash.delete(hash);
    }
  }

  #reader(metric: object, epoch: number): MetricReader {
    let reader = this.#readers.get(metric);
    if (reader === undefined) {
      reader = {
        kind: promReadKind(metric),
        name: '',
        bounds: [],
        boundKeys: [],
        byHash: new Map(),
        seen: epoch,
      };
      this.#readers.set(metric, reader);
    }
    reader.seen = epoch;
    return reader;
  }

  #wanted(name: string): boolean {
    let wanted = this.#names.get(name);
    if (wanted === undefined) {
      wanted = this.#options.nameSelected(name);
      this.#names.set(name, wanted);
    }
    return wanted;
  }

  /** One sample of a series. */
  #visit(entry: Entry, v: number): void {
    if (entry.seen !== this.#epoch) {
      entry.seen = this.#epoch;
      this.#seen++;
    }
    if (!entry.keep) return;
    this.#kept++;
    entry.live = true;
    (this.#sink as SampleSink).append(entry.labels, this.#t, v);
  }

  /** The entry of a series named `name` with `raw` labels (defaults applied), created if new. */
  #entry(name: string, raw: RawLabels): Entry {
    const labels = this.#targetLabels(name, raw);
    const key = labelsKey(labels);
    let entry = this.#cache.get(key);
    if (entry === undefined) {
      entry = {
        name,
        labels,
        keep: this.#options.selected(labels),
        seen: 0,
        live: false,
        dead: false,
      };
      this.#cache.set(key, entry);
    }
    return entry;
  }

  /** The series of prom-client hash `hash`, checked against the labels prom-client holds for it. */
  #hashed(
    reader: MetricReader,
    name: string,
    hash: string,
    raw: RawLabels,
    defaults: RawLabels,
  ): HashedSeries {
    let s = reader.byHash.get(hash);
    if (s !== undefined && s.raw !== raw && (s.exact || sameLabels(s, raw))) s.raw = raw;
    if (s === undefined || s.raw !== raw || (s.entries[0] as Entry).dead) {
      const names: string[] = [];
      const values: (string | number | undefined)[] = [];
      for (const k in raw) {
        names.push(k);
        values.push(raw[k]);
      }
      const entries: Entry[] = [];
      if (reader.kind === 'scalar')
        entries.push(this.#entry(name, withDefaultLabels(raw, defaults)));
      else {
        for (const b of reader.bounds)
          entries.push(
            this.#entry(`${name}_bucket`, withDefaultLabels({ le: b, ...raw }, defaults)),
          );
        entries.push(
          this.#entry(`${name}_bucket`, withDefaultLabels({ le: '+Inf', ...raw }, defaults)),
        );
        entries.push(this.#entry(`${name}_sum`, withDefaultLabels(raw, defaults)));
        entries.push(this.#entry(`${name}_count`, withDefaultLabels(raw, defaults)));
      }
      s = { raw, exact: isExactHash(hash, raw), names, values, entries };
      reader.byHash.set(hash, s);
    }
    return s;
  }

  #readScalar(reader: MetricReader, metric: PromScalar, defaults: RawLabels): number {
    const name = metric.name;
    if (reader.name !== name) {
      reader.name = name;
      reader.byHash.clear();
    }
    const hashMap = metric.hashMap;
    let n = 0;
    for (const hash in hashMap) {
      const d = hashMap[hash];
      if (d === undefined) continue;
      const v = d.value;
      if (typeof v !== 'number') continue;
      n++;
      const s = this.#hashed(reader, name, hash, d.labels ?? {}, defaults);
      this.#visit(s.entries[0] as Entry, v);
    }
    return n;
  }

  #readHistogram(reader: MetricReader, metric: PromHistogram, defaults: RawLabels): number {
    const name = metric.name;
    const bounds = metric.upperBounds;
    if (reader.name !== name || reader.bounds !== bounds) {
      reader.name = name;
      reader.bounds = bounds;
      reader.boundKeys = bounds.map(String);
      reader.byHash.clear();
    }
    const keys = reader.boundKeys;
    const hashMap = metric.hashMap;
    let n = 0;
    for (const hash in hashMap) {
      const d = hashMap[hash];
      if (d === undefined) continue;
      const s = this.#hashed(reader, name, hash, d.labels ?? {}, defaults);
      const entries = s.entries;
      const buckets = d.bucketValues;
      let acc = 0;
      for (let i = 0; i < keys.length; i++) {
        acc += buckets[keys[i] as string] as number;
        this.#visit(entries[i] as Entry, acc);
      }
      const count = d.count;
      this.#visit(entries[keys.length] as Entry, count);
      this.#visit(entries[keys.length + 1] as Entry, d.sum);
      this.#visit(entries[keys.length + 2] as Entry, count);
      n += keys.length + 3;
    }
    return n;
  }

  /** A metric as get() or getMetricsAsJSON() gives it. */
  #readJson(metric: RegistryMetric, defaults: RawLabels): number {
    let n = 0;
    const values = metric.values ?? [];
    for (const v of values) {
      if (typeof v.value !== 'number') continue;
      n++;
      const name = v.metricName ?? metric.name;
      if (!this.#wanted(name)) continue;
      // Histogram and summary samples come with new label objects on every read: keyed by text.
      const reused = v.metricName === undefined;
      let entry = reused ? this.#byObject.get(v.labels) : undefined;
      if (entry === undefined || entry.name !== name || entry.dead) {
        let key = name;
        for (const k in v.labels) key += `\xff${k}\xfe${v.labels[k] ?? ''}`;
        entry = this.#byRaw.get(key);
        if (entry === undefined || entry.dead) {
          entry = this.#entry(name, withDefaultLabels(v.labels, defaults));
          this.#byRaw.set(key, entry);
        }
        if (reused) this.#byObject.set(v.labels, entry);
      }
      this.#visit(entry, v.value);
    }
    return n;
  }

  #targetLabels(name: string, raw: RawLabels): LabelSet {
    const labels: Record<string, string> = {};
    for (const k in raw) {
      const value = labelText(raw[k] ?? '');
      if (value === '') continue;
      // honor_labels: false, Prometheus's default: a clashing label is kept as exported_<name>.
      labels[k === 'job' || k === 'instance' ? `exported_${k}` : k] = value;
    }
    labels.__name__ = name;
    labels.job = this.#options.job;
    labels.instance = this.#options.instance;
    return labels;
  }
}

/** Whether `raw` holds the same labels as those a series was built from. */
function sameLabels(s: HashedSeries, raw: RawLabels): boolean {
  let n = 0;
  for (const k in raw) {
    if (n >= s.names.length || s.names[n] !== k || s.values[n] !== raw[k]) return false;
    n++;
  }
  return n === s.names.length;
}

/**
 * Whether `hash`, prom-client's hash of `raw`, can be the hash of no other label set: prom-client's
 * `name:value,` text of at most one label whose value holds no comma. (With two labels, `a:x,b:y,` is
 * also the hash of `{ a: 'x,b:y' }`.)
 */
function isExactHash(hash: string, raw: RawLabels): boolean {
  let text = '';
  let n = 0;
  for (const k in raw) {
    const v = raw[k];
    if (v === undefined) continue;
    if (++n > 1 || String(v).includes(',')) return false;
    text = `${k}:${v},`;
  }
  return text === hash;
}
