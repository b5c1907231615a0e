// Scenario `hand-assembled-10`: the hand-assembled equivalent of `vigil-full-stack-10`, OpenTelemetry
// sampling 10 % of requests (see hand-assembled.mjs).
import { serveHandAssembled } from './hand-assembled.mjs';

await serveHandAssembled(0.1);
