// Calls the app makes to other services (http, https, fetch) carry the request's trace context and ids.
import type { IncomingHttpHeaders } from 'node:http';
import { SpanKind } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RequestContext, getRequestContext } from '@vigil/tracing';
import { FRAMEWORKS, type Framework, type JsonRoute } from './support/behaviour-apps';
import {
  CLIENTS,
  type HttpsCapture,
  OPENSSL,
  type OutgoingClient,
  startHttpsCapture,
} from './support/behaviour-clients';
import {
  type Capture,
  type Captured,
  type RawResponse,
  closeServers,
  fetchRaw,
  json,
  startCapture,
  startServer,
} from './support/behaviour-http';
import {
  type MemoryTracing,
  HEX16,
  newSpanId,
  newTraceId,
  parseTraceparent,
  startMemoryTracing,
  traceparent,
  waitForServerSpan,
  waitForSpan,
} from './support/behaviour-otel';

const slug = (c: OutgoingClient) => c.name.replace(/[^a-z]+/gi, '-').replace(/-$/, '');

/** Headers an app sets itself on its outgoing call (`?own=1`). */
const OWN_VIGIL = { 'x-request-id': 'app-own-id', 'x-correlation-id': 'app-own-corr' };
const OWN_W3C = { traceparent: traceparent(), baggage: 'app=1' };

let capture: Capture;
let secure: HttpsCapture | undefined;
let tag = 0;

beforeAll(async () => {
  capture = await startCapture();
  secure = await startHttpsCapture();
});
afterAll(async () => {
  await secure?.close();
  await closeServers();
});

/** Clients that can run here: https needs the openssl CLI for its certificate. */
const runnable = (c: OutgoingClient) => !c.secure || OPENSSL !== undefined;

/** Routes `/via/<client>?to=<path>[&own=1]`: the handler calls the capture server with that client. */
function viaRoutes(): Record<string, JsonRoute> {
  const routes: Record<string, JsonRoute> = {};
  for (const client of CLIENTS) {
    routes[`/via/${slug(client)}`] = async (req) => {
      const url = new URL(req.url ?? '/', 'http://x');
      const to = url.searchParams.get('to') ?? '/';
      // own=1: the ids, plus the W3C headers on fetch (only Vigil injects there); own=all: all of them.
      const own = url.searchParams.get('own');
      const w3c = own === 'all' || (own === '1' && client.kind === 'fetch');
      const headers = own ? { ...OWN_VIGIL, ...(w3c ? OWN_W3C : {}) } : {};
      const origin = client.secure ? secure!.origin : capture.origin;
      const status = await client.call(`${origin}${to}`, headers);
      return { status, ctx: getRequestContext() };
    };
  }
  return routes;
}

interface Through {
  res: RawResponse;
  ctx: RequestContext;
  got: Captured;
}

/** Asks the app at `origin` to call the capture server with `client`; returns what arrived. */
async function callThrough(
  origin: string,
  client: OutgoingClient,
  inbound: Record<string, string> = {},
  own?: '1' | 'all',
): Promise<Through> {
  const to = `/down/${slug(client)}/${++tag}`;
  const res = await fetchRaw(
    origin,
    `/via/${slug(client)}?to=${encodeURIComponent(to)}${own ? `&own=${own}` : ''}`,
    inbound,
  );
  expect(res.status, res.body).toBe(200);
  const body = json<{ status: number; ctx: RequestContext }>(res);
  expect(body.status).toBe(200);
  const got = client.secure ? secure!.only(to) : capture.only(to);
  return { res, ctx: body.ctx, got };
}

const vigilHeaders = (h: IncomingHttpHeaders) => ({
  'x-request-id': h['x-request-id'],
  'x-correlation-id': h['x-correlation-id'],
});

async function appFor(fw: Framework): Promise<string> {
  return (await startServer(fw.app({ routes: viaRoutes() }).listener)).origin;
}

/** The CLIENT span OpenTelemetry's http instrumentation made under `parent` for a call to `to`. */
function clientSpanOf(otel: MemoryTracing, parent: ReadableSpan, to: string) {
  return waitForSpan(
    otel.exporter,
    (s) =>
      s.kind === SpanKind.CLIENT &&
      s.parentSpanContext?.spanId === parent.spanContext().spanId &&
      String(s.attributes['url.full']).endsWith(to),
    `the client span for ${to}`,
  );
}

