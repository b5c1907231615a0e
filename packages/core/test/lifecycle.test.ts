// The shared request lifecycle: one record per request, ended once (finished or aborted), on Express 4
// and 5, Koa 2 and 3, keep-alive, HTTP/1.1 pipelining and HTTP/2 compatibility requests.
import { once } from 'node:events';
import http2 from 'node:http2';
import { type IncomingMessage, Agent, type ServerResponse, request } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import express from 'express';
import Koa from 'koa';
import Router from '@koa/router';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type RequestRecord,
  type RequestSink,
  UNMATCHED_ROUTE,
  allocateSlot,
  beginRequest,
  findRequest,
  isOperational,
  markOperational,
} from '@vigil/core';
import {
  abortedRequest,
  closeServers,
  rawRequest,
  startServer,
  express4,
  Koa2,
} from '@vigil/test-utils';

/** Collects the records a sink is told about. */
class Collector implements RequestSink {
  readonly ended: RequestRecord[] = [];
  readonly claimed: RequestRecord[] = [];
  constructor(readonly exclusive?: string) {}
  requestEnded(record: RequestRecord): void {
    this.ended.push(record);
  }
  requestClaimed(record: RequestRecord): void {
    this.claimed.push(record);
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function until(check: () => boolean, ms = 2000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await sleep(5);
  }
}

type ExpressLike = typeof express;

/** An Express app whose first middleware begins the record (twice, as two Vigil packages would). */
function expressApp(framework: ExpressLike, sink: RequestSink, seen: RequestRecord[]) {
  const app = framework();
  app.use((req, res, next) => {
    const a = beginRequest(req, res);
    const b = beginRequest(req, res);
    expect(b).toBe(a);
    a.subscribe(sink);
    seen.push(a);
    next();
  });
  const api = framework.Router();
  api.post('/auth/login', (_req, res) => {
    res.status(401).json({ error: 'no' });
  });
  api.get('/users/:id', (req, res) => {
    res.json({ id: req.params.id, same: findRequest(req) === seen.at(-1) });
  });
  app.use('/api', (req, res, next) => {
    // An auth-like middleware that answers before routing.
    if (req.headers['x-deny'] !== undefined) {
      res.status(401).end('denied');
      return;
    }
    next();
  });
  app.use('/api', api);
  app.get('/slow', (_req, res) => {
    setTimeout(() => res.end('late'), 300);
  });
  app.get('/stream', (_req, res) => {
    res.write('a');
    const timer = setInterval(() => res.write('b'), 10);
    res.on('close', () => clearInterval(timer));
  });
  app.get('/boom', () => {
    throw new Error('boom');
  });
  return app;
}

afterEach(async () => {
  await closeServers();
});

describe.each([
  ['Express 4', express4],
  ['Express 5', express],
])('request lifecycle on %s', (_name, framework) => {
  it('should give every middleware one record, ended once with the route template', async () => {
    const sink = new Collector();
    const seen: RequestRecord[] = [];
    const { origin } = await startServer(expressApp(framework, sink, seen));
    const res = await rawRequest(origin, '/api/users/7?token=x', {
      headers: { 'x-request-id': 'req-1' },
    });
    expect(JSON.parse(res.body)).toEqual({ id: '7', same: true });
    await until(() => sink.ended.length === 1);
    const [record] = sink.ended as [RequestRecord];
    expect(record).toBe(seen[0]);
    expect(record.ended).toBe(true);
    expect(record.aborted).toBe(false);
    expect(record.route).toBe('/api/users/:id');
    expect(record.path).toBe('/api/users/7');
    expect(record.method).toBe('GET');
    expect(record.requestId).toBe('req-1');
    expect(record.correlationId).toBe('req-1');
    expect(record.endTime).toBeGreaterThanOrEqual(record.start);
    // Found after its end, from a late lookup.
    expect(findRequest(record.req)).toBe(record);
  });

  it('should mark a request the client abandoned as aborted, once', async () => {
    const sink = new Collector();
    const seen: RequestRecord[] = [];
    const { origin, received } = await startServer(expressApp(framework, sink, seen));
    await abortedRequest(origin, '/slow', { when: received(1).then(() => sleep(50)) });
    await until(() => sink.ended.length === 1);
    await sleep(400);
    expect(sink.ended).toHaveLength(1);
    expect(sink.ended[0]!.aborted).toBe(true);
    expect(sink.ended[0]!.route).toBe('/slow');
  });

  it('should mark a stream cut mid-way as aborted', async () => {
    const sink = new Collector();
    const { origin } = await startServer(expressApp(framework, sink, []));
    const result = await abortedRequest(origin, '/stream', { onFirstChunk: true });
    expect(result.sawHeaders).toBe(true);
    await until(() => sink.ended.length === 1);
    expect(sink.ended[0]!.aborted).toBe(true);
  });

  it('should name the route a middleware refused, and leave real 404s unmatched', async () => {
    const sink = new Collector();
    const { origin } = await startServer(expressApp(framework, sink, []));
    expect(
      (await rawRequest(origin, '/api/auth/login', { method: 'POST', headers: { 'x-deny': '1' } }))
        .status,
    ).toBe(401);
    expect((await rawRequest(origin, '/api/users/9', { headers: { 'x-deny': '1' } })).status).toBe(
      401,
    );
    expect(
      (await rawRequest(origin, '/api/nothing-here', { headers: { 'x-deny': '1' } })).status,
    ).toBe(401);
    expect((await rawRequest(origin, '/nowhere/at/all')).status).toBe(404);
    // A parameter the framework cannot decode (Express answers 400) would not have reached the route.
    expect(
      (await rawRequest(origin, '/api/users/%ZZ', { headers: { 'x-deny': '1' } })).status,
    ).toBe(401);
    await until(() => sink.ended.length === 5);
    expect(sink.ended.map((r) => r.route)).toEqual([
      '/api/auth/login',
      '/api/users/:id',
      UNMATCHED_ROUTE,
      UNMATCHED_ROUTE,
      UNMATCHED_ROUTE,
    ]);
  });

  it('should prefer a route hint set while the request ran', async () => {
    const sink = new Collector();
    const app = framework();
    app.use((req, res) => {
      const record = beginRequest(req, res);
      record.subscribe(sink);
      record.routeHint = '/api/auth/login';
      res.status(429).end();
    });
    const { origin } = await startServer(app);
    await rawRequest(origin, '/whatever');
    await until(() => sink.ended.length === 1);
    expect(sink.ended[0]!.route).toBe('/api/auth/login');
  });
});

describe.each([
  ['Koa 2', Koa2],
  ['Koa 3', Koa],
])('request lifecycle on %s', (_name, Framework) => {
  function koaApp(sink: RequestSink) {
    const app = new Framework();
    app.use(async (ctx, next) => {
      beginRequest(ctx.req, ctx.res, ctx).subscribe(sink);
      await next();
    });
    app.use(async (ctx, next) => {
      if (ctx.get('x-deny') !== '') {
        ctx.status = 401;
        return;
      }
      await next();
    });
    const router = new Router({ prefix: '/api' });
    router.get('/users/:id', (ctx) => {
      ctx.body = { id: ctx.params.id };
    });
    router.get('/boom', () => {
      throw new Error('boom');
    });
    app.use(router.routes());
    app.silent = true;
    const callback = app.callback();
    return (req: IncomingMessage, res: ServerResponse) => void callback(req, res);
  }

  it('should end with the route template and the error Koa reported', async () => {
    const sink = new Collector();
    const { origin } = await startServer(koaApp(sink));
    await rawRequest(origin, '/api/users/3');
    expect((await rawRequest(origin, '/api/boom')).status).toBe(500);
    await until(() => sink.ended.length === 2);
    expect(sink.ended.map((r) => r.route)).toEqual(['/api/users/:id', '/api/boom']);
    expect(sink.ended[0]!.error).toBeUndefined();
    expect((sink.ended[1]!.error as Error).message).toBe('boom');
  });

  it('should name the route a middleware refused', async () => {
    const sink = new Collector();
    const { origin } = await startServer(koaApp(sink));
    expect((await rawRequest(origin, '/api/users/3', { headers: { 'x-deny': '1' } })).status).toBe(
      401,
    );
    expect((await rawRequest(origin, '/api/none', { headers: { 'x-deny': '1' } })).status).toBe(
      401,
    );
    await until(() => sink.ended.length === 2);
    expect(sink.ended.map((r) => r.route)).toEqual(['/api/users/:id', UNMATCHED_ROUTE]);
  });
});

describe('request lifecycle on one connection', () => {
  function plain(sink: RequestSink, handler: (req: IncomingMessage, res: ServerResponse) => void) {
    return (req: IncomingMessage, res: ServerResponse) => {
      beginRequest(req, res).subscribe(sink);
      handler(req, res);
    };
  }

  it('should keep keep-alive requests apart', async () => {
    const sink = new Collector();
    const { origin } = await startServer(plain(sink, (_req, res) => res.end('ok')));
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const sockets = new Set<unknown>();
    for (let i = 0; i < 5; i++) {
      await new Promise<void>((resolve, reject) => {
        const req = request(`${origin}/k${i}`, { agent }, (res) => {
          res.resume();
          res.on('end', resolve);
        });
        req.on('socket', (s) => sockets.add(s));
        req.on('error', reject);
        req.end();
      });
    }
    agent.destroy();
    expect(sockets.size).toBe(1);
    await until(() => sink.ended.length === 5);
    expect(sink.ended.map((r) => r.path)).toEqual(['/k0', '/k1', '/k2', '/k3', '/k4']);
    expect(new Set(sink.ended.map((r) => r.requestId)).size).toBe(5);
    expect(sink.ended.every((r) => !r.aborted)).toBe(true);
  });

  it('should end pipelined requests in order, each once', async () => {
    const sink = new Collector();
    const { port } = await startServer(
      plain(sink, (req, res) => {
        // Answer in reverse delay order; Node still writes responses in request order.
        const n = Number(req.url?.slice(2));
        setTimeout(() => res.end(`r${n}`), (3 - n) * 20);
      }),
    );
    const socket = connect(port, '127.0.0.1');
    await once(socket, 'connect');
    let text = '';
    socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
    socket.write([0, 1, 2].map((n) => `GET /p${n} HTTP/1.1\r\nHost: x\r\n\r\n`).join(''));
    await until(
      () => sink.ended.length === 3 && (text.match(/HTTP\/1\.1 200/g) ?? []).length === 3,
    );
    socket.destroy();
    expect(sink.ended.map((r) => r.path)).toEqual(['/p0', '/p1', '/p2']);
    expect(sink.ended.every((r) => !r.aborted)).toBe(true);
    expect(text.indexOf('r0') < text.indexOf('r1') && text.indexOf('r1') < text.indexOf('r2')).toBe(
      true,
    );
  });

  it('should tell exclusive sinks once and every other sink each', async () => {
    const a = new Collector('metrics');
    const b = new Collector('metrics');
    const c = new Collector();
    const throwing: RequestSink = {
      requestEnded() {
        throw new Error('a broken sink');
      },
    };
    const { origin } = await startServer((req, res) => {
      const record = beginRequest(req, res);
      expect(record.subscribe(throwing)).toBe(true);
      expect(record.subscribe(a)).toBe(true);
      expect(record.subscribe(b)).toBe(false);
      expect(record.subscribe(c)).toBe(true);
      expect(record.subscribe(c)).toBe(false);
      res.end('ok');
    });
    expect((await rawRequest(origin, '/x')).status).toBe(200);
    await until(() => c.ended.length === 1);
    expect([a.ended.length, b.ended.length, c.ended.length]).toEqual([1, 0, 1]);
  });

  it('should tell sinks when an operational endpoint claims the request', async () => {
    const sink = new Collector();
    const { origin } = await startServer((req, res) => {
      beginRequest(req, res).subscribe(sink);
      if (req.url === '/metrics') markOperational(req);
      res.end(String(isOperational(req)));
    });
    expect((await rawRequest(origin, '/metrics')).body).toBe('true');
    expect((await rawRequest(origin, '/app')).body).toBe('false');
    await until(() => sink.ended.length === 2);
    expect(sink.claimed.map((r) => r.path)).toEqual(['/metrics']);
    expect(sink.ended.map((r) => r.operational)).toEqual([true, false]);
  });

  it('should give each package its own slot on the record', async () => {
    const first = allocateSlot();
    const second = allocateSlot();
    const sink = new Collector();
    const { origin } = await startServer((req, res) => {
      const record = beginRequest(req, res);
      record.subscribe(sink);
      record.slots[first] = 'one';
      record.slots[second] = 'two';
      res.end();
    });
    await rawRequest(origin, '/');
    await until(() => sink.ended.length === 1);
    expect([sink.ended[0]!.slots[first], sink.ended[0]!.slots[second]]).toEqual(['one', 'two']);
  });

  it('should record a response error while watching, and keep it from crashing the process', async () => {
    const sink = new Collector();
    const { origin } = await startServer((req, res) => {
      const record = beginRequest(req, res);
      record.subscribe(sink);
      record.watchResponseErrors();
      // A body too big to go out at once: the write after end fails while the response is unfinished.
      res.end(Buffer.alloc(8 << 20, 'a'));
      res.write('late');
    });
    const reply = await rawRequest(origin, '/late');
    expect(reply.body).toHaveLength(8 << 20);
    await until(() => sink.ended.length === 1);
    await sleep(20);
    // The response was delivered whole: finished, not aborted, with the error.
    expect(sink.ended[0]!.aborted).toBe(false);
    expect((sink.ended[0]!.error as { code?: string } | undefined)?.code).toBe(
      'ERR_STREAM_WRITE_AFTER_END',
    );
  });
});

describe('request lifecycle on HTTP/2 compatibility requests', () => {
  it('should end each stream once, finished', async () => {
    const sink = new Collector();
    const server = http2.createServer((req, res) => {
      const record = beginRequest(
        req as unknown as IncomingMessage,
        res as unknown as ServerResponse,
      );
      record.subscribe(sink);
      res.end(record.path);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const client = http2.connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    const bodies: string[] = [];
    for (let i = 0; i < 3; i++) {
      await new Promise<void>((resolve, reject) => {
        const stream = client.request({ ':path': `/h2/${i}` });
        let body = '';
        stream.on('data', (c: Buffer) => (body += c.toString()));
        stream.on('error', reject);
        stream.on('end', () => {
          bodies.push(body);
          resolve();
        });
      });
    }
    client.close();
    await until(() => sink.ended.length === 3);
    await new Promise<void>((resolve) => server.close(() => resolve()));
    expect(bodies).toEqual(['/h2/0', '/h2/1', '/h2/2']);
    expect(sink.ended.map((r) => [r.path, r.aborted])).toEqual([
      ['/h2/0', false],
      ['/h2/1', false],
      ['/h2/2', false],
    ]);
  });
});
