// markOperational / isOperational: the mark other Vigil middleware reads to leave operational requests
// alone, told to the request's lifecycle subscribers.
import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import express from 'express';
import request from 'supertest';
import { afterAll, describe, expect, it } from 'vitest';
import { beginRequest, isOperational, isOperationalPath, markOperational } from '@vigil/core';

describe('markOperational / isOperational', () => {
  const socket = new Socket();
  afterAll(() => {
    socket.destroy();
  });

  it('should be false for a request nobody marked', () => {
    expect(isOperational(new IncomingMessage(socket))).toBe(false);
  });

  it('should be true once the request is marked, and only for that request', () => {
    const marked = new IncomingMessage(socket);
    const other = new IncomingMessage(socket);

    markOperational(marked);

    expect(isOperational(marked)).toBe(true);
    expect(isOperational(other)).toBe(false);
  });

  it('should agree with another copy of the package through the registered symbol', () => {
    const req = new IncomingMessage(socket);
    (req as unknown as Record<symbol, boolean>)[Symbol.for('vigil.operational')] = true;

    expect(isOperational(req)).toBe(true);
  });

  /** A request with its response and record, on `on`, subscribed by a sink that lists claims. */
  function tracked(on: Socket, calls: IncomingMessage[]): IncomingMessage {
    const req = new IncomingMessage(on);
    beginRequest(req, new ServerResponse(req)).subscribe({
      requestEnded: () => undefined,
      requestClaimed: (record) => calls.push(record.req),
    });
    return req;
  }

  it("should tell the request's subscribers, with the request", () => {
    const hooked = new Socket();
    const calls: IncomingMessage[] = [];
    const req = tracked(hooked, calls);

    expect(calls).toEqual([]);
    markOperational(req);

    expect(calls).toEqual([req]);
    expect(isOperational(req)).toBe(true);
    hooked.destroy();
  });

  it('should tell the subscribers of every request marked on one socket (keep-alive)', () => {
    const hooked = new Socket();
    const calls: IncomingMessage[] = [];
    const first = tracked(hooked, calls);
    const second = tracked(hooked, calls);

    markOperational(first);
    markOperational(second);

    expect(calls).toEqual([first, second]);
    hooked.destroy();
  });

  it('should tell a request once, however often it is marked', () => {
    const hooked = new Socket();
    const calls: IncomingMessage[] = [];
    const req = tracked(hooked, calls);

    markOperational(req);
    markOperational(req);

    expect(calls).toEqual([req]);
    hooked.destroy();
  });

  it('should not tell the subscribers of another request', () => {
    const other = new Socket();
    const calls: IncomingMessage[] = [];
    tracked(other, calls);

    markOperational(tracked(socket, []));

    expect(calls).toEqual([]);
    other.destroy();
  });

  it('should mark the request even when a subscriber throws', () => {
    const hooked = new Socket();
    const req = new IncomingMessage(hooked);
    beginRequest(req, new ServerResponse(req)).subscribe({
      requestEnded: () => undefined,
      requestClaimed: () => {
        throw new Error('sink broke');
      },
    });

    expect(() => markOperational(req)).not.toThrow();
    expect(isOperational(req)).toBe(true);
    hooked.destroy();
  });

  it('should let later middleware of a real Express app see the mark', async () => {
    const app = express();
    const seen: [string, boolean][] = [];
    app.get('/metrics', (req, _res, next) => {
      markOperational(req);
      next();
    });
    app.use((req, res) => {
      seen.push([req.path, isOperational(req)]);
      res.send('ok');
    });

    await request(app).get('/metrics').expect(200);
    await request(app).get('/api/items').expect(200);

    expect(seen).toEqual([
      ['/metrics', true],
      ['/api/items', false],
    ]);
  });
});

describe('isOperationalPath: the live page and the overview', () => {
  it.each([
    '/_vigil',
    '/_vigil/',
    '/_vigil/events',
    '/_vigil/snapshot',
    '/_vigil/assets/uplot.js',
    '/_vigil/trace/0af7651916cd43dd8448eb211c80319c',
    '/observability',
    '/Observability/',
  ])('should treat %s as operational', (path) => {
    expect(isOperationalPath(path)).toBe(true);
  });

  it.each(['/_vigil/../api/login', '/_vigilant', '/observability/x', '/api/_vigil'])(
    'should not treat %s as operational',
    (path) => {
      expect(isOperationalPath(path)).toBe(false);
    },
  );
});
