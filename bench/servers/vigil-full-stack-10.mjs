// Scenario `vigil-full-stack-10`: every Vigil part, tracing sampling 10 % of requests (see
// vigil-full-stack.mjs).
import { serveVigilFullStack } from './vigil-full-stack.mjs';

await serveVigilFullStack(0.1);
