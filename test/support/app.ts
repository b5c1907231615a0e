// Test apps with mixed routes (Express 5, Express 4, Koa) and the traffic that exercises all of them.
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import express from 'express';
import Koa from 'koa';
import { Router } from '@koa/router';
import type { Registry } from 'prom-client';
import {
  type MetricsOptions,
  UNMATCHED_ROUTE,
  expressMetrics,
  expressMetricsHandler,
  koaMetrics,
  koaMetricsHandler,
} from '@vigil/metrics';
import type { RequestSpec } from '@vigil/test-utils';
import { express4 } from '@vigil/test-utils';

// Express 4 is the `express4` alias of @vigil/test-utils, typed as Express 5: the app below uses only
// what both majors share. VERSIONS lets a suite prove each alias is the version it claims.
export { VERSIONS } from '@vigil/test-utils';

export type Framework = 'express5' | 'express4' | 'koa';

export interface AppOptions {
  registry: Registry;
  /** Options of the metrics middleware besides `registry`. */
  metrics?: Omit<MetricsOptions, 'registry'>;
}

/** A RegExp route; its label is `String(FILES_ROUTE)`, backslashes included. */
export const FILES_ROUTE = /^\/files\/(\w+)\.txt$/;
/** A string template with escaped parentheses: the label carries the backslashes. */
export const PAREN_ROUTE = '/a\\(b\\)';
/** A string template with double quotes, which the exposition must escape. */
export const QUOTE_ROUTE = '/q/"x"';

/** How long /slow takes unless the client leaves first. */
const SLOW_MS = 3_000;

function slow(res: ServerResponse, done: () => void): void {
  const timer = setTimeout(done, SLOW_MS);
  res.on('close', () => clearTimeout(timer));
}

/** Writes `chunks` chunks `gapMs` apart, stopping early if the client goes away. */
function stream(res: ServerResponse, chunks: number, gapMs: number): void {
  let sent = 0;
  const timer = setInterval(() => {
    if (res.destroyed) return clearInterval(timer);
    res.write(`chunk ${sent}\n`);
    if (++sent >= chunks) {
      clearInterval(timer);
      res.end();
    }
  }, gapMs);
  res.on('close', () => clearInterval(timer));
}

function chunkCount(query: unknown): number {
  const n = Number((query as { chunks?: unknown } | undefined)?.chunks ?? 5);
  return Number.isInteger(n) && n > 0 && n <= 100 ? n : 5;
}

/** Routes shared by the two Express majors; `e` is the express module of either. */
function expressApp(e: typeof express, { registry, metrics }: AppOptions): express.Express {
  const app = e();
  app.use(expressMetrics({ registry, ...metrics }));
  app.get('/metrics', expressMetricsHandler({ registry }));
  app.use(e.json());
  const api = e.Router({ mergeParams: true });
  api.get('/users/:userId/posts/:postId', (req, res) => {
    res.json({ user: req.params.userId, post: req.params.postId });
  });
  api.post('/items', (req, res) => {
    res.status(201).json({ created: req.body as unknown });
  });
  app.use('/api/:version', api);
  app.get('/users/:id', (req, res) => {
    res.json({ id: req.params.id });
  });
  app.get('/fail', (_req, _res, next) => {
    // Asynchronous failure, handed to Express's own error handler in both majors.
    setImmediate(() => next(new Error('boom')));
  });
  app.get('/slow', (_req, res) => slow(res, () => res.send('late')));
  app.get('/stream', (req, res) => {
    res.setHeader('Content-Type', 'text/plain; charset=utf-8');
    stream(res, chunkCount(req.query), 20);
  });
  app.get('/events', (_req, res) => {
    res.setHeader('Content-Type', 'text/event-stream');
    res.setHeader('Cache-Control', 'no-cache');
    stream(res, 3, 10);
  });
  app.get(FILES_ROUTE, (_req, res) => {
    res.type('text/plain').send('file');
  });
  app.get(PAREN_ROUTE, (_req, res) => {
    res.send('parens');
  });
  app.get(QUOTE_ROUTE, (_req, res) => {
    res.send('quotes');
  });
  return app;
}

