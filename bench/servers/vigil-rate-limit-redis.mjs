// Scenario `vigil-rate-limit-redis`: as `vigil-rate-limit`, counting in the harness's redis-server
// through the client Vigil creates from `redis: { url }` (see rate-limit-vigil.mjs).
import { serveVigilRateLimit } from './rate-limit-vigil.mjs';

await serveVigilRateLimit({ redis: true });
