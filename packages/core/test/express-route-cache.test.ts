// expressRouteTemplate caches each resolved template per (app, route): later requests do no router walk.
import express from 'express';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { expressRouteTemplate } from '@vigil/core';

describe('expressRouteTemplate cache', () => {
  it('should serve a resolved template from the cache, without walking the router again', async () => {
    const app = express();
    const seen: string[] = [];
    app.use((req, res, next) => {
      res.on('finish', () => seen.push(expressRouteTemplate(req)));
      next();
    });
    const users = express.Router();
    users.get('/:id', (_req, res) => {
      res.send('ok');
    });
    app.use('/api/users', users);

    await request(app).get('/api/users/1').expect(200);
    // Hide the mount from any new walk: a resolution that walked the stack again would no longer
    // find the route's chain and would fall back to the route's own path ("/:id").
    const stack = (app as unknown as { router: { stack: { handle: unknown }[] } }).router.stack;
    const mount = stack.find((layer) => layer.handle === users)!;
    const original = mount.handle;
    mount.handle = () => undefined;
    try {
      expect(expressRouteTemplate({ app, route: users.stack[0]!.route })).toBe('/api/users/:id');
    } finally {
      mount.handle = original;
    }
    expect(seen[0]).toBe('/api/users/:id');
  });
});
