// TraceBuffer: the in-process ring buffer of recent traces, bounded by traces, bytes and spans per trace.
import { ROOT_CONTEXT, type Span, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { TraceBuffer, type TraceBufferOptions } from '@vigil/tracing';
import { FRAMEWORKS } from './support/behaviour-apps';
import { closeServers, fetchRaw, json, startServer, waitFor } from './support/behaviour-http';
import { type MemoryTracing, startMemoryTracing } from './support/behaviour-otel';

/** A buffer fed by real SDK spans from two services, without registering anything globally. */
function fixture(options: TraceBufferOptions = {}) {
  const buffer = new TraceBuffer(options);
  const provider = (service: string) =>
    new BasicTracerProvider({
      resource: resourceFromAttributes({ 'service.name': service }),
      spanProcessors: [buffer],
    });
  const tracers = {
    gateway: provider('gateway').getTracer('test'),
    catalog: provider('catalog').getTracer('test'),
  };
  /** One trace: a root span and `children` child spans, ended children first. */
  function traceOf(
    name: string,
    children = 0,
    opts: { service?: 'gateway' | 'catalog'; attr?: string; error?: boolean } = {},
  ): string {
    const root = tracers[opts.service ?? 'gateway'].startSpan(name, { kind: SpanKind.SERVER });
    const ctx = trace.setSpan(ROOT_CONTEXT, root);
    for (let i = 0; i < children; i++) {
      const child = tracers.catalog.startSpan(`${name}.child${i}`, {}, ctx);
      if (opts.attr !== undefined) child.setAttribute('payload', opts.attr);
      child.end();
    }
    if (opts.error) root.setStatus({ code: SpanStatusCode.ERROR });
    root.end();
    return root.spanContext().traceId;
  }
  /** A span that will end later in an existing trace. */
  function open(name: string, parent: Span): Span {
    return tracers.gateway.startSpan(name, {}, trace.setSpan(ROOT_CONTEXT, parent));
  }
  return { buffer, traceOf, open, tracers };
}

describe('TraceBuffer', () => {
  it('should keep at most maxTraces traces, evicting the oldest first', () => {
    const { buffer, traceOf } = fixture({ maxTraces: 3 });
    const ids = Array.from({ length: 5 }, (_, i) => traceOf(`t${i}`));
    expect(buffer.stats.traces).toBe(3);
    expect(buffer.get(ids[0]!)).toBeUndefined();
    expect(buffer.get(ids[1]!)).toBeUndefined();
    expect(buffer.recent().map((t) => t.rootName)).toEqual(['t4', 't3', 't2']);
  });

  it('should count a trace that gets a new span as recent again', () => {
    const { buffer, traceOf, tracers, open } = fixture({ maxTraces: 3 });
    const root = tracers.gateway.startSpan('long');
    root.end();
    traceOf('b');
    traceOf('c');
    open('late', root).end();
    traceOf('d');
    expect(buffer.recent().map((t) => t.rootName)).toEqual(['d', 'long', 'c']);
  });

  it('should stay within maxBytes by evicting whole old traces', () => {
    const maxBytes = 20_000;
    const { buffer, traceOf } = fixture({ maxBytes, maxTraces: 1000 });
    const ids: string[] = [];
    for (let i = 0; i < 50; i++) ids.push(traceOf(`big${i}`, 2, { attr: 'x'.repeat(1000) }));
    const { traces, bytes } = buffer.stats;
    expect(bytes).toBeLessThanOrEqual(maxBytes);
    expect(traces).toBeGreaterThan(1);
    expect(traces).toBeLessThan(50);
    expect(buffer.get(ids[49]!)).toHaveLength(3);
    expect(buffer.get(ids[0]!)).toBeUndefined();
    // Whole traces are kept or dropped, never a part of one.
    for (const t of buffer.recent(1000)) expect(t.spanCount).toBe(3);
  });

  it.each([
    {
      what: 'an error status message',
      mark: (span: Span, big: string) =>
        span.setStatus({ code: SpanStatusCode.ERROR, message: big }),
    },
    {
      what: 'a string-array attribute',
      mark: (span: Span, big: string) => span.setAttribute('tags', [big]),
    },
  ])('should count $what toward maxBytes', ({ mark }) => {
    const maxBytes = 200_000;
    const { buffer, tracers } = fixture({ maxBytes, maxTraces: 1000 });
    const big = 'e'.repeat(50_000);
    for (let i = 0; i < 20; i++) {
      const span = tracers.gateway.startSpan(`GET /fail${i}`);
      mark(span, big);
      span.end();
    }
    // What the buffer really holds: the strings of every span it kept.
    const held = buffer
      .recent(1000)
      .flatMap((t) => buffer.get(t.traceId) ?? [])
      .reduce((n, s) => n + JSON.stringify(s).length, 0);
    console.log(
      `TraceBuffer, 20 spans with 50 kB each: kept ${buffer.stats.traces} traces, estimate ${buffer.stats.bytes} bytes, held ${held} bytes (maxBytes ${maxBytes})`,
    );
    expect(held).toBeLessThanOrEqual(maxBytes);
  });

  it('should keep at most maxSpansPerTrace spans of one trace', () => {
    const { buffer, traceOf } = fixture({ maxSpansPerTrace: 5 });
    const id = traceOf('wide', 9);
    expect(buffer.get(id)).toHaveLength(5);
    expect(buffer.recent()[0]?.spanCount).toBe(5);
  });

  it('should summarise traces newest first with root name, span count, services and error', () => {
    const { buffer, traceOf } = fixture();
    const ok = traceOf('GET /ok', 2);
    const failed = traceOf('GET /fail', 1, { error: true });
    const alone = traceOf('GET /alone', 0, { service: 'catalog' });
    const recent = buffer.recent();
    expect(recent.map((t) => t.traceId)).toEqual([alone, failed, ok]);
    expect(
      recent.map(({ rootName, spanCount, services, error }) => ({
        rootName,
        spanCount,
        services: [...services].sort(),
        error,
      })),
    ).toEqual([
      { rootName: 'GET /alone', spanCount: 1, services: ['catalog'], error: false },
      { rootName: 'GET /fail', spanCount: 2, services: ['catalog', 'gateway'], error: true },
      { rootName: 'GET /ok', spanCount: 3, services: ['catalog', 'gateway'], error: false },
    ]);
    for (const t of recent) {
      expect(t.durationMs).toBeGreaterThanOrEqual(0);
      expect(t.startTimeMs).toBeGreaterThan(0);
    }
    expect(buffer.recent(1)).toHaveLength(1);
    expect(buffer.recent(0)).toEqual([]);
  });

  it('should return one trace’s spans in end order, as a copy, and undefined for unknown ids', () => {
    const { buffer, traceOf } = fixture();
    const id = traceOf('GET /x', 2);
    const spans = buffer.get(id)!;
    expect(spans.map((s) => s.name)).toEqual(['GET /x.child0', 'GET /x.child1', 'GET /x']);
    expect(spans[2]).toMatchObject({
      traceId: id,
      parentSpanId: undefined,
      kind: 'server',
      service: 'gateway',
      status: 'unset',
    });
    expect(spans[0]?.parentSpanId).toBe(spans[2]?.spanId);
    spans.pop();
    expect(buffer.get(id)).toHaveLength(3);
    expect(buffer.get('0'.repeat(32))).toBeUndefined();
  });

  it('should stay bounded when fed 10,000 traces (defaults: 200 traces, 4 MiB)', () => {
    const { buffer, traceOf } = fixture();
    const started = performance.now();
    let last = '';
    for (let i = 0; i < 10_000; i++) last = traceOf(`GET /items/:id`, 2, { attr: `item-${i}` });
    const ms = performance.now() - started;
    const { traces, bytes } = buffer.stats;
    console.log(
      `TraceBuffer: 10000 traces x 3 spans fed in ${ms.toFixed(0)} ms; kept ${traces} traces, ${bytes} bytes (estimate)`,
    );
    expect(traces).toBe(200);
    expect(bytes).toBeLessThanOrEqual(4 * 1024 * 1024);
    expect(buffer.recent()[0]?.traceId).toBe(last);
    buffer.clear();
    expect(buffer.stats).toEqual({ traces: 0, bytes: 0 });
  });
});

describe('TraceBuffer behind startTracing()', () => {
  let otel: MemoryTracing;
  beforeAll(() => {
    otel = startMemoryTracing({ httpClientSpans: false });
  });
  afterAll(() => otel.tracing.shutdown());
  afterEach(closeServers);

  it('should make a request’s trace readable through tracing.traces', async () => {
    const express5 = FRAMEWORKS.find((f) => f.name === 'express5')!;
    const { origin } = await startServer(express5.app().listener);
    const res = await fetchRaw(origin, '/api/users/3?token=secret');
    const { traceId } = json<{ sync: { traceId: string } }>(res).sync;
    const traces = otel.tracing.traces!;
    await waitFor(() => traces.get(traceId) !== undefined, 'the trace in the buffer');
    expect(traces.recent()[0]).toMatchObject({
      traceId,
      rootName: 'GET /api/users/:id',
      spanCount: 1,
      error: false,
    });
    const [span] = traces.get(traceId)!;
    expect(span).toMatchObject({
      kind: 'server',
      status: 'unset',
      attributes: { 'http.route': '/api/users/:id', 'url.path': '/api/users/3' },
    });
    expect(JSON.stringify(span)).not.toContain('secret');
  });
});

describe('TraceBuffer options', () => {
  it.each([
    [{ maxTraces: 0 }, 'maxTraces'],
    [{ maxSpansPerTrace: 0 }, 'maxSpansPerTrace'],
    [{ maxBytes: '1mb' }, 'maxBytes'],
  ])('should reject %o with a coded error naming %s', (options, name) => {
    expect(() => new TraceBuffer(options as never)).toThrow(
      expect.objectContaining({
        code: 'ERR_VIGIL_TRACING_INVALID_OPTION',
        message: expect.stringContaining(`"${name}"`),
      }),
    );
  });

  it('should reject an unknown option', () => {
    expect(() => new TraceBuffer({ maxTrace: 5 } as never)).toThrow(
      expect.objectContaining({ code: 'ERR_VIGIL_TRACING_UNKNOWN_OPTION' }),
    );
  });
});
