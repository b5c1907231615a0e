// What otel-plain-10, otel-plain-100 and hand-assembled share: plain OpenTelemetry as a user
// hand-assembles it today. NodeTracerProvider with ParentBasedSampler(TraceIdRatioBasedSampler(ratio)),
// provider.register(), then the http and express instrumentations with their default config. All of it
// before Express loads.
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

/**
 * Sets up plain OpenTelemetry sampling `ratio` of requests, ending spans in `spanProcessors`. Call it
 * before Express is loaded.
 * @param {number} ratio
 * @param {import('@opentelemetry/sdk-trace-node').SpanProcessor[]} spanProcessors
 */
export function startPlainOpenTelemetry(ratio, spanProcessors) {
  const provider = new NodeTracerProvider({
    sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(ratio) }),
    spanProcessors,
  });
  provider.register();
  registerInstrumentations({
    instrumentations: [new HttpInstrumentation(), new ExpressInstrumentation()],
  });
  return provider;
}

/**
 * Plain OpenTelemetry with a BatchSpanProcessor and the discarding exporter, then the route mix.
 * @param {number} ratio
 */
export async function serveOtelPlain(ratio) {
  const exporter = discardingExporter();
  startPlainOpenTelemetry(ratio, [new BatchSpanProcessor(exporter)]);
  const { express, mountRoutes, serve } = await loadExpressAfterTracing();
  const app = express();
  mountRoutes(app);
  mountSpanCheck(app, exporter);
  serve(app);
}
