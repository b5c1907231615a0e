// What express-rate-limit, express-rate-limit-redis and hand-assembled share: plain
// express-rate-limit, never limiting, with the headers Vigil sends by default (draft-8 `RateLimit` and
// `RateLimit-Policy`, no legacy `X-RateLimit-*`), on its MemoryStore or on rate-limit-redis.
//
// No static express import: hand-assembled loads this before OpenTelemetry is set up (see
// tracing-common.mjs), so Express and the route mix are imported only when serving.
import { rateLimit } from 'express-rate-limit';
import { LIMIT, WINDOW_MS, mountHitsCheck, redisHits, redisUrl } from './rate-limit-common.mjs';

/**
 * The limiter; `redis` puts its counts in the harness's redis-server through rate-limit-redis.
 * @param {{ redis?: boolean }} [options]
 */
export async function plainRateLimiter({ redis = false } = {}) {
  /** @type {Partial<import('express-rate-limit').Options>} */
  const options = {
    windowMs: WINDOW_MS,
    limit: LIMIT,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
  };
  if (redis) {
    // Loaded only here, so the memory scenarios' processes hold no Redis code.
    const [{ Redis }, { RedisStore }] = await Promise.all([
      import('ioredis'),
      import('rate-limit-redis'),
    ]);
    // Default options, as rate-limit-redis's README shows it.
    const client = new Redis(redisUrl());
    options.store = new RedisStore({
      sendCommand: (command, ...args) =>
        /** @type {Promise<import('rate-limit-redis').RedisReply>} */ (
          client.call(command, ...args)
        ),
    });
  }
  return rateLimit(options);
}

/**
 * Mounts the hit-count check for a memory-store limiter (after the route mix): the count is read
 * through the limiter itself.
 * @param {import('express').Express} app
 * @param {import('express-rate-limit').RateLimitRequestHandler} limiter
 */
export function mountMemoryHitsCheck(app, limiter) {
  mountHitsCheck(app, async (key) => (await limiter.getKey(key))?.totalHits);
}

/**
 * Serves the route mix behind rateLimit(); `redis` uses rate-limit-redis on an ioredis client.
 * @param {{ redis?: boolean }} [options]
 */
export async function servePlainRateLimit({ redis = false } = {}) {
  const [{ default: express }, { mountRoutes, serve }] = await Promise.all([
    import('express'),
    import('./common.mjs'),
  ]);
  const limiter = await plainRateLimiter({ redis });
  const app = express();
  app.use(limiter);
  mountRoutes(app);
  // rate-limit-redis's default key prefix is `rl:`.
  if (redis) mountHitsCheck(app, redisHits('rl:'));
  else mountMemoryHitsCheck(app, limiter);
  serve(app);
}
