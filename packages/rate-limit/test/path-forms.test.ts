// The path of a request target and its canonical form (core's targetPath and canonicalPath, and the
// request's other forms): tables, and a seeded random check that every spelling a framework would
// route under a policy's prefix is matched by the policy.
import { describe, expect, it } from 'vitest';
import { canonicalPath, canonicalRoute, foldPath, targetPath as requestPath } from '@vigil/core';
import { context } from '../src/errors';
import { parseOptions } from '../src/options';
import { RequestPath } from '../src/paths';
import { formatTable } from './support/signals';

/** The other forms of `path` (routed by the framework as `routed`), or undefined when there are none. */
function otherForms(
  path: string,
  _canonical: string,
  routed: string | undefined,
): string[] | undefined {
  const others = new RequestPath(path, routed).others;
  return others.length === 0 ? undefined : [...others];
}
const skipForm = foldPath;

describe('requestPath', () => {
  it.each([
    ['/api/auth/login', '/api/auth/login'],
    ['/api/auth/login?x=1', '/api/auth/login'],
    ['/api/auth/login#frag', '/api/auth/login'],
    ['/api/auth/login#a?b', '/api/auth/login'],
    ['/?x', '/'],
    ['http://host/api/auth/login', '/api/auth/login'],
    ['HTTP://host:80/api//auth/login?x=1', '/api//auth/login'],
    ['http://user@host/api/auth/login#x', '/api/auth/login'],
    ['http://host', '/'],
    ['http://host?x=/api/auth/login', '/'],
    ['http://host#/api/auth/login', '/'],
    ['*', '*'],
    ['', '/'],
  ])('should read %j as %j', (url, expected) => {
    expect(requestPath(url)).toBe(expected);
  });

  it('should return the target itself when it is a bare path', () => {
    const url = '/api/videos/42';
    expect(requestPath(url)).toBe(url);
  });
});

describe('canonicalPath', () => {
  it.each([
    ['/api/auth/login', '/api/auth/login'],
    ['/', '/'],
    ['', '/'],
    ['/api//auth///login', '/api/auth/login'],
    ['//api/auth/login/', '/api/auth/login'],
    ['/API/Auth/LOGIN', '/api/auth/login'],
    ['/api/auth/%6Cogin', '/api/auth/login'],
    ['/%61%70%69', '/api'],
    ['/api%2Fauth%2flogin', '/api%2fauth%2flogin'],
    ['/a%5Cb/%25c', '/a%5cb/%25c'],
    ['/caf%C3%A9', '/caf%c3%a9'],
    ['/a%zz/b%', '/a%zz/b%'],
    ['/api/./auth/../auth/login/.', '/api/auth/login'],
    ['/api/%2e%2E/x', '/x'],
    ['/../..', '/'],
    ['/api/auth/login;jsessionid=1', '/api/auth/login'],
    ['/api/auth/login/..;/x', '/api/auth/x'],
    ['/api%3bx/auth', '/api/auth'],
    ['/api\\auth\\login', '/api/auth/login'],
    ['/.well-known/x', '/.well-known/x'],
    ['/a..b/c.', '/a..b/c.'],
  ])('should canonicalise %j as %j', (path, expected) => {
    expect(canonicalPath(path)).toBe(expected);
  });

  it('should keep `..` as a segment when asked', () => {
    expect(canonicalPath('/admin/x/..', false)).toBe('/admin/x/..');
    expect(canonicalPath('/admin/./%2E%2E', false)).toBe('/admin/..');
  });

  it('should return a canonical path itself, without allocating a copy', () => {
    const path = '/api/videos/42';
    expect(canonicalPath(path)).toBe(path);
    expect(otherForms(path, path, undefined)).toBeUndefined();
  });

  it('should give the unresolved form and the routed forms as other forms', () => {
    const path = '/admin/x/..';
    expect(otherForms(path, canonicalPath(path), undefined)).toEqual(['/admin/x/..']);
    expect(otherForms('/v1/login', '/v1/login', '/API/Login/')).toEqual([
      '/API/Login/',
      '/api/login',
    ]);
    expect(otherForms('/API', '/api', undefined)).toBeUndefined();
  });

  it('should canonicalise configured routes the same way, non-ASCII as UTF-8 escapes', () => {
    expect(canonicalRoute('/Café/')).toBe('/caf%c3%a9');
    expect(canonicalRoute('/api//Auth/')).toBe('/api/auth');
    expect(canonicalRoute('/x\uD800')).toBe('/x%ef%bf%bd');
  });

  it('should compare skip paths only without case and trailing slashes', () => {
    expect(skipForm('/METRICS/')).toBe('/metrics');
    expect(skipForm('/metrics')).toBe('/metrics');
    expect(skipForm('//metrics')).toBe('//metrics');
    expect(skipForm('/x/../metrics')).toBe('/x/../metrics');
  });
});

