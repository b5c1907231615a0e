// Outgoing calls (http, https, fetch) carry the request's trace context and ids, without patching.
//
// Node publishes every client request on diagnostics channels before its headers are sent:
// `http.client.request.start` for http/https and `undici:request:create` for fetch. Vigil adds
// `traceparent`, `tracestate`, `baggage`, `x-request-id` and `x-correlation-id` there, each only if
// the caller (or an OpenTelemetry instrumentation that created a client span) has not set it.
import { subscribe } from 'node:diagnostics_channel';
import type { ClientRequest } from 'node:http';
import {
  type Context,
  type TextMapSetter,
  context as otelContext,
  trace,
} from '@opentelemetry/api';
import { inject } from './propagation';
import { type RequestState, currentRequestState } from './request-context';

// The innermost span the app started wins; otherwise the request's own context (which also works
// without an SDK, where OpenTelemetry's active context is always empty).
function contextFor(state: RequestState): Context {
  const active = otelContext.active();
  return trace.getSpan(active) !== undefined ? active : state.context;
}

interface UndiciRequest {
  headers: string | string[] | undefined;
  addHeader(name: string, value: string): unknown;
}

let installed = false;

/** Subscribes the outgoing hooks (once per process). */
export function installOutgoingPropagation(): void {
  if (installed) return;
  installed = true;
  subscribe('http.client.request.start', (message) => {
    const request = (message as { request?: ClientRequest }).request;
    if (request !== undefined) addToClientRequest(request);
  });
  subscribe('undici:request:create', (message) => {
    const request = (message as { request?: UndiciRequest }).request;
    if (request !== undefined) addToUndiciRequest(request);
  });
}

const clientSetter: TextMapSetter<ClientRequest> = {
  set(request, key, value) {
    if (!request.headersSent && !request.hasHeader(key)) request.setHeader(key, value);
  },
};

function addToClientRequest(request: ClientRequest): void {
  const state = currentRequestState();
  if (state === undefined || request.headersSent) return;
  try {
    inject(contextFor(state), request, clientSetter);
    clientSetter.set(request, 'x-request-id', state.requestId);
    clientSetter.set(request, 'x-correlation-id', state.correlationId);
  } catch {
    // Never break the app's outgoing call.
  }
}

function undiciHas(request: UndiciRequest, key: string): boolean {
  const h = request.headers;
  if (typeof h === 'string') return h.toLowerCase().includes(`${key}:`);
  if (Array.isArray(h)) {
    for (let i = 0; i < h.length; i += 2) if (String(h[i]).toLowerCase() === key) return true;
  }
  return false;
}

const undiciSetter: TextMapSetter<UndiciRequest> = {
  set(request, key, value) {
    if (!undiciHas(request, key)) request.addHeader(key, value);
  },
};

function addToUndiciRequest(request: UndiciRequest): void {
  const state = currentRequestState();
  if (state === undefined) return;
  try {
    inject(contextFor(state), request, undiciSetter);
    undiciSetter.set(request, 'x-request-id', state.requestId);
    undiciSetter.set(request, 'x-correlation-id', state.correlationId);
  } catch {
    // Never break the app's outgoing call.
  }
}
