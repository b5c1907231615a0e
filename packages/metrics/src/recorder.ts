// The framework-free core: per-request start and finish, writing the five HTTP metrics.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { collectDefaultMetrics } from 'prom-client';
import {
  METHOD_LABELS,
  OVERFLOW_LABEL_VALUE,
  type LabelGuard,
  type OptionContext,
  type ProblemReporter,
  type RequestRecord,
  type RequestSink,
  allocateSlot,
  beginRequest,
  type CounterSeries,
  type GaugeSeries,
  type HistogramSeries,
  FastCounter,
  FastGauge,
  FastHistogram,
  createLabelGuard,
  createProblemReporter,
  getActiveTraceContext,
  getOrRegister,
  optionError,
  registryState,
} from '@vigil/core';
import { PACKAGE } from './errors';
import type { ResolvedOptions } from './options';
import type { RequestInfo } from './types';

/** The status_code label of a request the client abandoned before the response finished. */
export const ABORTED_STATUS = 'aborted';

// Status labels for every code Node allows, built once so recording never formats a number.
const STATUS_LABELS: string[] = [];
for (let code = 100; code < 1000; code++) STATUS_LABELS[code] = String(code);

/**
 * What metrics keep per request beyond the shared record, in the record's slot, only when needed: the
 * body bytes of a chunked upload, and an exemplar when no Vigil tracing middleware gave the record its
 * trace ids (the app's own OpenTelemetry server span).
 */
interface Extra {
  bytesIn: number;
  exemplar: Record<string, string> | undefined;
}

const kExtra = allocateSlot();
/** Metrics middleware instances share this key: a request is recorded once, by the first of them. */
const EXCLUSIVE = Symbol.for('vigil.metrics.http');

/** Everything recorded for one (method, route, status, custom labels) series. */
interface SeriesRecord {
  requests: CounterSeries | undefined;
  duration: HistogramSeries;
  requestSize: HistogramSeries;
  responseSize: HistogramSeries;
}

/** Content types whose streaming verdict is cached (see HttpRecorder.isStreaming). */
const MAX_CACHED_CONTENT_TYPES = 64;

export class HttpRecorder implements RequestSink {
  readonly exclusive = EXCLUSIVE;
  private readonly requests: FastCounter | undefined;
  private readonly duration: FastHistogram;
  private readonly requestSize: FastHistogram;
  private readonly responseSize: FastHistogram;
  private readonly inFlight: GaugeSeries[];
  private readonly guard: LabelGuard;
  private readonly problems: ProblemReporter;
  // route -> (method index * 1000 + status) -> series; the common case allocates nothing per request.
  private readonly byRoute = new Map<string, Map<number, SeriesRecord>>();
  private readonly byKey = new Map<string, SeriesRecord>();
  private readonly filterCache = new Map<string, boolean>();
  // Content-Type -> streaming: an app answers with a handful of types, so this saves a lowercase copy
  // and a scan of the list per request. Bounded; emptied when full.
  private readonly streamingCache = new Map<string, boolean>();
  private overflow: SeriesRecord | undefined;

