// recordRequestError(): error handlers that answer errors themselves still get them on the span.
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Tracing, koaTracing, recordRequestError, startTracing } from '@vigil/tracing';

interface TracedKoa {
  exporter: InMemorySpanExporter;
  base: string;
  stop(): Promise<void>;
}

/** Starts tracing into an in-memory exporter and a Koa app with koaTracing() then `middleware`. */
async function tracedKoa(...middleware: Koa.Middleware[]): Promise<TracedKoa> {
  const exporter = new InMemorySpanExporter();
  const tracing: Tracing = startTracing({
    exporter: 'none',
    traceBuffer: false,
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  const app = new Koa();
  app.silent = true;
  app.use(koaTracing());
  for (const m of middleware) app.use(m);
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  return {
    exporter,
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async stop() {
      server.close();
      await tracing.shutdown();
    },
  };
}

/** Waits (at most 5 s) until `count` server spans have ended: a span ends once the response is out. */
async function settle(exporter: InMemorySpanExporter, count: number): Promise<void> {
  for (let i = 0; i < 250; i++) {
    if (exporter.getFinishedSpans().filter((s) => s.kind === SpanKind.SERVER).length >= count)
      return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('recordRequestError', () => {
  let app: TracedKoa;

  beforeAll(async () => {
    app = await tracedKoa(
      // An error middleware inside koaTracing() that answers the error and does not emit it.
      async (ctx, next) => {
        try {
          await next();
        } catch (err) {
          expect(recordRequestError(err)).toBe(true);
          ctx.status = 502;
          ctx.body = 'handled';
        }
      },
      () => {
        throw new Error('upstream broke');
      },
    );
  });
  afterAll(() => app.stop());

  it('should record the error on the span of the request being served', async () => {
    const res = await fetch(`${app.base}/x`);
    expect(res.status).toBe(502);
    await settle(app.exporter, 1);
    // The server span (the test's own fetch has a client span too).
    const [span] = app.exporter.getFinishedSpans().filter((s) => s.kind === SpanKind.SERVER);
    expect(span?.status.code).toBe(SpanStatusCode.ERROR);
    expect(span?.status.message).toBe('upstream broke');
    expect(span?.events.map((e) => e.name)).toEqual(['exception']);
  });

  it('should return false outside a traced request', () => {
    expect(recordRequestError(new Error('nowhere'))).toBe(false);
  });
});

describe('errors answered with a 4xx', () => {
  let app: TracedKoa;

  beforeAll(async () => {
    app = await tracedKoa((ctx) => {
      if (ctx.path === '/missing') ctx.throw(404, 'no such thing');
      ctx.throw(500, 'broken');
    });
  });
  afterAll(() => app.stop());

  it('should keep the exception as an event without marking the span ERROR for a 404', async () => {
    expect((await fetch(`${app.base}/missing`)).status).toBe(404);
    expect((await fetch(`${app.base}/broken`)).status).toBe(500);
    await settle(app.exporter, 2);
    const byStatus = new Map(
      app.exporter
        .getFinishedSpans()
        .filter((s) => s.kind === SpanKind.SERVER)
        .map((s) => [s.attributes['http.response.status_code'], s]),
    );
    expect(byStatus.get(404)?.status.code).toBe(SpanStatusCode.UNSET);
    expect(byStatus.get(404)?.events.map((e) => e.name)).toEqual(['exception']);
    expect(byStatus.get(500)?.status.code).toBe(SpanStatusCode.ERROR);
  });

  it('should put the validated request and correlation ids on the span', async () => {
    app.exporter.reset();
    const res = await fetch(`${app.base}/missing`, {
      headers: { 'x-request-id': 'span-id-check', 'x-correlation-id': 'corr 9' },
    });
    await settle(app.exporter, 1);
    // The server span (the test's own fetch has a client span too).
    const [span] = app.exporter.getFinishedSpans().filter((s) => s.kind === SpanKind.SERVER);
    expect(res.headers.get('x-request-id')).toBe('span-id-check');
    expect(span?.attributes['vigil.request_id']).toBe('span-id-check');
    // "corr 9" has a space: rejected, so the correlation id falls back to the request id.
    expect(span?.attributes['vigil.correlation_id']).toBe('span-id-check');
  });
});
