// What vigil-rate-limit and vigil-rate-limit-redis share: expressRateLimit() with one never-limiting
// policy on every path, keyed by client address, its counter served at /metrics, and audit on.
import express from 'express';
import pino from 'pino';
import { Registry } from 'prom-client';
import { createAuditLogger } from '@vigil/audit';
import { expressRateLimit } from '@vigil/rate-limit';
import { mountRoutes, serve } from './common.mjs';
import { LIMIT, WINDOW_MS, mountHitsCheck, redisHits, redisUrl } from './rate-limit-common.mjs';

/** Serves the route mix behind expressRateLimit(); `redis` counts in the harness's redis-server. */
export function serveVigilRateLimit({ redis = false } = {}) {
  const registry = new Registry();
  const limiter = expressRateLimit({
    policies: [{ name: 'api', limit: LIMIT, windowMs: WINDOW_MS }],
    // `store` is explicit in both: next to store: 'memory' the redis option would be ignored.
    ...(redis ? { store: 'redis', redis: { url: redisUrl() } } : { store: 'memory' }),
    // The same kind of destination as the logging scenarios. Nothing is limited and the store never
    // fails, so no audit event is written: this is the cost of having audit configured.
    audit: createAuditLogger({ destination: pino.destination('/dev/null'), registry }),
    registry,
  });
  const app = express();
  app.use(limiter);
  mountRoutes(app);
  // One of the limiter's default skipPaths, so never counted.
  app.get('/metrics', async (req, res) => {
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
