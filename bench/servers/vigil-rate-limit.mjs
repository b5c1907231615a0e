// Scenario `vigil-rate-limit`: @vigil/rate-limit, one never-limiting policy in memory, audit on,
// /metrics from its registry (see rate-limit-vigil.mjs).
import { serveVigilRateLimit } from './rate-limit-vigil.mjs';

await serveVigilRateLimit();
