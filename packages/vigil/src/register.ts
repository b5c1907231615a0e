// `node --require vigil/register app.js`: starts tracing (OTEL_* variables) before the app's modules
// load, so OpenTelemetry can patch them; vigil(app) then uses this setup. @vigil/tracing's entry.
export { tracing } from '@vigil/tracing/register';
