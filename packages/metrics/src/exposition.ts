// Text exposition in both formats, for the cases prom-client's registry cannot serve itself.
//
// A prom-client Registry renders only its own content type, and rendering OpenMetrics renames counters
// in place (it strips `_total`), so one registry cannot serve both formats by switching its type.
// These renderers work from getMetricsAsJSON()'s output, which never mutates, or read prom-client's
// own metrics as getMetricsAsJSON() would, and keep `_total` on counters in both formats as the
// OpenMetrics specification requires.
import {
  type PromHistogram,
  type PromScalar,
  type RawLabels,
  collectMetrics,
  isPromRegistry,
  promReadKind,
  withDefaultLabels,
} from '@vigil/core';
import { Registry } from 'prom-client';

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
export const OPENMETRICS_CONTENT_TYPE =
  'application/openmetrics-text; version=1.0.0; charset=utf-8';

export type ExpositionFormat = 'prometheus' | 'openmetrics';

interface JsonValue {
  labels?: RawLabels;
  value: number;
  metricName?: string;
  exemplar?: {
    labelSet: Record<string, string | number>;
    value: number;
    timestamp?: number;
  } | null;
}
interface JsonMetric {
  name: string;
  help: string;
  type: string;
  values?: JsonValue[];
}

const NEEDS_ESCAPE = /[\\\n"]/;

function escapeLabelValue(v: string): string {
  // Most label values need no escaping: one scan instead of three replacements.
  if (!NEEDS_ESCAPE.test(v)) return v;
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function escapeHelp(v: string, openMetrics: boolean): string {
  const s = v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
  return openMetrics ? s.replace(/"/g, '\\"') : s;
}

function formatNumber(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

function formatLabels(labels: RawLabels | undefined): string {
  if (!labels) return '';
  // One string built in place (no entry arrays, no parts array, no template per label): this runs
  // once per sample.
  let out = '';
  for (const k in labels) {
    const v = labels[k];
    if (v === undefined || !Object.prototype.hasOwnProperty.call(labels, k)) continue;
    const text = typeof v === 'string' ? v : typeof v === 'number' ? formatNumber(v) : String(v);
    out += (out === '' ? '{' : ',') + k + '="' + escapeLabelValue(text) + '"';
  }
  return out === '' ? '' : out + '}';
}

/** Where rendered text goes: one string, or the bytes of a scrape. */
interface TextSink {
  put(text: string): void;
}

/** A family's text is handed to the sink whenever it grows past this many characters. */
const FLUSH_CHARS = 16_384;

/**
 * The text of a scrape as UTF-8 bytes, written a family (or 16 k characters) at a time. Building one
 * string of the whole scrape and encoding it at the end costs more: the engine must first copy the
 * string's tens of thousands of pieces into one, measured at 3.7 ms for 10,000 series, where writing
 * small pieces as they are made costs about a tenth of that.
 */
class BytesSink implements TextSink {
  #buf: Buffer;
  #length = 0;

  constructor(size: number) {
    this.#buf = Buffer.allocUnsafe(size);
  }

  put(text: string): void {
    // A UTF-16 code unit takes at most 3 bytes in UTF-8.
    const room = this.#length + text.length * 3;
    if (room > this.#buf.length) {
      const bigger = Buffer.allocUnsafe(Math.max(room, this.#buf.length * 2));
      this.#buf.copy(bigger, 0, 0, this.#length);
      this.#buf = bigger;
    }
    this.#length += this.#buf.write(text, this.#length);
  }

  get length(): number {
    return this.#length;
  }

  bytes(): Buffer {
    return this.#buf.subarray(0, this.#length);
  }
}

/** The names a metric's text uses: its family (HELP and TYPE) and, for a counter, its sample. */
function familyHeader(name: string, help: string, type: string, om: boolean): [string, string] {
  const isCounter = type === 'counter';
  const base = isCounter ? name.replace(/_total$/, '') : name;
  const family = isCounter && !om ? `${base}_total` : base;
  return [
    `# HELP ${family} ${escapeHelp(help, om)}\n# TYPE ${family} ${type}\n`,
    isCounter ? `${base}_total` : name,
  ];
}

/** Renders one metric as getMetricsAsJSON() gives it. */
function renderJsonMetric(metric: JsonMetric, om: boolean, sink: TextSink): void {
  const [header, sampleName] = familyHeader(metric.name, metric.help, metric.type, om);
  const isCounter = metric.type === 'counter';
  let out = header;
  const values = metric.values ?? [];
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    const sample = isCounter ? sampleName : (v.metricName ?? metric.name);
    out += sample + formatLabels(v.labels) + ' ' + formatNumber(v.value);
    if (om && v.exemplar) {
      out += ` # ${formatLabels(v.exemplar.labelSet) || '{}'} ${formatNumber(v.exemplar.value)}`;
      if (v.exemplar.timestamp !== undefined) out += ` ${v.exemplar.timestamp}`;
    }
    out += '\n';
    if (out.length > FLUSH_CHARS) {
      sink.put(out);
      out = '';
    }
  }
  sink.put(out);
}

/** Renders metrics from getMetricsAsJSON() in the given format. */
export function renderJson(metrics: readonly JsonMetric[], format: ExpositionFormat): string {
  const om = format === 'openmetrics';
  // Appended to one string rather than joined from an array of lines: measured about a third faster
  // on 10,000 series.
  const sink = { text: '', put: (t: string) => void (sink.text += t) };
  for (const metric of metrics) renderJsonMetric(metric, om, sink);
  // An empty registry: `# EOF` alone in OpenMetrics (a blank line would be invalid there), and the
  // one newline prom-client's own renderer gives in the text format.
  if (om) return sink.text + '# EOF\n';
  return sink.text === '' ? '\n' : sink.text;
}

/** A prom-client counter or gauge, from its hashMap: the text getMetricsAsJSON() would give. */
function renderScalar(
  metric: PromScalar,
  om: boolean,
  defaults: RawLabels | undefined,
  sink: TextSink,
) {
  const [header, sample] = familyHeader(metric.name, metric.help, metric.type, om);
  let out = header;
  const hashMap = metric.hashMap;
  for (const hash in hashMap) {
    const d = hashMap[hash];
    if (d === undefined) continue;
    const labels = defaults === undefined ? d.labels : withDefaultLabels(d.labels ?? {}, defaults);
    out += sample + formatLabels(labels) + ' ' + formatNumber(d.value as number) + '\n';
    if (out.length > FLUSH_CHARS) {
      sink.put(out);
      out = '';
    }
  }
  sink.put(out);
}

/**
 * A prom-client histogram, from its hashMap: the text getMetricsAsJSON() would give (`le` first, then
 * the series' labels, then default labels it lacks), with each label set formatted once for all of
 * its samples instead of once per bucket.
 */
function renderHistogram(
  metric: PromHistogram,
  om: boolean,
  defaults: RawLabels | undefined,
  sink: TextSink,
): void {
  const [header] = familyHeader(metric.name, metric.help, metric.type, om);
  const bounds = metric.upperBounds;
  const bucket = `${metric.name}_bucket{le="`;
  const les = bounds.map((b) => bucket + formatNumber(b) + '"');
  const inf = `${bucket}+Inf"`;
  const sum = `${metric.name}_sum`;
  const count = `${metric.name}_count`;
  let out = header;
  const hashMap = metric.hashMap;
  for (const hash in hashMap) {
    const d = hashMap[hash];
    if (d === undefined) continue;
    const labels = formatLabels(
      defaults === undefined ? d.labels : withDefaultLabels(d.labels ?? {}, defaults),
    );
    // `{a="1",b="2"}` as `,a="1",b="2"}` after a bucket's `le`, or `}` alone.
    const rest = labels === '' ? '} ' : ',' + labels.slice(1) + ' ';
    const values = d.bucketValues;
    let acc = 0;
    for (let i = 0; i < bounds.length; i++) {
      acc += values[bounds[i] as unknown as string] as number;
      out += les[i]! + rest + formatNumber(acc) + '\n';
    }
    const n = formatNumber(d.count);
    out += inf + rest + n + '\n';
    out += sum + labels + ' ' + formatNumber(d.sum) + '\n' + count + labels + ' ' + n + '\n';
    if (out.length > FLUSH_CHARS) {
      sink.put(out);
      out = '';
    }
  }
  sink.put(out);
}

/** Size of the last scrape's bytes, to start the next one's buffer large enough. */
let lastScrapeBytes = 64 * 1024;

/**
 * Renders a prom-client Registry (getMetricsAsJSON() not overridden) as getMetricsAsJSON() and
 * renderJson() would, reading prom-client's own counters, gauges and histograms from their internals
 * instead of building an object per sample; other metrics (summaries, Vigil's instruments, metrics
 * with exemplars) go through their get(). Collect hooks and get() all run first, as in prom-client.
 */
async function renderRegistry(
  registry: { getMetricsAsArray(): unknown[]; readonly _defaultLabels: RawLabels },
  om: boolean,
): Promise<Buffer | string> {
  const metrics = registry.getMetricsAsArray();
  const defaultLabels = registry._defaultLabels;
  const defaults = Object.keys(defaultLabels).length > 0 ? defaultLabels : undefined;
  // A default `le` would change a bucket's `le` as getMetricsAsJSON() merges it: read through get().
  const histograms = defaults === undefined || !('le' in defaults);
  const kinds = metrics.map((m) => {
    if ((m as { enableExemplars?: unknown }).enableExemplars === true) return 'json';
    const kind = promReadKind(m);
    return kind === 'histogram' && !histograms ? 'json' : kind;
  });
  const gets = await collectMetrics(metrics, (i) => kinds[i] !== 'json');
  const sink = new BytesSink(lastScrapeBytes);
  for (let i = 0; i < metrics.length; i++) {
    const kind = kinds[i];
    if (kind === 'scalar') renderScalar(metrics[i] as PromScalar, om, defaults, sink);
    else if (kind === 'histogram') renderHistogram(metrics[i] as PromHistogram, om, defaults, sink);
    else {
      const json = gets[i] as JsonMetric;
      const values =
        defaults === undefined || json.values === undefined
          ? json.values
          : json.values.map((v) => ({ ...v, labels: withDefaultLabels(v.labels ?? {}, defaults) }));
      renderJsonMetric(values === json.values ? json : { ...json, values }, om, sink);
    }
  }
  if (om) sink.put('# EOF\n');
  else if (sink.length === 0) return '\n';
  lastScrapeBytes = Math.max(64 * 1024, sink.length + (sink.length >> 3));
  return sink.bytes();
}

/**
 * Renders `registry` in `format`: the text as a string, or as its UTF-8 bytes when Vigil reads a
 * prom-client registry itself (what an endpoint writes; render() gives the same text as a string).
 */
export async function renderBody(
  registry: Registry,
  format: ExpositionFormat,
): Promise<string | Buffer> {
  const native =
    (registry.contentType as string) === Registry.OPENMETRICS_CONTENT_TYPE
      ? 'openmetrics'
      : 'prometheus';
  // Native OpenMetrics is avoided too: it renames counters in place, which would break later
  // Prometheus-format scrapes of the same registry.
  if (format === 'prometheus' && native === 'prometheus') return registry.metrics();
  const om = format === 'openmetrics';
  if (isPromRegistry(registry)) return renderRegistry(registry, om);
  return renderJson((await registry.getMetricsAsJSON()) as unknown as JsonMetric[], format);
}

/** Renders `registry` in `format`, natively when the registry's own type matches. */
export async function render(registry: Registry, format: ExpositionFormat): Promise<string> {
  const body = await renderBody(registry, format);
  return typeof body === 'string' ? body : body.toString('utf8');
}

/**
 * Chooses the format from an Accept header: OpenMetrics when the scraper prefers it (Prometheus sends
 * `application/openmetrics-text;version=1.0.0,...;q=0.5`), the Prometheus text format otherwise.
 */
export function negotiate(accept: string | undefined): ExpositionFormat {
  if (accept === undefined) return 'prometheus';
  // Media types are case-insensitive (RFC 9110).
  accept = accept.toLowerCase();
  if (!accept.includes('openmetrics')) return 'prometheus';
  let omQ = 0;
  let textQ = 0;
  for (const part of accept.split(',')) {
    const [type = '', ...params] = part.split(';').map((s) => s.trim().toLowerCase());
    let q = 1;
    for (const p of params) {
      if (p.startsWith('q=')) {
        const n = Number(p.slice(2));
        q = Number.isFinite(n) ? n : 0;
      }
    }
    if (type === 'application/openmetrics-text') omQ = Math.max(omQ, q);
    else if (type === 'text/plain' || type === '*/*' || type === 'text/*')
      textQ = Math.max(textQ, q);
  }
  return omQ > 0 && omQ >= textQ ? 'openmetrics' : 'prometheus';
}
