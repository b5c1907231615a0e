// The shared helpers themselves: a server on an ephemeral port answers the raw client (JSON bodies,
// request-targets, source addresses and agents included), and a missing binary is reported with the
// Debian package that provides it.
import { Agent, type IncomingMessage, type ServerResponse } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import {
  abortedRequest,
  closeServers,
  findBinary,
  rawRequest,
  startServer,
  waitFor,
} from '@vigil/test-utils';

afterEach(() => closeServers());

describe('@vigil/test-utils', () => {
  it('should serve on an ephemeral loopback port and read the raw response', async () => {
    const { port, origin } = await startServer((req, res) => {
      res.setHeader('x-seen', req.url ?? '');
      res.end('ok');
    });
    expect(port).toBeGreaterThan(0);
    const response = await rawRequest(origin, '/a//b');
    expect(response.status).toBe(200);
    expect(response.headers['x-seen']).toBe('/a//b');
    expect(response.body).toBe('ok');
  });

  it('should find an installed binary, and name the Debian package of a missing one', () => {
    expect(findBinary('sh', 'dash')).toMatch(/\/sh$/);
    if (process.env.CI === 'true') {
      expect(() => findBinary('vigil-no-such-binary', 'vigil-nothing')).toThrow(
        /install the Debian package "vigil-nothing"/,
      );
    } else {
      expect(findBinary('vigil-no-such-binary', 'vigil-nothing')).toBeUndefined();
    }
  });
});

describe('rawRequest() and abortedRequest()', () => {
  const echo = (seen: string[]) => (req: IncomingMessage, res: ServerResponse) => {
    const parts: Buffer[] = [];
    req.on('data', (chunk: Buffer) => parts.push(chunk));
    req.on('end', () => {
      seen.push(`${req.method} ${req.url} ${req.socket.remoteAddress}`);
      res.setHeader('content-type', 'application/json');
      res.end(
        JSON.stringify({
          method: req.method,
          url: req.url,
          type: req.headers['content-type'],
          length: req.headers['content-length'],
          body: Buffer.concat(parts).toString('utf8'),
        }),
      );
    });
  };

  it('should send a JSON body as a POST with its content type and length', async () => {
    const { origin } = await startServer(echo([]));
    const reply = await rawRequest(origin, '/json', { json: { a: 'é' } });
    expect(JSON.parse(reply.body)).toEqual({
      method: 'POST',
      url: '/json',
      type: 'application/json',
      length: String(Buffer.byteLength('{"a":"é"}')),
      body: '{"a":"é"}',
    });
    const put = await rawRequest(origin, '/json', {
      method: 'PUT',
      json: [1],
      headers: { 'content-type': 'application/vnd.test+json' },
    });
    expect(JSON.parse(put.body)).toMatchObject({
      method: 'PUT',
      type: 'application/vnd.test+json',
      body: '[1]',
    });
  });

  it('should send a request-target of its own, from a source address, through an agent', async () => {
    const seen: string[] = [];
    const { origin, port } = await startServer(echo(seen));
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const target = `http://127.0.0.1:${port}/absolute?x=1`;
      const reply = await rawRequest(origin, '/ignored', { target, agent });
      expect(JSON.parse(reply.body)).toMatchObject({ url: target });
      await rawRequest(origin, '/from', { localAddress: '127.0.0.2' });
      expect(seen).toEqual([`GET ${target} 127.0.0.1`, 'GET /from 127.0.0.2']);
    } finally {
      agent.destroy();
    }
  });

  it('should send a JSON body whole, then leave before the answer', async () => {
    const bodies: string[] = [];
    const { origin, received } = await startServer((req) => {
      const parts: Buffer[] = [];
      req.on('data', (chunk: Buffer) => parts.push(chunk));
      req.on('end', () => bodies.push(`${req.method} ${Buffer.concat(parts).toString('utf8')}`));
    });
    const result = await abortedRequest(origin, '/never', {
      json: { held: true },
      when: received(1).then(() => waitFor(() => bodies.length === 1, 'the body')),
    });
    expect(result).toEqual({ sawHeaders: false, bytesReceived: 0 });
    expect(bodies).toEqual(['POST {"held":true}']);
  });
});
