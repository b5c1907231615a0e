// prom-client's own Counter, Gauge and Histogram read from their internals (prom-client 12 to 15),
// for the two readers of a whole registry that run often: the rules engine's scrape and the
// exposition. prom-client's getMetricsAsJSON() builds an object per sample (and, for a histogram,
// a new label object per bucket); reading the hashMap instead builds nothing. Anything whose get()
// is not prom-client's own (summaries, Vigil's instruments, subclasses, custom metrics) is read
// through its get(), and a registry whose getMetricsAsJSON() is overridden is not read directly.

/** Labels as prom-client holds them (a value may be a number, or undefined when never set). */
export type RawLabels = Readonly<Record<string, string | number | undefined>>;

/** A prom-client counter or gauge as its internals hold it. */
export interface PromScalar {
  readonly name: string;
  readonly help: string;
  readonly type: 'counter' | 'gauge';
  readonly hashMap: Readonly<
    Record<string, { readonly value: unknown; readonly labels: RawLabels | undefined }>
  >;
  readonly collect?: unknown;
}

/** A prom-client histogram as its internals hold it. */
export interface PromHistogram {
  readonly name: string;
  readonly help: string;
  readonly type: 'histogram';
  readonly upperBounds: readonly number[];
  readonly hashMap: Readonly<
    Record<
      string,
      {
        readonly labels: RawLabels | undefined;
        readonly bucketValues: Readonly<Record<string, number>>;
        readonly sum: number;
        readonly count: number;
      }
    >
  >;
  readonly collect?: unknown;
}

/** How a registered metric can be read: from its internals, or only through its get(). */
export type PromReadKind = 'scalar' | 'histogram' | 'json';

const isRecord = (x: unknown): x is Record<string, unknown> => x !== null && typeof x === 'object';

/** The class whose prototype defines `prop` on `obj`'s chain (undefined when `obj` itself has it). */
function definingClass(obj: object, prop: string): { name: string; parent: string } | undefined {
  let proto: unknown = Object.getPrototypeOf(obj);
  if (Object.prototype.hasOwnProperty.call(obj, prop)) return undefined;
  while (proto !== null && typeof proto === 'object') {
    if (Object.prototype.hasOwnProperty.call(proto, prop)) {
      const ctor = (proto as { constructor?: unknown }).constructor;
      if (typeof ctor !== 'function' || ctor.prototype !== proto) return undefined;
      const parent = Object.getPrototypeOf(ctor.prototype) as { constructor?: { name?: unknown } };
      return {
        name: ctor.name,
        parent: typeof parent?.constructor?.name === 'string' ? parent.constructor.name : '',
      };
    }
    proto = Object.getPrototypeOf(proto);
  }
  return undefined;
}

/**
 * `scalar` for prom-client's own Counter and Gauge, `histogram` for its own Histogram (get() not
 * overridden, the internals of the expected shape), `json` for anything else.
 */
export function promReadKind(metric: unknown): PromReadKind {
  if (!isRecord(metric) || typeof metric.name !== 'string' || !isRecord(metric.hashMap)) {
    return 'json';
  }
  const owner = definingClass(metric, 'get');
  if (owner === undefined || owner.parent !== 'Metric') return 'json';
  if (
    (owner.name === 'Counter' && metric.type === 'counter') ||
    (owner.name === 'Gauge' && metric.type === 'gauge')
  ) {
    return 'scalar';
  }
  if (
    owner.name === 'Histogram' &&
    metric.type === 'histogram' &&
    Array.isArray(metric.upperBounds) &&
    metric.upperBounds.every((b) => typeof b === 'number')
  ) {
    return 'histogram';
  }
  return 'json';
}

/** A prom-client Registry whose getMetricsAsJSON() is prom-client's own, so it may be read directly. */
export function isPromRegistry(registry: unknown): registry is {
  getMetricsAsArray(): unknown[];
  readonly _defaultLabels: RawLabels;
} {
  if (
    !isRecord(registry) ||
    typeof registry.getMetricsAsArray !== 'function' ||
    !isRecord(registry._defaultLabels)
  ) {
    return false;
  }
  const owner = definingClass(registry, 'getMetricsAsJSON');
  return owner !== undefined && owner.name === 'Registry';
}

/**
 * Runs what getMetricsAsJSON() runs before reading: for each metric read directly (`direct(i)`), its
 * collect hook; for the others, get(). All start before any is awaited, as prom-client does. Returns
 * what get() gave, by position (undefined for the metrics read directly).
 */
export async function collectMetrics(
  metrics: readonly unknown[],
  direct: (index: number) => boolean,
): Promise<unknown[]> {
  const out: unknown[] = new Array(metrics.length);
  let pending: Promise<unknown>[] | undefined;
  for (let i = 0; i < metrics.length; i++) {
    const metric = metrics[i] as Record<string, unknown>;
    if (!direct(i)) {
      const r = (metric.get as () => unknown).call(metric);
      if (r instanceof Promise) {
        const at = i;
        (pending ??= []).push(r.then((v) => void (out[at] = v)));
      } else out[i] = r;
    } else if (typeof metric.collect === 'function') {
      const r = (metric.collect as () => unknown).call(metric);
      if (r instanceof Promise) (pending ??= []).push(r);
    }
  }
  if (pending !== undefined) await Promise.all(pending);
  return out;
}

/** Labels with the registry's default labels, as getMetricsAsJSON() adds them (`labels[k] || default`). */
export function withDefaultLabels(raw: RawLabels, defaults: RawLabels): RawLabels {
  let out: Record<string, string | number | undefined> | undefined;
  for (const k in defaults) {
    out ??= { ...raw };
    out[k] = raw[k] || defaults[k];
  }
  return out ?? raw;
}
