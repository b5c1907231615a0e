// Scenario `hand-assembled-100`: the hand-assembled equivalent of `vigil-full-stack-100`, OpenTelemetry
// sampling every request (see hand-assembled.mjs).
import { serveHandAssembled } from './hand-assembled.mjs';

await serveHandAssembled(1);
