// Integration: the Koa example app (examples/koa-app) through the vigil umbrella on real servers: its
// routes, one trace across gateway and catalog, business metrics (the decorated analytics service's
// too), the strict login policy with its audit events, the error-rate drill, and every operational
// endpoint.
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pollFor } from '@vigil/test-utils';
import { type Tracing, startTracing } from '@vigil/tracing';
import { DEMO_USER, type KoaApp, startKoaApp } from '../examples/koa-app/src/index';

const LOGIN_LIMIT = 3;

describe('examples/koa-app', () => {
  let app: KoaApp;
  let tracing: Tracing;
  const exporter = new InMemorySpanExporter();
  const logs: Record<string, unknown>[] = [];
  const audits: Record<string, unknown>[] = [];
  const lines = (into: Record<string, unknown>[]) => ({
    write(chunk: string) {
      for (const l of chunk.split('\n')) if (l.trim() !== '') into.push(JSON.parse(l));
      return true;
    },
  });

  beforeAll(async () => {
    tracing = startTracing({
      serviceName: 'gateway',
      spanProcessors: [new SimpleSpanProcessor(exporter)],
      exporter: 'none',
      registry: false,
    });
    app = await startKoaApp({
      port: 0,
      catalogPort: 0,
      loginLimit: LOGIN_LIMIT,
      logDestination: lines(logs),
      auditDestination: lines(audits),
    });
  });

  afterAll(async () => {
    await app?.close();
    await tracing?.shutdown();
  });

  const post = (path: string, body: unknown) =>
    fetch(`${app.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  it('should serve a video through the catalog, in one trace', async () => {
    const res = await fetch(`${app.url}/api/videos/42`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { id: string; title: string; requestId: string };
    expect(body).toMatchObject({ id: '42', title: 'Video 42' });
    expect(body.requestId).toBe(res.headers.get('x-request-id'));
    const spans = await pollFor(() => {
      const server = exporter
        .getFinishedSpans()
        .filter((s) => s.attributes['vigil.request_id'] === body.requestId);
      if (server.length === 0) return undefined;
      const traceId = server[0]!.spanContext().traceId;
      const all = exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId);
      const services = new Set(all.map((s) => String(s.resource.attributes['service.name'] ?? '')));
      return services.has('catalog') && services.has('gateway') ? all : undefined;
    }, 10_000);
    expect(spans, 'gateway and catalog spans in one trace').toBeDefined();
  });

  it('should count uploads by format and outcome, and streams', async () => {
    expect((await post('/api/videos', { title: 'a', format: 'mp4', sizeBytes: 5e6 })).status).toBe(
      201,
    );
    expect((await post('/api/videos', { title: 'b', format: 'avi', sizeBytes: 5e6 })).status).toBe(
      400,
    );
    expect((await post('/api/streams/7/start', {})).status).toBe(200);
    const stop = await post('/api/streams/7/stop', {});
    expect(await stop.json()).toEqual({ id: '7', active: 0 });
    const metrics = await pollFor(async () => {
      const text = await (await fetch(`${app.url}/metrics`)).text();
      return text.includes('video_uploads_total{format="__overflow__",outcome="failure"')
        ? text
        : undefined;
    }, 10_000);
    expect(metrics).toMatch(
      /video_uploads_total\{format="mp4",outcome="success",service="gateway"\} 1/,
    );
    expect(metrics).toMatch(/streams_started_total\{service="gateway"\} 1/);
    expect(metrics).toMatch(
      /http_requests_total\{method="POST",route="\/api\/streams\/:id\/start",status_code="200",service="gateway"\} 1/,
    );
    const summary = (await (await fetch(`${app.url}/metrics/summary`)).json()) as Record<
      string,
      unknown
    >;
    expect(summary).toHaveProperty('business');
  });

  it('should time the decorated analytics service by report and outcome, failures included', async () => {
    const daily = await post('/api/analytics/daily', {});
    expect(daily.status).toBe(200);
    const report = (await daily.json()) as { report: string; videos: number; generatedAt: string };
    // `videos` reads the streams being watched: none once the stream above has stopped.
    expect(report).toEqual({ report: 'daily', videos: 0, generatedAt: expect.any(String) });
    expect(Number.isNaN(Date.parse(report.generatedAt))).toBe(false);
    const weekly = await post('/api/analytics/weekly', {});
    expect(weekly.status).toBe(200);
    expect(await weekly.json()).toMatchObject({ report: 'weekly' });
    const yearly = await post('/api/analytics/yearly', {});
    expect(yearly.status).toBe(400);
    expect(await yearly.json()).toEqual({
      error: 'unknown_report',
      allowed: ['daily', 'weekly', 'monthly'],
    });

    // The request's own series is recorded once the response has ended.
    const text = await pollFor(async () => {
      const t = await (await fetch(`${app.url}/metrics`)).text();
      return t.includes('route="/api/analytics/:report",status_code="400"') ? t : undefined;
    }, 10_000);
    const series = (suffix: string, report: string, outcome: string) =>
      new RegExp(
        `^analytics_generation_duration_seconds_${suffix}\\{report="${report}",outcome="${outcome}",service="gateway"\\} (\\S+)$`,
        'm',
      ).exec(text ?? '')?.[1];
    expect(series('count', 'daily', 'success')).toBe('1');
    expect(series('count', 'weekly', 'success')).toBe('1');
    // A report outside the known set throws; the decorator times it under one value, as a failure.
    expect(series('count', '__overflow__', 'failure')).toBe('1');
    expect(series('count', 'yearly', 'failure')).toBeUndefined();
    expect(series('count', 'monthly', 'success')).toBeUndefined();
    expect(Number(series('sum', 'daily', 'success'))).toBeGreaterThan(0);
    expect(text).toMatch(
      /http_requests_total\{method="POST",route="\/api\/analytics\/:report",status_code="400",service="gateway"\} 1/,
    );
  });

  it('should limit logins with the strict policy and audit every attempt', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < LOGIN_LIMIT + 1; i++) {
      const res = await post('/api/auth/login', {
        username: DEMO_USER.username,
        password: i === 0 ? DEMO_USER.password : 'wrong',
      });
      await res.arrayBuffer();
      statuses.push(res.status);
      if (res.status === 429) expect(res.headers.get('retry-after')).not.toBeNull();
    }
    expect(statuses).toEqual([200, 401, 401, 429]);
    const seen = await pollFor(() => {
      const logins = audits.filter((a) => a.type === 'auth.login');
      const limited = audits.filter((a) => a.type === 'rate_limit.exceeded');
      return logins.length === LOGIN_LIMIT && limited.length === 1
        ? { logins, limited }
        : undefined;
    }, 10_000);
    expect(seen?.logins.map((a) => a.outcome)).toEqual(['success', 'failure', 'failure']);
    expect(seen?.logins[0]).toMatchObject({ actor: 'demo', service: 'gateway' });
    expect(JSON.stringify(audits)).not.toContain(DEMO_USER.password);
  });

  it('should answer 500 on /api/fail and wait on /api/slow', async () => {
    const fail = await fetch(`${app.url}/api/fail`);
    await fail.arrayBuffer();
    expect(fail.status).toBe(500);
    const slow = await fetch(`${app.url}/api/slow?ms=20`);
    expect(await slow.json()).toEqual({ waitedMs: 20 });
    const line = await pollFor(
      () => logs.find((l) => l.route === '/api/fail' && l.status_code === 500),
      10_000,
    );
    expect(line).toBeDefined();
  });

  it('should answer every operational endpoint, the catalog in readiness', async () => {
    for (const path of [
      '/metrics',
      '/metrics/summary',
      '/health/live',
      '/health/ready',
      '/health/startup',
      '/alerts',
      '/alerts/rules',
      '/observability',
      '/_vigil',
    ]) {
      const res = await fetch(`${app.url}${path}`);
      await res.arrayBuffer();
      expect(res.status, path).toBe(200);
    }
    const ready = (await (await fetch(`${app.url}/health/ready`)).json()) as {
      checks: Record<string, unknown>;
    };
    expect(Object.keys(ready.checks)).toEqual(
      expect.arrayContaining(['catalog:responseTime', 'rateLimitStore:status']),
    );
    const rules = await (await fetch(`${app.url}/alerts/rules`)).text();
    expect(rules).toContain('HighErrorRate');
  });
});
