// Scenario `express-rate-limit`: plain express-rate-limit on its MemoryStore, never limiting, with
// Vigil's default headers (see rate-limit-plain.mjs).
import { servePlainRateLimit } from './rate-limit-plain.mjs';

await servePlainRateLimit();
