// 5xx request lines carry the request's error (the tracing error hook, Koa's 'error' event), as pino-http
// users expect; 4xx lines do not. Requests refused by a middleware carry the route they were refused
// for in the line and the span name.
import { Writable } from 'node:stream';
import Router from '@koa/router';
import express, { type NextFunction, type Request, type Response } from 'express';
import Koa from 'koa';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  type Tracing,
  expressTracing,
  expressTracingErrors,
  koaTracing,
  startTracing,
} from '@vigil/tracing';
import { expressRequestLogger, koaRequestLogger } from '@vigil/logging';
import { closeServers, rawRequest, startServer, express4, Koa2 } from '@vigil/test-utils';

interface Line {
  level: number;
  msg: string;
  route?: string;
  status_code?: number;
  err?: { type?: string; message?: string; stack?: string };
  request_id?: string;
}

class Lines extends Writable {
  readonly all: Line[] = [];
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    for (const l of chunk.toString('utf8').split('\n')) if (l !== '') this.all.push(JSON.parse(l));
    done();
  }
  byId(id: string): Line {
    const line = this.all.find((l) => l.request_id === id);
    if (line === undefined) throw new Error(`no line for ${id}`);
    return line;
  }
}

let tracing: Tracing;
const exporter = new InMemorySpanExporter();

