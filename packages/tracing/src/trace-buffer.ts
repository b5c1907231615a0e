// The in-process ring buffer of recent traces: a span processor bounded by trace count and bytes.
import { type AttributeValue, type HrTime, SpanStatusCode } from '@opentelemetry/api';
import type { ReadableSpan, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { integerOption, readOptions } from '@vigil/core';
import { context } from './errors';

/**
 * The resource's service.name. While a detector's attribute is still being read (host.id right after
 * startTracing()), `attributes` would log OpenTelemetry's "accessed before async attributes settled"
 * error; the raw list already holds service.name, first entry winning as in `attributes`.
 */
function serviceOf(resource: ReadableSpan['resource']): string {
  if (!resource.asyncAttributesPending) {
    return String(resource.attributes['service.name'] ?? 'unknown_service');
  }
  for (const [key, value] of resource.getRawAttributes()) {
    if (key === 'service.name' && typeof value === 'string') return value;
  }
  return 'unknown_service';
}

/** A finished span as the buffer keeps it. */
export interface RecordedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string | undefined;
  name: string;
  kind: 'internal' | 'server' | 'client' | 'producer' | 'consumer';
  service: string;
  startTimeMs: number;
  durationMs: number;
  status: 'unset' | 'ok' | 'error';
  statusMessage: string | undefined;
  attributes: Record<string, AttributeValue>;
  links: { traceId: string; spanId: string }[];
}

/** One trace in the buffer's listing. */
export interface TraceSummary {
  traceId: string;
  /** Name of the root span, or of the earliest span when the root is elsewhere. */
  rootName: string;
  startTimeMs: number;
  durationMs: number;
  spanCount: number;
  services: string[];
  error: boolean;
}

/** Options of the trace buffer. */
export interface TraceBufferOptions {
  /** Most traces kept; the oldest is evicted first. Default: 200. */
  maxTraces?: number;
  /** Approximate bytes kept across all traces. Default: 4 MiB. */
  maxBytes?: number;
  /** Most spans kept per trace; later ones are counted but dropped. Default: 256. */
  maxSpansPerTrace?: number;
}

interface Entry {
  spans: RecordedSpan[];
  bytes: number;
  dropped: number;
}

const KINDS: RecordedSpan['kind'][] = ['internal', 'server', 'client', 'producer', 'consumer'];

const toMs = (t: HrTime): number => t[0] * 1e3 + t[1] / 1e6;

// Byte accounting is an estimate from string lengths: exact serialisation on every span would cost
// more than the span itself.
function estimate(span: RecordedSpan): number {
  let n = 200 + span.name.length + (span.statusMessage?.length ?? 0) + span.links.length * 64;
  const attributes = span.attributes;
  for (const k in attributes) n += k.length + valueSize(attributes[k]);
  return n;
}

function valueSize(v: unknown): number {
  if (typeof v === 'string') return v.length;
  if (Array.isArray(v)) return v.reduce((n: number, item) => n + valueSize(item) + 2, 2);
  return 16;
}

/** Keeps the most recent traces in memory; register it as a span processor. */
export class TraceBuffer implements SpanProcessor {
  private readonly traces = new Map<string, Entry>();
  /** The last span's resource and its service name: a process's spans share one resource. */
  private resource: ReadableSpan['resource'] | undefined;
  private service = '';
  private totalBytes = 0;
  private readonly maxTraces: number;
  private readonly maxBytes: number;
  private readonly maxSpans: number;

  /** @throws VigilError `ERR_VIGIL_TRACING_*` on invalid or unknown options. */
  constructor(options?: TraceBufferOptions) {
    const ctx = context('TraceBuffer');
    const o = readOptions<TraceBufferOptions>(ctx, options, 1, [
      'maxTraces',
      'maxBytes',
      'maxSpansPerTrace',
    ]);
    this.maxTraces = integerOption(ctx, 'maxTraces', o.maxTraces, 200, 1, 1_000_000);
    this.maxBytes = integerOption(ctx, 'maxBytes', o.maxBytes, 4 * 1024 * 1024, 1024, 2 ** 31);
    this.maxSpans = integerOption(ctx, 'maxSpansPerTrace', o.maxSpansPerTrace, 256, 1, 100_000);
  }

