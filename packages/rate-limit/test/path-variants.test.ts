// Spellings of a limited path on Express 4, Express 5, Koa 2 and Koa 3: after the limit is spent on
// the canonical path, every variant gets 429 or a 404 that never ran the handler. Each variant is also
// sent to the same app without a limiter, to show which ones the framework routes to the handler.
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import type { PolicyOptions } from '@vigil/rate-limit';
import { FRAMEWORKS } from './support/apps';
import { closeServers, startServer } from '@vigil/test-utils';
import { rawTarget } from './support/http';
import { PROTECTED_USER, type RoutedApp, buildRoutedApp } from './support/routed-apps';
import { formatTable } from './support/signals';

const LIMIT = 2;
const POLICIES: PolicyOptions[] = [
  { name: 'login', limit: LIMIT, windowMs: 60_000, routes: ['/api/auth/login'], methods: ['POST'] },
  {
    name: 'reset',
    limit: LIMIT,
    windowMs: 60_000,
    routes: [`/api/users/${PROTECTED_USER}/reset`],
    methods: ['POST'],
  },
];

type PolicyName = 'login' | 'reset';

/** `{origin}` is replaced by `http://127.0.0.1:<port>` (an absolute-form target). */
const VARIANTS: Record<PolicyName, string[]> = {
  login: [
    // Repeated slashes, anywhere and right after the mount point.
    '/api//auth/login',
    '/api///auth/login',
    '//api/auth/login',
    '/api/auth//login',
    '/api//auth//login',
    // Trailing slashes.
    '/api/auth/login/',
    '/api/auth/login//',
    '/api//auth/login/',
    // Case.
    '/API/AUTH/LOGIN',
    '/Api/Auth/Login/',
    '/api/AUTH/login',
    // Percent-encoding: unreserved characters, and %2F (not unreserved).
    '/api/auth/%6Cogin',
    '/api/auth/%6cogin',
    '/%61pi/auth/login',
    '/api/%61%75%74%68/login',
    '/api/auth/login%2F',
    '/api%2Fauth%2Flogin',
    // Dot segments, literal and encoded.
    '/api/./auth/login',
    '/api/auth/./login',
    '/api/auth/login/.',
    '/api/x/../auth/login',
    '/api/auth/login/x/..',
    '/api/auth/%2e/login',
    '/api/auth/x/%2E%2E/login',
    '/../api/auth/login',
    // `;` parameters.
    '/api/auth/login;jsessionid=1',
    '/api;x/auth/login',
    '/api/auth;x/login',
    '/api/auth/login/..;/login',
    // Backslashes, which url.parse turns into slashes when the target has a `#`.
    '/api/auth\\login#',
    '/api\\auth\\login#x',
    '/api/auth/login\\#',
    '/api/Auth\\Login#',
    '/api//auth\\login#',
    '/api\\auth\\login',
    // Query and fragment.
    '/api/auth/login#frag',
    '/api/auth/login#/../x',
    '/api/auth/login?x=1',
    '/api/auth/login/?next=/',
    // Absolute-form targets.
    '{origin}/api/auth/login',
    '{origin}/api//auth/login',
    '{origin}/API/auth/login/',
    '{origin}/api/auth\\login',
    '{origin}/api/auth/login#x',
    '{origin}//api/auth/login',
    '{ORIGIN}/api/auth/login',
    // Combinations.
    '/API//Auth/%6Cogin/',
    '{origin}/Api//auth/%6Cogin/?x=1',
  ],
  reset: [
    // The parameter is decoded by the framework: each of these resets PROTECTED_USER's password.
    '/api/users/%61dmin/reset',
    '/api/users/adm%69n/reset',
    '/api/users/%61%64%6D%69%6E/reset',
    '/api//users/%61dmin/reset',
    '/api/users/admin/reset/',
    '/API/USERS/admin/RESET',
    '{origin}/api//users/%61dmin/reset',
  ],
};

/** Requests the policies must leave alone (other routes, or another user's reset). */
const UNLIMITED = [
  '/api/auth/logout',
  '/api/auth/loginx',
  '/api/users/bob/reset',
  '/api/users/%62ob/reset',
];

interface Row {
  variant: string;
  policy: string;
  withoutLimiter: string;
  withLimiter: string;
  ok: boolean;
}

afterEach(() => closeServers());

const targetOf = (variant: string, origin: string): string =>
  variant.replace('{origin}', origin).replace('{ORIGIN}', origin.replace('http://', 'HTTP://'));

const handlerRuns = (app: RoutedApp, policy: PolicyName): number =>
  policy === 'login' ? app.runs.login : app.runs.protectedReset;

