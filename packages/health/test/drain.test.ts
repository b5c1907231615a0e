// The drain counts each connection's requests through @vigil/core's request lifecycle: the record it
// begins on the server's 'request' event is the one the app's middleware find on Express and Koa, and
// every request's end reaches it (kept alive, pipelined, aborted), so a connection left idle is closed
// by the drain's first sweep and no drain waits for its deadline.
import { once } from 'node:events';
import { Agent, type RequestListener, type Server, createServer, request } from 'node:http';
import { type AddressInfo, type Socket, connect } from 'node:net';
import Router from '@koa/router';
import express from 'express';
import Koa from 'koa';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type ProblemReporter,
  type RequestRecord,
  type RequestSink,
  beginRequest,
  findRequest,
} from '@vigil/core';
import { Gate, Koa2, express4, sleep, waitFor } from '@vigil/test-utils';
import { ServerDrain } from '../src/drain';

// A deadline no test reaches: a drain that waited for it would fail the test by its timeout.
const NEVER = 3_600_000;
const IDLE_MS = 50;

const until = (check: () => boolean) => waitFor(check, 'the condition', 5000);

interface Drained {
  server: Server;
  port: number;
  drain: ServerDrain;
  /** The server side of each connection, in the order accepted. */
  sockets: Socket[];
  problems: unknown[];
}

const servers: Server[] = [];
afterEach(() => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    server.close();
  }
});

/** `listener` on a server of its own, with a drain attached before it listens. */
async function serve(listener: RequestListener): Promise<Drained> {
  const server = createServer(listener);
  const problems: unknown[] = [];
  const reporter: ProblemReporter = {
    report: (_key, problem) => problems.push(problem),
    count: 0,
  };
  const drain = new ServerDrain(server, reporter);
  const sockets: Socket[] = [];
  server.on('connection', (socket: Socket) => sockets.push(socket));
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, port: (server.address() as AddressInfo).port, drain, sockets, problems };
}

/** Collects the records a sink is told about. */
class Collector implements RequestSink {
  readonly ended: RequestRecord[] = [];
  requestEnded(record: RequestRecord): void {
    this.ended.push(record);
  }
}

/** GET over `agent`, resolved with the status, the Connection header and the body. */
function get(
  port: number,
  path: string,
  agent: Agent,
): Promise<{ status: number; connection: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, connection: res.headers.connection, body }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

/** A raw connection and everything it received. */
async function rawConnection(port: number): Promise<{ socket: Socket; text: () => string }> {
  const socket = connect(port, '127.0.0.1');
  await once(socket, 'connect');
  let text = '';
  socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
  return { socket, text: () => text };
}

const statusLines = (text: string) => text.match(/HTTP\/1\.1 \d{3}/g) ?? [];

/**
 * Three GETs of `/users/:id` over one kept-alive connection to `listener` behind a drain: each answered
 * `{"same":true}` without `Connection: close`, each a record of its own that `sink` saw end, unaborted
 * and with its route; then, idle for longer than idleMs, the connection is closed by the drain's first
 * sweep, within its own call.
 */
async function threeRequestsThenIdleClose(
  listener: RequestListener,
  begun: (RequestRecord | undefined)[],
  sink: Collector,
): Promise<void> {
  const { port, drain, sockets, problems } = await serve(listener);
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  try {
    for (const id of [1, 2, 3]) {
      const res = await get(port, `/users/${id}`, agent);
      expect(res).toMatchObject({ status: 200, body: '{"same":true}' });
      expect(res.connection).not.toBe('close');
    }
    expect(sockets).toHaveLength(1);
    expect(new Set(begun).size).toBe(3);
    await until(() => sink.ended.length === 3);
    expect(sink.ended.map((r) => [r.route, r.aborted])).toEqual([
      ['/users/:id', false],
      ['/users/:id', false],
      ['/users/:id', false],
    ]);
    await sleep(IDLE_MS * 2);
    const drained = drain.drain(NEVER, IDLE_MS);
    expect(sockets[0]!.destroyed).toBe(true);
    await drained;
    expect(problems).toEqual([]);
  } finally {
    agent.destroy();
  }
}

describe.each([
  ['Express 4', express4],
  ['Express 5', express],
])('the drain on %s', (_name, framework) => {
  it('should begin the record the app finds, and close the kept-alive connection once idle', async () => {
    const sink = new Collector();
    const begun: (RequestRecord | undefined)[] = [];
    const app = framework();
    app.use((req, res, next) => {
      // No Vigil middleware began a record: the one found is the drain's.
      begun.push(findRequest(req));
      const record = beginRequest(req, res);
      expect(record).toBe(begun.at(-1));
      record.subscribe(sink);
      next();
    });
    const users = framework.Router();
    users.get('/:id', (req, res) => {
      res.json({ same: findRequest(req) === begun.at(-1) });
    });
    app.use('/users', users);
    await threeRequestsThenIdleClose(app, begun, sink);
  });
});

