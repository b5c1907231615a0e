// What the vigil-tracing scenarios share: startTracing() sampling `ratio` of requests, with spans going
// through a BatchSpanProcessor to an exporter that discards them and no trace buffer, then
// expressTracing() (and the request logger when asked) in front of the route mix.
import { expressRequestLogger } from '@vigil/logging';
import { expressTracing, startTracing } from '@vigil/tracing';
import { plainDevNullDestination } from './log-common.mjs';
import { discardingExporter, loadExpressAfterTracing, mountSpanCheck } from './tracing-common.mjs';

/**
 * Starts tracing, then serves the route mix; `logger` adds expressRequestLogger() to /dev/null.
 * @param {number} ratio
 * @param {{ logger?: boolean }} [options]
 */
export async function serveVigilTracing(ratio, { logger = false } = {}) {
  const exporter = discardingExporter();
  startTracing({
    exporter,
    traceBuffer: false,
    sampler: 'parentbased_traceidratio',
    samplerRatio: ratio,
  });
  // Express loads only now, after the SDK is set up.
  const { express, mountRoutes, serve } = await loadExpressAfterTracing();
  const app = express();
  app.use(expressTracing());
  // The same destination as the pino-http scenario, so the two compare fairly.
  if (logger) app.use(expressRequestLogger({ destination: plainDevNullDestination() }));
  mountRoutes(app);
  mountSpanCheck(app, exporter);
  serve(app);
}
