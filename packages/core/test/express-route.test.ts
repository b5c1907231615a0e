// expressRouteTemplate on real Express 4 and Express 5 apps: mount prefixes, sub-apps, errors, unmatched requests.
import { createRequire } from 'node:module';
import express5 from 'express';
import type { Express, NextFunction, Request, Response } from 'express';
import request from 'supertest';
import { describe, expect, it, vi } from 'vitest';
import { UNMATCHED_ROUTE, expressRouteTemplate } from '@vigil/core';

// Express 4 is installed under the npm alias `express4`, which ships no type declarations; the
// Express 5 types cover every call made here, so they stand in for it.
const requireCjs = createRequire(__filename);
const express4 = requireCjs('express4') as typeof express5;

type ExpressFactory = typeof express5;
type Method = 'get' | 'post' | 'head' | 'options' | 'delete';

const FLAVOURS: [string, ExpressFactory][] = [
  ['express4', express4],
  ['express5', express5],
];

interface Hit {
  status: number;
  text: string;
  template: string;
}

interface Probe {
  app: Express;
  hit: (method: Method, path: string, headers?: Record<string, string>) => Promise<Hit>;
}

/**
 * An app whose first middleware records expressRouteTemplate(req) when the response finishes.
 * 'finish' can fire after the client already has the response, so each hit waits for its own record.
 */
function probeApp(express: ExpressFactory): Probe {
  const app = express();
  const seen = new Map<string, string>();
  let nextId = 0;
  app.use((req, res, next) => {
    const id = String(req.headers['x-probe-id']);
    res.on('finish', () => seen.set(id, expressRouteTemplate(req)));
    next();
  });
  return {
    app,
    hit: async (method, path, headers = {}) => {
      const id = String(++nextId);
      const res = await request(app)[method](path).set(headers).set('x-probe-id', id);
      const template = await vi.waitFor(
        () => {
          const t = seen.get(id);
          if (t === undefined) throw new Error(`no 'finish' recorded for ${method} ${path}`);
          return t;
        },
        { timeout: 2_000, interval: 2 },
      );
      return { status: res.status, text: res.text, template };
    },
  };
}

function errorHandler(err: Error, _req: Request, res: Response, _next: NextFunction): void {
  res.status(500).send(`handled: ${err.message}`);
}

const ok = (_req: Request, res: Response): void => {
  res.send('ok');
};

