// Readiness on the rate limiter's shared store: a real redis-server killed and restarted under an
// Express app with @vigil/rate-limit; rateLimitCheck() reads limiter.status(), so readiness fails
// while the Redis store is down and passes once the limiter is back on it; liveness never moves.
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHealth, expressHealth, rateLimitCheck, VigilError } from '@vigil/health';
import { expressRateLimit } from '@vigil/rate-limit';
import {
  RedisServer,
  type RunningServer,
  findRedisServer,
  listen,
  pollFor,
} from '@vigil/test-utils';

const binary = findRedisServer();

describe('rateLimitCheck', () => {
  it('should refuse what is not a limiter with a coded error', () => {
    expect(() => rateLimitCheck({} as never)).toThrow(VigilError);
    expect(() => rateLimitCheck({} as never)).toThrow(/ERR_VIGIL_HEALTH_INVALID_CLIENT/);
  });

  it('should pass with memory stores, which are never down', async () => {
    const limiter = expressRateLimit({
      store: 'memory',
      registry: false,
      policies: [{ name: 'api', limit: 10, windowMs: 60_000 }],
    });
    const health = createHealth({
      started: true,
      registry: false,
      shutdown: false,
      readiness: [rateLimitCheck(limiter)],
    });
    try {
      const { httpStatus, report } = await health.probe('ready');
      expect(httpStatus).toBe(200);
      expect(report.checks?.['rateLimitStore:status']?.[0]).toMatchObject({
        status: 'pass',
        observedValue: 1,
        observedUnit: 'policies',
      });
    } finally {
      health.close();
      await limiter.close();
    }
  });
});

describe.skipIf(binary === undefined)('rateLimitCheck against a real redis-server', () => {
  let redis: RedisServer;
  let server: RunningServer;
  let limiter: ReturnType<typeof expressRateLimit>;
  let health: ReturnType<typeof createHealth>;

  beforeAll(async () => {
    redis = await RedisServer.start(binary as string);
    limiter = expressRateLimit({
      registry: false,
      redis: { url: redis.url, commandTimeoutMs: 200 },
      retryIntervalMs: 200,
      policies: [
        { name: 'api', limit: 1000, windowMs: 60_000, routes: ['/api'] },
        {
          name: 'login',
          limit: 5,
          windowMs: 60_000,
          routes: ['/login'],
          onStoreError: 'fail-closed',
        },
      ],
    });
    health = createHealth({
      started: true,
      registry: false,
      shutdown: false,
      readiness: [rateLimitCheck(limiter, { intervalMs: 0 })],
    });
    const app = express();
    app.use(expressHealth(health));
    app.use(limiter);
    app.get('/api/items', (_req, res) => {
      res.json([]);
    });
    server = await listen(app);
  });

  afterAll(async () => {
    health?.close();
    await server?.close();
    await limiter?.close();
    await redis?.kill();
  });

  it('should fail readiness while the Redis store is down and pass once the limiter uses it again', async () => {
    const get = (path: string) => fetch(server.url + path).then((r) => r.status);
    expect(await get('/api/items')).toBe(200);
    expect(await get('/health/ready')).toBe(200);

    await redis.kill();
    const killedAt = performance.now();
    // The limiter learns of the outage from its own store calls: traffic goes on meanwhile.
    const down = await pollFor(
      async () => {
        await get('/api/items');
        return (await get('/health/ready')) === 503 ? true : undefined;
      },
      10_000,
      50,
    );
    const downMs = performance.now() - killedAt;
    expect(down).toBe(true);
    const body = (await (await fetch(`${server.url}/health/ready`)).json()) as {
      checks: Record<string, { status: string; output?: string }[]>;
    };
    expect(body.checks['rateLimitStore:status']?.[0]?.output).toMatch(
      /^the redis store of "api"(, "login")? is down$/,
    );
    expect(await get('/health/live')).toBe(200);

    await redis.start();
    const restartedAt = performance.now();
    const up = await pollFor(
      async () => {
        await get('/api/items');
        return (await get('/health/ready')) === 200 ? true : undefined;
      },
      10_000,
      50,
    );
    const upMs = performance.now() - restartedAt;
    expect(up).toBe(true);
    console.log(
      `[health] redis of the limiter killed: readiness 503 after ${downMs.toFixed(0)} ms; restarted: 200 after ${upMs.toFixed(0)} ms`,
    );
  });
});
