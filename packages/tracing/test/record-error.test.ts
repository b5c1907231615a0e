// recordRequestError(): error handlers that answer errors themselves still get them on the span.
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { SpanStatusCode } from '@opentelemetry/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Tracing, koaTracing, recordRequestError, startTracing } from '@vigil/tracing';

describe('recordRequestError', () => {
  const exporter = new InMemorySpanExporter();
  let tracing: Tracing;
  let url: string;
  let close: () => void;

  beforeAll(async () => {
    tracing = startTracing({
      exporter: 'none',
      traceBuffer: false,
      spanProcessors: [new SimpleSpanProcessor(exporter)],
    });
    const app = new Koa();
    app.use(koaTracing());
    // An error middleware inside koaTracing() that answers the error and does not emit it.
    app.use(async (ctx, next) => {
      try {
        await next();
      } catch (err) {
        expect(recordRequestError(err)).toBe(true);
        ctx.status = 502;
        ctx.body = 'handled';
      }
    });
    app.use(() => {
      throw new Error('upstream broke');
    });
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/x`;
    close = () => server.close();
  });
  afterAll(async () => {
    close();
    await tracing.shutdown();
  });

  it('should record the error on the span of the request being served', async () => {
    const res = await fetch(url);
    expect(res.status).toBe(502);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const [span] = exporter.getFinishedSpans();
    expect(span?.status.code).toBe(SpanStatusCode.ERROR);
    expect(span?.status.message).toBe('upstream broke');
    expect(span?.events.map((e) => e.name)).toEqual(['exception']);
  });

  it('should return false outside a traced request', () => {
    expect(recordRequestError(new Error('nowhere'))).toBe(false);
  });
});

describe('errors answered with a 4xx', () => {
  const exporter = new InMemorySpanExporter();
  let tracing: Tracing;
  let base: string;
  let close: () => void;

  beforeAll(async () => {
    tracing = startTracing({
      exporter: 'none',
      traceBuffer: false,
      spanProcessors: [new SimpleSpanProcessor(exporter)],
    });
    const app = new Koa();
    app.silent = true;
    app.use(koaTracing());
    app.use((ctx) => {
      if (ctx.path === '/missing') ctx.throw(404, 'no such thing');
      ctx.throw(500, 'broken');
    });
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    close = () => server.close();
  });
  afterAll(async () => {
    close();
    await tracing.shutdown();
  });

  it('should keep the exception as an event without marking the span ERROR for a 404', async () => {
    expect((await fetch(`${base}/missing`)).status).toBe(404);
    expect((await fetch(`${base}/broken`)).status).toBe(500);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const byStatus = new Map(
      exporter.getFinishedSpans().map((s) => [s.attributes['http.response.status_code'], s]),
    );
    expect(byStatus.get(404)?.status.code).toBe(SpanStatusCode.UNSET);
    expect(byStatus.get(404)?.events.map((e) => e.name)).toEqual(['exception']);
    expect(byStatus.get(500)?.status.code).toBe(SpanStatusCode.ERROR);
  });

  it('should put the validated request and correlation ids on the span', async () => {
    exporter.reset();
    const res = await fetch(`${base}/missing`, {
      headers: { 'x-request-id': 'span-id-check', 'x-correlation-id': 'corr 9' },
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    const [span] = exporter.getFinishedSpans();
    expect(res.headers.get('x-request-id')).toBe('span-id-check');
    expect(span?.attributes['vigil.request_id']).toBe('span-id-check');
    // "corr 9" has a space: rejected, so the correlation id falls back to the request id.
    expect(span?.attributes['vigil.correlation_id']).toBe('span-id-check');
  });
});
