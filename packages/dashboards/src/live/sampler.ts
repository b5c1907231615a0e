// The sampler: reads the registry every interval and turns counter and histogram totals into rates,
// error ratios and latency quantiles from their deltas; keeps a bounded ring of chart points.
import type { LiveRegistryLike, MetricJson } from './types';

/** One chart point: the whole service over one interval. */
export interface Point {
  t: number;
  rps: number;
  errorRatio: number | null;
  p50: number | null;
  p95: number | null;
  p99: number | null;
  inFlight: number;
}

/** A route's figures over the last window (about 10 s), with its totals since start. */
export interface RouteStats {
  method: string;
  route: string;
  total: number;
  errorsTotal: number;
  rps: number;
  errorRatio: number | null;
  p50: number | null;
  p95: number | null;
  p99: number | null;
}

export interface RateLimitStats {
  policy: string;
  result: string;
  total: number;
  rps: number;
}

export interface BusinessStats {
  name: string;
  help: string;
  type: string;
  value: number;
  rps: number | null;
  series: { labels: string; value: number }[];
}

interface RouteTotals {
  method: string;
  route: string;
  count: number;
  errors: number;
  /** Cumulative bucket counts by upper bound (seconds), +Inf included. */
  buckets: Map<number, number>;
}

interface Sample {
  t: number;
  routes: Map<string, RouteTotals>;
  inFlight: number;
  rateLimits: Map<string, RateLimitStats>;
  business: BusinessStats[];
}

// Metrics the page shows in their own sections, or that describe the process rather than the business.
const NOT_BUSINESS =
  /^(http_|nodejs_|process_|rate_limit_|audit_|alerts?_|vigil_|health_|target_info|up$)/;
/** Samples the per-route window spans: rates over about 10 intervals smooth single requests out. */
export const WINDOW = 10;
const MAX_BUSINESS = 40;
const MAX_SERIES = 8;

const typeName = (t: string | number): string =>
  typeof t === 'string' ? t : (['counter', 'gauge', 'histogram', 'summary'][t] ?? String(t));

/** The `q` quantile of a cumulative histogram, interpolated within its bucket as Prometheus does. */
export function histogramQuantile(q: number, buckets: Map<number, number>): number | null {
  const sorted = [...buckets.entries()].sort((a, b) => a[0] - b[0]);
  const total = sorted.at(-1)?.[1] ?? 0;
  if (total <= 0) return null;
  const rank = q * total;
  let prevLe = 0;
  let prevCount = 0;
  for (const [le, count] of sorted) {
    if (count >= rank) {
      // The +Inf bucket has no upper bound: answer the highest finite one, as Prometheus does.
      if (le === Infinity) return prevLe;
      const inBucket = count - prevCount;
      return inBucket <= 0 ? le : prevLe + ((le - prevLe) * (rank - prevCount)) / inBucket;
    }
    prevLe = le;
    prevCount = count;
  }
  return prevLe;
}

function deltaBuckets(now: Map<number, number>, before: Map<number, number> | undefined) {
  const out = new Map<number, number>();
  for (const [le, c] of now) out.set(le, Math.max(0, c - (before?.get(le) ?? 0)));
  return out;
}

function labelText(labels: Readonly<Record<string, unknown>> | undefined): string {
  if (labels === undefined) return '';
  return Object.entries(labels)
    .filter(([k]) => k !== 'service' && k !== 'le')
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(',');
}