  onStart(): void {}

  onEnd(span: ReadableSpan): void {
    try {
      const sc = span.spanContext();
      let entry = this.traces.get(sc.traceId);
      if (entry === undefined) {
        entry = { spans: [], bytes: 0, dropped: 0 };
        this.traces.set(sc.traceId, entry);
      } else {
        // Re-insert so the Map's order is by latest activity: eviction takes the stalest trace.
        this.traces.delete(sc.traceId);
        this.traces.set(sc.traceId, entry);
      }
      if (entry.spans.length >= this.maxSpans) {
        entry.dropped++;
        return;
      }
      const recorded: RecordedSpan = {
        traceId: sc.traceId,
        spanId: sc.spanId,
        parentSpanId: span.parentSpanContext?.spanId,
        name: span.name,
        kind: KINDS[span.kind] ?? 'internal',
        service: this.serviceOf(span.resource),
        startTimeMs: toMs(span.startTime),
        durationMs: toMs(span.duration),
        status:
          span.status.code === SpanStatusCode.ERROR
            ? 'error'
            : span.status.code === SpanStatusCode.OK
              ? 'ok'
              : 'unset',
        statusMessage: span.status.message,
        // An ended span's attributes no longer change (the SDK ignores setAttribute() after end()):
        // kept as they are rather than copied.
        attributes: span.attributes as Record<string, AttributeValue>,
        links: span.links.map((l) => ({ traceId: l.context.traceId, spanId: l.context.spanId })),
      };
      const bytes = estimate(recorded);
      entry.spans.push(recorded);
      entry.bytes += bytes;
      this.totalBytes += bytes;
      this.evict();
    } catch {
      // The buffer is a convenience; it must never disturb the pipeline.
    }
  }

  private serviceOf(resource: ReadableSpan['resource']): string {
    // Not cached while the resource's asynchronous attributes are pending: service.name may change.
    if (resource === this.resource) return this.service;
    const service = serviceOf(resource);
    if (!resource.asyncAttributesPending) {
      this.resource = resource;
      this.service = service;
    }
    return service;
  }

  private evict(): void {
    while (
      this.traces.size > this.maxTraces ||
      (this.totalBytes > this.maxBytes && this.traces.size > 1)
    ) {
      const oldest = this.traces.keys().next().value as string;
      this.totalBytes -= this.traces.get(oldest)!.bytes;
      this.traces.delete(oldest);
    }
  }

  /** The most recent traces, newest first. */
  recent(limit = 50): TraceSummary[] {
    const out: TraceSummary[] = [];
    const ids = [...this.traces.keys()].reverse().slice(0, Math.max(0, limit));
    for (const id of ids) {
      const spans = this.traces.get(id)!.spans;
      const root =
        spans.find((s) => s.parentSpanId === undefined) ??
        spans.reduce((a, b) => (a.startTimeMs <= b.startTimeMs ? a : b));
      const start = Math.min(...spans.map((s) => s.startTimeMs));
      const end = Math.max(...spans.map((s) => s.startTimeMs + s.durationMs));
      out.push({
        traceId: id,
        rootName: root.name,
        startTimeMs: start,
        durationMs: end - start,
        spanCount: spans.length,
        services: [...new Set(spans.map((s) => s.service))],
        error: spans.some((s) => s.status === 'error'),
      });
    }
    return out;
  }

  /** Every kept span of one trace, in end order, or undefined when the trace is not (or no longer) kept. */
  get(traceId: string): RecordedSpan[] | undefined {
    const entry = this.traces.get(traceId);
    return entry === undefined ? undefined : [...entry.spans];
  }

  /** Number of traces and estimated bytes held. */
  get stats(): { traces: number; bytes: number } {
    return { traces: this.traces.size, bytes: this.totalBytes };
  }

  clear(): void {
    this.traces.clear();
    this.totalBytes = 0;
  }

  forceFlush(): Promise<void> {
    return Promise.resolve();
  }

  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}
