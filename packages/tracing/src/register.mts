// `node --import @vigil/tracing/register app.mjs`: the ESM form. It registers OpenTelemetry's loader
// hook, so instrumentations can patch modules the app imports, then starts tracing.
import { register } from 'node:module';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { sdkDisabled } = require('./env.js') as typeof import('./env.js');
// With OTEL_SDK_DISABLED=true nothing is registered, the loader hook included (startTracing() then
// returns a disabled Tracing).
if (!sdkDisabled().value) register('@opentelemetry/instrumentation/hook.mjs', import.meta.url);
// The CommonJS entry holds the setup, so both forms share one tracing instance.
const { tracing } = require('./register.js') as typeof import('./register.js');

export { tracing };
