// What hand-assembled-10 and hand-assembled-100 share: the equivalent of vigil-full-stack as users
// wire it today from the libraries they pick. Plain OpenTelemetry (the http and express
// instrumentations, the same sampler, no exporter) before Express loads, then pino-http to /dev/null,
// express-prom-bundle (method, path and status code) and express-rate-limit with the same
// never-reached limit.
import { pinoHttp } from 'pino-http';
import promBundle from 'express-prom-bundle';
import { devNullDestination, mountLogCheck } from './log-common.mjs';
import { startPlainOpenTelemetry } from './otel-plain.mjs';
import { mountMemoryHitsCheck, plainRateLimiter } from './rate-limit-plain.mjs';
import {
  countingSpanProcessor,
  loadExpressAfterTracing,
  mountSpanCountCheck,
} from './tracing-common.mjs';

/**
 * Sets up plain OpenTelemetry sampling `ratio` of requests, then serves the hand-assembled stack.
 * @param {number} ratio
 */
export async function serveHandAssembled(ratio) {
  // No exporter: the only processor counts ended spans, so the check can see that spans were made.
  const spans = countingSpanProcessor();
  startPlainOpenTelemetry(ratio, [spans]);
  // Express loads only now, so the Express instrumentation patches it.
  const { express, mountRoutes, serve } = await loadExpressAfterTracing();
  const log = devNullDestination();
  const limiter = await plainRateLimiter();

  const app = express();
  // Default options; the destination goes second (a SonicBoom is not a Node stream, so pino-http
  // would take it for an options object if passed first).
  app.use(pinoHttp({}, log));
  // It answers /metrics itself (prom-client's global registry), so the limiter never counts it.
  app.use(promBundle({ includeMethod: true, includePath: true, includeStatusCode: true }));
  app.use(limiter);
  mountRoutes(app);
  mountSpanCountCheck(app, spans);
  mountMemoryHitsCheck(app, limiter);
  mountLogCheck(app, log);
  serve(app);
}
