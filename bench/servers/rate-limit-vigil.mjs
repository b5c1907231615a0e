// What vigil-rate-limit, vigil-rate-limit-redis and vigil-full-stack share: expressRateLimit() with one
// never-limiting policy on every path, keyed by client address, with audit on; the rate-limit
// scenarios serve its counter at /metrics.
//
// No static express import: vigil-full-stack loads this before tracing is set up (see
// tracing-common.mjs), so Express and the route mix are imported only when serving.
import pino from 'pino';
import { Registry } from 'prom-client';
import { createAuditLogger } from '@vigil/audit';
import { expressRateLimit } from '@vigil/rate-limit';
import { LIMIT, WINDOW_MS, mountHitsCheck, redisHits, redisUrl } from './rate-limit-common.mjs';

/**
 * The limiter: policy `api` (never reached) on the memory store, or `redis` in the harness's
 * redis-server; its metrics and the audit logger's in `registry`.
 * @param {{ redis?: boolean, registry: Registry }} options
 */
export function vigilRateLimiter({ redis = false, registry }) {
  return expressRateLimit({
    policies: [{ name: 'api', limit: LIMIT, windowMs: WINDOW_MS }],
    // `store` is explicit in both: next to store: 'memory' the redis option would be ignored.
    ...(redis ? { store: 'redis', redis: { url: redisUrl() } } : { store: 'memory' }),
    // The same kind of destination as the logging scenarios. Nothing is limited and the store never
    // fails, so no audit event is written: this is the cost of having audit configured.
    audit: createAuditLogger({ destination: pino.destination('/dev/null'), registry }),
    registry,
  });
}

/** Serves the route mix behind the limiter; `redis` counts in the harness's redis-server. */
export async function serveVigilRateLimit({ redis = false } = {}) {
  const [{ default: express }, { mountRoutes, serve }] = await Promise.all([
    import('express'),
    import('./common.mjs'),
  ]);
  const registry = new Registry();
  const limiter = vigilRateLimiter({ redis, registry });
  const app = express();
  app.use(limiter);
  mountRoutes(app);
  // One of the limiter's default skipPaths, so never counted.
  app.get('/metrics', async (_req, res) => {
    res.type(registry.contentType).send(await registry.metrics());
  });
  if (redis) {
    // Vigil's default key prefix, `vigil-rl:`, then the policy name. A store that fell back to
    // memory (the default onStoreError) would leave Redis without the count, or show as down.
    mountHitsCheck(app, redisHits('vigil-rl:api:'), () =>
      limiter.status().map((s) => `rate_limit_store_down{policy="${s.policy}"} ${s.down ? 1 : 0}`),
    );
  }
  serve(app);
}
