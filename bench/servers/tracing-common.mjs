// What the tracing scenarios share: a span exporter that discards, loading Express after tracing is set
// up, and an after-the-window check route that shows spans were really made and exported.
//
// This module must not import express or ./common.mjs statically: OpenTelemetry's instrumentations
// patch modules as they are required, so Express has to load after the SDK is set up.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/**
 * A SpanExporter that drops every batch at once (`cb({ code: 0 })`, code 0 is SUCCESS), so a scenario
 * measures making and batching spans, not sending them. It only counts spans and keeps a reference to
 * the last batch (O(1) per batch, no per-span work) for the check route.
 */
export function discardingExporter() {
  const stats = { spans: 0, batches: 0, lastBatch: [] };
  return {
    stats,
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
  const express = require('express');
  const { mountRoutes, serve } = await import('./common.mjs');
  return { express, mountRoutes, serve };
}

/** The path of the span check; used by `spans` in scenarios.mjs, requested only after the window. */
export const SPAN_CHECK_PATH = '/_bench/spans';

/**
 * Mounts the span check. Call it after mountRoutes(app): every load request is answered by a route
 * before it, so it adds nothing to the measured requests. It reports the exported span count and the
 * span names and kinds in the last exported batch, e.g. `last_batch_spans{name="GET /users/:id",kind="1"} 40`
 * (kind 1 is SERVER).
 */
export function mountSpanCheck(app, exporter) {
  app.get(SPAN_CHECK_PATH, (req, res) => {
    const { spans, batches, lastBatch } = exporter.stats;
    const byName = new Map();
    for (const span of lastBatch) {
      const key = `name=${JSON.stringify(span.name)},kind="${span.kind}"`;
      byName.set(key, (byName.get(key) ?? 0) + 1);
    }
    const lines = [`spans_exported_total ${spans}`, `batches_exported_total ${batches}`];
    for (const [key, n] of byName) lines.push(`last_batch_spans{${key}} ${n}`);
    res.type('text/plain').send(`${lines.join('\n')}\n`);
  });
}