  constructor(
    private readonly options: ResolvedOptions,
    ctx: OptionContext,
  ) {
    const { registry, prefix, names, customLabelNames } = options;
    const labels = [names.method, names.route, names.status, ...customLabelNames];
    const requests = names.requests
      ? new FastCounter(
          prefix + names.requests,
          'Total number of HTTP requests completed or aborted, by method, route template and status code',
          labels,
          PACKAGE,
        )
      : undefined;
    const duration = new FastHistogram(
      prefix + names.duration,
      'Duration of HTTP requests in seconds, by method, route template and status code',
      labels,
      PACKAGE,
      options.durationBuckets,
    );
    const sizeLabels = [names.method, names.route];
    const requestSize = new FastHistogram(
      prefix + names.requestSize,
      'Size of HTTP request bodies in bytes, by method and route template',
      sizeLabels,
      PACKAGE,
      options.sizeBuckets,
    );
    const responseSize = new FastHistogram(
      prefix + names.responseSize,
      'Size of HTTP response bodies in bytes, by method and route template',
      sizeLabels,
      PACKAGE,
      options.sizeBuckets,
    );
    const inFlightGauge = new FastGauge(
      prefix + names.inFlight,
      'Number of HTTP requests being served, by method',
      [names.method],
      PACKAGE,
      // In-flight requests are still in flight after a registry reset, and will decrement on completion.
      false,
    );
    // Every name is checked before any is registered, so a conflict leaves the registry untouched.
    const all = [requests, duration, requestSize, responseSize, inFlightGauge].filter(
      (c) => c !== undefined,
    );
    for (const candidate of all) {
      const state = registryState(registry, candidate);
      if (state === 'foreign' || state === 'different') {
        throw optionError(
          ctx,
          'METRIC_CONFLICT',
          'registry',
          `a registry where "${candidate.name}" is free or registered by @vigil/metrics with the same labels and buckets`,
          candidate.name,
          state === 'foreign'
            ? `The registry already holds another metric named "${candidate.name}". Use the "prefix" option or a separate Registry.`
            : `The registry holds "${candidate.name}" from @vigil/metrics with other labels or buckets. Give every instance on one registry the same options, or use a "prefix".`,
        );
      }
    }
    this.requests = requests && getOrRegister(registry, requests);
    this.duration = getOrRegister(registry, duration);
    this.requestSize = getOrRegister(registry, requestSize);
    this.responseSize = getOrRegister(registry, responseSize);
    const inFlight = getOrRegister(registry, inFlightGauge);
    this.inFlight = METHOD_LABELS.map((m) => inFlight.child(m, { [names.method]: m }));
    this.problems = createProblemReporter('@vigil/metrics', options.logger);
    this.guard = createLabelGuard({
      metric: prefix + names.duration,
      limit: options.maxSeries,
      onOverflow: (info) =>
        this.problems.report(
          'series limit reached',
          `${info.metric} reached maxSeries=${info.limit}; further label sets are recorded under "${OVERFLOW_LABEL_VALUE}"`,
        ),
    });
    if (
      options.collectDefaultMetrics &&
      registry.getSingleMetric(`${prefix}process_cpu_user_seconds_total`) === undefined
    ) {
      collectDefaultMetrics({ register: registry, prefix });
      // prom-client exports three gauges with a counter's `_total` suffix, which `promtool check
      // metrics` rejects; the same figures remain available as sum(nodejs_active_handles) etc.
      for (const name of [
        'nodejs_active_handles_total',
        'nodejs_active_requests_total',
        'nodejs_active_resources_total',
      ]) {
        registry.removeSingleMetric(prefix + name);
      }
    }
  }

  /** Starts timing a request; `ctx` is the Koa context. Never throws. */
  start(req: IncomingMessage, res: ServerResponse, ctx?: object): void {
    let record: RequestRecord;
    try {
      record = beginRequest(req, res, ctx);
      if (record.operational && !this.options.recordOperationalEndpoints) return;
      if (!record.subscribe(this)) return;
    } catch (err) {
      this.problems.report('starting a request failed', err);
      return;
    }
    (this.inFlight[record.methodIndex] as GaugeSeries).value++;
    if (this.options.exemplars && record.traceId === undefined) {
      // Vigil's tracing middleware puts the server span's ids on the record; another tracer's span is
      // read here, while it is active.
      const trace = getActiveTraceContext();
      if (trace?.sampled)
        this.extra(record).exemplar = { trace_id: trace.traceId, span_id: trace.spanId };
    }
    // Chunked request bodies have no Content-Length; count them as the app's body parser reads them,
    // without adding a 'data' listener that would switch the stream into flowing mode. This path is
    // rare, so the cost of the closure and the property on req is acceptable here.
    if (
      req.headers['content-length'] === undefined &&
      req.headers['transfer-encoding'] !== undefined
    ) {
      const extra = this.extra(record);
      extra.bytesIn = 0;
      // eslint-disable-next-line @typescript-eslint/unbound-method -- called with the request as `this` below
      const emit = req.emit;
      req.emit = function countingEmit(
        this: IncomingMessage,
        event: string | symbol,
        ...args: unknown[]
      ): boolean {
        if (event === 'data') {
          const chunk = args[0] as { length?: number } | undefined;
          extra.bytesIn += chunk?.length ?? 0;
        }
        return emit.call(this, event, ...args);
      } as typeof req.emit;
    }
  }