describe.each([
  ['Koa 2', Koa2],
  ['Koa 3', Koa],
])('the drain on %s', (_name, Framework) => {
  it('should begin the record the app finds, with its context, and close the connection once idle', async () => {
    const sink = new Collector();
    const begun: (RequestRecord | undefined)[] = [];
    const app = new Framework();
    app.use(async (ctx, next) => {
      begun.push(findRequest(ctx.req));
      const record = beginRequest(ctx.req, ctx.res, ctx);
      expect(record).toBe(begun.at(-1));
      expect(record.ctx).toBe(ctx);
      record.subscribe(sink);
      await next();
    });
    const router = new Router();
    router.get('/users/:id', (ctx) => {
      ctx.body = { same: findRequest(ctx.req) === begun.at(-1) };
    });
    app.use(router.routes());
    const handle = app.callback();
    await threeRequestsThenIdleClose((req, res) => void handle(req, res), begun, sink);
  });
});

describe('the drain', () => {
  it('should count pipelined requests answered out of order, and close their connection once idle', async () => {
    const { port, drain, sockets } = await serve((req, res) => {
      // Answered in reverse order; Node still writes the responses in request order.
      const n = Number(req.url?.slice(2));
      setTimeout(() => res.end(`r${n}`), (3 - n) * 20);
    });
    const client = await rawConnection(port);
    client.socket.write([0, 1, 2].map((n) => `GET /p${n} HTTP/1.1\r\nHost: x\r\n\r\n`).join(''));
    await until(() => statusLines(client.text()).length === 3);
    expect(client.text()).not.toMatch(/connection: close/i);
    await sleep(IDLE_MS * 2);
    const drained = drain.drain(NEVER, IDLE_MS);
    expect(sockets[0]!.destroyed).toBe(true);
    await drained;
    client.socket.destroy();
  });

  it('should answer pipelined requests in flight at the drain with Connection: close', async () => {
    const gate = new Gate();
    const { port, drain, sockets } = await serve((req, res) => {
      void gate.pass().then(() => res.end(req.url));
    });
    const client = await rawConnection(port);
    const closed = once(client.socket, 'close');
    client.socket.write([0, 1].map((n) => `GET /p${n} HTTP/1.1\r\nHost: x\r\n\r\n`).join(''));
    await until(() => gate.entered === 2);
    const drained = drain.drain(NEVER, IDLE_MS);
    // Two requests in flight: the connection is not idle, however long the drain waits.
    await sleep(IDLE_MS * 3);
    expect(sockets[0]!.destroyed).toBe(false);
    gate.open();
    await closed;
    await drained;
    // The first response closes the connection; a client sends the second request again elsewhere.
    expect(statusLines(client.text())).toEqual(['HTTP/1.1 200']);
    expect(client.text()).toMatch(/^Connection: close\r$/im);
  });

  it('should not wait for a request whose client left during the drain', async () => {
    const sink = new Collector();
    const gate = new Gate();
    const { port, drain, sockets } = await serve((req, res) => {
      findRequest(req)?.subscribe(sink);
      if (req.url === '/slow') void gate.pass().then(() => res.end('late'));
      else res.end('ok');
    });
    // One kept-alive connection gone idle, one with a request in flight.
    const idle = await rawConnection(port);
    idle.socket.write('GET /fast HTTP/1.1\r\nHost: x\r\n\r\n');
    await until(() => statusLines(idle.text()).length === 1);
    const slow = await rawConnection(port);
    slow.socket.write('GET /slow HTTP/1.1\r\nHost: x\r\n\r\n');
    await until(() => gate.entered === 1);
    await sleep(IDLE_MS * 2);
    const drained = drain.drain(NEVER, IDLE_MS);
    expect(sockets.map((s) => s.destroyed)).toEqual([true, false]);
    slow.socket.destroy();
    await drained;
    // The server counts the connection gone before the socket's 'close', which ends the record.
    await until(() => sink.ended.length === 2);
    expect(sink.ended.map((r) => [r.path, r.aborted])).toEqual([
      ['/fast', false],
      ['/slow', true],
    ]);
    gate.open();
    idle.socket.destroy();
  });

  it('should answer a request arriving on an idle connection when the drain began', async () => {
    const { port, drain, sockets } = await serve((req, res) => res.end(req.url));
    const client = await rawConnection(port);
    client.socket.write('GET /one HTTP/1.1\r\nHost: x\r\n\r\n');
    await until(() => statusLines(client.text()).length === 1);
    await sleep(IDLE_MS * 2);
    // Half a request: read by the server, not yet a request.
    const before = sockets[0]!.bytesRead;
    client.socket.write('GET /two HTTP/1.1\r\n');
    await until(() => sockets[0]!.bytesRead > before);
    const drained = drain.drain(NEVER, IDLE_MS);
    expect(sockets[0]!.destroyed).toBe(false);
    const closed = once(client.socket, 'close');
    client.socket.write('Host: x\r\n\r\n');
    await closed;
    await drained;
    expect(statusLines(client.text())).toEqual(['HTTP/1.1 200', 'HTTP/1.1 200']);
    expect(client.text()).toMatch(/Connection: close\r\n[\s\S]*\/two$/i);
  });
});