/** Reads one sample out of the registry's metrics. */
export function readSample(metrics: readonly MetricJson[], t: number, maxRoutes: number): Sample {
  const routes = new Map<string, RouteTotals>();
  const rateLimits = new Map<string, RateLimitStats>();
  const business: BusinessStats[] = [];
  let inFlight = 0;
  const routeOf = (labels: Readonly<Record<string, string | number | undefined>>): RouteTotals => {
    const method = String(labels.method ?? '');
    const route = String(labels.route ?? '');
    const key = `${method} ${route}`;
    let r = routes.get(key);
    if (r === undefined) {
      r = { method, route, count: 0, errors: 0, buckets: new Map() };
      routes.set(key, r);
    }
    return r;
  };
  for (const m of metrics) {
    const values = m.values ?? [];
    if (m.name === 'http_requests_total') {
      for (const v of values) {
        const r = routeOf(v.labels ?? {});
        r.count += v.value;
        if (Number(v.labels?.status_code) >= 500) r.errors += v.value;
      }
    } else if (m.name === 'http_request_duration_seconds') {
      for (const v of values) {
        if (v.metricName !== undefined && !v.metricName.endsWith('_bucket')) continue;
        const le = v.labels?.le;
        if (le === undefined) continue;
        const bound = le === '+Inf' ? Infinity : Number(le);
        const r = routeOf(v.labels ?? {});
        r.buckets.set(bound, (r.buckets.get(bound) ?? 0) + v.value);
      }
    } else if (m.name === 'http_requests_in_flight') {
      for (const v of values) inFlight += v.value;
    } else if (m.name === 'rate_limit_requests_total') {
      for (const v of values) {
        const policy = String(v.labels?.policy ?? '');
        const result = String(v.labels?.result ?? '');
        const key = `${policy} ${result}`;
        const prev = rateLimits.get(key);
        rateLimits.set(key, { policy, result, total: (prev?.total ?? 0) + v.value, rps: 0 });
      }
    } else if (!NOT_BUSINESS.test(m.name) && business.length < MAX_BUSINESS) {
      business.push(businessOf(m));
    }
  }
  // Busiest routes first; the rest are left out so a page never grows with the route count.
  const kept = [...routes.entries()].sort((a, b) => b[1].count - a[1].count).slice(0, maxRoutes);
  return { t, routes: new Map(kept), inFlight, rateLimits, business };
}

function businessOf(m: MetricJson): BusinessStats {
  const type = typeName(m.type);
  const values = m.values ?? [];
  // Histograms and summaries: their counts, the number of observations.
  const counted =
    type === 'histogram' || type === 'summary'
      ? values.filter((v) => v.metricName?.endsWith('_count'))
      : values;
  const series = counted
    .map((v) => ({ labels: labelText(v.labels), value: v.value }))
    .sort((a, b) => b.value - a.value);
  return {
    name: m.name,
    help: m.help ?? '',
    type,
    value: counted.reduce((n, v) => n + v.value, 0),
    rps: null,
    series: series.slice(0, MAX_SERIES),
  };
}

/** The sample ring and the figures computed from it. */
export class Sampler {
  private readonly samples: Sample[] = [];
  private readonly points: Point[] = [];

  constructor(
    private readonly registry: LiveRegistryLike,
    private readonly maxPoints: number,
    private readonly maxRoutes: number,
  ) {}

  /** Takes one sample now; resolves false when the registry could not be read. */
  async sample(now = Date.now()): Promise<void> {
    const metrics = await this.registry.getMetricsAsJSON();
    const s = readSample(metrics, now, this.maxRoutes);
    const prev = this.samples.at(-1);
    this.samples.push(s);
    if (this.samples.length > WINDOW + 1) this.samples.shift();
    if (prev !== undefined) {
      const d = this.delta(s, prev);
      this.points.push({ t: Math.round(now / 1000), ...d, inFlight: s.inFlight });
      if (this.points.length > this.maxPoints) this.points.shift();
    }
  }

  /** Forgets everything (the sampler stopped: the next start begins a new baseline). */
  reset(): void {
    this.samples.length = 0;
    this.points.length = 0;
  }

  get hasSample(): boolean {
    return this.samples.length > 0;
  }

  private delta(now: Sample, before: Sample) {
    const seconds = Math.max(0.001, (now.t - before.t) / 1000);
    let count = 0;
    let errors = 0;
    const buckets = new Map<number, number>();
    for (const [key, r] of now.routes) {
      const p = before.routes.get(key);
      count += Math.max(0, r.count - (p?.count ?? 0));
      errors += Math.max(0, r.errors - (p?.errors ?? 0));
      for (const [le, c] of deltaBuckets(r.buckets, p?.buckets)) {
        buckets.set(le, (buckets.get(le) ?? 0) + c);
      }
    }
    return {
      rps: count / seconds,
      errorRatio: count > 0 ? errors / count : null,
      p50: histogramQuantile(0.5, buckets),
      p95: histogramQuantile(0.95, buckets),
      p99: histogramQuantile(0.99, buckets),
    };
  }

