// What a limited request shares with the rest of the request: its audit event carries the ids an
// audit(req) event carries, Koa handlers read ctx.state.rateLimit as Express handlers read
// req.rateLimit, and the request's metrics show the route the policy names.
import Router from '@koa/router';
import express from 'express';
import Koa from 'koa';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { audit } from '@vigil/audit';
import { expressMetrics, koaMetrics } from '@vigil/metrics';
import { expressRateLimit, koaRateLimit, type RateLimitOptions } from '@vigil/rate-limit';
import { type Tracing, expressTracing, koaTracing, startTracing } from '@vigil/tracing';
import { closeServers, express4, Koa2, rawRequest, startServer } from '@vigil/test-utils';
import { AuditCapture, type AuditEvent } from './support/signals';

const exporter = new InMemorySpanExporter();
let tracing: Tracing;
beforeAll(() => {
  tracing = startTracing({
    exporter: 'none',
    traceBuffer: false,
    httpClientSpans: false,
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
});
afterAll(async () => {
  await closeServers();
  await tracing.shutdown();
});

interface Setup {
  origin: string;
  sink: AuditCapture;
  registry: Registry;
  /** What the handler of GET /state saw of the rate limit (req.rateLimit / ctx.state.rateLimit). */
  seen: unknown[];
}

function limiterOptions(sink: AuditCapture, registry: Registry): RateLimitOptions {
  return {
    registry,
    audit: sink,
    policies: [
      // A route the app does not have: only the policy can name it.
      { name: 'export', limit: 1, windowMs: 60_000, routes: ['/api/export'] },
      { name: 'api', limit: 2, windowMs: 60_000, routes: ['/api'] },
    ],
  };
}

async function expressSetup(factory: typeof express): Promise<Setup> {
  const sink = new AuditCapture();
  const registry = new Registry();
  const seen: unknown[] = [];
  const app = factory();
  app.use(expressTracing());
  app.use(expressMetrics({ registry, collectDefaultMetrics: false }));
  app.use(expressRateLimit(limiterOptions(sink, registry)));
  app.get('/api/state', (req, res) => {
    seen.push((req as { rateLimit?: unknown }).rateLimit);
    audit(req, sink).record({ type: 'app.read', outcome: 'success' });
    res.json({ ok: true });
  });
  const { origin } = await startServer(app);
  return { origin, sink, registry, seen };
}

async function koaSetup(Factory: typeof Koa): Promise<Setup> {
  const sink = new AuditCapture();
  const registry = new Registry();
  const seen: unknown[] = [];
  const app = new Factory();
  app.use(koaTracing());
  app.use(koaMetrics({ registry, collectDefaultMetrics: false }));
  app.use(koaRateLimit(limiterOptions(sink, registry)));
  const router = new Router();
  router.get('/api/state', (ctx) => {
    seen.push((ctx.state as { rateLimit?: unknown }).rateLimit);
    audit(ctx, sink).record({ type: 'app.read', outcome: 'success' });
    ctx.body = { ok: true };
  });
  app.use(router.routes());
  const callback = app.callback();
  const { origin } = await startServer((req, res) => void callback(req, res));
  return { origin, sink, registry, seen };
}

const ID_FIELDS = ['request_id', 'correlation_id', 'trace_id', 'span_id'] as const;

function idsOf(event: AuditEvent | undefined): Record<string, unknown> {
  return Object.fromEntries(ID_FIELDS.map((f) => [f, (event as Record<string, unknown>)?.[f]]));
}

describe.each<[string, () => Promise<Setup>]>([
  ['Express 4', () => expressSetup(express4)],
  ['Express 5', () => expressSetup(express)],
  ['Koa 2', () => koaSetup(Koa2)],
  ['Koa 3', () => koaSetup(Koa)],
])('a limited request on %s', (name, setUp) => {
  it('should audit with the same ids as audit(req): the request, correlation, trace and span ids', async () => {
    const s = await setUp();
    // Ids unique to this framework's run: the exporter holds every run's spans.
    const tag = name.replace(' ', '');
    const allowed = await rawRequest(s.origin, '/api/state', {
      headers: { 'x-request-id': `${tag}-allowed`, 'x-correlation-id': 'journey-1' },
    });
    expect(allowed.status).toBe(200);
    await rawRequest(s.origin, '/api/state');
    const limited = await rawRequest(s.origin, '/api/state', {
      headers: { 'x-request-id': `${tag}-limited`, 'x-correlation-id': 'journey-1' },
    });
    expect(limited.status).toBe(429);

    const appEvent = s.sink.ofType('app.read')[0];
    const limitEvent = s.sink.ofType('rate_limit.exceeded')[0];
    const spanOf = (requestId: string) =>
      exporter.getFinishedSpans().find((sp) => sp.attributes['vigil.request_id'] === requestId);
    await expect.poll(() => spanOf(`${tag}-limited`)).toBeDefined();
    const expected = (requestId: string) => {
      const sc = spanOf(requestId)!.spanContext();
      return {
        request_id: requestId,
        correlation_id: 'journey-1',
        trace_id: sc.traceId,
        span_id: sc.spanId,
      };
    };
    expect(idsOf(appEvent)).toEqual(expected(`${tag}-allowed`));
    expect(idsOf(limitEvent)).toEqual(expected(`${tag}-limited`));
  });

  it("should tell the handler where the request stands, as express-rate-limit's req.rateLimit does", async () => {
    const s = await setUp();
    await rawRequest(s.origin, '/api/state');
    await rawRequest(s.origin, '/api/state');
    expect(s.seen).toHaveLength(2);
    expect(s.seen[1]).toMatchObject({ limit: 2, used: 2, remaining: 0, key: '127.0.0.1' });
    expect((s.seen[1] as { resetTime?: unknown }).resetTime).toBeInstanceOf(Date);
  });

  it('should show a limited request in the metrics under the route its policy names', async () => {
    const s = await setUp();
    expect((await rawRequest(s.origin, '/api/export')).status).toBe(404);
    expect((await rawRequest(s.origin, '/API/Export/')).status).toBe(429);
    await expect
      .poll(async () => {
        const json = await s.registry.getSingleMetric('http_requests_total')?.get();
        return json?.values
          .map((v) => `${v.labels.route} ${v.labels.status_code} ${v.value}`)
          .sort();
      })
      .toEqual(['/api/export 429 1', '<unmatched> 404 1']);
  });
});