describe.each(FLAVOURS)('expressRouteTemplate with %s', (_name, express) => {
  it('should give the path of a top-level route', async () => {
    const { app, hit } = probeApp(express);
    app.get('/health', ok);
    app.get('/', ok);

    expect(await hit('get', '/health')).toMatchObject({ status: 200, template: '/health' });
    expect(await hit('get', '/')).toMatchObject({ status: 200, template: '/' });
  });

  it('should join the mount paths of nested routers', async () => {
    const { app, hit } = probeApp(express);
    const api = express.Router();
    const users = express.Router();
    users.get('/:id', ok);
    api.use('/users', users);
    app.use('/api', api);

    expect(await hit('get', '/api/users/42')).toMatchObject({
      status: 200,
      template: '/api/users/:id',
    });
  });

  it.each([false, true])(
    'should keep the parameters of a parameterised mount path (mergeParams: %s)',
    async (mergeParams) => {
      const { app, hit } = probeApp(express);
      const posts = express.Router({ mergeParams });
      posts.get('/:postId', (req, res) => {
        const params = req.params as Record<string, string | undefined>;
        res.send(`${params.uid ?? '-'}/${params.postId ?? '-'}`);
      });
      app.use('/api/users/:uid/posts', posts);

      const result = await hit('get', '/api/users/7/posts/9');

      expect(result).toMatchObject({ status: 200, template: '/api/users/:uid/posts/:postId' });
      expect(result.text).toBe(mergeParams ? '7/9' : '-/9');
    },
  );

  it.each(['/api/users', '/api/users/'])(
    'should give the mount path for a router root route (%s)',
    async (path) => {
      const { app, hit } = probeApp(express);
      const users = express.Router();
      users.get('/', ok);
      app.use('/api/users', users);

      expect(await hit('get', path)).toMatchObject({ status: 200, template: '/api/users' });
    },
  );

  it.each(['/a', '/b'])('should join array routes with a comma when %s matches', async (path) => {
    const { app, hit } = probeApp(express);
    app.get(['/a', '/b'], ok);

    expect(await hit('get', path)).toMatchObject({ status: 200, template: '/a,/b' });
  });

  it('should render a RegExp route as String(regexp)', async () => {
    const { app, hit } = probeApp(express);
    const pattern = /^\/re\/\d+$/;
    app.get(pattern, ok);

    expect(await hit('get', '/re/123')).toMatchObject({ status: 200, template: String(pattern) });
    expect(String(pattern)).toBe('/^\\/re\\/\\d+$/');
  });

  it.each(['get', 'post'] as const)(
    'should give the path of an app.route() chain for %s',
    async (method) => {
      const { app, hit } = probeApp(express);
      app.route('/chain/:x').get(ok).post(ok);

      expect(await hit(method, '/chain/1')).toMatchObject({
        status: 200,
        template: '/chain/:x',
      });
    },
  );

  it('should prefix sub-app routes with the sub-app mount paths', async () => {
    const { app, hit } = probeApp(express);
    const admin = express();
    const deep = express();
    admin.get('/dash/:d', ok);
    deep.get('/x/:y', ok);
    admin.use('/deep', deep);
    app.use('/admin/:tenant', admin);

    expect(await hit('get', '/admin/acme/dash/3')).toMatchObject({
      status: 200,
      template: '/admin/:tenant/dash/:d',
    });
    expect(await hit('get', '/admin/acme/deep/x/1')).toMatchObject({
      status: 200,
      template: '/admin/:tenant/deep/x/:y',
    });
  });

  it('should give each mount of a router mounted at two paths its own prefix', async () => {
    const { app, hit } = probeApp(express);
    const items = express.Router();
    items.get('/items/:id', ok);
    app.use('/v1', items);
    app.use('/v2', items);

    // Alternate so that nothing learnt from one request leaks into the next.
    expect(await hit('get', '/v2/items/1')).toMatchObject({ template: '/v2/items/:id' });
    expect(await hit('get', '/v1/items/1')).toMatchObject({ template: '/v1/items/:id' });
    expect(await hit('get', '/v2/items/2')).toMatchObject({ template: '/v2/items/:id' });
  });

  it('should tell the mounts of a router apart when the request path differs in letter case', async () => {
    // Express matches paths case-insensitively by default, so /V2/... is served by the /v2 mount.
    const { app, hit } = probeApp(express);
    const items = express.Router();
    items.get('/items/:id', ok);
    app.use('/v1', items);
    app.use('/v2', items);

    expect(await hit('get', '/V2/items/1')).toMatchObject({
      status: 200,
      template: '/v2/items/:id',
    });
  });

  it('should not confuse a mount path with a longer mount path it prefixes (/v1 and /v10)', async () => {
    const { app, hit } = probeApp(express);
    const items = express.Router();
    items.get('/items/:id', ok);
    app.use('/v1', items);
    app.use('/v10', items);

    expect(await hit('get', '/v1/items/1')).toMatchObject({ template: '/v1/items/:id' });
    expect(await hit('get', '/v10/items/1')).toMatchObject({ template: '/v10/items/:id' });
  });

  it('should give each mount of a router mounted at three paths its own prefix', async () => {
    const { app, hit } = probeApp(express);
    const items = express.Router();
    items.get('/items/:id', ok);
    app.use('/v1', items);
    app.use('/v2', items);
    app.use('/v3', items);

    expect(await hit('get', '/v1/items/1')).toMatchObject({ template: '/v1/items/:id' });
    expect(await hit('get', '/v2/items/1')).toMatchObject({ template: '/v2/items/:id' });
    expect(await hit('get', '/v3/items/1')).toMatchObject({ template: '/v3/items/:id' });
  });

  it('should give each app its own prefix for a router shared by two apps', async () => {
    const first = probeApp(express);
    const second = probeApp(express);
    const shared = express.Router();
    shared.get('/:id', ok);
    first.app.use('/first', shared);
    second.app.use('/second', shared);

    expect(await first.hit('get', '/first/1')).toMatchObject({ template: '/first/:id' });
    expect(await second.hit('get', '/second/1')).toMatchObject({ template: '/second/:id' });
  });

  it('should give the full template when a nested router passes an error to next(err)', async () => {
    const { app, hit } = probeApp(express);
    const api = express.Router();
    const users = express.Router();
    users.get('/:id', (_req, _res, next) => next(new Error('boom')));
    api.use('/users', users);
    app.use('/api', api);
    app.use(errorHandler);

    expect(await hit('get', '/api/users/1')).toMatchObject({
      status: 500,
      text: 'handled: boom',
      template: '/api/users/:id',
    });
  });

  it('should give the full template when a nested route handler throws synchronously', async () => {
    const { app, hit } = probeApp(express);
    const users = express.Router();
    users.get('/:id', () => {
      throw new Error('sync boom');
    });
    app.use('/api/users', users);
    app.use(errorHandler);

    expect(await hit('get', '/api/users/1')).toMatchObject({
      status: 500,
      text: 'handled: sync boom',
      template: '/api/users/:id',
    });
  });

  it('should give the right prefix when a router mounted twice errors under its second mount', async () => {
    const { app, hit } = probeApp(express);
    const items = express.Router();
    items.get('/items/:id', (_req, _res, next) => next(new Error('boom')));
    app.use('/v1', items);
    app.use('/v2', items);
    app.use(errorHandler);

    expect(await hit('get', '/v2/items/1')).toMatchObject({
      status: 500,
      template: '/v2/items/:id',
    });
  });

  it('should fall back to the route path alone when an error leaves a sub-app (documented limit)', async () => {
    // The request has left the sub-app when the parent's error handler answers, and the parent's
    // stack does not expose mounted apps, so only the route's own path is known (see resolve()).
    const { app, hit } = probeApp(express);
    const admin = express();
    admin.get('/dash/:d', (_req, _res, next) => next(new Error('boom')));
    app.use('/admin/:tenant', admin);
    app.use(errorHandler);

    const result = await hit('get', '/admin/acme/dash/3');

    expect(result.status).toBe(500);
    expect(result.template).toBe('/dash/:d');
  });

  it('should give UNMATCHED_ROUTE for a 404', async () => {
    const { app, hit } = probeApp(express);
    const api = express.Router();
    api.get('/users/:id', ok);
    app.use('/api', api);

    expect(UNMATCHED_ROUTE).toBe('<unmatched>');
    expect(await hit('get', '/nowhere/at/all')).toMatchObject({
      status: 404,
      template: UNMATCHED_ROUTE,
    });
    expect(await hit('get', '/api/nothing')).toMatchObject({
      status: 404,
      template: UNMATCHED_ROUTE,
    });
  });

  it('should give UNMATCHED_ROUTE for static-file style middleware', async () => {
    const { app, hit } = probeApp(express);
    app.use('/static', (_req, res) => {
      res.type('text/css').send('body {}');
    });

    expect(await hit('get', '/static/css/site.css')).toMatchObject({
      status: 200,
      template: UNMATCHED_ROUTE,
    });
  });

  it('should give UNMATCHED_ROUTE for an OPTIONS preflight answered before routing', async () => {
    const { app, hit } = probeApp(express);
    app.use((req, res, next) => {
      if (req.method !== 'OPTIONS') return next();
      res.set('access-control-allow-origin', '*').sendStatus(204);
    });
    app.get('/api/items/:id', ok);

    const result = await hit('options', '/api/items/1', {
      origin: 'https://example.test',
      'access-control-request-method': 'GET',
    });

    expect(result).toMatchObject({ status: 204, template: UNMATCHED_ROUTE });
  });

  it("should give UNMATCHED_ROUTE for Express's own OPTIONS answer", async () => {
    const { app, hit } = probeApp(express);
    app.get('/api/items/:id', ok);

    expect(await hit('options', '/api/items/1')).toMatchObject({
      status: 200,
      template: UNMATCHED_ROUTE,
    });
  });

  it('should give the GET template for a HEAD request on a GET route', async () => {
    const { app, hit } = probeApp(express);
    const items = express.Router();
    items.get('/:id', ok);
    app.use('/items', items);

    expect(await hit('head', '/items/1')).toMatchObject({ status: 200, template: '/items/:id' });
  });
});

