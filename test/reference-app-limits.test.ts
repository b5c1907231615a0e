// The reference app's login and API policies with audit: limits enforced, every login attempt audited
// with the request's ids, one rate_limit.exceeded per client and window, an intact audit chain, and
// the signals in /metrics passing promtool.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyAuditLog } from '@vigil/audit';
import {
  DEMO_USER,
  type ReferenceApp,
  startReferenceApp,
} from '../examples/reference-app/src/index';
import { RedisServer, findRedisServer, freePort } from '@vigil/test-utils';
import { findBinary } from '@vigil/test-utils';

const LOGIN_LIMIT = 3;
const API_LIMIT = 40;

function sample(text: string, name: string, labels: Record<string, string>): number {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`)))
      return Number(line.split(' ').pop());
  }
  return 0;
}

interface AuditLine {
  type: string;
  outcome: string;
  actor?: string;
  request_id?: string;
  trace_id?: string;
  metadata?: { policy?: string };
}

describe('reference app rate limits and audit', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-ref-limits-'));
  const auditFile = join(dir, 'audit.log');
  let app: ReferenceApp;

  const login = (password: string, headers: Record<string, string> = {}) =>
    fetch(`${app.gatewayUrl}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ username: DEMO_USER.username, password }),
    });
  const events = (): AuditLine[] =>
    readFileSync(auditFile, 'utf8')
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as AuditLine);

  beforeAll(async () => {
    app = await startReferenceApp({
      port: 0,
      catalogPort: 0,
      logDestination: { write: () => true },
      auditDestination: auditFile,
      rateLimit: { loginLimit: LOGIN_LIMIT, apiLimit: API_LIMIT, redisUrl: undefined },
    });
  });
  afterAll(async () => {
    await app.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('should audit each login attempt with its request id, then limit the client', async () => {
    const ok = await login(DEMO_USER.password);
    expect(ok.status).toBe(200);
    const bad = await login('wrong-password-sentinel');
    expect(bad.status).toBe(401);
    const third = await login('wrong-password-sentinel');
    expect(third.status).toBe(401);
    const statuses: number[] = [];
    let limited: Response | undefined;
    for (let i = 0; i < 20; i++) {
      const res = await login('wrong-password-sentinel');
      statuses.push(res.status);
      limited ??= res.status === 429 ? res : undefined;
    }
    expect(statuses.every((s) => s === 429)).toBe(true);
    expect(limited?.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(limited?.headers.get('ratelimit')).toMatch(/^"login"; r=0; t=\d+/);
    expect(limited?.headers.get('ratelimit-policy')).toMatch(/^"login"; q=3; w=60; pk=:/);
    expect(await limited?.json()).toMatchObject({ error: 'rate_limited', policy: 'login' });

    await app.audit.flush();
    const lines = events();
    const logins = lines.filter((e) => e.type === 'auth.login');
    expect(logins.map((e) => e.outcome)).toEqual(['success', 'failure', 'failure']);
    expect(logins[0]?.request_id).toBe(ok.headers.get('x-request-id'));
    expect(logins[1]?.request_id).toBe(bad.headers.get('x-request-id'));
    expect(logins.every((e) => e.actor === DEMO_USER.username)).toBe(true);
    const exceeded = lines.filter((e) => e.type === 'rate_limit.exceeded');
    // 20 rejected attempts, one event: the first excess of this client in this window.
    expect(exceeded).toHaveLength(1);
    expect(exceeded[0]?.metadata?.policy).toBe('login');
    expect(exceeded[0]?.request_id).toBe(limited?.headers.get('x-request-id'));
    const text = readFileSync(auditFile, 'utf8');
    expect(text).not.toContain('wrong-password-sentinel');
    expect(text).not.toContain(DEMO_USER.password);
    console.log(
      `login: ${logins.length} attempts audited, ${statuses.length} limited, ${exceeded.length} rate_limit.exceeded event`,
    );
  });

  it('should limit /api per client, key API callers apart, and never limit /metrics', async () => {
    // Login is under /api: the attempts the login policy let through also counted against this
    // address's api budget (the limited ones stopped at the login policy).
    const spent = LOGIN_LIMIT;
    const statuses: number[] = [];
    for (let i = 0; i < API_LIMIT + 5; i++) {
      statuses.push((await fetch(`${app.gatewayUrl}/api/slow?ms=0`)).status);
    }
    expect(statuses.filter((s) => s === 200)).toHaveLength(API_LIMIT - spent);
    expect(statuses.filter((s) => s === 429)).toHaveLength(5 + spent);
    // Another API key is another client, even from the same address.
    const keyed = await fetch(`${app.gatewayUrl}/api/slow?ms=0`, {
      headers: { 'x-api-key': 'reference-test-key' },
    });
    expect(keyed.status).toBe(200);
    for (let i = 0; i < 100; i++) {
      expect((await fetch(`${app.gatewayUrl}/metrics`)).status).toBe(200);
    }
  });

  it('should count every decision and audit event in /metrics, which promtool accepts', async () => {
    const text = await (await fetch(`${app.gatewayUrl}/metrics`)).text();
    expect(sample(text, 'rate_limit_requests_total', { policy: 'login', result: 'limited' })).toBe(
      20,
    );
    expect(sample(text, 'rate_limit_requests_total', { policy: 'login', result: 'allowed' })).toBe(
      LOGIN_LIMIT,
    );
    expect(sample(text, 'audit_events_total', { type: 'auth.login', outcome: 'failure' })).toBe(2);
    expect(sample(text, 'audit_events_total', { type: 'auth.login', outcome: 'success' })).toBe(1);
    expect(
      sample(text, 'audit_events_total', { type: 'rate_limit.exceeded', outcome: 'denied' }),
    ).toBe(2);
    const promtool = findBinary('promtool', 'prometheus');
    if (promtool === undefined) return;
    const check = spawnSync(promtool, ['check', 'metrics'], { input: text, encoding: 'utf8' });
    console.log(
      `promtool on the gateway after limits: exit ${check.status} ${check.stdout}${check.stderr}`,
    );
    expect(check.status).toBe(0);
  });

  it('should leave an audit file the verifier finds intact', async () => {
    await app.audit.flush();
    const result = verifyAuditLog(readFileSync(auditFile, 'utf8'));
    console.log(`audit file: ${result.events} events, intact ${result.ok}`);
    expect(result.ok).toBe(true);
    expect(result.events).toBe(events().length);
  });
});

describe('reference app with REDIS_URL', () => {
  const binary = findRedisServer();
  const dir = mkdtempSync(join(tmpdir(), 'vigil-ref-redis-'));
  let redis: RedisServer | undefined;
  const apps: ReferenceApp[] = [];

  beforeAll(async () => {
    if (binary === undefined) return;
    redis = new RedisServer(binary, await freePort());
    await redis.start();
    // Two gateways, as two instances of one service would run, sharing the Redis store.
    for (const name of ['a', 'b']) {
      apps.push(
        await startReferenceApp({
          port: 0,
          catalogPort: 0,
          logDestination: { write: () => true },
          auditDestination: join(dir, `audit-${name}.log`),
          rateLimit: { loginLimit: LOGIN_LIMIT, apiLimit: API_LIMIT, redisUrl: redis.url },
        }),
      );
    }
  });
  afterAll(async () => {
    for (const app of apps) await app.close();
    await redis?.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  it('should share the login limit between two instances', async () => {
    if (redis === undefined) return;
    const statuses: number[] = [];
    for (let i = 0; i < 4 * LOGIN_LIMIT; i++) {
      const app = apps[i % 2] as ReferenceApp;
      const res = await fetch(`${app.gatewayUrl}/api/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: DEMO_USER.username, password: 'wrong' }),
      });
      statuses.push(res.status);
    }
    const answered = statuses.filter((s) => s === 401).length;
    console.log(
      `two instances on one Redis: ${statuses.length} login attempts, ${answered} answered, ${statuses.filter((s) => s === 429).length} limited`,
    );
    // The sum of allowed attempts across both instances is the limit, not twice it.
    expect(answered).toBe(LOGIN_LIMIT);
  });
});