export function createExpress5App(options: AppOptions): express.Express {
  return expressApp(express, options);
}

export function createExpress4App(options: AppOptions): express.Express {
  return expressApp(express4, options);
}

async function readBody(req: IncomingMessage, limit = 1 << 20): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw Object.assign(new Error('body too large'), { status: 413 });
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export function createKoaApp({ registry, metrics }: AppOptions): Koa {
  const app = new Koa();
  // The 500 below is expected; Koa would print its stack on every run.
  app.silent = true;
  app.use(koaMetrics({ registry, ...metrics }));
  app.use(koaMetricsHandler({ registry, path: '/metrics' }));
  const api = new Router();
  api.get('/users/:userId/posts/:postId', (ctx) => {
    ctx.body = { user: ctx.params.userId, post: ctx.params.postId };
  });
  api.post('/items', async (ctx) => {
    const body = await readBody(ctx.req);
    ctx.status = 201;
    ctx.body = { created: JSON.parse(body) as unknown };
  });
  const root = new Router();
  root.use('/api/:version', api.routes(), api.allowedMethods());
  root.get('/users/:id', (ctx) => {
    ctx.body = { id: ctx.params.id };
  });
  root.get('/fail', async () => {
    await new Promise((resolve) => setImmediate(resolve));
    throw new Error('boom');
  });
  root.get('/slow', async (ctx) => {
    await new Promise<void>((resolve) => slow(ctx.res, resolve));
    ctx.body = 'late';
  });
  root.get('/stream', (ctx) => {
    const n = chunkCount(ctx.query);
    ctx.type = 'text/plain';
    ctx.body = Readable.from(
      (async function* chunks() {
        for (let i = 0; i < n; i++) {
          await new Promise((resolve) => setTimeout(resolve, 20));
          yield `chunk ${i}\n`;
        }
      })(),
    );
  });
  root.get('/events', (ctx) => {
    ctx.type = 'text/event-stream';
    ctx.body = Readable.from(['data: 1\n\n', 'data: 2\n\n', 'data: 3\n\n']);
  });
  root.get(FILES_ROUTE, (ctx) => {
    ctx.body = 'file';
  });
  root.get(QUOTE_ROUTE, (ctx) => {
    ctx.body = 'quotes';
  });
  app.use(root.routes());
  app.use(root.allowedMethods());
  return app;
}

/** The request listener of any of the three apps. */
export function createApp(framework: Framework, options: AppOptions): RequestListener {
  if (framework === 'koa') {
    const handle = createKoaApp(options).callback();
    return (req, res) => void handle(req, res);
  }
  return framework === 'express5' ? createExpress5App(options) : createExpress4App(options);
}

/** One request of the mixed traffic and the series it must be counted in. */
export interface TrafficCase {
  name: string;
  spec: RequestSpec;
  expected: { method: string; route: string; status: string };
}

/** A path of `length` characters made of word-like segments. */
export function longPath(length: number): string {
  let path = '';
  for (let i = 0; path.length < length; i++) path += `/segment${i}`;
  return path.slice(0, length);
}

/**
 * Every kind of request the suites send: nested param routes, a JSON POST, 404s on hostile paths, HEAD,
 * OPTIONS, an unknown method, a 500, aborts before and during the response, a streamed response,
 * server-sent events, a RegExp route and templates with backslashes and quotes.
 */
