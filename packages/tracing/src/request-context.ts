// The request's ids anywhere in its async flow: request id, correlation id, trace id, span id.
import { AsyncLocalStorage } from 'node:async_hooks';
import {
  type Context,
  type Span,
  context as otelContext,
  createContextKey,
  ROOT_CONTEXT,
} from '@opentelemetry/api';

/** What getRequestContext() returns. */
export interface RequestContext {
  /** The validated or generated x-request-id, echoed on the response. */
  readonly requestId: string;
  /** The validated x-correlation-id, or the request id when the caller sent none. */
  readonly correlationId: string;
  /** Trace id of the request's server span (32 hex), when there is one. */
  readonly traceId: string | undefined;
  /** Span id of the request's server span (16 hex), when there is one. */
  readonly spanId: string | undefined;
}

/** Internal per-request state; the span is kept so trace ids are read only when asked for. */
export interface RequestState {
  readonly requestId: string;
  readonly correlationId: string;
  span: Span | undefined;
  /** The request's OpenTelemetry context (server span and baggage), also without an SDK. */
  context: Context;
  /** The first error reported for the request, recorded on its span when it ends. */
  error: unknown;
}

const KEY = createContextKey('vigil.request');

// The OpenTelemetry context carries the state when a context manager is registered (the SDK is
// started); without one, OpenTelemetry's context is inert and a private AsyncLocalStorage is used.
const fallback = new AsyncLocalStorage<RequestState>();
let otelWorks: boolean | undefined;

function otelContextWorks(): boolean {
  if (otelWorks === true) return true;
  const probe = ROOT_CONTEXT.setValue(KEY, true);
  // Not cached while false: the SDK may be started after the first request.
  otelWorks = otelContext.with(probe, () => otelContext.active().getValue(KEY) === true);
  return otelWorks;
}

/** Forgets whether OpenTelemetry context works (called when tracing shuts down and unregisters it). */
export function resetContextProbe(): void {
  otelWorks = undefined;
}

/** Runs `fn` with `state` as the request context, inside its OpenTelemetry context when that works. */
export function runWithRequestState<T>(state: RequestState, fn: () => T): T {
  if (otelContextWorks()) return otelContext.with(state.context.setValue(KEY, state), fn);
  return fallback.run(state, fn);
}

/** The current request's state, if any. */
export function currentRequestState(): RequestState | undefined {
  return (
    (otelWorks === true
      ? (otelContext.active().getValue(KEY) as RequestState | undefined)
      : undefined) ?? fallback.getStore()
  );
}

/**
 * Records `error` on the current request's server span (as an exception, with ERROR status) when the
 * request ends. For error handlers that answer the error themselves, so it never reaches the
 * tracing middleware: Koa error middleware mounted after koaTracing(), or any framework. The first
 * error reported for a request wins. Returns false outside a traced request.
 */
export function recordRequestError(error: unknown): boolean {
  const state = currentRequestState();
  if (state === undefined) return false;
  if (state.error === undefined) state.error = error;
  return true;
}

/**
 * The ids of the request being served, anywhere in its async flow (handlers, services, log calls),
 * or undefined outside a request that went through expressTracing() / koaTracing().
 */
export function getRequestContext(): RequestContext | undefined {
  const state = currentRequestState();
  if (state === undefined) return undefined;
  const sc = state.span?.spanContext();
  return {
    requestId: state.requestId,
    correlationId: state.correlationId,
    traceId: sc?.traceId,
    spanId: sc?.spanId,
  };
}
