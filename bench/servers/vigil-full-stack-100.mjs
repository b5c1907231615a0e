// Scenario `vigil-full-stack-100`: every Vigil part, tracing sampling every request (see
// vigil-full-stack.mjs).
import { serveVigilFullStack } from './vigil-full-stack.mjs';

await serveVigilFullStack(1);
