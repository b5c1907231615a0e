// Scenario `otel-plain-10`: what a user hand-assembles today with plain OpenTelemetry, sampling 10 %
// of requests: NodeTracerProvider with ParentBasedSampler(TraceIdRatioBasedSampler(0.1)), a
// BatchSpanProcessor and the discarding exporter, provider.register(), then the http and express
// instrumentations with their default config. All of it before Express loads.
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { ExpressInstrumentation } from '@opentelemetry/instrumentation-express';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import {
  BatchSpanProcessor,
  NodeTracerProvider,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
} from '@opentelemetry/sdk-trace-node';
import { discardingExporter, loadExpressAfterTracing, mountSpanCheck } from './tracing-common.mjs';

const RATIO = 0.1;

const exporter = discardingExporter();
const provider = new NodeTracerProvider({
  sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(RATIO) }),
  spanProcessors: [new BatchSpanProcessor(exporter)],
});
provider.register();
registerInstrumentations({
  instrumentations: [new HttpInstrumentation(), new ExpressInstrumentation()],
});
const { express, mountRoutes, serve } = await loadExpressAfterTracing();

const app = express();
mountRoutes(app);
mountSpanCheck(app, exporter);
serve(app);
