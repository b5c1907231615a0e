// Tracing + metrics: duration exemplars in an OpenMetrics scrape point at real server spans.
import { spawnSync } from 'node:child_process';
import type { RequestListener } from 'node:http';
import Router from '@koa/router';
import express from 'express';
import Koa from 'koa';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  expressMetrics,
  expressMetricsHandler,
  koaMetrics,
  koaMetricsHandler,
} from '@vigil/metrics';
import { expressTracing, koaTracing } from '@vigil/tracing';
import { Koa2, express4 } from './support/behaviour-apps';
import { closeServers, fetchRaw, findBinary, startServer } from './support/behaviour-http';
import {
  HEX16,
  HEX32,
  type MemoryTracing,
  serverSpans,
  startMemoryTracing,
} from './support/behaviour-otel';
import { waitFor } from './support/behaviour-http';

const OPENMETRICS = 'application/openmetrics-text; version=1.0.0';

/** An app with tracing first, then metrics, one parameterised route and the scrape endpoint. */
function expressApp(factory: typeof express, registry: Registry): RequestListener {
  const app = factory();
  app.use(expressTracing());
  app.use(expressMetrics({ registry, collectDefaultMetrics: false }));
  app.get('/metrics', expressMetricsHandler({ registry }));
  app.get('/api/users/:id', (req, res) => {
    res.json({ id: req.params.id });
  });
  return app;
}

function koaApp(Factory: typeof Koa, registry: Registry): RequestListener {
  const app = new Factory();
  app.use(koaTracing());
  app.use(koaMetrics({ registry, collectDefaultMetrics: false }));
  const router = new Router();
  router.get('/metrics', koaMetricsHandler({ registry }));
  router.get('/api/users/:id', (ctx) => {
    ctx.body = { id: ctx.params.id };
  });
  app.use(router.routes()).use(router.allowedMethods());
  const handle = app.callback();
  return (req, res) => void handle(req, res);
}

const APPS = [
  { name: 'express4', build: (r: Registry) => expressApp(express4, r) },
  { name: 'express5', build: (r: Registry) => expressApp(express, r) },
  { name: 'koa2', build: (r: Registry) => koaApp(Koa2, r) },
  { name: 'koa3', build: (r: Registry) => koaApp(Koa, r) },
];

interface Exemplar {
  line: string;
  traceId: string;
  spanId: string;
}

const EXEMPLAR = /^http_request_duration_seconds_bucket\{.*\} \d+ # \{(.*)\} \S+( \S+)?$/;

function exemplarsOf(text: string): Exemplar[] {
  const out: Exemplar[] = [];
  for (const line of text.split('\n')) {
    const m = EXEMPLAR.exec(line);
    if (!m) continue;
    const labels = Object.fromEntries(
      [...m[1]!.matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1]!, x[2]!]),
    );
    out.push({ line, traceId: labels.trace_id ?? '', spanId: labels.span_id ?? '' });
  }
  return out;
}

let otel: MemoryTracing;
beforeAll(() => {
  otel = startMemoryTracing({ httpClientSpans: false });
});
afterAll(() => otel.tracing.shutdown());
beforeEach(() => otel.exporter.reset());
afterEach(closeServers);

const promtool = findBinary('promtool', 'prometheus');

describe.each(APPS)('exemplars on $name', ({ name, build }) => {
  it('should attach trace and span ids of a real server span to duration buckets', async () => {
    const registry = new Registry();
    const { origin } = await startServer(build(registry));
    for (let i = 0; i < 5; i++) {
      expect((await fetchRaw(origin, `/api/users/${i}`)).status).toBe(200);
    }
    await waitFor(() => serverSpans(otel.exporter).length === 5, 'five server spans');
    const res = await fetchRaw(origin, '/metrics', { accept: OPENMETRICS });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toContain('application/openmetrics-text');
    const exemplars = exemplarsOf(res.body);
    expect(exemplars.length, res.body).toBeGreaterThan(0);
    const spans = new Map(
      serverSpans(otel.exporter).map((s) => [s.spanContext().spanId, s.spanContext().traceId]),
    );
    for (const e of exemplars) {
      expect(e.line).toMatch(/# \{trace_id="[0-9a-f]{32}",span_id="[0-9a-f]{16}"\}/);
      expect(e.traceId).toMatch(HEX32);
      expect(e.spanId).toMatch(HEX16);
      expect(spans.get(e.spanId), `server span ${e.spanId} of ${e.line}`).toBe(e.traceId);
    }
    console.log(`${name}: ${exemplars.length} exemplars, all pointing at exported server spans`);
    // The scrape itself is an operational endpoint: no span of its own.
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(serverSpans(otel.exporter)).toHaveLength(5);
  });

  it.skipIf(promtool === undefined)(
    'should pass promtool check metrics on the Prometheus text scrape',
    async () => {
      const registry = new Registry();
      const { origin } = await startServer(build(registry));
      for (let i = 0; i < 3; i++) await fetchRaw(origin, `/api/users/${i}`);
      await fetchRaw(origin, '/no/such/page');
      const res = await fetchRaw(origin, '/metrics');
      expect(res.headers['content-type']).toContain('text/plain');
      expect(res.body).toContain('http_request_duration_seconds_bucket');
      expect(res.body).not.toContain('trace_id');
      const check = spawnSync(promtool!, ['check', 'metrics'], {
        input: res.body,
        encoding: 'utf8',
      });
      const output = `${check.stdout}${check.stderr}`.trim();
      expect(check.status, `promtool check metrics: ${output}`).toBe(0);
    },
  );
});
