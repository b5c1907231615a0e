// Public types of @vigil/tracing: middleware options, hook info, setup options.
import type { AttributeValue, TracerProvider } from '@opentelemetry/api';
import type { IncomingMessage } from 'node:http';
import type { MinimalLogger } from '@vigil/core';
import type { InboundPolicy } from './edge';

/** What a span-attribute hook is told about the request. */
export interface SpanAttributeInfo {
  /** Node request (Express `req`, or Koa `ctx.req`). */
  req: IncomingMessage;
  /** The Koa context, for koaTracing(). */
  ctx?: unknown;
  /** Baggage entries whose keys are in `baggageAttributes`, already bounded. */
  baggage: Readonly<Record<string, string>>;
}

/** Options of expressTracing() and koaTracing(). */
export interface TracingMiddlewareOptions {
  /**
   * What trace context from an untrusted caller does: `continue` the trace (its sampled flag is not
   * obeyed: Vigil's own sampler decides), `restart` it (a new trace with a link to the caller's span)
   * or `ignore` it. Trusted callers are always continued. Default: `continue`.
   */
  inboundPolicy?: InboundPolicy;
  /** Addresses and CIDRs whose trace context and baggage are trusted. Default: loopback only. */
  trustedProxies?: string[];
  /**
   * Paths that get request ids but no span (exact paths, or RegExps on the path). Default:
   * `/metrics`, `/health`, `/health/live`, `/health/ready`, `/_vigil`.
   */
  ignorePaths?: (string | RegExp)[];
  /** Baggage keys copied onto the server span as attributes (at most 16, values cut to 256 chars). Default: none. */
  baggageAttributes?: string[];
  /** Adds attributes to the server span; runs in a safe wrapper, at most 32 attributes kept. Default: none. */
  spanAttributes?: (info: SpanAttributeInfo) => Record<string, AttributeValue>;
  /** Send the W3C `traceresponse` header. Default: `false`. */
  traceResponse?: boolean;
  /** Tracer provider. Default: the global one (startTracing() registers it); a no-op API works too. */
  tracerProvider?: TracerProvider;
  /** Logger for request-time problems (pino or anything with `warn`). Default: process warnings. */
  logger?: MinimalLogger;
}
