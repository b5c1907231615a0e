// Scenario `vigil-tracing-logger-10`: @vigil/tracing sampling 10 % of requests plus its request
// logger writing to /dev/null (see vigil-tracing.mjs).
import { serveVigilTracing } from './vigil-tracing.mjs';

await serveVigilTracing(0.1, { logger: true });
