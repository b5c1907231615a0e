// Request logger bookkeeping: nothing stored on req/res, req.log / ctx.log, connections, ends, HTTP/2.
import http2 from 'node:http2';
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { Agent, request as httpRequest } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import { Writable } from 'node:stream';
import Router from '@koa/router';
import express, { type Express } from 'express';
import Koa from 'koa';
import type { Logger } from 'pino';
import { afterEach, describe, expect, expectTypeOf, it, vi } from 'vitest';
import { expressTracing, getRequestContext, koaTracing } from '@vigil/tracing';
import { type RequestLoggerOptions, expressRequestLogger, koaRequestLogger } from '@vigil/logging';
import {
  abortedRequest,
  closeServers,
  rawRequest,
  startServer,
  express4,
  Koa2,
} from '@vigil/test-utils';

const HEX32 = /^[0-9a-f]{32}$/;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

afterEach(closeServers);

interface Line {
  level: number;
  msg: string;
  [key: string]: unknown;
}

/** A pino destination that keeps every line, parsed. */
class Lines extends Writable {
  readonly all: Line[] = [];
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    for (const l of chunk.toString('utf8').split('\n')) if (l !== '') this.all.push(JSON.parse(l));
    done();
  }
  requestLines(): Line[] {
    return this.all.filter((l) => l.msg === 'request completed' || l.msg === 'request aborted');
  }
  withMsg(msg: string): Line[] {
    return this.all.filter((l) => l.msg === msg);
  }
}

type ExpressFactory = typeof express;
type KoaFactory = typeof Koa;

/** Own keys of req and res (strings and symbols) when the response has closed. */
interface OwnKeys {
  req: (string | symbol)[];
  res: (string | symbol)[];
  ctx?: (string | symbol)[];
}

function ownKeys(req: IncomingMessage, res: ServerResponse, ctx?: object): OwnKeys {
  const keys = (o: object) => Reflect.ownKeys(o).sort((a, b) => String(a).localeCompare(String(b)));
  return { req: keys(req), res: keys(res), ...(ctx ? { ctx: keys(ctx) } : {}) };
}

/** An Express app whose one route reports the own keys of req and res once the response closed. */
function expressKeysApp(
  factory: ExpressFactory,
  logger: RequestLoggerOptions | undefined,
  report: (keys: OwnKeys) => void,
): Express {
  const app = factory();
  app.use(expressTracing());
  if (logger) app.use(expressRequestLogger(logger));
  app.get('/users/:id', (req, res) => {
    res.once('close', () => report(ownKeys(req, res)));
    res.json({ id: req.params.id });
  });
  return app;
}

function koaKeysApp(
  Factory: KoaFactory,
  logger: RequestLoggerOptions | undefined,
  report: (keys: OwnKeys) => void,
): RequestListener {
  const app = new Factory();
  app.use(koaTracing());
  if (logger) app.use(koaRequestLogger(logger));
  const router = new Router();
  router.get('/users/:id', (ctx) => {
    ctx.res.once('close', () => report(ownKeys(ctx.req, ctx.res, ctx)));
    ctx.body = { id: ctx.params.id };
  });
  app.use(router.routes());
  const handle = app.callback();
  return (req, res) => void handle(req, res);
}