  private extra(record: RequestRecord): Extra {
    return ((record.slots[kExtra] as Extra | undefined) ??= { bytesIn: -1, exemplar: undefined });
  }

  /** An operational endpoint claimed the request: it leaves the in-flight gauge at once. */
  requestClaimed(record: RequestRecord): void {
    if (this.options.recordOperationalEndpoints) return;
    (this.inFlight[record.methodIndex] as GaugeSeries).value--;
  }

  /** Records a request that ended. Never throws. */
  requestEnded(record: RequestRecord): void {
    if (record.operational && !this.options.recordOperationalEndpoints) return;
    const m = record.methodIndex;
    (this.inFlight[m] as GaugeSeries).value--;
    try {
      const { req, res, aborted } = record;
      const route = record.route;
      if (this.options.routeFilter !== undefined && !this.passes(route)) return;
      const status = aborted ? 0 : res.statusCode;
      const series = this.record(record, m, route, status);
      const seconds = (record.endTime - record.start) / 1000;
      if (series.requests) series.requests.value++;
      const extra = record.slots[kExtra] as Extra | undefined;
      if (!this.isStreaming(res))
        this.duration.observe(series.duration, seconds, this.exemplarOf(record, extra));
      this.requestSize.observe(series.requestSize, requestBytes(req, extra?.bytesIn ?? -1));
      this.responseSize.observe(series.responseSize, responseBytes(record));
    } catch (err) {
      this.problems.report('recording failed', err);
    }
  }

  private exemplarOf(
    record: RequestRecord,
    extra: Extra | undefined,
  ): Record<string, string> | undefined {
    if (!this.options.exemplars) return undefined;
    if (record.traceId !== undefined) {
      return record.sampled ? { trace_id: record.traceId, span_id: record.spanId! } : undefined;
    }
    return extra?.exemplar;
  }

  private passes(route: string): boolean {
    let ok = this.filterCache.get(route);
    if (ok === undefined) {
      try {
        ok = this.options.routeFilter!(route);
      } catch (err) {
        this.problems.report('route filter threw', err);
        ok = true;
      }
      if (this.filterCache.size < this.options.maxSeries) this.filterCache.set(route, ok);
    }
    return ok;
  }

  private isStreaming(res: ServerResponse): boolean {
    const types = this.options.streamingContentTypes;
    if (types.length === 0) return false;
    const ct = res.getHeader('content-type');
    if (typeof ct !== 'string') return false;
    let streaming = this.streamingCache.get(ct);
    if (streaming === undefined) {
      const lower = ct.toLowerCase();
      streaming = types.some((t) => lower.startsWith(t));
      if (this.streamingCache.size >= MAX_CACHED_CONTENT_TYPES) this.streamingCache.clear();
      this.streamingCache.set(ct, streaming);
    }
    return streaming;
  }

