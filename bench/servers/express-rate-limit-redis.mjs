// Scenario `express-rate-limit-redis`: as `express-rate-limit`, on rate-limit-redis with an ioredis
// client with default options, counting in the harness's redis-server (see rate-limit-plain.mjs).
import { servePlainRateLimit } from './rate-limit-plain.mjs';

await servePlainRateLimit({ redis: true });