describe('request logger bookkeeping', () => {
  describe.each([
    { name: 'express4', factory: express4 },
    { name: 'express5', factory: express },
  ])('on $name', ({ factory }) => {
    it('should leave req and res with the own properties they have without the logger', async () => {
      const seen: Record<'without' | 'with', OwnKeys | undefined> = {
        without: undefined,
        with: undefined,
      };
      const sink = new Lines();
      for (const variant of ['without', 'with'] as const) {
        const app = expressKeysApp(
          factory,
          variant === 'with' ? { destination: sink } : undefined,
          (keys) => (seen[variant] = keys),
        );
        const { origin } = await startServer(app);
        await rawRequest(origin, '/users/7');
        await vi.waitFor(() => expect(seen[variant]).toBeDefined());
      }
      // The logger really ran: its line is there.
      await vi.waitFor(() => expect(sink.requestLines()).toHaveLength(1));
      expect(seen.with).toEqual(seen.without);
      for (const key of ['id', 'log', 'allLogs']) {
        expect(seen.with!.req).not.toContain(key);
        expect(seen.with!.res).not.toContain(key);
      }
    });
  });

  describe.each([
    { name: 'koa2', Factory: Koa2 },
    { name: 'koa3', Factory: Koa },
  ])('on $name', ({ Factory }) => {
    it('should leave ctx, ctx.req and ctx.res with the own properties they have without the logger', async () => {
      const seen: Record<'without' | 'with', OwnKeys | undefined> = {
        without: undefined,
        with: undefined,
      };
      const sink = new Lines();
      for (const variant of ['without', 'with'] as const) {
        const listener = koaKeysApp(
          Factory,
          variant === 'with' ? { destination: sink } : undefined,
          (keys) => (seen[variant] = keys),
        );
        const { origin } = await startServer(listener);
        await rawRequest(origin, '/users/7');
        await vi.waitFor(() => expect(seen[variant]).toBeDefined());
      }
      await vi.waitFor(() => expect(sink.requestLines()).toHaveLength(1));
      expect(seen.with).toEqual(seen.without);
      expect(seen.with!.ctx).not.toContain('log');
    });
  });

  it('should give handlers one req.log bound to the ids, also after the response and outside its context', async () => {
    const sink = new Lines();
    const kept: IncomingMessage[] = [];
    const loggers: Logger[] = [];
    const app = express();
    app.use(expressTracing());
    app.use(expressRequestLogger({ destination: sink }));
    app.get('/users/:id', (req, res) => {
      loggers.push(req.log);
      req.log.info('before the response');
      res.json({ id: req.params.id });
      kept.push(req);
      setTimeout(() => {
        loggers.push(req.log);
        req.log.info('after the response');
      }, 20);
    });
    // A path without a request line still gets req.log.
    app.get('/health', (req, res) => {
      req.log.info('from an ignored path');
      res.send('ok');
    });
    const { origin } = await startServer(app);
    const reply = await rawRequest(origin, '/users/1', { headers: { 'x-request-id': 'one' } });
    await rawRequest(origin, '/health', { headers: { 'x-request-id': 'health' } });
    await vi.waitFor(() => expect(sink.withMsg('after the response')).toHaveLength(1));

    // Outside any request: the test's own code, long after the response.
    expect(getRequestContext()).toBeUndefined();
    kept[0]!.log.info('outside the request');

    expect(reply.headers['x-request-id']).toBe('one');
    expect(loggers[0]).toBe(loggers[1]);
    expect(kept[0]!.log).toBe(loggers[0]);
    const [completed] = sink.requestLines();
    expect(sink.requestLines()).toHaveLength(1);
    for (const msg of ['before the response', 'after the response', 'outside the request']) {
      const [line] = sink.withMsg(msg);
      expect(line, msg).toMatchObject({
        component: 'http',
        trace_id: completed!.trace_id,
        span_id: completed!.span_id,
        request_id: 'one',
        correlation_id: 'one',
        req: { method: 'GET', url: '/users/1' },
      });
      expect(line!.trace_id).toMatch(HEX32);
    }
    expect(sink.withMsg('from an ignored path')[0]).toMatchObject({ request_id: 'health' });
  });

  it('should let the app assign req.log, and leave unlogged requests without one', async () => {
    const sink = new Lines();
    const mine = { info: vi.fn() };
    const app = express();
    const before: unknown[] = [];
    app.get('/early', (req, res) => {
      before.push(req.log);
      res.send('ok');
    });
    app.use(expressRequestLogger({ destination: sink }));
    app.use((req, _res, next) => {
      (req as unknown as { log: unknown }).log = mine;
      next();
    });
    app.get('/mine', (req, res) => {
      req.log.info('to my logger');
      res.send('ok');
    });
    const { origin } = await startServer(app);
    await rawRequest(origin, '/mine');
    await rawRequest(origin, '/early');
    expect(mine.info).toHaveBeenCalledWith('to my logger');
    expect(before).toEqual([undefined]);
    await vi.waitFor(() => expect(sink.requestLines()).toHaveLength(1));
    expect(sink.withMsg('to my logger')).toHaveLength(0);
  });

  it('should give req.log to routes of an Express sub-app', async () => {
    const sink = new Lines();
    const app = express();
    app.use(expressTracing());
    app.use(expressRequestLogger({ destination: sink }));
    const admin = express();
    admin.get('/users/:id', (req, res) => {
      req.log.info('in the sub-app');
      res.send('ok');
    });
    app.use('/admin', admin);
    const { origin } = await startServer(app);
    await rawRequest(origin, '/admin/users/3', { headers: { 'x-request-id': 'sub' } });
    await vi.waitFor(() => expect(sink.requestLines()).toHaveLength(1));
    expect(sink.withMsg('in the sub-app')[0]).toMatchObject({ request_id: 'sub' });
    expect(sink.requestLines()[0]).toMatchObject({ request_id: 'sub', status_code: 200 });
  });

  it('should let two loggers each write their line, req.log being the first one', async () => {
    const first = new Lines();
    const second = new Lines();
    const app = express();
    app.use(expressTracing());
    app.use(expressRequestLogger({ destination: first }));
    app.use(expressRequestLogger({ destination: second, level: 'info' }));
    app.get('/x', (req, res) => {
      req.log.info('handler');
      res.send('ok');
    });
    const { origin } = await startServer(app);
    await rawRequest(origin, '/x', { headers: { 'x-request-id': 'twice' } });
    await vi.waitFor(() => expect(second.requestLines()).toHaveLength(1));
    expect(first.requestLines()).toHaveLength(1);
    expect(first.withMsg('handler')).toHaveLength(1);
    expect(second.withMsg('handler')).toHaveLength(0);
    expect(second.requestLines()[0]).toMatchObject({ request_id: 'twice', route: '/x' });
  });

  it('should tell apart requests that share a connection, kept alive or pipelined', async () => {
    const sink = new Lines();
    const app = express();
    app.use(expressTracing());
    app.use(expressRequestLogger({ destination: sink }));
    app.get('/wait/:ms', (req, res) => {
      setTimeout(() => res.status(201).json({ ok: true }), Number(req.params.ms));
    });
    app.get('/fast', (_req, res) => {
      res.status(202).send('fast');
    });
    const { origin, port } = await startServer(app);

    // Keep-alive: three requests, one after the other, on one socket.
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const ports = new Set<number>();
    for (const id of ['ka-1', 'ka-2', 'ka-3']) {
      await new Promise<void>((resolve, reject) => {
        const req = httpRequest(`${origin}/fast`, { agent, headers: { 'x-request-id': id } });
        req.on('socket', (s) => s.once('connect', () => ports.add(s.localPort!)));
        req.on('response', (res) => res.resume().on('end', resolve));
        req.on('error', reject);
        req.end();
      });
    }
    agent.destroy();

    // Pipelining: the first request answers last, the second waits behind it.
    const socket = connect(port, '127.0.0.1');
    socket.on('data', () => undefined);
    socket.write(
      'GET /wait/40 HTTP/1.1\r\nHost: x\r\nx-request-id: pipe-1\r\n\r\n' +
        'GET /fast HTTP/1.1\r\nHost: x\r\nx-request-id: pipe-2\r\nConnection: close\r\n\r\n',
    );
    await vi.waitFor(() => expect(sink.requestLines()).toHaveLength(5));
    socket.destroy();

    expect(ports.size).toBe(1);
    const byId = Object.fromEntries(sink.requestLines().map((l) => [l.request_id, l]));
    for (const id of ['ka-1', 'ka-2', 'ka-3', 'pipe-2']) {
      expect(byId[id], id).toMatchObject({ msg: 'request completed', status_code: 202 });
    }
    expect(byId['pipe-1']).toMatchObject({ route: '/wait/:ms', status_code: 201 });
  });

  it('should write one aborted line with the client address when the client leaves mid-body', async () => {
    const sink = new Lines();
    const app = express();
    app.use(expressTracing());
    app.use(expressRequestLogger({ destination: sink }));
    app.get('/stream', (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('first chunk');
      // The rest never comes: the client leaves after the first chunk.
    });
    const { origin } = await startServer(app);
    await abortedRequest(origin, '/stream', {
      headers: { 'x-request-id': 'gone' },
      onFirstChunk: true,
    });
    await vi.waitFor(() => expect(sink.requestLines()).toHaveLength(1));
    await sleep(30);
    expect(sink.requestLines()).toHaveLength(1);
    expect(sink.requestLines()[0]).toMatchObject({
      msg: 'request aborted',
      level: 30,
      status_code: 200,
      request_id: 'gone',
      req: { remoteAddress: '127.0.0.1' },
      res: { statusCode: 200 },
    });
  });

  it("should log a response 'error' before the end once, at error level, and not crash", async () => {
    const sink = new Lines();
    const app = express();
    app.use(expressTracing());
    app.use(expressRequestLogger({ destination: sink }));
    // A body too big to go out at once: the write after end fails while the response is unfinished.
    const body = Buffer.alloc(8 << 20, 'a');
    app.get('/twice', (_req, res) => {
      res.end(body);
      res.write('too late');
    });
    const { origin } = await startServer(app);
    const reply = await rawRequest(origin, '/twice', { headers: { 'x-request-id': 'late' } });
    expect(reply.body).toHaveLength(body.length);
    await vi.waitFor(() => expect(sink.requestLines()).toHaveLength(1));
    await sleep(30);
    const lines = sink.requestLines();
    expect(lines).toHaveLength(1);
    // The response was delivered whole (the body above), so the line says completed, with the error.
    expect(lines[0]).toMatchObject({
      msg: 'request completed',
      level: 50,
      request_id: 'late',
      status_code: 200,
      err: { code: 'ERR_STREAM_WRITE_AFTER_END' },
    });
  });

  it('should log HTTP/2 requests (Koa on the compatibility API) from the response events', async () => {
    const sink = new Lines();
    const app = new Koa();
    app.use(koaTracing());
    app.use(koaRequestLogger({ destination: sink }));
    const router = new Router();
    router.get('/users/:id', (ctx) => {
      (ctx as unknown as { log: Logger }).log.info('over h2');
      ctx.body = { id: ctx.params.id };
    });
    app.use(router.routes());
    const handle = app.callback();
    const server = http2.createServer((req, res) => void handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const client = http2.connect(`http://127.0.0.1:${port}`);
      await new Promise<void>((resolve, reject) => {
        const stream = client.request({ ':path': '/users/9', 'x-request-id': 'h2' });
        stream.on('error', reject);
        stream.resume().on('end', resolve);
        stream.end();
      });
      client.close();
      await vi.waitFor(() => expect(sink.requestLines()).toHaveLength(1));
      expect(sink.requestLines()[0]).toMatchObject({
        msg: 'request completed',
        request_id: 'h2',
        route: '/users/:id',
        status_code: 200,
      });
      expect(sink.withMsg('over h2')[0]).toMatchObject({ request_id: 'h2' });
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it("should type req.log on Node's IncomingMessage, as pino-http does", () => {
    expectTypeOf<IncomingMessage['log']>().toEqualTypeOf<Logger>();
    expectTypeOf<express.Request['log']>().toEqualTypeOf<Logger>();
  });
});
