// Scenario `vigil-tracing-10`: startTracing() sampling 10 % of requests, and expressTracing().
// Spans go through a BatchSpanProcessor to an exporter that discards them; no trace buffer.
import { expressTracing, startTracing } from '@vigil/tracing';
import { discardingExporter, loadExpressAfterTracing, mountSpanCheck } from './tracing-common.mjs';

const exporter = discardingExporter();
startTracing({
  exporter,
  traceBuffer: false,
  sampler: 'parentbased_traceidratio',
  samplerRatio: 0.1,
});
// Express loads only now, after the SDK is set up.
const { express, mountRoutes, serve } = await loadExpressAfterTracing();

const app = express();
app.use(expressTracing());
mountRoutes(app);
mountSpanCheck(app, exporter);
serve(app);