describe.each(FRAMEWORKS)('limited path variants on $name', ({ name }) => {
  it('should answer every variant of a spent path with 429 or a 404 that ran no handler', async () => {
    const control = buildRoutedApp(name);
    const controlServer = await startServer(control.listener);
    const registry = new Registry();
    const app = buildRoutedApp(name, {
      options: { policies: POLICIES, registry, headers: false },
    });
    const server = await startServer(app.listener);

    // Spend each policy's limit on its canonical path.
    for (const policy of ['login', 'reset'] as const) {
      const canonical =
        policy === 'login' ? '/api/auth/login' : `/api/users/${PROTECTED_USER}/reset`;
      const statuses: number[] = [];
      for (let i = 0; i <= LIMIT; i++) {
        statuses.push((await rawTarget(server.origin, canonical, { method: 'POST' })).status);
      }
      expect(statuses).toEqual([...Array<number>(LIMIT).fill(policy === 'login' ? 401 : 200), 429]);
      expect(handlerRuns(app, policy)).toBe(LIMIT);
    }

    const rows: Row[] = [];
    let bypasses = 0;
    let routed = 0;
    for (const policy of ['login', 'reset'] as const) {
      for (const variant of VARIANTS[policy]) {
        const controlRunsBefore = handlerRuns(control, policy);
        const controlTarget = targetOf(variant, controlServer.origin);
        const unlimited = await rawTarget(controlServer.origin, controlTarget, { method: 'POST' });
        const controlRan = handlerRuns(control, policy) > controlRunsBefore;
        if (controlRan) routed++;
        // Node accepted the target as written, and nothing normalised it on the way.
        expect(unlimited.status, variant).not.toBe(400);
        expect(control.targets.at(-1), variant).toBe(controlTarget);

        const runsBefore = handlerRuns(app, policy);
        const target = targetOf(variant, server.origin);
        const reply = await rawTarget(server.origin, target, { method: 'POST' });
        expect(app.targets.at(-1), variant).toBe(target);
        const ran = handlerRuns(app, policy) > runsBefore;
        const ok = !ran && (reply.status === 429 || reply.status === 404);
        if (ran) bypasses++;
        rows.push({
          variant,
          policy,
          withoutLimiter: controlRan ? `${unlimited.status} handler ran` : `${unlimited.status}`,
          withLimiter: ran ? `${reply.status} HANDLER RAN` : `${reply.status}`,
          ok,
        });
      }
    }
    const unlimitedRows = [];
    for (const path of UNLIMITED) {
      const reply = await rawTarget(server.origin, path, { method: 'POST' });
      unlimitedRows.push({ path, status: reply.status });
    }

    const total = rows.length;
    console.log(
      `${name}: ${total} variants, ${bypasses} bypasses (${routed} of them reach the handler without a limiter)\n` +
        `${formatTable(rows)}\n` +
        `left alone by the policies:\n${formatTable(unlimitedRows)}`,
    );
    expect(rows.filter((r) => !r.ok)).toEqual([]);
    expect(bypasses).toBe(0);
    // The table is not vacuous: some variants do reach the handler when nothing limits them.
    expect(routed).toBeGreaterThan(5);
    if (name === 'express4') {
      // The issue's case: Express 4's mount swallows the extra slash.
      expect(rows.find((r) => r.variant === '/api//auth/login')?.withoutLimiter).toBe(
        '401 handler ran',
      );
    }
    // Precision: other routes and other users are not limited by these policies.
    expect(unlimitedRows.map((r) => r.status)).toEqual([404, 404, 200, 200]);
  });
});

describe.each(FRAMEWORKS)('a URL rewritten before the limiter on $name', ({ name, kind }) => {
  it('should limit by the path the framework routes, as well as the path sent', async () => {
    // A middleware before the limiter serves /v1/... as /... (a version prefix, a locale, ...).
    const app = buildRoutedApp(name, {
      options: { policies: POLICIES, registry: new Registry(), headers: false },
      ...(kind === 'express'
        ? {
            expressBefore: [
              (req, _res, next) => {
                if (req.url.startsWith('/v1/')) req.url = req.url.slice(3);
                next();
              },
            ],
          }
        : {
            koaBefore: [
              async (ctx, next) => {
                if (ctx.url.startsWith('/v1/')) ctx.url = ctx.url.slice(3);
                await next();
              },
            ],
          }),
    });
    const { origin } = await startServer(app.listener);
    const statuses: number[] = [];
    for (const target of ['/v1/api/auth/login', '/v1/API/auth/login/', '/api/auth/login']) {
      statuses.push((await rawTarget(origin, target, { method: 'POST' })).status);
    }
    expect(statuses).toEqual([401, 401, 429]);
    expect(app.runs.login).toBe(LIMIT);
  });
});

describe.each(FRAMEWORKS.filter((f) => f.kind === 'koa'))(
  'ctx.newRouterPath set before the limiter on $name',
  ({ name }) => {
    it('should limit by the path @koa/router routes on', async () => {
      // @koa/router routes on ctx.newRouterPath when a middleware sets it.
      const app = buildRoutedApp(name, {
        options: { policies: POLICIES, registry: new Registry(), headers: false },
        koaBefore: [
          async (ctx, next) => {
            if (ctx.path === '/signin')
              (ctx as { newRouterPath?: string }).newRouterPath = '/api/auth/login';
            await next();
          },
        ],
      });
      const { origin } = await startServer(app.listener);
      const statuses: number[] = [];
      for (const target of ['/signin', '/signin', '/api/auth/login']) {
        statuses.push((await rawTarget(origin, target, { method: 'POST' })).status);
      }
      expect(statuses).toEqual([401, 401, 429]);
      expect(app.runs.login).toBe(LIMIT);
    });
  },
);