describe('policy routes', () => {
  const matcher = (route: string | RegExp) =>
    parseOptions(
      context('expressRateLimit'),
      { policies: [{ name: 'p', limit: 1, windowMs: 1000, routes: [route] }], registry: false },
      1,
    ).policies[0]?.routes;
  const matches = (route: string | RegExp, path: string, routed?: string): boolean =>
    matcher(route)?.matches('POST', new RequestPath(path, routed)) ?? false;

  it.each([
    ['/api/auth/login', '/api/auth/login', true],
    ['/api/auth/login', '/api//auth/login', true],
    ['/api/auth/login', '/api/auth/%6Cogin/', true],
    // A mount point at /api/auth/login routes these to its router; resolved, they leave it.
    ['/api/auth/login', '/api/auth/login/..', true],
    ['/api/auth/login', '/api/auth/login/x/../..', true],
    ['/api/auth/login', '/api/auth/x/../login', true],
    ['/api/auth/login', '/api/auth/loginx', false],
    ['/api/auth/login', '/api/auth', false],
    ['/api/auth/login', '/api/auth/login%2Fx', false],
    ['/Api/Auth/', '/api/auth/login', true],
    ['/', '/anything', true],
    [/^\/Admin\//, '/Admin/x', true],
    [/^\/admin\//, '/Admin/x', true],
    [/^\/admin\//, '/%61dmin/x', true],
    [/^\/admin\//, '/x/admin/y', false],
  ])('should have route %s match %j: %s', (route, path, expected) => {
    expect(matches(route, path)).toBe(expected);
  });

  it('should also match the path the framework routes on after a rewrite', () => {
    expect(matches('/api/auth/login', '/v1/api/auth/login')).toBe(false);
    expect(matches('/api/auth/login', '/v1/api/auth/login', '/api/auth/login')).toBe(true);
    expect(matches('/api/auth/login', '/api/auth/login', '/internal/login')).toBe(true);
  });
});

// A small seeded generator, so a failure can be replayed.
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PREFIXES = ['/api', '/api/auth/login', '/api/users/admin/reset', '/a.b/c'];
const NOISE = [
  '/',
  '//',
  '.',
  '..',
  '%2e',
  '%2E%2e',
  '%2F',
  '%5C',
  '%25',
  '%',
  '%zz',
  ';x',
  '\\',
  'x',
  'Y',
  '%41',
  '%6c',
  'a.b',
  '..;',
];

/** One spelling of `prefix` followed by a random tail, the way a client could write it. */
function spelling(prefix: string, random: () => number): string {
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)] as T;
  let out = '';
  for (const c of prefix) {
    const r = random();
    if (c === '/' && r < 0.15) out += '//';
    else if (c === '/' && r < 0.25) out += '\\';
    else if (c === '/' && r < 0.3) out += '/./';
    else if (c !== '/' && r < 0.15) out += `%${c.charCodeAt(0).toString(16)}`;
    else if (c !== '/' && r < 0.3) out += c.toUpperCase();
    else out += c;
  }
  if (random() < 0.2) out = pick(['/..', '/x/..', '//', '/.']) + out;
  const tail = Math.floor(random() * 4);
  for (let i = 0; i < tail; i++) out += pick(NOISE);
  // A spelling that climbs out of the prefix it starts with (`/admin/..`).
  if (random() < 0.1) out = `${prefix}${pick(['/..', '/x/../..', '/%2e%2e'])}`;
  return out;
}

/**
 * The paths a framework may route `path` by, lower-cased (every router here matches without case):
 * as sent; with backslashes as slashes (url.parse); with one `//` read as `/` (an Express 4 mount
 * swallowing the slash after it); with each segment decoded as a route parameter is (segments that
 * decode to `/`, `\` or `%` are left out: no literal prefix has them).
 */
function frameworkViews(path: string): string[] {
  const views = new Set<string>();
  const decodeSegments = (p: string): string | undefined => {
    try {
      const segments = p.split('/').map((s) => decodeURIComponent(s));
      return segments.some((s) => /[/\\%]/.test(s)) ? undefined : segments.join('/');
    } catch {
      return undefined;
    }
  };
  for (const base of [path, path.replace(/\\/g, '/')]) {
    const swallowed = [base];
    for (let i = base.indexOf('//'); i !== -1; i = base.indexOf('//', i + 1)) {
      swallowed.push(base.slice(0, i) + base.slice(i + 1));
    }
    for (const s of swallowed) {
      views.add(s.toLowerCase());
      const decoded = decodeSegments(s);
      if (decoded !== undefined) views.add(decoded.toLowerCase());
    }
  }
  return [...views];
}

const underPrefix = (view: string, prefix: string): boolean =>
  view === prefix || view === `${prefix}/` || view.startsWith(`${prefix}/`);

describe('policy routes against random spellings', () => {
  it('should match every spelling a framework routes under the prefix', () => {
    const random = prng(20240917);
    const opts = parseOptions(
      context('expressRateLimit'),
      {
        policies: PREFIXES.map((p, i) => ({
          name: `p${i}`,
          limit: 1,
          windowMs: 1000,
          routes: [p],
        })),
        registry: false,
      },
      1,
    );
    const rows: {
      prefix: string;
      spellings: number;
      routed: number;
      matched: number;
      missed: number;
    }[] = [];
    const missed: string[] = [];
    let notIdempotent = 0;
    PREFIXES.forEach((prefix, index) => {
      const policy = opts.policies[index];
      const row = { prefix, spellings: 0, routed: 0, matched: 0, missed: 0 };
      for (let n = 0; n < 5000; n++) {
        const path = spelling(prefix, random);
        const canonical = canonicalPath(path);
        if (canonicalPath(canonical) !== canonical) notIdempotent++;
        const matched = policy?.routes.matches('GET', new RequestPath(path)) ?? false;
        row.spellings++;
        if (matched) row.matched++;
        if (frameworkViews(path).some((v) => underPrefix(v, prefix))) {
          row.routed++;
          if (!matched) {
            row.missed++;
            if (missed.length < 20) missed.push(`${prefix} <- ${path}`);
          }
        }
      }
      rows.push(row);
    });
    console.log(`random spellings per policy prefix (seeded)\n${formatTable(rows)}`);
    expect(missed).toEqual([]);
    expect(notIdempotent).toBe(0);
    // Not vacuous: many spellings are routed under their prefix.
    for (const row of rows) expect(row.routed).toBeGreaterThan(500);
  });
});
