// Scenario `vigil-tracing-10`: @vigil/tracing sampling 10 % of requests (see vigil-tracing.mjs).
import { serveVigilTracing } from './vigil-tracing.mjs';

await serveVigilTracing(0.1);
