// A route-scoped policy against every spelling of its path the frameworks route (and some they do
// not): after the limit, each variant must get a 429 or a 404 that never ran the handler. Express 4's
// mount points swallow an extra slash, so `/api//auth/login` reaches `/auth/login` of a router at /api.
import { createConnection } from 'node:net';
import Router from '@koa/router';
import express from 'express';
import Koa from 'koa';
import { Registry } from 'prom-client';
import { afterAll, describe, expect, it } from 'vitest';
import { expressRateLimit, koaRateLimit, type RateLimitOptions } from '@vigil/rate-limit';
import { closeServers, express4, Koa2, startServer } from '@vigil/test-utils';

afterAll(closeServers);

const LIMIT = 2;

function options(): RateLimitOptions {
  return {
    registry: new Registry(),
    policies: [
      {
        name: 'login',
        limit: LIMIT,
        windowMs: 60_000,
        routes: ['/api/auth/login'],
        methods: ['POST'],
        onStoreError: 'fail-closed',
      },
    ],
  };
}

/** Every spelling tried after the limit is reached. */
const VARIANTS = [
  '/api/auth/login',
  '/api//auth/login',
  '/api///auth/login',
  '//api/auth/login',
  '/api/auth//login',
  '/api//auth//login',
  '//api//auth//login//',
  '/API/AUTH/LOGIN',
  '/Api//Auth/Login',
  '/api/auth/login/',
  '/api/auth/login//',
  '/api//auth/login/',
  '/api/auth/%6Cogin',
  '/api/%61uth/login',
  '/%61pi/auth/login',
  '/api/auth/login%2F',
  '/api%2Fauth%2Flogin',
  '/api/./auth/login',
  '/api/x/../auth/login',
  '/./api/auth/login',
  '/api/auth/login;x=1',
  '/api/auth/login?x=1',
  '/api//auth/login?x=1',
  '/api/auth/login#frag',
  'http://host/api/auth/login',
  'http://host/api//auth/login',
  'http://host//api//auth//login',
  '/api/auth/login%20',
  '/api/auth/login.',
  '/api/auth/login%00',
  '/api\\auth\\login',
  '/api/auth/logi%6E',
];

/** Sends `POST target` as written on the wire (no client-side normalisation); resolves the status. */
function post(port: number, target: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(port, '127.0.0.1', () => {
      socket.write(
        `POST ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`,
      );
    });
    let text = '';
    socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
    socket.on('end', () => resolve(Number(text.split(' ')[1])));
    socket.on('error', reject);
  });
}

interface App {
  port: number;
  handlerRuns: () => number;
}

/** Express: the login route in a router at /auth, itself in a router at /api (two mount points). */
async function expressApp(factory: typeof express): Promise<App> {
  let runs = 0;
  const app = factory();
  app.use(expressRateLimit(options()));
  const api = factory.Router();
  const auth = factory.Router();
  auth.post('/login', (_req, res) => {
    runs++;
    res.status(401).json({ error: 'invalid_credentials' });
  });
  api.use('/auth', auth);
  app.use('/api', api);
  const { port } = await startServer(app);
  return { port, handlerRuns: () => runs };
}

/** Koa: the same route through @koa/router, prefixed and nested. */
async function koaApp(Factory: typeof Koa): Promise<App> {
  let runs = 0;
  const app = new Factory();
  app.use(koaRateLimit(options()));
  const auth = new Router();
  auth.post('/login', (ctx) => {
    runs++;
    ctx.status = 401;
  });
  const api = new Router({ prefix: '/api' });
  api.use('/auth', auth.routes());
  app.use(api.routes());
  const callback = app.callback();
  const { port } = await startServer((req, res) => void callback(req, res));
  return { port, handlerRuns: () => runs };
}

const SETUPS: [string, () => Promise<App>][] = [
  ['Express 4', () => expressApp(express4)],
  ['Express 5', () => expressApp(express)],
  ['Koa 2', () => koaApp(Koa2)],
  ['Koa 3', () => koaApp(Koa)],
];

describe.each(SETUPS)('a route-scoped policy on %s', (name, build) => {
  it('should answer every spelling of the path with a 429 or a 404 that never ran the handler', async () => {
    const app = await build();
    // Within the limit, the canonical path reaches the handler.
    for (let i = 0; i < LIMIT; i++) expect(await post(app.port, '/api/auth/login')).toBe(401);
    expect(app.handlerRuns()).toBe(LIMIT);
    const results: string[] = [];
    let bypasses = 0;
    for (const variant of VARIANTS) {
      const before = app.handlerRuns();
      const status = await post(app.port, variant);
      const ran = app.handlerRuns() > before;
      if (ran || (status !== 429 && status !== 404)) bypasses++;
      results.push(`${status}${ran ? ' HANDLER' : ''} ${variant}`);
    }
    console.log(
      `[${name}] ${VARIANTS.length} variants, ${bypasses} bypasses:\n  ${results.join('\n  ')}`,
    );
    expect(bypasses).toBe(0);
    // The variants the framework routes are limited, not 404s: the check is not vacuous.
    expect(results.filter((r) => r.startsWith('429')).length).toBeGreaterThanOrEqual(8);
  });
});
