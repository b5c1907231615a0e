// Scenario `otel-plain-10`: plain OpenTelemetry (see otel-plain.mjs), sampling 10 % of requests.
import { serveOtelPlain } from './otel-plain.mjs';

await serveOtelPlain(0.1);