describe('expressRouteTemplate with Express 5 only', () => {
  it('should give the full template when an async handler in a nested router rejects', async () => {
    const { app, hit } = probeApp(express5);
    const api = express5.Router();
    const users = express5.Router();
    users.get('/:id', async () => {
      await Promise.resolve();
      throw new Error('async boom');
    });
    api.use('/users', users);
    app.use('/api', api);
    app.use(errorHandler);

    expect(await hit('get', '/api/users/1')).toMatchObject({
      status: 500,
      text: 'handled: async boom',
      template: '/api/users/:id',
    });
  });

  it.each([
    ['/files/*splat', '/files/a/b/c.txt'],
    ['/opt{/:id}', '/opt'],
    ['/opt{/:id}', '/opt/3'],
  ])('should render the Express 5 path %s as given (request %s)', async (path, url) => {
    const { app, hit } = probeApp(express5);
    const r = express5.Router();
    r.get(path, ok);
    app.use('/m', r);
    app.get(path, ok);

    expect(await hit('get', url)).toMatchObject({ status: 200, template: path });
    expect(await hit('get', `/m${url}`)).toMatchObject({ status: 200, template: `/m${path}` });
  });

  it('should render an Express 5 wildcard mount path as given', async () => {
    const { app, hit } = probeApp(express5);
    const r = express5.Router();
    r.get('/:id', ok);
    app.use('/v{/:version}', r);

    expect(await hit('get', '/v/2/5')).toMatchObject({
      status: 200,
      template: '/v{/:version}/:id',
    });
  });
});

