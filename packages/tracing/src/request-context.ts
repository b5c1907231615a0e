// The request's ids anywhere in its async flow: request id, correlation id, trace id, span id.
import { AsyncLocalStorage } from 'node:async_hooks';
import {
  type Context,
  type Span,
  context as otelContext,
  createContextKey,
} from '@opentelemetry/api';
import { type RequestRecord, allocateSlot } from '@vigil/core';
import { EMPTY_CONTEXT } from './context';

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

/**
 * Tracing's per-request state, kept in a slot of the request's @vigil/core record: the server span and
 * the request's OpenTelemetry context; the ids and the error are the record's.
 */
export class RequestState {
  span: Span | undefined = undefined;
  /** The request's OpenTelemetry context (server span and baggage), also without an SDK. */
  context: Context = EMPTY_CONTEXT;
  constructor(readonly record: RequestRecord) {}

  /** The validated or generated x-request-id. */
  get requestId(): string {
    return this.record.requestId;
  }

  /** The validated x-correlation-id, or the request id. */
  get correlationId(): string {
    return this.record.correlationId;
  }

  /** The first error reported for the request, recorded on its span when it ends. */
  get error(): unknown {
    return this.record.error;
  }
}

const kState = allocateSlot();

/** The tracing state kept on `record`, if a tracing middleware began one. */
export function stateOf(record: RequestRecord): RequestState | undefined {
  return record.slots[kState] as RequestState | undefined;
}

/** The tracing state of `record`, created on first call. */
export function stateFor(record: RequestRecord): RequestState {
  return ((record.slots[kState] as RequestState | undefined) ??= new RequestState(record));
}

const KEY = createContextKey('vigil.request');

// The OpenTelemetry context carries the state when a context manager is registered (the SDK is
// started); without one, OpenTelemetry's context is inert and a private AsyncLocalStorage is used.
const fallback = new AsyncLocalStorage<RequestState>();
let otelWorks: boolean | undefined;

function otelContextWorks(): boolean {
  if (otelWorks === true) return true;
  const probe = EMPTY_CONTEXT.setValue(KEY, true);
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
  state.record.recordError(error);
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