  /** Chart series, column-wise as uPlot takes them. */
  series(): Record<keyof Point, (number | null)[]> {
    const out = {
      t: [],
      rps: [],
      errorRatio: [],
      p50: [],
      p95: [],
      p99: [],
      inFlight: [],
    } as Record<keyof Point, (number | null)[]>;
    for (const p of this.points) {
      // Time is whole seconds, kept exact: four significant digits would make every point one instant.
      for (const k of Object.keys(out) as (keyof Point)[]) {
        out[k].push(k === 't' ? p.t : round(p[k]));
      }
    }
    return out;
  }

  routes(): RouteStats[] {
    const now = this.samples.at(-1);
    if (now === undefined) return [];
    const before = this.samples.length > 1 ? this.samples[0] : undefined;
    const seconds = before === undefined ? 0 : Math.max(0.001, (now.t - before.t) / 1000);
    return [...now.routes.values()].map((r) => {
      const p = before?.routes.get(`${r.method} ${r.route}`);
      const count = before === undefined ? 0 : Math.max(0, r.count - (p?.count ?? 0));
      const errors = before === undefined ? 0 : Math.max(0, r.errors - (p?.errors ?? 0));
      // Without traffic in the window, the quantiles are those since start: better than nothing.
      const buckets = count > 0 ? deltaBuckets(r.buckets, p?.buckets) : r.buckets;
      return {
        method: r.method,
        route: r.route,
        total: r.count,
        errorsTotal: r.errors,
        rps: round(seconds > 0 ? count / seconds : 0) ?? 0,
        errorRatio: round(count > 0 ? errors / count : r.count > 0 ? r.errors / r.count : null),
        p50: round(histogramQuantile(0.5, buckets)),
        p95: round(histogramQuantile(0.95, buckets)),
        p99: round(histogramQuantile(0.99, buckets)),
      };
    });
  }

  inFlight(): number {
    return this.samples.at(-1)?.inFlight ?? 0;
  }

  rateLimits(): RateLimitStats[] {
    const now = this.samples.at(-1);
    if (now === undefined) return [];
    const before = this.samples.length > 1 ? this.samples[0] : undefined;
    const seconds = before === undefined ? 0 : Math.max(0.001, (now.t - before.t) / 1000);
    return [...now.rateLimits.values()].map((r) => {
      const p = before?.rateLimits.get(`${r.policy} ${r.result}`);
      const d = Math.max(0, r.total - (p?.total ?? 0));
      return { ...r, rps: round(seconds > 0 && before !== undefined ? d / seconds : 0) ?? 0 };
    });
  }

  business(): BusinessStats[] {
    const now = this.samples.at(-1);
    if (now === undefined) return [];
    const before = this.samples.length > 1 ? this.samples[0] : undefined;
    const seconds = before === undefined ? 0 : Math.max(0.001, (now.t - before.t) / 1000);
    return now.business.map((b) => {
      if (b.type === 'gauge' || before === undefined) return b;
      const p = before.business.find((x) => x.name === b.name);
      return { ...b, rps: round(Math.max(0, b.value - (p?.value ?? 0)) / seconds) };
    });
  }

  /** Totals since start over every route kept: for the overview. */
  totals(): { requests: number; errors: number } {
    let requests = 0;
    let errors = 0;
    for (const r of this.samples.at(-1)?.routes.values() ?? []) {
      requests += r.count;
      errors += r.errors;
    }
    return { requests, errors };
  }
}

/** Four significant figures are plenty for a chart, and keep each event small. */
function round(n: number | null): number | null {
  return n === null || !Number.isFinite(n) ? null : Number(n.toPrecision(4));
}
