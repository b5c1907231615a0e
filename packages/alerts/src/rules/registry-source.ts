// The rules engine's scrape: prom-client's registry read into the evaluator's storage as Prometheus
// would scrape the process (histogram and summary series, `job`/`instance`, `up`), keeping only series
// a rule reads, with staleness markers for series that disappear.
import type { LabelSet } from '../model';

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
}

/** Bound on remembered series, selected or not; beyond it the cache starts over. */
const MAX_CACHED_SERIES = 200_000;

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
  readonly #cache = new Map<string, Entry>();
  /** Entries by the sample's label object: prom-client hands counters' and gauges' out again. */
  #byObject = new WeakMap<object, Entry>();
  /** Metric names no selector can match, and names some can. */
  readonly #names = new Map<string, boolean>();
  readonly #up: LabelSet;
  #epoch = 0;

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
    const metrics = await this.#options.registry.getMetricsAsJSON();
    const epoch = ++this.#epoch;
    if (this.#cache.size > MAX_CACHED_SERIES) {
      this.#cache.clear();
      this.#byObject = new WeakMap();
    }
    let samples = 0;
    let kept = 0;
    for (const metric of metrics) {
      for (const v of metric.values) {
        if (typeof v.value !== 'number') continue;
        if (++samples % 512 === 0 && pause !== undefined) await pause();
        const name = v.metricName ?? metric.name;
        let wanted = this.#names.get(name);
        if (wanted === undefined) {
          wanted = this.#options.nameSelected(name);
          this.#names.set(name, wanted);
        }
        if (!wanted) continue;
        // Histogram and summary samples come with new label objects on every read: keyed by text.
        const reused = v.metricName === undefined;
        let entry = reused ? this.#byObject.get(v.labels) : undefined;
        if (entry === undefined || entry.name !== name) {
          let key = name;
          for (const k in v.labels) key += `\xff${k}\xfe${v.labels[k] ?? ''}`;
          entry = this.#cache.get(key);
          if (entry === undefined) {
            const labels = this.#targetLabels(name, v.labels);
            entry = {
              name,
              labels,
              keep: this.#options.selected(labels),
              seen: epoch,
              live: false,
            };
            this.#cache.set(key, entry);
          }
          if (reused) this.#byObject.set(v.labels, entry);
        }
        entry.seen = epoch;
        if (!entry.keep) continue;
        kept++;
        entry.live = true;
        sink.append(entry.labels, t, v.value);
      }
    }
    sink.append(this.#up, t, 1);
    let staleMarked = 0;
    for (const [key, entry] of this.#cache) {
      if (entry.seen === epoch) continue;
      if (entry.live) {
        sink.appendStale(entry.labels, t);
        staleMarked++;
      }
      this.#cache.delete(key);
    }
    return { samples, kept, staleMarked };
  }

  /** Marks every live series stale (the engine stops, as Prometheus does when a target goes away). */
  markAllStale(t: number, sink: SampleSink): void {
    for (const entry of this.#cache.values()) {
      if (entry.live) sink.appendStale(entry.labels, t);
      entry.live = false;
    }
    sink.appendStale(this.#up, t);
  }

  #targetLabels(name: string, raw: RegistrySample['labels']): LabelSet {
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
