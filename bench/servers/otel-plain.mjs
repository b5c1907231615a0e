// What otel-plain-10 and otel-plain-100 share: plain OpenTelemetry as a user hand-assembles it today.
// NodeTracerProvider with ParentBasedSampler(TraceIdRatioBasedSampler(ratio)), a BatchSpanProcessor
// and the discarding exporter, provider.register(), then the http and express instrumentations with
// their default config. All of it before Express loads.
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

/** Sets up plain OpenTelemetry sampling `ratio` of requests, then serves the route mix. */
export async function serveOtelPlain(ratio) {
  const exporter = discardingExporter();
  const provider = new NodeTracerProvider({
    sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(ratio) }),
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
}
