// markOperational / isOperational: the flag other Vigil middleware reads to leave operational requests alone.
import { IncomingMessage } from 'node:http';
import { Socket } from 'node:net';
import express from 'express';
import request from 'supertest';
import { afterAll, describe, expect, it } from 'vitest';
import { isOperational, markOperational, onOperational } from '@vigil/core';

describe('markOperational / isOperational / onOperational', () => {
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

  it('should run the hook registered on the request socket, with the request', () => {
    const hooked = new Socket();
    const req = new IncomingMessage(hooked);
    const calls: IncomingMessage[] = [];
    onOperational(hooked, (claimed) => calls.push(claimed));

    expect(calls).toEqual([]);
    markOperational(req);

    expect(calls).toEqual([req]);
    expect(isOperational(req)).toBe(true);
    hooked.destroy();
  });

  it('should run the hook for every request marked on that socket (keep-alive)', () => {
    const hooked = new Socket();
    const first = new IncomingMessage(hooked);
    const second = new IncomingMessage(hooked);
    const calls: IncomingMessage[] = [];
    onOperational(hooked, (claimed) => calls.push(claimed));

    markOperational(first);
    markOperational(second);

    expect(calls).toEqual([first, second]);
    hooked.destroy();
  });

  it('should keep only the last hook registered on a socket', () => {
    const hooked = new Socket();
    const calls: string[] = [];
    onOperational(hooked, () => calls.push('first'));
    onOperational(hooked, () => calls.push('second'));

    markOperational(new IncomingMessage(hooked));

    expect(calls).toEqual(['second']);
    hooked.destroy();
  });

  it('should not run the hook of another socket', () => {
    const other = new Socket();
    const calls: string[] = [];
    onOperational(other, () => calls.push('other'));

    markOperational(new IncomingMessage(socket));

    expect(calls).toEqual([]);
    other.destroy();
  });

  it('should mark the request even when the hook throws', () => {
    const hooked = new Socket();
    const req = new IncomingMessage(hooked);
    onOperational(hooked, () => {
      throw new Error('hook broke');
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