beforeAll(() => {
  tracing = startTracing({
    exporter: 'none',
    traceBuffer: false,
    httpClientSpans: false,
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
});
afterAll(() => tracing.shutdown());
afterEach(async () => {
  await closeServers();
  exporter.reset();
});

function spanOf(line: Line): { name: string } {
  const span = exporter
    .getFinishedSpans()
    .find((s) => s.attributes['vigil.request_id'] === line.request_id);
  if (span === undefined) throw new Error(`no span for ${line.request_id}`);
  return span;
}

describe.each([
  ['Express 4', express4],
  ['Express 5', express],
])('request lines and spans on %s', (_name, framework) => {
  async function app(lines: Lines) {
    const a = framework();
    a.use(expressTracing());
    a.use(expressRequestLogger({ destination: lines }));
    a.use('/api', (req, res, next) => {
      if (req.headers['x-deny'] !== undefined) {
        res.status(401).json({ error: 'unauthorised' });
        return;
      }
      next();
    });
    const api = framework.Router();
    api.post('/auth/login', (_req, res) => {
      res.json({ ok: true });
    });
    api.get('/fail', () => {
      throw new Error('the handler broke');
    });
    api.get('/missing', (_req, _res, next) => {
      next(Object.assign(new Error('no such thing'), { status: 404 }));
    });
    a.use('/api', api);
    a.use(expressTracingErrors());
    a.use((err: { status?: number }, _req: Request, res: Response, _next: NextFunction) => {
      res.status(err.status ?? 500).json({ error: 'x' });
    });
    return startServer(a);
  }

  it('should put the error on a 5xx line with type, message and stack', async () => {
    const lines = new Lines();
    const { origin } = await app(lines);
    expect(
      (await rawRequest(origin, '/api/fail', { headers: { 'x-request-id': 'e1' } })).status,
    ).toBe(500);
    await vi.waitFor(() => lines.byId('e1'));
    const line = lines.byId('e1');
    expect(line).toMatchObject({ level: 50, status_code: 500, route: '/api/fail' });
    expect(line.err).toMatchObject({ type: 'Error', message: 'the handler broke' });
    expect(line.err?.stack).toContain('the handler broke');
  });

  it('should leave the error off a 4xx line', async () => {
    const lines = new Lines();
    const { origin } = await app(lines);
    expect(
      (await rawRequest(origin, '/api/missing', { headers: { 'x-request-id': 'e2' } })).status,
    ).toBe(404);
    await vi.waitFor(() => lines.byId('e2'));
    expect(lines.byId('e2')).toMatchObject({ level: 40, status_code: 404 });
    expect(lines.byId('e2').err).toBeUndefined();
  });

  it('should name the route a middleware refused in the line and the span', async () => {
    const lines = new Lines();
    const { origin } = await app(lines);
    const denied = await rawRequest(origin, '/api/auth/login', {
      method: 'POST',
      headers: { 'x-request-id': 'e3', 'x-deny': '1' },
    });
    expect(denied.status).toBe(401);
    const unknown = await rawRequest(origin, '/api/nothing', {
      headers: { 'x-request-id': 'e4', 'x-deny': '1' },
    });
    expect(unknown.status).toBe(401);
    // The span is exported once the resource's attributes are settled, maybe after the line.
    await vi.waitFor(() => [spanOf(lines.byId('e3')), spanOf(lines.byId('e4'))]);
    expect(lines.byId('e3').route).toBe('/api/auth/login');
    expect(spanOf(lines.byId('e3')).name).toBe('POST /api/auth/login');
    // Nothing would have matched: the bounded constant, and the span keeps the bare method.
    expect(lines.byId('e4').route).toBe('<unmatched>');
    expect(spanOf(lines.byId('e4')).name).toBe('GET');
  });
});

describe.each([
  ['Koa 2', Koa2],
  ['Koa 3', Koa],
])('request lines and spans on %s', (_name, Framework) => {
  async function app(lines: Lines, errorMiddleware: boolean) {
    const a = new Framework();
    a.silent = true;
    a.use(koaTracing());
    a.use(koaRequestLogger({ destination: lines }));
    if (errorMiddleware) {
      // An error middleware that answers errors itself and reports them as Koa apps do.
      a.use(async (ctx, next) => {
        try {
          await next();
        } catch (err) {
          ctx.status = (err as { status?: number }).status ?? 500;
          ctx.body = { error: 'x' };
          ctx.app.emit('error', err, ctx);
        }
      });
    }
    a.use(async (ctx, next) => {
      if (ctx.get('x-deny') !== '') {
        ctx.status = 429;
        return;
      }
      await next();
    });
    const router = new Router({ prefix: '/api' });
    router.get('/fail', () => {
      throw new Error('the handler broke');
    });
    router.get('/missing', (ctx) => {
      ctx.throw(404, 'no such thing');
    });
    router.post('/auth/login', (ctx) => {
      ctx.body = { ok: true };
    });
    a.use(router.routes());
    const callback = a.callback();
    return startServer((req, res) => void callback(req, res));
  }

  it.each([false, true])(
    'should put the error on a 5xx line (error middleware: %s)',
    async (errorMiddleware) => {
      const lines = new Lines();
      const { origin } = await app(lines, errorMiddleware);
      expect(
        (await rawRequest(origin, '/api/fail', { headers: { 'x-request-id': 'k1' } })).status,
      ).toBe(500);
      await vi.waitFor(() => lines.byId('k1'));
      expect(lines.byId('k1')).toMatchObject({
        level: 50,
        status_code: 500,
        route: '/api/fail',
        err: { type: 'Error', message: 'the handler broke' },
      });
    },
  );

  it('should leave the error off a 4xx line', async () => {
    const lines = new Lines();
    const { origin } = await app(lines, false);
    expect(
      (await rawRequest(origin, '/api/missing', { headers: { 'x-request-id': 'k2' } })).status,
    ).toBe(404);
    await vi.waitFor(() => lines.byId('k2'));
    expect(lines.byId('k2')).toMatchObject({ level: 40, status_code: 404 });
    expect(lines.byId('k2').err).toBeUndefined();
  });

  it('should name the route a middleware refused in the line and the span', async () => {
    const lines = new Lines();
    const { origin } = await app(lines, false);
    const limited = await rawRequest(origin, '/api/auth/login', {
      method: 'POST',
      headers: { 'x-request-id': 'k3', 'x-deny': '1' },
    });
    expect(limited.status).toBe(429);
    await vi.waitFor(() => spanOf(lines.byId('k3')));
    expect(lines.byId('k3').route).toBe('/api/auth/login');
    expect(spanOf(lines.byId('k3')).name).toBe('POST /api/auth/login');
  });
});
