// The Redis store against a real redis-server: instances (Express and Koa) sharing one limit, an
// injected client, what reaches Redis.
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { PolicyOptions, RedisOptions } from '@vigil/rate-limit';
import { type FrameworkName, buildApp } from './support/apps';
import {
  closeServers,
  findRedisServer,
  rawRequest,
  RedisServer,
  startServer,
} from '@vigil/test-utils';
import { header, inParallel, keepAliveAgent } from './support/http';
import {
  AuditCapture,
  LoggerCapture,
  apiKeyBucket,
  decisionCounts,
  remainingOf,
} from './support/signals';

const binary = findRedisServer();

describe.skipIf(binary === undefined)('Redis store', () => {
  let redis: RedisServer;
  let inspect: Redis;
  const limiters: { close(): Promise<void> }[] = [];
  let prefixes = 0;

  beforeAll(async () => {
    redis = await RedisServer.start(binary as string);
    inspect = new Redis(redis.url, { maxRetriesPerRequest: 1 });
  });
  afterAll(async () => {
    inspect?.disconnect();
    await redis?.kill();
  });
  afterEach(async () => {
    await Promise.all(limiters.splice(0).map((l) => l.close()));
    await closeServers();
  });

  /** Starts an app on the Redis store; every app of one test shares `prefix`. */
  async function instance(
    framework: FrameworkName,
    redisOptions: RedisOptions,
    policies: PolicyOptions[],
  ) {
    const registry = new Registry();
    const audit = new AuditCapture();
    const logger = new LoggerCapture();
    const app = buildApp(framework, {
      options: { registry, audit, logger, redis: redisOptions, policies },
    });
    limiters.push(app.limiter);
    const { origin } = await startServer(app.listener);
    return { origin, registry, audit, logger, limiter: app.limiter };
  }

  const API: PolicyOptions[] = [{ name: 'api', limit: 10, windowMs: 60_000 }];
  const uniquePrefix = () => `vigil-test-${process.pid}-${++prefixes}:`;

  it.each([
    ['express5', 'express4'],
    ['koa3', 'express5'],
    ['koa2', 'express4'],
  ] as const)('should share one limit between a %s and a %s instance', async (a, b) => {
    const prefix = uniquePrefix();
    const apps = [
      // A generous command timeout: on a loaded machine the default 250 ms would let a slow reply
      // fall back to the per-process count, which this test is not about.
      await instance(a, { url: redis.url, prefix, commandTimeoutMs: 5000 }, API),
      await instance(b, { url: redis.url, prefix, commandTimeoutMs: 5000 }, API),
    ];
    const statuses: number[] = [];
    const remaining: (number | undefined)[] = [];
    for (let i = 0; i < 30; i++) {
      const reply = await rawRequest((apps[i % 2] as { origin: string }).origin, '/api/items');
      statuses.push(reply.status);
      remaining.push(remainingOf(header(reply, 'RateLimit'), 'api'));
    }
    expect(statuses.filter((s) => s === 200)).toHaveLength(10);
    expect(statuses.slice(0, 10).every((s) => s === 200)).toBe(true);
    expect(statuses.slice(10).every((s) => s === 429)).toBe(true);
    // One count: the instances take turns and r= goes down by one each time.
    expect(remaining.slice(0, 11)).toEqual([9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 0]);
    expect(await inspect.get(`${prefix}api:127.0.0.1`)).toBe('30');
    const ttl = await inspect.pttl(`${prefix}api:127.0.0.1`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(60_000);
    const counts = await Promise.all(apps.map((app) => decisionCounts(app.registry, 'api')));
    expect(counts.reduce((n, c) => n + c.allowed, 0)).toBe(10);
    expect(counts.reduce((n, c) => n + c.limited, 0)).toBe(20);
    expect(counts.reduce((n, c) => n + c.store_error, 0)).toBe(0);
    // Each instance audits the first excess it sees.
    expect(apps.map((app) => app.audit.ofType('rate_limit.exceeded').length)).toEqual([1, 1]);
    for (const app of apps) {
      expect(app.limiter.status()).toEqual([{ policy: 'api', store: 'redis', down: false }]);
      expect(app.logger.problems).toEqual([]);
    }
  });

  it('should let exactly the limit through a concurrent burst on two instances', async () => {
    const prefix = uniquePrefix();
    const apps = [
      await instance('express5', { url: redis.url, prefix }, API),
      await instance('koa3', { url: redis.url, prefix }, API),
    ];
    const agents = apps.map(() => keepAliveAgent(4));
    const statuses = await inParallel(
      Array.from({ length: 90 }, (_, i) => i),
      8,
      async (i) => {
        const app = apps[i % 2] as { origin: string };
        return (await rawRequest(app.origin, '/burst', { agent: agents[i % 2] })).status;
      },
    );
    for (const agent of agents) agent.destroy();
    expect(statuses.filter((s) => s === 200)).toHaveLength(10);
    expect(statuses.filter((s) => s === 429)).toHaveLength(80);
  });

  it('should use an injected ioredis client and leave it open at close()', async () => {
    const prefix = uniquePrefix();
    const client = new Redis(redis.url, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: 250,
    });
    try {
      await new Promise<void>((resolve) => client.once('ready', () => resolve()));
      const express = await instance('express5', { client, prefix }, API);
      const koa = await instance('koa3', { client, prefix }, API);
      const statuses: number[] = [];
      for (let i = 0; i < 14; i++) {
        statuses.push((await rawRequest(i % 2 === 0 ? express.origin : koa.origin, '/')).status);
      }
      expect(statuses.filter((s) => s === 200)).toHaveLength(10);
      expect(await client.get(`${prefix}api:127.0.0.1`)).toBe('14');
      await Promise.all(limiters.splice(0).map((l) => l.close()));
      expect(client.status).toBe('ready');
      expect(await client.ping()).toBe('PONG');
    } finally {
      client.disconnect();
    }
  });

  it('should remove its listeners from an injected client at close()', async () => {
    const client = new Redis(redis.url, { enableOfflineQueue: false, maxRetriesPerRequest: 0 });
    try {
      await new Promise<void>((resolve) => client.once('ready', () => resolve()));
      const before = client.listenerCount('ready');
      for (const framework of ['express5', 'koa3', 'express4', 'koa2'] as const) {
        const app = await instance(framework, { client, prefix: uniquePrefix() }, API);
        await app.limiter.close();
      }
      expect(client.listenerCount('ready')).toBe(before);
    } finally {
      client.disconnect();
    }
  });

  it('should keep raw API keys and user ids in their Vigil form in Redis keys', async () => {
    const prefix = uniquePrefix();
    const raw = 'sk_live_redis_7f3e2d1c0b9a';
    const app = await instance('express5', { url: redis.url, prefix }, [
      { name: 'keys', limit: 5, windowMs: 60_000, key: 'api-key' },
      { name: 'users', limit: 5, windowMs: 60_000, key: 'user' },
    ]);
    await rawRequest(app.origin, '/', { headers: { 'x-api-key': raw, 'x-user': 'u-42' } });
    const keys = (await inspect.keys(`${prefix}*`)).sort();
    expect(keys).toEqual([`${prefix}keys:${apiKeyBucket(raw)}`, `${prefix}users:user:u-42`].sort());
    expect(keys.join(' ')).not.toContain(raw);
  });
});
