// Floods of rejected requests: one rate_limit.exceeded event per key per window however many are
// rejected, and a bounded memory of audited keys (MAX_AUDITED_KEYS) under many distinct keys.
import { performance } from 'node:perf_hooks';
import { Registry } from 'prom-client';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { MAX_AUDITED_KEYS } from '@vigil/rate-limit';
import { type FrameworkName, buildApp } from './support/apps';
import { closeServers, rawRequest, startServer } from '@vigil/test-utils';
import { inParallel, keepAliveAgent } from './support/http';
import { AuditCapture, LoggerCapture, decisionCounts, formatTable } from './support/signals';

const CONNECTIONS = 4;
const WINDOW_MS = 60_000;

const limiters: { close(): Promise<void> }[] = [];
const rows: Record<string, string | number>[] = [];
afterEach(async () => {
  vi.useRealTimers();
  await Promise.all(limiters.splice(0).map((l) => l.close()));
  await closeServers();
});
afterAll(() => {
  console.log(`\nFloods (${CONNECTIONS} keep-alive connections)\n${formatTable(rows)}\n`);
});

/** An app behind a trusted loopback proxy, so X-Forwarded-For names the client. */
async function serve(framework: FrameworkName, limit: number) {
  const registry = new Registry();
  const audit = new AuditCapture();
  const app = buildApp(framework, {
    trustProxy: 'loopback',
    proxy: true,
    maxIpsCount: 1,
    options: {
      registry,
      audit,
      logger: new LoggerCapture(),
      policies: [{ name: 'flood', limit, windowMs: WINDOW_MS }],
    },
  });
  limiters.push(app.limiter);
  const { origin } = await startServer(app.listener);
  const agent = keepAliveAgent(CONNECTIONS);
  /** Sends one request per client in `clients` (repeats allowed), `concurrency` at a time. */
  const flood = async (clients: readonly string[], concurrency = CONNECTIONS) => {
    const statuses = await inParallel(clients, concurrency, async (client) => {
      const reply = await rawRequest(origin, '/api/login', {
        agent,
        headers: { 'x-forwarded-for': client },
      });
      return reply.status;
    });
    return {
      ok: statuses.filter((s) => s === 200).length,
      limited: statuses.filter((s) => s === 429).length,
    };
  };
  const exceeded = () => audit.ofType('rate_limit.exceeded');
  limiters.push({ close: () => Promise.resolve(agent.destroy()) });
  return { registry, audit, flood, exceeded };
}

const times = (client: string, n: number) => Array.from({ length: n }, () => client);

describe.each(['express5', 'koa3'] as const)('a flood of rejected requests on %s', (framework) => {
  it('should audit 10,000 rejected requests from one key once', async () => {
    const limit = 5;
    const s = await serve(framework, limit);
    const started = performance.now();
    const result = await s.flood(times('203.0.113.10', limit + 10_000));
    rows.push({
      framework,
      scenario: 'one key',
      requests: limit + 10_000,
      '200s': result.ok,
      '429s': result.limited,
      'exceeded events': s.exceeded().length,
      seconds: ((performance.now() - started) / 1000).toFixed(1),
    });
    expect(result).toEqual({ ok: limit, limited: 10_000 });
    expect(s.exceeded()).toHaveLength(1);
    expect(s.exceeded()[0]).toMatchObject({ actor: '203.0.113.10', client_ip: '203.0.113.10' });
    expect(await decisionCounts(s.registry, 'flood')).toEqual({
      allowed: limit,
      limited: 10_000,
      store_error: 0,
    });
  });

  it('should audit two flooding keys once each', async () => {
    const limit = 5;
    const s = await serve(framework, limit);
    const clients = times('203.0.113.21', 2_000 + limit).flatMap((a) => [a, '203.0.113.22']);
    const result = await s.flood(clients);
    rows.push({
      framework,
      scenario: 'two keys, interleaved',
      requests: clients.length,
      '200s': result.ok,
      '429s': result.limited,
      'exceeded events': s.exceeded().length,
      seconds: '',
    });
    expect(result).toEqual({ ok: 2 * limit, limited: 4_000 });
    expect(
      s
        .exceeded()
        .map((e) => e.actor)
        .sort(),
    ).toEqual(['203.0.113.21', '203.0.113.22']);
  });

  it('should audit a key again once its window has reset', async () => {
    // Only Date is faked: the window ends when the test moves the clock, sockets stay real.
    vi.useFakeTimers({ toFake: ['Date'], now: new Date('2030-01-01T00:00:00Z') });
    const limit = 3;
    const s = await serve(framework, limit);
    const first = await s.flood(times('203.0.113.30', 500));
    vi.setSystemTime(Date.now() + WINDOW_MS - 1);
    const sameWindow = await s.flood(times('203.0.113.30', 100));
    vi.setSystemTime(Date.now() + 1);
    const nextWindow = await s.flood(times('203.0.113.30', 500));
    rows.push({
      framework,
      scenario: 'one key, window reset between floods',
      requests: 1_100,
      '200s': first.ok + sameWindow.ok + nextWindow.ok,
      '429s': first.limited + sameWindow.limited + nextWindow.limited,
      'exceeded events': s.exceeded().length,
      seconds: '',
    });
    expect([first.ok, sameWindow.ok, nextWindow.ok]).toEqual([limit, 0, limit]);
    const events = s.exceeded();
    expect(events).toHaveLength(2);
    expect(events.map((e) => e.metadata?.reset_at)).toEqual([
      '2030-01-01T00:01:00.000Z',
      '2030-01-01T00:02:00.000Z',
    ]);
  });
});

describe('the audited-key memory', () => {
  it(`should remember at most MAX_AUDITED_KEYS (${MAX_AUDITED_KEYS}) keys per policy`, async () => {
    const distinct = MAX_AUDITED_KEYS + 2_000;
    const s = await serve('koa3', 1);
    const client = (i: number) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
    const clients = Array.from({ length: distinct }, (_, i) => client(i + 1));
    const started = performance.now();
    // Each key's first request is allowed; its second, sent in key order on one connection so the
    // order keys are remembered in is known, is its first excess: one event each.
    const allowed = await s.flood(clients, 8);
    const exceeding = await s.flood(clients, 1);
    expect(allowed).toEqual({ ok: distinct, limited: 0 });
    expect(exceeding).toEqual({ ok: 0, limited: distinct });
    expect(s.exceeded()).toHaveLength(distinct);

    // Remembered: the newest MAX_AUDITED_KEYS keys. Exceeding again audits nothing new for them...
    const again = async (i: number) => {
      const before = s.exceeded().length;
      expect((await s.flood([client(i)], 1)).limited).toBe(1);
      return s.exceeded().length - before;
    };
    const newest = await again(distinct);
    const oldestRemembered = await again(distinct - MAX_AUDITED_KEYS + 1);
    // ...while the older ones were forgotten, and audit again; remembering one forgets the oldest.
    const forgotten = await again(distinct - MAX_AUDITED_KEYS);
    const evictedNow = await again(distinct - MAX_AUDITED_KEYS + 1);
    rows.push({
      framework: 'koa3',
      scenario: `${distinct} distinct keys, then 4 re-exceed probes`,
      requests: 2 * distinct + 4,
      '200s': allowed.ok,
      '429s': exceeding.limited + 4,
      'exceeded events': s.exceeded().length,
      seconds: ((performance.now() - started) / 1000).toFixed(1),
    });
    expect([newest, oldestRemembered, forgotten, evictedNow]).toEqual([0, 0, 1, 1]);
  });
});
