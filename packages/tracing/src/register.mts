// `node --import @vigil/tracing/register app.mjs`: the ESM form. It registers OpenTelemetry's loader
// hook, so instrumentations can patch modules the app imports, then starts tracing.
import { register } from 'node:module';
import { createRequire } from 'node:module';

register('@opentelemetry/instrumentation/hook.mjs', import.meta.url);
const require = createRequire(import.meta.url);
// The CommonJS entry holds the setup, so both forms share one tracing instance.
const { tracing } = require('./register.js') as typeof import('./register.js');

export { tracing };