  private record(request: RequestRecord, m: number, route: string, status: number): SeriesRecord {
    const statusLabel = status === 0 ? ABORTED_STATUS : (STATUS_LABELS[status] ?? '0');
    if (this.options.customLabelFns.length === 0) {
      let perRoute = this.byRoute.get(route);
      const k = m * 1000 + status;
      const found = perRoute?.get(k);
      if (found !== undefined) return found;
      const key = `${route}\u0000${m}\u0000${status}`;
      if (!this.guard.admit(key)) return this.overflowRecord();
      if (perRoute === undefined)
        this.byRoute.set(route, (perRoute = new Map<number, SeriesRecord>()));
      const created = this.create(METHOD_LABELS[m] as string, route, statusLabel, []);
      perRoute.set(k, created);
      return created;
    }
    const values = this.customValues(request, m, route, statusLabel);
    const key = `${route}\u0000${m}\u0000${status}\u0000${values.join('\u0000')}`;
    const found = this.byKey.get(key);
    if (found !== undefined) return found;
    if (!this.guard.admit(key)) return this.overflowRecord();
    const created = this.create(METHOD_LABELS[m] as string, route, statusLabel, values);
    this.byKey.set(key, created);
    return created;
  }

  private customValues(
    request: RequestRecord,
    m: number,
    route: string,
    statusCode: string,
  ): string[] {
    const info: RequestInfo = {
      req: request.req,
      res: request.res,
      method: METHOD_LABELS[m] as string,
      route,
      statusCode,
      ctx: request.ctx,
    };
    return this.options.customLabelFns.map((fn, i) => {
      try {
        const v = fn(info);
        return typeof v === 'string' ? v : String(v);
      } catch (err) {
        this.problems.report(`customLabels.${this.options.customLabelNames[i]} threw`, err);
        return '';
      }
    });
  }

  private create(
    method: string,
    route: string,
    status: string,
    custom: readonly string[],
  ): SeriesRecord {
    const { names, customLabelNames } = this.options;
    const labels: Record<string, string> = {
      [names.method]: method,
      [names.route]: route,
      [names.status]: status,
    };
    customLabelNames.forEach((n, i) => (labels[n] = custom[i] as string));
    const key = `${method}\u0000${route}\u0000${status}\u0000${custom.join('\u0000')}`;
    const sizeKey = `${method}\u0000${route}`;
    const sizeLabels = { [names.method]: method, [names.route]: route };
    return {
      requests: this.requests?.child(key, labels),
      duration: this.duration.child(key, labels),
      requestSize: this.requestSize.child(sizeKey, sizeLabels),
      responseSize: this.responseSize.child(sizeKey, sizeLabels),
    };
  }

  private overflowRecord(): SeriesRecord {
    if (this.overflow === undefined) {
      const o = OVERFLOW_LABEL_VALUE;
      this.overflow = this.create(
        o,
        o,
        o,
        this.options.customLabelNames.map(() => o),
      );
    }
    return this.overflow;
  }
}

function requestBytes(req: IncomingMessage, counted: number): number {
  if (counted >= 0) return counted;
  const cl = req.headers['content-length'];
  if (cl === undefined) return 0;
  const n = Number(cl);
  return Number.isFinite(n) && n >= 0 ? n : 0;
}

function responseBytes(request: RequestRecord): number {
  const { req, res, aborted } = request;
  if (req.method === 'HEAD' || res.statusCode === 204 || res.statusCode === 304) return 0;
  const cl = res.getHeader('content-length');
  if (cl !== undefined && !aborted) {
    const n = Number(cl);
    if (Number.isFinite(n) && n >= 0) return n;
  }
  // Streamed or aborted: the bytes sent on the connection after the status line and headers, which
  // for chunked encoding include its framing (OpenTelemetry's body size is likewise what was
  // transferred). Wrapping res.write to count exact body bytes would cost microseconds a request.
  const socket = req.socket;
  const written = socket ? socket.bytesWritten - request.bytesOutAtStart : 0;
  // The serialised head is kept as a latin1 string, one byte per character.
  const head = (res as unknown as { _header?: unknown })._header;
  return Math.max(0, written - (typeof head === 'string' ? head.length : 0));
}