describe('outgoing calls with the SDK and its http client spans (default)', () => {
  let otel: MemoryTracing;
  beforeAll(() => {
    otel = startMemoryTracing({ traceBuffer: false });
  });
  afterAll(() => otel.tracing.shutdown());

  describe.each(FRAMEWORKS)('from a $name handler', (fw) => {
    let origin: string;
    beforeAll(async () => {
      origin = await appFor(fw);
    });

    it.each(CLIENTS.filter(runnable))(
      'should carry traceparent, tracestate, baggage and the ids on $name',
      async (client) => {
        const traceId = newTraceId();
        const inboundParent = newSpanId();
        const { res, ctx, got } = await callThrough(origin, client, {
          traceparent: traceparent(traceId, inboundParent),
          tracestate: 'vendor=abc,other=x',
          baggage: 'tenant=acme',
          'x-correlation-id': 'flow-1',
        });
        const server = await waitForServerSpan(otel.exporter, traceId);
        expect(server.parentSpanContext?.spanId).toBe(inboundParent);
        expect(ctx.spanId).toBe(server.spanContext().spanId);

        const sent = parseTraceparent(got.headers.traceparent);
        expect(sent, `traceparent ${String(got.headers.traceparent)}`).toBeDefined();
        expect(sent!.traceId).toBe(traceId);
        expect(sent!.parentId).not.toBe(inboundParent);
        // Each call gets a CLIENT span of its own (OpenTelemetry's http or undici instrumentation),
        // which becomes the downstream parent (§3.2.2.3).
        const parent = (await clientSpanOf(otel, server, got.url)).spanContext().spanId;
        expect(sent!.parentId).toBe(parent);
        expect(got.headers.tracestate).toBe('vendor=abc,other=x');
        expect(got.headers.baggage).toContain('tenant=acme');
        expect(vigilHeaders(got.headers)).toEqual({
          'x-request-id': res.headers['x-request-id'],
          'x-correlation-id': 'flow-1',
        });
      },
    );
  });

  describe('from an express5 handler', () => {
    const fw = FRAMEWORKS.find((f) => f.name === 'express5')!;
    let origin: string;
    beforeAll(async () => {
      origin = await appFor(fw);
    });

    it.each(CLIENTS.filter(runnable))(
      'should start from the request’s own trace when no context came in ($name)',
      async (client) => {
        const { res, ctx, got } = await callThrough(origin, client);
        const sent = parseTraceparent(got.headers.traceparent);
        expect(sent?.traceId).toBe(ctx.traceId);
        expect(sent?.parentId).toMatch(HEX16);
        expect(got.headers.tracestate).toBeUndefined();
        expect(got.headers.baggage).toBeUndefined();
        const id = res.headers['x-request-id'];
        expect(vigilHeaders(got.headers)).toEqual({ 'x-request-id': id, 'x-correlation-id': id });
      },
    );

    it.each(CLIENTS.filter(runnable))(
      'should never overwrite headers the app set itself ($name)',
      async (client) => {
        const { got } = await callThrough(
          origin,
          client,
          { traceparent: traceparent(), baggage: 'tenant=acme' },
          '1',
        );
        expect(vigilHeaders(got.headers)).toEqual(OWN_VIGIL);
        // OpenTelemetry's own http instrumentation injects trace headers before the call is made;
        // a fetch call that carries its own traceparent is left alone by the undici instrumentation
        // (Vigil's setting) and by Vigil.
        if (client.kind === 'fetch') {
          expect(got.headers.traceparent).toBe(OWN_W3C.traceparent);
          expect(got.headers.baggage).toBe(OWN_W3C.baggage);
        }
      },
    );

    it.each(CLIENTS.filter(runnable))(
      'should add no Vigil headers to a call made outside any request ($name)',
      async (client) => {
        const to = `/outside/${slug(client)}/${++tag}`;
        const origin = client.secure ? secure!.origin : capture.origin;
        expect(await client.call(`${origin}${to}`, {})).toBe(200);
        const got = (client.secure ? secure!.only(to) : capture.only(to)).headers;
        expect(vigilHeaders(got)).toEqual({
          'x-request-id': undefined,
          'x-correlation-id': undefined,
        });
        expect(got.baggage).toBeUndefined();
        expect(got.tracestate).toBeUndefined();
        {
          // OpenTelemetry's client span of this very call (http or undici instrumentation), a root
          // span: no request's trace.
          const sent = parseTraceparent(got.traceparent);
          const span = await waitForSpan(
            otel.exporter,
            (s) => s.spanContext().spanId === sent?.parentId,
            `the root client span of ${to}`,
          );
          expect(span.kind).toBe(SpanKind.CLIENT);
          expect(span.parentSpanContext).toBeUndefined();
        }
      },
    );
  });
});

describe('outgoing calls with the SDK and no http client spans (httpClientSpans: false)', () => {
  let otel: MemoryTracing;
  let origin: string;
  beforeAll(async () => {
    otel = startMemoryTracing({ traceBuffer: false, httpClientSpans: false });
    origin = await appFor(FRAMEWORKS.find((f) => f.name === 'express5')!);
  });
  afterAll(() => otel.tracing.shutdown());

  it.each(CLIENTS.filter(runnable))(
    "should carry the request's trace with an id of the call's own and every header on $name",
    async (client) => {
      const traceId = newTraceId();
      const { res, got } = await callThrough(origin, client, {
        traceparent: traceparent(traceId),
        tracestate: 'vendor=abc',
        baggage: 'tenant=acme',
      });
      const server = await waitForServerSpan(otel.exporter, traceId);
      const headers = got.headers;
      // No client span: the call still gets a parent-id of its own, not the server span's (§3.2.2.3).
      const sent = parseTraceparent(headers.traceparent);
      expect(sent?.parentId).toMatch(HEX16);
      expect(sent?.parentId).not.toBe(server.spanContext().spanId);
      expect({
        traceparent: headers.traceparent,
        tracestate: headers.tracestate,
        baggage: headers.baggage,
        ...vigilHeaders(headers),
      }).toEqual({
        traceparent: `00-${traceId}-${sent?.parentId}-01`,
        tracestate: 'vendor=abc',
        baggage: 'tenant=acme',
        'x-request-id': res.headers['x-request-id'],
        'x-correlation-id': res.headers['x-request-id'],
      });
    },
  );

  it.each(CLIENTS.filter(runnable))(
    'should never overwrite any header the app set itself on $name',
    async (client) => {
      const { got } = await callThrough(
        origin,
        client,
        { traceparent: traceparent(), tracestate: 'vendor=abc', baggage: 'tenant=acme' },
        'all',
      );
      expect({
        traceparent: got.headers.traceparent,
        baggage: got.headers.baggage,
        ...vigilHeaders(got.headers),
      }).toEqual({ ...OWN_W3C, ...OWN_VIGIL });
    },
  );
});
