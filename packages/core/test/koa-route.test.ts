// koaRouteTemplate on real Koa 3 and Koa 2 apps routed by @koa/router: prefixes, nesting, unmatched requests.
import { createRequire } from 'node:module';
import Koa from 'koa';
import Router from '@koa/router';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { UNMATCHED_ROUTE, koaRouteTemplate } from '@vigil/core';

// Koa 2 is installed under the npm alias `koa2`, which ships no type declarations; the Koa 3 types
// cover every call made here.
const requireCjs = createRequire(__filename);
const koa2 = requireCjs('koa2') as typeof Koa;

const FLAVOURS: [string, typeof Koa][] = [
  ['koa3', Koa],
  ['koa2', koa2],
];

type Method = 'get' | 'post' | 'head' | 'options';

interface Probe {
  app: Koa;
  errors: unknown[];
  hit: (method: Method, path: string) => Promise<{ status: number; template: string }>;
}

/** An app whose first middleware records koaRouteTemplate(ctx) once everything downstream is done. */
function probeApp(KoaApp: typeof Koa): Probe {
  const app = new KoaApp();
  const seen: string[] = [];
  const errors: unknown[] = [];
  // Koa reports errors through 'error'; listening keeps them out of the test output.
  app.on('error', (err: unknown) => errors.push(err));
  app.use(async function recordTemplate(ctx, next) {
    try {
      await next();
    } finally {
      // A typed Koa context is accepted as it is, with no cast.
      seen.push(koaRouteTemplate(ctx));
    }
  });
  return {
    app,
    errors,
    hit: async (method, path) => {
      const before = seen.length;
      const res = await request(app.callback())[method](path);
      // Koa answers only after the middleware chain settles, so the record is already there.
      expect(seen).toHaveLength(before + 1);
      return { status: res.status, template: seen[before] as string };
    },
  };
}

const ok = (ctx: Koa.Context): void => {
  ctx.body = 'ok';
};

