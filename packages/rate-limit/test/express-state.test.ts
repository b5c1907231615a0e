// req.rateLimit on Express: kept in the request's record and read through an accessor on the request
// prototype, it must read as the own property express-rate-limit sets did: in the handler, in a mounted
// sub-app (which swaps in a prototype of its own), and overridden by an assignment of the app's.
import express from 'express';
import { afterAll, describe, expect, it } from 'vitest';
import { expressRateLimit } from '@vigil/rate-limit';
import { closeServers, express4, rawRequest, startServer } from '@vigil/test-utils';

afterAll(closeServers);

describe.each([
  ['Express 5', express],
  ['Express 4', express4],
])('req.rateLimit on %s', (_name, factory) => {
  it('should be readable in the handler, in a sub-app and after the app assigns its own', async () => {
    const seen: Record<string, unknown> = {};
    const app = factory();
    app.use(expressRateLimit({ policies: [{ name: 'api', limit: 10, windowMs: 60_000 }] }));
    app.get('/plain', (req, res) => {
      seen.plain = (req as { rateLimit?: unknown }).rateLimit;
      res.end();
    });
    app.get('/assigned', (req, res) => {
      (req as { rateLimit?: unknown }).rateLimit = 'mine';
      seen.assigned = (req as { rateLimit?: unknown }).rateLimit;
      seen.own = Object.prototype.hasOwnProperty.call(req, 'rateLimit');
      res.end();
    });
    const sub = factory();
    sub.get('/state', (req, res) => {
      seen.sub = (req as { rateLimit?: unknown }).rateLimit;
      res.end();
    });
    app.use('/sub', sub);
    const { origin } = await startServer(app);

    await rawRequest(origin, '/plain');
    await rawRequest(origin, '/sub/state');
    await rawRequest(origin, '/assigned');
    expect(seen.plain).toMatchObject({ limit: 10, used: 1, remaining: 9, key: '127.0.0.1' });
    expect(seen.sub).toMatchObject({ limit: 10, used: 2, remaining: 8 });
    expect(seen.assigned).toBe('mine');
    expect(seen.own).toBe(true);
  });

  it('should be undefined on a request no policy counted', async () => {
    let seen: unknown = 'unset';
    const app = factory();
    app.use(
      expressRateLimit({
        policies: [{ name: 'api', limit: 10, windowMs: 60_000, routes: ['/api'] }],
      }),
    );
    app.get('/other', (req, res) => {
      seen = (req as { rateLimit?: unknown }).rateLimit;
      res.end();
    });
    const { origin } = await startServer(app);
    await rawRequest(origin, '/other');
    expect(seen).toBeUndefined();
  });
});
