// The reference app with tracing on: one trace across gateway and catalog, the trace-buffer API,
// request ids end to end, exemplars, and the W3C Trace Context test-harness endpoint.
import { type IncomingHttpHeaders, type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { context } from '@opentelemetry/api';
import { suppressTracing } from '@opentelemetry/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Tracing, startTracing } from '@vigil/tracing';
import { type ReferenceApp, startReferenceApp } from '../examples/reference-app/src/index';

interface Summary {
  traceId: string;
  rootName: string;
  services: string[];
  spanCount: number;
}
interface Span {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  service: string;
  kind: string;
  name: string;
}

/** The test's own requests: not traced (OpenTelemetry's undici instrumentation would add a span). */
function clientFetch(url: string, init?: RequestInit): Promise<Response> {
  return context.with(suppressTracing(context.active()), () => fetch(url, init));
}

describe('reference app with tracing', () => {
  let tracing: Tracing;
  let app: ReferenceApp;
  let capture: Server;
  let captureUrl: string;
  const received: IncomingHttpHeaders[] = [];
  const lines: string[] = [];
  const logs = { write: (line: string) => lines.push(line) };

  beforeAll(async () => {
    tracing = startTracing({ serviceName: 'gateway', exporter: 'none' });
    app = await startReferenceApp({
      port: 0,
      catalogPort: 0,
      tracing,
      traceContextTest: true,
      logDestination: logs,
    });
    capture = createServer((req, res) => {
      received.push(req.headers);
      req.resume();
      res.end('{}');
    });
    await new Promise<void>((resolve) => capture.listen(0, '127.0.0.1', resolve));
    captureUrl = `http://127.0.0.1:${(capture.address() as AddressInfo).port}/step`;
  });
  afterAll(async () => {
    await app.close();
    await new Promise<void>((resolve) => capture.close(() => resolve()));
    await tracing.shutdown();
  });

  it('should record one trace across both services for a gateway call', async () => {
    const res = await clientFetch(`${app.gatewayUrl}/api/videos/3`, {
      headers: { 'x-request-id': 'ref-app-1' },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-request-id')).toBe('ref-app-1');
    // The catalog answered inside the same request context, so its id came back too.
    expect(((await res.json()) as { requestId: string }).requestId).toBe('ref-app-1');

    const list = (await (await clientFetch(`${app.gatewayUrl}/_vigil/traces`)).json()) as Summary[];
    const summary = list.find((t) => t.rootName === 'GET /api/videos/:id');
    expect(summary).toBeDefined();
    expect(summary!.services.sort()).toEqual(['catalog', 'gateway']);
    const spans = (await (
      await clientFetch(`${app.gatewayUrl}/_vigil/traces/${summary!.traceId}`)
    ).json()) as Span[];
    const gateway = spans.find((s) => s.service === 'gateway' && s.kind === 'server')!;
    const catalog = spans.find((s) => s.service === 'catalog' && s.kind === 'server')!;
    console.log(
      `trace ${summary!.traceId}: ${spans.map((s) => `${s.service}:${s.name}`).join(', ')}`,
    );
    expect(gateway.name).toBe('GET /api/videos/:id');
    expect(catalog.name).toBe('GET /videos/:id');
    expect(catalog.traceId).toBe(gateway.traceId);
    // gateway server span -> its fetch's client span -> catalog server span.
    const call = spans.find((s) => s.spanId === catalog.parentSpanId)!;
    expect(call.kind).toBe('client');
    expect(call.parentSpanId).toBe(gateway.spanId);
    expect((await clientFetch(`${app.gatewayUrl}/_vigil/traces/${'0'.repeat(32)}`)).status).toBe(
      404,
    );

    // Both services' log lines for the request carry the trace and their own server span.
    const entries = lines
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((e) => e.request_id === 'ref-app-1');
    expect(entries.map((e) => [e.trace_id, e.span_id]).sort()).toEqual(
      [
        [gateway.traceId, gateway.spanId],
        [catalog.traceId, catalog.spanId],
      ].sort(),
    );
  });

  it('should keep its operational endpoints out of traces', async () => {
    await clientFetch(`${app.gatewayUrl}/_vigil/traces`);
    await clientFetch(`${app.gatewayUrl}/metrics`);
    const list = (await (await clientFetch(`${app.gatewayUrl}/_vigil/traces`)).json()) as Summary[];
    expect(list.some((t) => t.rootName.includes('_vigil') || t.rootName.includes('/metrics'))).toBe(
      false,
    );
  });

  it('should attach trace exemplars to the OpenMetrics scrape', async () => {
    await clientFetch(`${app.gatewayUrl}/api/videos/5`);
    const body = await (
      await clientFetch(`${app.gatewayUrl}/metrics`, {
        headers: { accept: 'application/openmetrics-text; version=1.0.0' },
      })
    ).text();
    expect(body).toMatch(
      /route="\/api\/videos\/:id".* # \{trace_id="[0-9a-f]{32}",span_id="[0-9a-f]{16}"\}/,
    );
    expect(body.endsWith('# EOF\n')).toBe(true);
  });

  it('should serve the W3C test-harness endpoint, propagating the received context', async () => {
    received.length = 0;
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const res = await clientFetch(`${app.gatewayUrl}/test`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        traceparent: `00-${traceId}-00f067aa0ba902b7-01`,
        tracestate: 'congo=t61rcWkgMzE',
      },
      body: JSON.stringify([
        { url: captureUrl, arguments: [] },
        { url: captureUrl, arguments: [{ url: captureUrl, arguments: [] }] },
      ]),
    });
    expect(res.status).toBe(200);
    expect(received).toHaveLength(2);
    for (const headers of received) {
      const parts = String(headers.traceparent).split('-');
      expect(parts[1]).toBe(traceId);
      expect(parts[2]).toMatch(/^[0-9a-f]{16}$/);
      expect(parts[2]).not.toBe('00f067aa0ba902b7');
      expect(headers.tracestate).toBe('congo=t61rcWkgMzE');
    }
  });
});
