// Checks under load and faults: a probe storm costs one call per interval, a check that never settles
// fails at its timeout without stacking calls, startup checks gate readiness, and a real redis-server
// stopped and restarted fails and restores readiness while liveness never looks at it.
import express from 'express';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Health, check, createHealth, expressHealth, redisCheck } from '@vigil/health';
import {
  RedisServer,
  closeServers,
  findRedisServer,
  pollFor,
  send,
  startServer,
} from '@vigil/test-utils';

const created: Health[] = [];
afterEach(async () => {
  for (const h of created.splice(0)) h.close();
  await closeServers();
});

function make(options: Parameters<typeof createHealth>[0]): Health {
  const health = createHealth({ shutdown: false, registry: false, ...options });
  created.push(health);
  return health;
}

async function serve(health: Health) {
  const app = express();
  app.use(expressHealth(health));
  const { port } = await startServer(app);
  return port;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('a probe storm', () => {
  it('should cost one dependency call, whatever the number of probes within the interval', async () => {
    let calls = 0;
    const health = make({
      started: true,
      readiness: [
        check(
          'database',
          async () => {
            calls++;
            await sleep(20);
          },
          { intervalMs: 60_000 },
        ),
      ],
    });
    const port = await serve(health);
    const started = performance.now();
    const storm = await Promise.all(
      Array.from({ length: 200 }, () => send(port, { path: '/health/ready' })),
    );
    const stormMs = Math.round(performance.now() - started);
    const statuses = storm.map((r) => r.status);
    console.log(
      `[health] probe storm: 200 concurrent /health/ready in ${stormMs} ms, ${statuses.filter((s) => s === 200).length} x 200, check called ${calls} time(s)`,
    );
    expect(statuses.every((s) => s === 200)).toBe(true);
    expect(calls).toBe(1);
  });

  it('should call the check again once its interval has passed, once for concurrent probes', async () => {
    let calls = 0;
    const health = make({
      started: true,
      readiness: [check('database', () => void calls++, { intervalMs: 200 })],
    });
    await Promise.all(Array.from({ length: 50 }, () => health.probe('ready')));
    expect(calls).toBe(1);
    await sleep(250);
    await Promise.all(Array.from({ length: 50 }, () => health.probe('ready')));
    console.log(
      `[health] 2 x 50 concurrent probes, one interval apart: check called ${calls} time(s)`,
    );
    expect(calls).toBe(2);
  });
});

describe('a check that never settles', () => {
  it('should fail with "timed out after N ms" within its timeout, and never stack a second call', async () => {
    let calls = 0;
    const health = make({
      started: true,
      readiness: [
        check(
          'hung',
          () => {
            calls++;
            return new Promise<void>(() => undefined);
          },
          { timeoutMs: 150, intervalMs: 100 },
        ),
      ],
    });
    const port = await serve(health);
    const t0 = performance.now();
    const r = await send(port, { path: '/health/ready' });
    const ms = Math.round(performance.now() - t0);
    const body = JSON.parse(r.body) as {
      status: string;
      checks: Record<string, { status: string; output: string }[]>;
    };
    console.log(
      `[health] hung check: ${r.status} after ${ms} ms, output "${body.checks['hung:responseTime']?.[0]?.output}"`,
    );
    expect(r.status).toBe(503);
    expect(body.checks['hung:responseTime']?.[0]).toMatchObject({
      status: 'fail',
      output: 'timed out after 150 ms',
    });
    expect(ms).toBeGreaterThanOrEqual(140);
    expect(ms).toBeLessThan(1500);
    await sleep(120);
    const again = await send(port, { path: '/health/ready' });
    expect(again.status).toBe(503);
    expect(calls).toBe(1);
  });

  it('should fail a check whose function throws or returns a bad status, never throwing into the app', async () => {
    const health = make({
      started: true,
      readiness: [
        check('sync', () => {
          throw new Error('boom');
        }),
        check('odd', () => ({ status: 'maybe' as never })),
        check('rejects', () => Promise.reject(new Error('no route to host'))),
      ],
    });
    const { httpStatus, report } = await health.probe('ready');
    expect(httpStatus).toBe(503);
    expect(report.checks?.['sync:responseTime']?.[0]).toMatchObject({
      status: 'fail',
      output: 'boom',
    });
    expect(report.checks?.['odd:responseTime']?.[0]?.status).toBe('fail');
    expect(report.checks?.['rejects:responseTime']?.[0]?.output).toBe('no route to host');
  });
});

describe('startup checks', () => {
  it('should keep startup and readiness 503 until they pass once, then keep startup passed', async () => {
    let migrated = false;
    const health = make({
      startup: [check('migrations', () => migrated, { intervalMs: 0 })],
    });
    const port = await serve(health);
    const statuses = async () =>
      (
        await Promise.all(
          ['/health/live', '/health/ready', '/health/startup'].map((path) => send(port, { path })),
        )
      ).map((r) => r.status);
    expect(await statuses()).toEqual([200, 503, 503]);
    health.markStarted();
    expect(await statuses()).toEqual([200, 503, 503]);
    migrated = true;
    expect(await statuses()).toEqual([200, 200, 200]);
    migrated = false;
    // Kubernetes stops the startup probe once it succeeded; the result is latched the same way.
    expect(await statuses()).toEqual([200, 200, 200]);
  });
});

describe('redisCheck', () => {
  it('should accept any client with ping() (node-redis and ioredis alike)', async () => {
    const health = make({
      started: true,
      readiness: [redisCheck({ ping: () => Promise.resolve('PONG') })],
    });
    expect((await health.probe('ready')).report.checks?.['redis:responseTime']?.[0]).toMatchObject({
      status: 'pass',
      componentType: 'datastore',
      observedUnit: 'ms',
    });
    const odd = make({
      started: true,
      readiness: [redisCheck({ ping: () => Promise.resolve('NOPE') })],
    });
    expect((await odd.probe('ready')).httpStatus).toBe(503);
  });
});

const binary = findRedisServer();

describe.skipIf(binary === undefined)('redisCheck against a real redis-server', () => {
  let redis: RedisServer;
  let client: Redis;

  beforeAll(async () => {
    redis = await RedisServer.start(binary as string);
    client = new Redis(redis.url, { maxRetriesPerRequest: 1, retryStrategy: () => 50 });
    // Connection errors while Redis is down are what the check reports; the client logs nothing.
    client.on('error', () => undefined);
  });
  afterAll(async () => {
    client?.disconnect();
    await redis?.kill();
  });

  it('should fail readiness only while Redis is down, and pass again once it is back', async () => {
    const health = make({
      started: true,
      readiness: [redisCheck(client, { timeoutMs: 300, intervalMs: 50 })],
    });
    const port = await serve(health);
    const up = await send(port, { path: '/health/ready' });
    expect(up.status).toBe(200);
    await redis.kill();
    const t0 = performance.now();
    const down = await pollFor(async () => {
      const r = await send(port, { path: '/health/ready' });
      return r.status === 503 ? r : undefined;
    }, 5000);
    const downMs = Math.round(performance.now() - t0);
    const live = await send(port, { path: '/health/live' });
    const output = (
      JSON.parse(down?.body ?? '{}') as { checks?: Record<string, { output?: string }[]> }
    ).checks?.['redis:responseTime']?.[0]?.output;
    await redis.start();
    const t1 = performance.now();
    const back = await pollFor(async () => {
      const r = await send(port, { path: '/health/ready' });
      return r.status === 200 ? r : undefined;
    }, 10_000);
    const backMs = Math.round(performance.now() - t1);
    console.log(
      `[health] redis killed: readiness 503 after ${downMs} ms ("${output}"), liveness ${live.status}; restarted: readiness 200 after ${backMs} ms`,
    );
    expect(down?.status).toBe(503);
    expect(live.status).toBe(200);
    expect(back?.status).toBe(200);
  });
});
