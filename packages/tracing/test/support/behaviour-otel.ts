// OpenTelemetry test plumbing: tracing started with an in-memory exporter, span lookups, W3C header helpers.
import { randomBytes } from 'node:crypto';
import { SpanKind } from '@opentelemetry/api';
import {
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { expect } from 'vitest';
import { type Tracing, type TracingOptions, startTracing } from '@vigil/tracing';
import { waitFor } from './behaviour-http';

export interface MemoryTracing {
  tracing: Tracing;
  exporter: InMemorySpanExporter;
}

/** startTracing() with nothing exported but an in-memory exporter behind a SimpleSpanProcessor. */
export function startMemoryTracing(options: TracingOptions = {}): MemoryTracing {
  const exporter = new InMemorySpanExporter();
  const tracing = startTracing({
    exporter: 'none',
    ...options,
    spanProcessors: [new SimpleSpanProcessor(exporter), ...(options.spanProcessors ?? [])],
  });
  return { tracing, exporter };
}

export const HEX32 = /^[0-9a-f]{32}$/;
export const HEX16 = /^[0-9a-f]{16}$/;
// Version 00; flags: sampled (bit 0) and, Level 2, random-trace-id (bit 1).
export const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-0[0-3]$/;
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

export const newTraceId = (): string => randomBytes(16).toString('hex');
export const newSpanId = (): string => randomBytes(8).toString('hex');

/** A sampled W3C traceparent with fresh ids (or the given ones). */
export function traceparent(traceId = newTraceId(), spanId = newSpanId(), flags = '01'): string {
  return `00-${traceId}-${spanId}-${flags}`;
}

/** Trace id and parent id of a traceparent header, or undefined when it does not parse. */
export function parseTraceparent(
  value: string | string[] | undefined,
): { traceId: string; parentId: string } | undefined {
  if (typeof value !== 'string') return undefined;
  const m = TRACEPARENT.exec(value);
  return m ? { traceId: m[1]!, parentId: m[2]! } : undefined;
}

export const serverSpans = (exporter: InMemorySpanExporter): ReadableSpan[] =>
  exporter.getFinishedSpans().filter((s) => s.kind === SpanKind.SERVER);

const describeSpans = (exporter: InMemorySpanExporter) => () =>
  exporter
    .getFinishedSpans()
    .map((s) => `${SpanKind[s.kind]} "${s.name}" ${s.spanContext().traceId.slice(0, 8)}`)
    .join(', ') || 'no spans';

/** Waits for the one finished span that `match` accepts (the span ends when the response closes). */
export async function waitForSpan(
  exporter: InMemorySpanExporter,
  match: (span: ReadableSpan) => boolean,
  what = 'a span',
): Promise<ReadableSpan> {
  let found: ReadableSpan[] = [];
  await waitFor(
    () => (found = exporter.getFinishedSpans().filter(match)).length > 0,
    what,
    3000,
    describeSpans(exporter),
  );
  expect(found, `exactly one ${what}`).toHaveLength(1);
  return found[0]!;
}

/** Waits for the server span of the trace `traceId`. */
export const waitForServerSpan = (
  exporter: InMemorySpanExporter,
  traceId: string,
): Promise<ReadableSpan> =>
  waitForSpan(
    exporter,
    (s) => s.kind === SpanKind.SERVER && s.spanContext().traceId === traceId,
    `the server span of trace ${traceId}`,
  );

/** Waits `ms`, before asserting that something (a span, a header) did NOT happen. */
export async function settle(ms = 150): Promise<void> {
  await new Promise<void>((resolve) => setTimeout(resolve, ms));
}
