// The W3C Trace Context test harness's checks (STRICT_LEVEL 2) against the reference app's `POST /test`,
// with the OpenTelemetry SDK started as `npm start` starts it.
import { startTracing } from '@vigil/tracing';
import { startReferenceApp } from '../examples/reference-app/src/index';
import { harnessSuite } from './support/trace-context-harness';

harnessSuite('the reference app with the SDK', async () => {
  const tracing = startTracing({ serviceName: 'gateway', exporter: 'none' });
  const app = await startReferenceApp({
    port: 0,
    catalogPort: 0,
    tracing,
    traceContextTest: true,
    logDestination: { write: () => true },
    auditDestination: { write: () => true },
  });
  return {
    origin: app.gatewayUrl,
    async close() {
      await app.close();
      await tracing.shutdown();
    },
  };
});
