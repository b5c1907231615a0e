// rawOf(): an Express-style operational endpoint on the operational port, answered or passed on as
// @vigil/core's request lifecycle tells: true once the request ended (finished, or its client left),
// false when it called next(), rejected when it called next(err).
import { once } from 'node:events';
import { type Server, createServer } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { ExpressMiddleware } from '@vigil/core';
import { rawOf } from '../src/setup';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

const servers: Server[] = [];
afterEach(() => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    server.close();
  }
});

/** Serves `mw` through rawOf(); each request's outcome is pushed once settled. */
async function serveRaw(mw: ExpressMiddleware) {
  const outcomes: (boolean | string)[] = [];
  const handler = rawOf(mw);
  const server = createServer((req, res) => {
    void Promise.resolve(handler(req, res)).then(
      (answered) => {
        outcomes.push(answered);
        if (!answered) res.end('passed');
      },
      (err: unknown) => {
        outcomes.push(`rejected: ${(err as Error).message}`);
        res.end('failed');
      },
    );
  });
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { port: (server.address() as AddressInfo).port, outcomes };
}

/** GET `path`, resolved with the body. */
async function send(port: number, path: string): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  return res.text();
}

describe('rawOf', () => {
  it('should say answered once the response finished, and not when the middleware passed', async () => {
    const { port, outcomes } = await serveRaw((req, res, next) => {
      if (req.url !== '/mine') return next();
      setTimeout(() => res.end('answered'), 20);
    });
    expect(await send(port, '/mine')).toBe('answered');
    expect(await send(port, '/other')).toBe('passed');
    expect(outcomes).toEqual([true, false]);
  });

  it('should reject with the error the middleware passed on', async () => {
    const { port, outcomes } = await serveRaw((_req, _res, next) => next(new Error('boom')));
    expect(await send(port, '/x')).toBe('failed');
    expect(outcomes).toEqual(['rejected: boom']);
  });

  it('should say answered when the client left before the answer', async () => {
    let entered = 0;
    const { port, outcomes } = await serveRaw(() => {
      // Never answers.
      entered++;
    });
    const socket = connect(port, '127.0.0.1');
    await once(socket, 'connect');
    socket.write('GET /slow HTTP/1.1\r\nHost: x\r\n\r\n');
    while (entered === 0) await sleep(5);
    socket.destroy();
    while (outcomes.length === 0) await sleep(5);
    expect(outcomes).toEqual([true]);
  });
});
