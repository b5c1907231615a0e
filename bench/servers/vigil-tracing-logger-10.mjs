// Scenario `vigil-tracing-logger-10`: startTracing() sampling 10 % of requests, expressTracing(), and
// the request logger expressRequestLogger() writing to /dev/null through pino.destination(), the same
// kind of destination as the `pino-http` scenario. Spans are discarded as in `vigil-tracing-10`.
import pino from 'pino';
import * as vigilTracing from '@vigil/tracing';
import { discardingExporter, loadExpressAfterTracing, mountSpanCheck } from './tracing-common.mjs';

const { expressTracing, startTracing, expressRequestLogger } = vigilTracing;
if (typeof expressRequestLogger !== 'function') {
  throw new Error(
    'vigil-tracing-logger-10: @vigil/tracing does not export expressRequestLogger (yet); run `npx tsc -b` once it exists.',
  );
}

const exporter = discardingExporter();
startTracing({
  exporter,
  traceBuffer: false,
  sampler: 'parentbased_traceidratio',
  samplerRatio: 0.1,
});
const { express, mountRoutes, serve } = await loadExpressAfterTracing();

const app = express();
app.use(expressTracing());
app.use(expressRequestLogger({ destination: pino.destination('/dev/null') }));
mountRoutes(app);
mountSpanCheck(app, exporter);
serve(app);
