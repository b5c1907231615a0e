// `npm start`: runs the reference app until SIGINT or SIGTERM.
import { startTracing } from '@vigil/tracing';

// Tracing starts before the app's modules load, so OpenTelemetry's http instrumentation can patch
// them. OTEL_* variables apply (OTEL_EXPORTER_OTLP_ENDPOINT sends spans to a collector). The
// gateway's vigil() call (gateway.ts) uses this setup, as it would one started by vigil/register.
const tracing = startTracing({ serviceName: process.env.OTEL_SERVICE_NAME ?? 'gateway' });

async function main(): Promise<void> {
  // Loaded after startTracing() on purpose (see above).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { startReferenceApp } = require('./index') as typeof import('./index');
  const app = await startReferenceApp({ tracing });
  console.log(`gateway  ${app.gatewayUrl}   (try ${app.gatewayUrl}/api/videos/1)`);
  console.log(`catalog  ${app.catalogUrl}`);
  console.log(`metrics  ${app.gatewayUrl}/metrics  and  ${app.catalogUrl}/metrics`);
  console.log(`live     ${app.gatewayUrl}/_vigil   (overview: ${app.gatewayUrl}/observability)`);
  console.log(`traces   ${app.gatewayUrl}/_vigil/traces`);
  console.log(`health   ${app.gatewayUrl}/health/live  /health/ready  /health/startup`);
  console.log(
    `alerts   ${app.gatewayUrl}/alerts   (${app.alerting.mode === 'alertmanager' ? 'handed to ALERTMANAGER_URL' : 'evaluated and routed in the process'})`,
  );
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    console.log(`${signal}: shutting down`);
    // Readiness answers 503 at once; in-flight and keep-alive requests finish before the servers
    // close; then vigil's capabilities stop (the audit trail flushed) and the spans are flushed.
    app.health
      .shutdown()
      .then(() => app.close())
      .then(() => tracing.shutdown())
      .then(
        () => process.exit(0),
        () => process.exit(1),
      );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
