// Without startTracing(): request ids, the request context and W3C propagation still work on the bare API.
import { trace } from '@opentelemetry/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RequestContext, getRequestContext, getTracing } from '@vigil/tracing';
import { type ContextReport, FRAMEWORKS, type JsonRoute } from './support/behaviour-apps';
import { CLIENTS, type OutgoingClient } from './support/behaviour-clients';
import {
  type Capture,
  closeServers,
  fetchRaw,
  json,
  startCapture,
  startServer,
} from './support/behaviour-http';
import {
  HEX16,
  HEX32,
  UUID,
  newSpanId,
  newTraceId,
  parseTraceparent,
  traceparent,
} from './support/behaviour-otel';

// https needs a certificate and adds nothing here: the header path is the same as http's.
const PLAIN = CLIENTS.filter((c) => !c.secure);
const slug = (c: OutgoingClient) => c.name.replace(/[^a-z]+/gi, '-').replace(/-$/, '');

let capture: Capture;
let tag = 0;

function viaRoutes(): Record<string, JsonRoute> {
  const routes: Record<string, JsonRoute> = {};
  for (const client of PLAIN) {
    routes[`/via/${slug(client)}`] = async (req) => {
      const to = new URL(req.url ?? '/', 'http://x').searchParams.get('to') ?? '/';
      const status = await client.call(`${capture.origin}${to}`, {});
      return { status, ctx: getRequestContext() };
    };
  }
  return routes;
}

beforeAll(async () => {
  capture = await startCapture();
});
afterAll(closeServers);

it('should run without an SDK: no tracing started, no tracer provider registered', () => {
  expect(getTracing()).toBeUndefined();
  expect(trace.getTracer('x').startSpan('probe').isRecording()).toBe(false);
});

describe.each(FRAMEWORKS)('$name tracing middleware without an SDK', (fw) => {
  let origin: string;
  beforeAll(async () => {
    origin = (await startServer(fw.app({ routes: viaRoutes() }).listener)).origin;
  });

  it('should give request ids and the same context through the async flow', async () => {
    const res = await fetchRaw(origin, '/ctx?ms=3');
    const id = res.headers['x-request-id'] as string;
    expect(id).toMatch(UUID);
    const report = json<ContextReport>(res);
    const expected = report.sync!;
    expect(expected.requestId).toBe(id);
    expect(expected.correlationId).toBe(id);
    expect(expected.traceId).toMatch(HEX32);
    expect(expected.spanId).toMatch(HEX16);
    expect(report).toEqual({
      sync: expected,
      afterTimeout: expected,
      afterAwait: expected,
      inChain: expected,
    });
  });

  it('should keep 20 interleaved requests apart (AsyncLocalStorage fallback)', async () => {
    const results = await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        const res = await fetchRaw(origin, `/ctx?ms=${Math.floor(Math.random() * 15)}`, {
          'x-request-id': `nosdk-${i}`,
        });
        return { i, report: json<ContextReport>(res) };
      }),
    );
    for (const { i, report } of results) {
      for (const point of Object.values(report) as (RequestContext | undefined)[]) {
        expect(point?.requestId).toBe(`nosdk-${i}`);
        expect(point?.spanId).toBe(report.sync?.spanId);
      }
    }
    expect(new Set(results.map((r) => r.report.sync?.traceId)).size).toBe(20);
  });

  it('should continue a valid inbound trace with a new span id of its own', async () => {
    const traceId = newTraceId();
    const inbound = newSpanId();
    const res = await fetchRaw(origin, '/ctx', { traceparent: traceparent(traceId, inbound) });
    const ctx = json<ContextReport>(res).sync!;
    expect(ctx.traceId).toBe(traceId);
    expect(ctx.spanId).toMatch(HEX16);
    expect(ctx.spanId).not.toBe(inbound);
    expect(ctx.spanId).not.toBe('0'.repeat(16));
  });
});

describe('outgoing calls without an SDK', () => {
  const fw = FRAMEWORKS.find((f) => f.name === 'express5')!;
  let origin: string;
  beforeAll(async () => {
    origin = (await startServer(fw.app({ routes: viaRoutes() }).listener)).origin;
  });

  async function through(client: OutgoingClient, inbound: Record<string, string> = {}) {
    const to = `/down/${slug(client)}/${++tag}`;
    const res = await fetchRaw(
      origin,
      `/via/${slug(client)}?to=${encodeURIComponent(to)}`,
      inbound,
    );
    expect(res.status, res.body).toBe(200);
    const ctx = json<{ ctx: RequestContext }>(res).ctx;
    return { res, ctx, headers: capture.only(to).headers };
  }

  it.each(PLAIN)(
    'should send the inbound trace id with a new parent id on $name',
    async (client) => {
      const traceId = newTraceId();
      const inbound = newSpanId();
      const { res, ctx, headers } = await through(client, {
        traceparent: traceparent(traceId, inbound),
        baggage: 'tenant=acme,plan=gold',
      });
      const sent = parseTraceparent(headers.traceparent);
      expect(sent, `traceparent ${String(headers.traceparent)}`).toBeDefined();
      expect(sent!.traceId).toBe(traceId);
      expect(sent!.parentId).toMatch(HEX16);
      expect(sent!.parentId).not.toBe(inbound);
      expect(sent!.parentId).not.toBe('0'.repeat(16));
      // §3.2.2.3: an id of the call's own (without an SDK there is no client span to name it).
      expect(sent!.parentId).not.toBe(ctx.spanId);
      expect(headers.baggage).toBe('tenant=acme,plan=gold');
      expect(headers['x-request-id']).toBe(res.headers['x-request-id']);
      expect(headers['x-correlation-id']).toBe(res.headers['x-request-id']);
    },
  );

  it.each(PLAIN)(
    'should start a fresh valid trace downstream when no context came in ($name)',
    async (client) => {
      const { ctx, headers } = await through(client);
      const sent = parseTraceparent(headers.traceparent);
      expect(sent, `traceparent ${String(headers.traceparent)}`).toBeDefined();
      expect(sent!.traceId).toMatch(HEX32);
      expect(sent!.traceId).not.toBe('0'.repeat(32));
      expect(sent!.traceId).toBe(ctx.traceId);
      expect(sent!.parentId).toMatch(HEX16);
      expect(sent!.parentId).not.toBe(ctx.spanId);
      expect(headers.tracestate).toBeUndefined();
      expect(headers.baggage).toBeUndefined();
    },
  );

  it.each(PLAIN)(
    'should add nothing to a call made outside any request ($name)',
    async (client) => {
      const to = `/outside/${slug(client)}/${++tag}`;
      expect(await client.call(`${capture.origin}${to}`, {})).toBe(200);
      const headers = capture.only(to).headers;
      for (const name of [
        'traceparent',
        'tracestate',
        'baggage',
        'x-request-id',
        'x-correlation-id',
      ])
        expect(headers[name], name).toBeUndefined();
    },
  );
});