export function mixedTraffic(framework: Framework): TrafficCase[] {
  const koa = framework === 'koa';
  const nested = '/api/:version/users/:userId/posts/:postId';
  const u = UNMATCHED_ROUTE;
  const json = JSON.stringify({ title: 'a "quoted" title', tags: ['x', 'y'] });
  const cases: TrafficCase[] = [
    {
      name: 'nested params',
      spec: { path: '/api/v1/users/42/posts/7' },
      expected: { method: 'GET', route: nested, status: '200' },
    },
    {
      name: 'nested params again',
      spec: { path: '/api/v2/users/ab-c/posts/x_y?z=1' },
      expected: { method: 'GET', route: nested, status: '200' },
    },
    {
      name: 'POST with a JSON body',
      spec: {
        method: 'POST',
        path: '/api/v1/items',
        body: json,
        headers: { 'content-type': 'application/json' },
      },
      expected: { method: 'POST', route: '/api/:version/items', status: '201' },
    },
    {
      name: 'POST with a chunked body',
      spec: {
        method: 'POST',
        path: '/api/v2/items',
        body: json,
        headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
      },
      expected: { method: 'POST', route: '/api/:version/items', status: '201' },
    },
    {
      name: 'HEAD on a GET route',
      spec: { method: 'HEAD', path: '/api/v1/users/1/posts/2' },
      expected: { method: 'HEAD', route: nested, status: '200' },
    },
    {
      name: 'OPTIONS preflight',
      spec: {
        method: 'OPTIONS',
        path: '/api/v1/items',
        headers: { origin: 'http://example.test', 'access-control-request-method': 'POST' },
      },
      expected: { method: 'OPTIONS', route: u, status: '200' },
    },
    {
      name: 'unknown method',
      spec: { method: 'PURGE', path: '/api/v1/items' },
      expected: { method: 'OTHER', route: u, status: koa ? '501' : '404' },
    },
    {
      name: 'bad percent escape',
      spec: { path: '/%ZZ' },
      expected: { method: 'GET', route: u, status: '404' },
    },
    {
      name: 'bad escape in a param',
      spec: { path: '/users/%ZZ' },
      expected: { method: 'GET', route: koa ? '/users/:id' : u, status: koa ? '200' : '400' },
    },
    {
      name: 'long path',
      spec: { path: longPath(8_000) },
      expected: { method: 'GET', route: u, status: '404' },
    },
    {
      name: 'double quotes',
      spec: { path: '/with"quotes"/and"more' },
      expected: { method: 'GET', route: u, status: '404' },
    },
    {
      name: 'single quote and backslash',
      spec: { path: "/it's/a\\b\\\\c" },
      expected: { method: 'GET', route: u, status: '404' },
    },
    {
      name: 'markup and braces',
      spec: { path: '/<script>{x}|`y`^' },
      expected: { method: 'GET', route: u, status: '404' },
    },
    {
      name: 'encoded newline',
      spec: { path: '/line%0Abreak%0D%0A%00' },
      expected: { method: 'GET', route: u, status: '404' },
    },
    {
      name: '500',
      spec: { path: '/fail' },
      expected: { method: 'GET', route: '/fail', status: '500' },
    },
    {
      name: 'aborted before the response',
      spec: { path: '/slow', abortAfterMs: 100 },
      expected: { method: 'GET', route: '/slow', status: 'aborted' },
    },
    {
      name: 'aborted mid-stream',
      spec: { path: '/stream?chunks=50', abortOnFirstChunk: true },
      expected: { method: 'GET', route: '/stream', status: 'aborted' },
    },
    {
      name: 'streamed response',
      spec: { path: '/stream?chunks=5' },
      expected: { method: 'GET', route: '/stream', status: '200' },
    },
    {
      name: 'server-sent events',
      spec: { path: '/events' },
      expected: { method: 'GET', route: '/events', status: '200' },
    },
    {
      name: 'RegExp route',
      spec: { path: '/files/report.txt' },
      expected: { method: 'GET', route: String(FILES_ROUTE), status: '200' },
    },
    {
      name: 'template with quotes',
      spec: { path: '/q/"x"' },
      expected: { method: 'GET', route: QUOTE_ROUTE, status: '200' },
    },
  ];
  if (!koa) {
    cases.push({
      name: 'template with backslashes',
      spec: { path: '/a(b)' },
      expected: { method: 'GET', route: PAREN_ROUTE, status: '200' },
    });
  }
  return cases;
}

/** The route templates mixedTraffic() is expected to produce, for comparing with the exposition. */
export function expectedRoutes(cases: readonly TrafficCase[]): string[] {
  return [...new Set(cases.map((c) => c.expected.route))].sort();
}
