// What express-rate-limit and express-rate-limit-redis share: plain express-rate-limit, never
// limiting, with the headers Vigil sends by default (draft-8 `RateLimit` and `RateLimit-Policy`, no
// legacy `X-RateLimit-*`), on its MemoryStore or on rate-limit-redis.
import express from 'express';
import { rateLimit } from 'express-rate-limit';
import { mountRoutes, serve } from './common.mjs';
import { LIMIT, WINDOW_MS, mountHitsCheck, redisHits, redisUrl } from './rate-limit-common.mjs';

/** Serves the route mix behind rateLimit(); `redis` uses rate-limit-redis on an ioredis client. */
export async function servePlainRateLimit({ redis = false } = {}) {
  const options = {
    windowMs: WINDOW_MS,
    limit: LIMIT,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
  };
  if (redis) {
    // Loaded only here, so the memory scenario's process holds no Redis code.
    const [{ Redis }, { RedisStore }] = await Promise.all([
      import('ioredis'),
      import('rate-limit-redis'),
    ]);
    // Default options, as rate-limit-redis's README shows it.
    const client = new Redis(redisUrl());
    options.store = new RedisStore({
      sendCommand: (command, ...args) => client.call(command, ...args),
    });
  }
  const limiter = rateLimit(options);
  const app = express();
  app.use(limiter);
  mountRoutes(app);
  // rate-limit-redis's default key prefix is `rl:`; the memory count is read through the limiter.
  mountHitsCheck(
    app,
    redis ? redisHits('rl:') : async (key) => (await limiter.getKey(key))?.totalHits,
  );
  serve(app);
}