describe.each(FLAVOURS)('koaRouteTemplate with %s', (_name, KoaApp) => {
  it('should give the template of a route', async () => {
    const { app, hit } = probeApp(KoaApp);
    const router = new Router();
    router.get('/users/:id', ok);
    router.post('/users', ok);
    app.use(router.routes());

    expect(await hit('get', '/users/42')).toEqual({ status: 200, template: '/users/:id' });
    expect(await hit('post', '/users')).toEqual({ status: 200, template: '/users' });
  });

  it('should include the router prefix', async () => {
    const { app, hit } = probeApp(KoaApp);
    const router = new Router({ prefix: '/api' });
    router.get('/users/:id', ok);
    app.use(router.routes());

    expect(await hit('get', '/api/users/42')).toEqual({ status: 200, template: '/api/users/:id' });
  });

  it('should include a prefix set with router.prefix()', async () => {
    const { app, hit } = probeApp(KoaApp);
    const router = new Router();
    router.get('/items/:id', ok);
    router.prefix('/v2');
    app.use(router.routes());

    expect(await hit('get', '/v2/items/1')).toEqual({ status: 200, template: '/v2/items/:id' });
  });

  it.each(['/api', '/api/'])(
    'should give the prefix for a root route under a prefix (%s)',
    async (path) => {
      const { app, hit } = probeApp(KoaApp);
      const router = new Router({ prefix: '/api' });
      router.get('/', ok);
      app.use(router.routes());

      expect(await hit('get', path)).toEqual({ status: 200, template: '/api' });
    },
  );

  it('should give the route template when router-level middleware passes the request on', async () => {
    const { app, hit } = probeApp(KoaApp);
    const router = new Router({ prefix: '/api' });
    router.use(async (ctx, next) => {
      ctx.set('x-seen', '1');
      await next();
    });
    router.get('/users/:id', ok);
    app.use(router.routes());

    expect(await hit('get', '/api/users/1')).toEqual({ status: 200, template: '/api/users/:id' });
  });

  it.each(['', '/api'])(
    "should not expose @koa/router's internal middleware pattern when router-level middleware answers (prefix '%s')",
    async (prefix) => {
      const { app, hit } = probeApp(KoaApp);
      const router = new Router(prefix ? { prefix } : {});
      router.use(async (ctx, next) => {
        if (ctx.path.endsWith('/denied')) {
          ctx.status = 401;
          return;
        }
        await next();
      });
      router.get('/users/:id', ok);
      app.use(router.routes());

      const result = await hit('get', `${prefix}/users/denied`);

      expect(result.status).toBe(401);
      // Either answer is a route label; what @koa/router keeps for a path-less use() layer is not.
      expect([UNMATCHED_ROUTE, `${prefix}/users/:id`]).toContain(result.template);
    },
  );

  it('should include the mount path of a nested router and the parent prefix', async () => {
    const { app, hit } = probeApp(KoaApp);
    const parent = new Router({ prefix: '/api' });
    const child = new Router();
    child.get('/:id', ok);
    parent.use('/nested', child.routes());
    app.use(parent.routes());

    expect(await hit('get', '/api/nested/7')).toEqual({
      status: 200,
      template: '/api/nested/:id',
    });
  });

  it('should include a parameterised mount path of a nested router', async () => {
    const { app, hit } = probeApp(KoaApp);
    const parent = new Router();
    const posts = new Router();
    posts.get('/posts/:postId', ok);
    parent.use('/users/:uid', posts.routes());
    app.use(parent.routes());

    expect(await hit('get', '/users/1/posts/2')).toEqual({
      status: 200,
      template: '/users/:uid/posts/:postId',
    });
  });

  it('should give the GET template for a HEAD request', async () => {
    const { app, hit } = probeApp(KoaApp);
    const router = new Router();
    router.get('/users/:id', ok);
    app.use(router.routes());

    expect(await hit('head', '/users/1')).toEqual({ status: 200, template: '/users/:id' });
  });

  it('should give the template when the route handler throws', async () => {
    const { app, errors, hit } = probeApp(KoaApp);
    const router = new Router();
    router.get('/fail/:id', () => {
      throw new Error('boom');
    });
    app.use(router.routes());

    expect(await hit('get', '/fail/1')).toEqual({ status: 500, template: '/fail/:id' });
    expect(errors).toHaveLength(1);
  });

  it('should give UNMATCHED_ROUTE for a 404', async () => {
    const { app, hit } = probeApp(KoaApp);
    const router = new Router({ prefix: '/api' });
    router.get('/users/:id', ok);
    app.use(router.routes());

    expect(await hit('get', '/nowhere')).toEqual({ status: 404, template: UNMATCHED_ROUTE });
    expect(await hit('get', '/api/nothing/here')).toEqual({
      status: 404,
      template: UNMATCHED_ROUTE,
    });
  });

  it('should give UNMATCHED_ROUTE for an OPTIONS request answered by allowedMethods()', async () => {
    const { app, hit } = probeApp(KoaApp);
    const router = new Router();
    router.get('/users/:id', ok);
    app.use(router.routes());
    app.use(router.allowedMethods());

    expect(await hit('options', '/users/1')).toEqual({ status: 200, template: UNMATCHED_ROUTE });
  });

  it('should give UNMATCHED_ROUTE for a method the route does not take (405)', async () => {
    const { app, hit } = probeApp(KoaApp);
    const router = new Router();
    router.get('/users/:id', ok);
    app.use(router.routes());
    app.use(router.allowedMethods());

    expect(await hit('post', '/users/1')).toEqual({ status: 405, template: UNMATCHED_ROUTE });
  });
});

describe('koaRouteTemplate on plain objects', () => {
  it.each([
    ['{}', {}, UNMATCHED_ROUTE],
    ['_matchedRoute: undefined', { _matchedRoute: undefined }, UNMATCHED_ROUTE],
    ['_matchedRoute: null', { _matchedRoute: null }, UNMATCHED_ROUTE],
    ["_matchedRoute: ''", { _matchedRoute: '' }, UNMATCHED_ROUTE],
    ['_matchedRoute: 5', { _matchedRoute: 5 }, UNMATCHED_ROUTE],
    ['_matchedRoute: {}', { _matchedRoute: {} }, UNMATCHED_ROUTE],
    ["_matchedRoute: '/a/:b'", { _matchedRoute: '/a/:b' }, '/a/:b'],
    ['_matchedRoute: /^\\/re$/', { _matchedRoute: /^\/re$/ }, '/^\\/re$/'],
  ])('should map %s to %s', (_label, ctx, expected) => {
    expect(koaRouteTemplate(ctx)).toBe(expected);
  });
});
