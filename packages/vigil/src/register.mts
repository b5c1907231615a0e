// `node --import vigil/register app.mjs`: the ESM form (registers OpenTelemetry's loader hook, then
// starts tracing). @vigil/tracing's entry, so both forms share one tracing instance.
export { tracing } from '@vigil/tracing/register';
