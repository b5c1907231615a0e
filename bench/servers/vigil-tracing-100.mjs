// Scenario `vigil-tracing-100`: @vigil/tracing sampling every request (see vigil-tracing.mjs).
import { serveVigilTracing } from './vigil-tracing.mjs';

await serveVigilTracing(1);