describe('expressRouteTemplate with Express 4 only', () => {
  it.each([
    ['/files/*', '/files/a/b/c.txt'],
    ['/opt/:id?', '/opt'],
    ['/opt/:id?', '/opt/3'],
    ['/x/:id(\\d+)', '/x/12'],
  ])('should render the Express 4 path %s as given (request %s)', async (path, url) => {
    const { app, hit } = probeApp(express4);
    app.get(path, ok);

    expect(await hit('get', url)).toMatchObject({ status: 200, template: path });
  });

  it.each([
    ['/opt/:v', '/opt/2', '/opt/:v/:id'],
    ['/opt/:v?', '/opt/2', '/opt/:v?/:id'],
    ['/a.b/c', '/a.b/c', '/a.b/c/:id'],
  ])('should read back the Express 4 mount path %s', async (mount, base, template) => {
    const { app, hit } = probeApp(express4);
    const r = express4.Router();
    r.get('/:id', ok);
    app.use(mount, r);

    expect(await hit('get', `${base}/5`)).toMatchObject({ status: 200, template });
  });
});

describe('expressRouteTemplate on values that are not Express requests', () => {
  const router: { stack: unknown[] } = { stack: [] };
  const cyclic = Object.assign(() => undefined, router);
  router.stack.push({ handle: cyclic }, { handle: cyclic });

  it.each([
    ['{}', {}, UNMATCHED_ROUTE],
    ['{ route: 5 }', { route: 5 }, UNMATCHED_ROUTE],
    ['{ route: null }', { route: null }, UNMATCHED_ROUTE],
    ['{ route: "/x" }', { route: '/x' }, UNMATCHED_ROUTE],
  ])('should give UNMATCHED_ROUTE for %s', (_label, req, expected) => {
    expect(expressRouteTemplate(req)).toBe(expected);
  });

  it.each([
    ['{ route: { path: undefined }, app: {} }', { route: { path: undefined }, app: {} }],
    [
      '{ route: {}, app: { router: { stack: "x" } } }',
      { route: {}, app: { router: { stack: 'x' } } },
    ],
    ['{ route: { path: 7 }, app: 7 }', { route: { path: 7 }, app: 7 }],
    ['a cyclic router stack', { route: { path: '/c' }, app: { router } }],
    [
      'an app whose router getter throws',
      {
        route: { path: '/t' },
        app: {
          get _router(): never {
            throw new Error('getter');
          },
        },
      },
    ],
    [
      'a sub-app with an odd mountpath',
      { route: { path: '/p' }, app: { parent: {}, mountpath: ['/m', /re/, 5] } },
    ],
  ])('should not throw and give a bounded string for %s', (_label, req) => {
    let template: unknown;
    expect(() => (template = expressRouteTemplate(req))).not.toThrow();
    expect(typeof template).toBe('string');
    expect((template as string).length).toBeLessThan(200);
  });

  it('should fall back to the route path when reading the app throws', () => {
    const req = {
      route: { path: '/fallback/:id' },
      app: {
        get _router(): never {
          throw new Error('getter');
        },
      },
    };

    expect(expressRouteTemplate(req)).toBe('/fallback/:id');
  });
});
