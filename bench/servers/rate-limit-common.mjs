// What the rate-limit scenarios share: a policy that never limits, where Redis is, and an
// after-the-window check that reads what the limiter counted.
import { ipKeyGenerator } from 'express-rate-limit';

/**
 * Never reached (a 6 s run is some tens of thousands of requests): no request is limited, so the runs
 * measure what checking and counting costs every request, not what a 429 costs.
 */
export const LIMIT = 1e9;
export const WINDOW_MS = 60_000;

/** The path of the hit-count check; used in scenarios.mjs, requested only after the window. */
export const RATE_LIMIT_CHECK_PATH = '/_bench/rate-limit';

/** The harness's redis-server (bench/lib/redis.mjs), passed to the Redis scenarios only. */
export function redisUrl() {
  const url = process.env.REDIS_URL;
  if (!url)
    throw new Error('REDIS_URL is not set: bench/run.mjs passes it to the Redis scenarios.');
  return url;
}

/**
 * Mounts the hit-count check. Call it after mountRoutes(app), so no load request meets it. It answers
 * `rate_limit_hits{key="127.0.0.1"} 51234`: what `hits(key)` reads for the requester's own key (the
 * load comes from the same address; the check request itself was counted too), then `extra()` lines.
 * @param {import('express').Express} app
 * @param {(key: string) => Promise<number | undefined>} hits
 * @param {() => string[]} [extra]
 */
export function mountHitsCheck(app, hits, extra = () => []) {
  app.get(RATE_LIMIT_CHECK_PATH, async (req, res) => {
    const key = ipKeyGenerator(req.ip ?? '');
    const lines = [`rate_limit_hits{key=${JSON.stringify(key)}} ${(await hits(key)) ?? 0}`];
    res.type('text/plain').send(`${[...lines, ...extra()].join('\n')}\n`);
  });
}

/**
 * Reads a count straight from Redis with a client of its own, not through the limiter under test.
 * @param {string} prefix
 * @returns {(key: string) => Promise<number>}
 */
export function redisHits(prefix) {
  return async (key) => {
    // Loaded here, after the window: the memory scenarios never load ioredis for this.
    const { Redis } = await import('ioredis');
    const client = new Redis(redisUrl(), { lazyConnect: true, maxRetriesPerRequest: 0 });
    try {
      await client.connect();
      const value = await client.get(`${prefix}${key}`);
      return value === null ? 0 : Number(value);
    } finally {
      client.disconnect();
    }
  };
}
