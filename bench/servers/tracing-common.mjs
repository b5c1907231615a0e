// What the tracing scenarios share: a span exporter that discards, a span processor that only counts,
// loading Express after tracing is set up, and after-the-window check routes that show spans were
// really made (and exported, or kept in the trace buffer).
//
// This module must not import express or ./common.mjs statically: OpenTelemetry's instrumentations
// patch modules as they are required, so Express has to load after the SDK is set up.
import { createRequire } from 'node:module';

// Not named `require`: TypeScript would take calls to it for imports of the module itself.
const requireCjs = createRequire(import.meta.url);

/** @typedef {import('@opentelemetry/sdk-trace-node').ReadableSpan} ReadableSpan */

/**
 * A SpanExporter that drops every batch at once (`cb({ code: 0 })`, code 0 is SUCCESS), so a scenario
 * measures making and batching spans, not sending them. It only counts spans and keeps a reference to
 * the last batch (O(1) per batch, no per-span work) for the check route.
 */
export function discardingExporter() {
  const stats = { spans: 0, batches: 0, lastBatch: /** @type {ReadableSpan[]} */ ([]) };
  return {
    stats,
    /**
     * @param {ReadableSpan[]} spans
     * @param {(result: import('@opentelemetry/core').ExportResult) => void} resultCallback
     */
    export(spans, resultCallback) {
      stats.spans += spans.length;
      stats.batches++;
      stats.lastBatch = spans;
      resultCallback({ code: 0 });
    },
    shutdown() {
      return Promise.resolve();
    },
    forceFlush() {
      return Promise.resolve();
    },
  };
}

/**
 * Loads Express and the shared route mix once tracing is set up. Express is loaded with `require`, as a
 * CommonJS app would: OpenTelemetry's require hook patches it then. (A plain ESM `import('express')`
 * would load it without the hook, and the Express instrumentation would silently do nothing.) The
 * later `import express from 'express'` in common.mjs gets the same, already patched, module object.
 */
export async function loadExpressAfterTracing() {
  const express = /** @type {typeof import('express')} */ (requireCjs('express'));
  const { mountRoutes, serve } = await import('./common.mjs');
  return { express, mountRoutes, serve };
}

/** The path of the span check; used by `spans` in scenarios.mjs, requested only after the window. */
export const SPAN_CHECK_PATH = '/_bench/spans';

/**
 * `name="GET /users/:id",kind="1"` -> how many of `spans` have that name and kind.
 * @param {(ReadableSpan | undefined)[]} spans
 */
function tally(spans) {
  /** @type {Map<string, number>} */
  const byName = new Map();
  for (const span of spans) {
    if (!span) continue;
    const key = `name=${JSON.stringify(span.name)},kind="${span.kind}"`;
    byName.set(key, (byName.get(key) ?? 0) + 1);
  }
  return byName;
}

/**
 * Mounts the span check. Call it after mountRoutes(app): every load request is answered by a route
 * before it, so it adds nothing to the measured requests. It reports the exported span count and the
 * span names and kinds in the last exported batch, e.g. `last_batch_spans{name="GET /users/:id",kind="1"} 40`
 * (kind 1 is SERVER).
 * @param {import('express').Express} app
 * @param {ReturnType<typeof discardingExporter>} exporter
 */
export function mountSpanCheck(app, exporter) {
  app.get(SPAN_CHECK_PATH, (_req, res) => {
    const { spans, batches, lastBatch } = exporter.stats;
    const lines = [`spans_exported_total ${spans}`, `batches_exported_total ${batches}`];
    for (const [key, n] of tally(lastBatch)) lines.push(`last_batch_spans{${key}} ${n}`);
    res.type('text/plain').send(`${lines.join('\n')}\n`);
  });
}

/** How many ended spans the counting processor keeps for the check. */
const KEPT_SPANS = 64;

/**
 * A SpanProcessor that only counts ended spans and keeps references to the last 64 (O(1) per span:
 * one increment, one array store), for a setup with no exporter whose spans would otherwise leave no
 * trace. It sees sampled spans only, as any processor does.
 */
export function countingSpanProcessor() {
  /** @type {(ReadableSpan | undefined)[]} */
  const last = new Array(KEPT_SPANS);
  const stats = { spans: 0, last };
  return {
    stats,
    onStart() {},
    /** @param {ReadableSpan} span */
    onEnd(span) {
      stats.last[stats.spans++ % KEPT_SPANS] = span;
    },
    forceFlush() {
      return Promise.resolve();
    },
    shutdown() {
      return Promise.resolve();
    },
  };
}

/**
 * Mounts the span check of a countingSpanProcessor() (after the route mix): the ended span count and
 * the names and kinds of the last 64, e.g. `last_spans{name="GET /users/:id",kind="1"} 21`.
 * @param {import('express').Express} app
 * @param {ReturnType<typeof countingSpanProcessor>} processor
 */
export function mountSpanCountCheck(app, processor) {
  app.get(SPAN_CHECK_PATH, (_req, res) => {
    const { spans, last } = processor.stats;
    const lines = [`spans_ended_total ${spans}`];
    for (const [key, n] of tally(last)) lines.push(`last_spans{${key}} ${n}`);
    res.type('text/plain').send(`${lines.join('\n')}\n`);
  });
}

/**
 * Mounts the check of @vigil/tracing's in-process trace buffer (after the route mix): the traces it
 * holds and the root span names of the 50 newest, e.g. `recent_traces{root="GET /users/:id"} 17`.
 * @param {import('express').Express} app
 * @param {import('@vigil/tracing').TraceBuffer | undefined} traces
 */
export function mountTraceBufferCheck(app, traces) {
  app.get(SPAN_CHECK_PATH, (_req, res) => {
    const lines = [`traces_kept ${traces?.stats.traces ?? 0}`];
    /** @type {Map<string, number>} */
    const byRoot = new Map();
    for (const trace of traces?.recent(50) ?? []) {
      byRoot.set(trace.rootName, (byRoot.get(trace.rootName) ?? 0) + 1);
    }
    for (const [root, n] of byRoot) lines.push(`recent_traces{root=${JSON.stringify(root)}} ${n}`);
    res.type('text/plain').send(`${lines.join('\n')}\n`);
  });
}
