// Scenario `otel-plain-100`: plain OpenTelemetry (see otel-plain.mjs), sampling every request.
import { serveOtelPlain } from './otel-plain.mjs';

await serveOtelPlain(1);
