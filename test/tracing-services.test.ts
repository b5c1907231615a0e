// Integration: two real services over real HTTP in one process, A calling B with fetch and with
// http.request, Express 5 -> Koa 3 and Koa 3 -> Express 5: one trace, parent links, request and
// correlation ids carried through, and the trace readable from the in-process ring buffer.
import { createRequire } from 'node:module';
import type * as NodeHttp from 'node:http';
import { randomBytes } from 'node:crypto';
import { SpanKind, type TracerProvider } from '@opentelemetry/api';
import {
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-node';
import { Router } from '@koa/router';
import express from 'express';
import Koa from 'koa';
import {
  type RequestContext,
  type Tracing,
  expressTracing,
  getRequestContext,
  koaTracing,
  startTracing,
} from '@vigil/tracing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningServer, listen, send, pollFor } from '@vigil/test-utils';

type Framework = 'express' | 'koa';
type Via = 'fetch' | 'http';

const SERVICE_A = 'service-a';
const SERVICE_B = 'service-b';

/** What B answers: its view of the request. */
interface BReply {
  id: string;
  context: RequestContext | undefined;
  headers: Record<string, string | undefined>;
}

/** What A answers: its own view and B's reply. */
interface AReply {
  a: RequestContext | undefined;
  b: BReply;
}

const PROPAGATED = ['traceparent', 'tracestate', 'baggage', 'x-request-id', 'x-correlation-id'];

function propagatedHeaders(headers: NodeHttp.IncomingHttpHeaders): BReply['headers'] {
  const out: BReply['headers'] = {};
  for (const name of PROPAGATED) {
    const v = headers[name];
    out[name] = Array.isArray(v) ? v.join(', ') : v;
  }
  return out;
}

function bReply(id: string, headers: NodeHttp.IncomingHttpHeaders): BReply {
  return { id, context: getRequestContext(), headers: propagatedHeaders(headers) };
}

function expressB(provider: TracerProvider): express.Express {
  const app = express();
  app.use(expressTracing({ tracerProvider: provider }));
  app.get('/items/:id', (req, res) => {
    res.json(bReply(req.params.id, req.headers));
  });
  return app;
}

function koaB(provider: TracerProvider): NodeHttp.RequestListener {
  const app = new Koa();
  app.silent = true;
  app.use(koaTracing({ tracerProvider: provider }));
  const router = new Router();
  router.get('/items/:id', (ctx) => {
    ctx.body = bReply(ctx.params.id!, ctx.req.headers);
  });
  app.use(router.routes());
  const handle = app.callback();
  return (req, res) => void handle(req, res);
}

/** Calls B from inside A's request, with fetch or with the (instrumented) http module. */
async function callB(
  http: typeof NodeHttp,
  via: Via,
  url: string,
): Promise<{ status: number; body: BReply }> {
  if (via === 'fetch') {
    const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
    return { status: res.status, body: (await res.json()) as BReply };
  }
  return new Promise((resolve, reject) => {
    const req = http.get(url, { timeout: 5_000 }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('error', reject);
      res.on('end', () => {
        try {
          resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as BReply });
        } catch (err) {
          reject(err instanceof Error ? err : new Error(String(err)));
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url} timed out`)));
    req.on('error', reject);
  });
}

function expressA(http: typeof NodeHttp, bUrl: () => string): express.Express {
  const app = express();
  app.use(expressTracing());
  app.get('/call/:via', async (req, res) => {
    const a = getRequestContext();
    const b = await callB(http, req.params.via as Via, `${bUrl()}/items/42`);
    res.status(b.status === 200 ? 200 : 502).json({ a, b: b.body } satisfies AReply);
  });
  return app;
}

function koaA(http: typeof NodeHttp, bUrl: () => string): NodeHttp.RequestListener {
  const app = new Koa();
  app.silent = true;
  app.use(koaTracing());
  const router = new Router();
  router.get('/call/:via', async (ctx) => {
    const a = getRequestContext();
    const b = await callB(http, ctx.params.via as Via, `${bUrl()}/items/42`);
    ctx.status = b.status === 200 ? 200 : 502;
    ctx.body = { a, b: b.body } satisfies AReply;
  });
  app.use(router.routes());
  const handle = app.callback();
  return (req, res) => void handle(req, res);
}

const serviceOf = (s: ReadableSpan) => String(s.resource.attributes['service.name']);

describe('two services over real HTTP with @vigil/tracing', () => {
  const memory = new InMemorySpanExporter();
  let tracing: Tracing;
  const servers: RunningServer[] = [];
  const a = new Map<Framework, RunningServer>();
  const b = new Map<Framework, RunningServer>();

  beforeAll(async () => {
    tracing = startTracing({
      serviceName: SERVICE_A,
      exporter: 'none',
      spanProcessors: [new SimpleSpanProcessor(memory)],
    });
    // Required after startTracing(), as an app's modules are: the http instrumentation patches
    // `http` when it is loaded, which gives http.request its client spans.
    const http = createRequire(__filename)('node:http') as typeof NodeHttp;
    const providerB = tracing.providerFor(SERVICE_B);
    for (const [framework, listener] of [
      ['express', expressB(providerB)],
      ['koa', koaB(providerB)],
    ] as const) {
      const server = await listen(listener);
      servers.push(server);
      b.set(framework, server);
    }
    // A on Express calls B on Koa; A on Koa calls B on Express.
    const eA = await listen(expressA(http, () => b.get('koa')!.url));
    const kA = await listen(koaA(http, () => b.get('express')!.url));
    servers.push(eA, kA);
    a.set('express', eA);
    a.set('koa', kA);
  });

  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()));
    await tracing?.shutdown();
  });

  /** The finished spans of `traceId`, once `count` of them have ended (bounded wait). */
  async function spansOf(traceId: string, count: number): Promise<ReadableSpan[]> {
    const all = () => memory.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId);
    return (await pollFor(() => (all().length >= count ? all() : undefined), 5_000, 10)) ?? all();
  }

  const CASES = [
    { from: 'express', to: 'koa', via: 'fetch' },
    { from: 'express', to: 'koa', via: 'http' },
    { from: 'koa', to: 'express', via: 'fetch' },
    { from: 'koa', to: 'express', via: 'http' },
  ] as const;

  /** Calls A, which calls B; A's response, its parsed body and the x-request-id it answered with. */
  async function callA(
    from: Framework,
    via: Via,
    headers: Record<string, string> = {},
  ): Promise<{ status: number | 'aborted'; reply: AReply; requestId: unknown; raw: string }> {
    const res = await send(a.get(from)!.port, { path: `/call/${via}`, headers });
    return {
      status: res.status,
      reply: (res.status === 200 ? JSON.parse(res.body) : {}) as AReply,
      requestId: res.headers['x-request-id'],
      raw: res.body,
    };
  }

  it.each(CASES)(
    'should keep one trace across both services when $from A calls $to B with $via',
    async ({ from, to, via }) => {
      const { status, reply, raw } = await callA(from, via);
      expect(status, raw).toBe(200);
      const { a: ctxA, b: replyB } = reply;
      const ctxB = replyB.context;
      const traceId = ctxA!.traceId!;
      expect(traceId).toMatch(/^[0-9a-f]{32}$/);
      expect(ctxB?.traceId).toBe(traceId);

      // A's server span, the client span of its call (http or undici instrumentation), B's server span.
      const expected = 3;
      const spans = await spansOf(traceId, expected);
      const serverA = spans.find((s) => s.kind === SpanKind.SERVER && serviceOf(s) === SERVICE_A);
      const serverB = spans.find((s) => s.kind === SpanKind.SERVER && serviceOf(s) === SERVICE_B);
      const clients = spans.filter((s) => s.kind === SpanKind.CLIENT);
      console.log(
        `[services] ${from} -> ${to} via ${via}: trace ${traceId}, ${spans.length} spans: ${spans
          .map((s) => `${serviceOf(s)} ${SpanKind[s.kind]} "${s.name}"`)
          .join(', ')}; traceparent received by B ${replyB.headers.traceparent}`,
      );

      expect(spans).toHaveLength(expected);
      expect(serverA?.name).toBe('GET /call/:via');
      expect(serverA?.attributes['http.route']).toBe('/call/:via');
      expect(serverA?.parentSpanContext).toBeUndefined();
      expect(serverA?.spanContext().spanId).toBe(ctxA?.spanId);
      expect(serverB?.name).toBe('GET /items/:id');
      expect(serverB?.attributes['http.route']).toBe('/items/:id');
      expect(serverB?.attributes['http.response.status_code']).toBe(200);
      expect(serverB?.spanContext().spanId).toBe(ctxB?.spanId);
      expect(serverB?.parentSpanContext?.traceId).toBe(traceId);

      // The call's client span (OpenTelemetry's http or undici instrumentation) sits between the two
      // server spans, and is the parent B receives (Trace Context §3.2.2.3). The trace was started
      // by A: sampled, and (Level 2) flagged as having a random trace id.
      expect(clients).toHaveLength(1);
      const client = clients[0]!;
      expect(serviceOf(client)).toBe(SERVICE_A);
      expect(client.parentSpanContext?.spanId).toBe(serverA?.spanContext().spanId);
      expect(serverB?.parentSpanContext?.spanId).toBe(client.spanContext().spanId);
      expect(replyB.headers.traceparent).toBe(`00-${traceId}-${client.spanContext().spanId}-03`);

      // The ring buffer holds the whole trace, both services in it.
      const buffered = tracing.traces?.get(traceId);
      expect(buffered?.map((s) => s.service).sort()).toEqual([SERVICE_A, SERVICE_A, SERVICE_B]);
      const summary = tracing.traces?.recent(200).find((t) => t.traceId === traceId);
      expect(summary?.services.slice().sort()).toEqual([SERVICE_A, SERVICE_B]);
      expect(summary?.spanCount).toBe(expected);
      expect(summary?.rootName).toBe('GET /call/:via');
      expect(summary?.error).toBe(false);
    },
  );

  it.each(CASES)(
    'should carry the same x-request-id and x-correlation-id from $from A to $to B with $via',
    async ({ from, to, via }) => {
      const correlationId = `corr-${from}-${via}-${randomBytes(4).toString('hex')}`;
      const { status, reply, requestId, raw } = await callA(from, via, {
        'x-correlation-id': correlationId,
      });
      expect(status, raw).toBe(200);
      const { a: ctxA, b: replyB } = reply;
      console.log(
        `[services] ${from} -> ${to} via ${via}: A answered x-request-id ${String(requestId)}; ` +
          `A saw ${ctxA?.requestId} / ${ctxA?.correlationId}; B received headers ` +
          `x-request-id ${replyB.headers['x-request-id']}, x-correlation-id ` +
          `${replyB.headers['x-correlation-id']}; B saw ${replyB.context?.requestId} / ${replyB.context?.correlationId}`,
      );

      // Generated by A, echoed on A's response, carried to B; the caller's correlation id throughout.
      expect(requestId).toMatch(/^[0-9a-f-]{36}$/);
      expect(ctxA?.requestId).toBe(requestId);
      expect(ctxA?.correlationId).toBe(correlationId);
      expect(replyB.headers['x-request-id']).toBe(requestId);
      expect(replyB.headers['x-correlation-id']).toBe(correlationId);
      expect(replyB.context?.requestId).toBe(requestId);
      expect(replyB.context?.correlationId).toBe(correlationId);
    },
  );

  // Over fetch; the same ids over http.request are covered (and currently fail) above.
  it.each(['express', 'koa'] as const)(
    "should continue the caller's trace and x-request-id through both services when %s A is called with them",
    async (from) => {
      const traceId = randomBytes(16).toString('hex');
      const callerSpan = randomBytes(8).toString('hex');
      const requestId = `req-${randomBytes(6).toString('hex')}`;
      const {
        status,
        reply,
        requestId: answered,
        raw,
      } = await callA(from, 'fetch', {
        traceparent: `00-${traceId}-${callerSpan}-01`,
        'x-request-id': requestId,
      });
      expect(status, raw).toBe(200);
      const { a: ctxA, b: replyB } = reply;
      const spans = await spansOf(traceId, 3);
      const serverA = spans.find((s) => s.kind === SpanKind.SERVER && serviceOf(s) === SERVICE_A);
      const serverB = spans.find((s) => s.kind === SpanKind.SERVER && serviceOf(s) === SERVICE_B);
      const client = spans.find((s) => s.kind === SpanKind.CLIENT);

      expect(ctxA?.traceId).toBe(traceId);
      expect(replyB.context?.traceId).toBe(traceId);
      expect(spans).toHaveLength(3);
      expect(serverA?.parentSpanContext?.spanId).toBe(callerSpan);
      expect(serverA?.parentSpanContext?.isRemote).toBe(true);
      // A -> its fetch's client span -> B.
      expect(client?.parentSpanContext?.spanId).toBe(serverA?.spanContext().spanId);
      expect(serverB?.parentSpanContext?.spanId).toBe(client?.spanContext().spanId);
      const summary = tracing.traces?.recent(200).find((t) => t.traceId === traceId);
      expect(summary?.services.slice().sort()).toEqual([SERVICE_A, SERVICE_B]);
      expect(answered).toBe(requestId);
      expect(ctxA?.requestId).toBe(requestId);
      expect(replyB.context?.requestId).toBe(requestId);
      // Without an x-correlation-id, the request id stands in for it, in both services.
      expect(ctxA?.correlationId).toBe(requestId);
      expect(replyB.context?.correlationId).toBe(requestId);
    },
  );
});
