// Outgoing calls (http, https, fetch) carry the request's trace context and ids.
//
// fetch: Node publishes every undici request on the `undici:request:create` diagnostics channel before
// it is sent; Vigil adds the headers there. http/https: Node 20 publishes `http.client.request.start`
// only after the headers are written, so `request` and `get` of both modules are wrapped instead (as
// OpenTelemetry's http instrumentation does), adding the headers to the options before the call.
// Either way `traceparent`, `tracestate`, `baggage`, `x-request-id` and `x-correlation-id` are added
// only when the caller (or an instrumentation that made a client span) has not set them. Each call
// gets a parent-id of its own (W3C Trace Context: the id of the client span for that call): the
// client span OpenTelemetry's http or undici instrumentation made, else a fresh span id, a child of
// the active span, so that three calls made while serving one request carry three parent-ids.
import { randomBytes } from 'node:crypto';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import http from 'node:http';
import https from 'node:https';
import { syncBuiltinESMExports } from 'node:module';
import {
  type Context,
  type TextMapSetter,
  context as otelContext,
  isSpanContextValid,
  trace,
} from '@opentelemetry/api';
import { inject } from './propagation';
import { type RequestState, currentRequestState } from './request-context';

/**
 * The context an outgoing call of the request propagates: a child of the innermost span the app
 * started, else of the request's server span (the request's own context also works without an SDK,
 * where OpenTelemetry's active context is always empty), with a span id of its own for this call.
 * (A client span an instrumentation made for the call has set the headers already.)
 */
function contextFor(state: RequestState): Context {
  const active = otelContext.active();
  const base = trace.getSpan(active) !== undefined ? active : state.context;
  const parent = trace.getSpanContext(base);
  if (parent === undefined || !isSpanContextValid(parent)) return base;
  return trace.setSpanContext(base, {
    traceId: parent.traceId,
    spanId: freshSpanId(),
    traceFlags: parent.traceFlags,
    traceState: parent.traceState,
    isRemote: false,
  });
}

/** A random span id, never all zeros (an invalid id). */
function freshSpanId(): string {
  const id = randomBytes(8).toString('hex');
  return id === '0000000000000000' ? freshSpanId() : id;
}

interface UndiciRequest {
  headers: string | string[] | undefined;
  addHeader(name: string, value: string): unknown;
}

let installed = false;
const kWrapped = Symbol.for('vigil.tracing.wrapped');

/** Wraps http/https and subscribes to fetch (once per process). */
export function installOutgoingPropagation(): void {
  if (installed) return;
  installed = true;
  for (const mod of [http, https] as unknown as Record<'request' | 'get', RequestFn>[]) {
    for (const name of ['request', 'get'] as const) {
      const original = mod[name];
      if ((original as { [kWrapped]?: boolean })[kWrapped]) continue;
      const wrapped = function vigilPropagatingRequest(this: unknown, ...args: unknown[]) {
        return original.apply(this, withTraceHeaders(args));
      } as RequestFn & { [kWrapped]?: boolean };
      wrapped[kWrapped] = true;
      mod[name] = wrapped;
    }
  }
  // ESM `import { request } from 'node:http'` sees the wrapped functions from now on.
  syncBuiltinESMExports();
  subscribe(UNDICI_CREATE, onUndiciRequest);
}

const UNDICI_CREATE = 'undici:request:create';

function onUndiciRequest(message: unknown): void {
  const request = (message as { request?: UndiciRequest }).request;
  if (request !== undefined) addToUndiciRequest(request);
}

/**
 * Moves Vigil's fetch subscriber behind those subscribed since (OpenTelemetry's undici
 * instrumentation): subscribers run in order, and the instrumentation adds its client span's headers
 * without looking, so Vigil must see them already there, or a request would carry two traceparents.
 */
export function runFetchPropagationLast(): void {
  if (!installed) return;
  unsubscribe(UNDICI_CREATE, onUndiciRequest);
  subscribe(UNDICI_CREATE, onUndiciRequest);
}

type RequestFn = (...args: unknown[]) => http.ClientRequest;
type HeaderBag = Record<string, string | string[] | number | undefined>;

const headerSetter: TextMapSetter<HeaderBag> = {
  set(headers, key, value) {
    for (const existing of Object.keys(headers)) if (existing.toLowerCase() === key) return;
    headers[key] = value;
  },
};

/**
 * Returns the call's arguments with the headers added to a copy of its options. The caller's own
 * options object is never mutated; header arrays (raw header lists) are left alone.
 */
function withTraceHeaders(args: unknown[]): unknown[] {
  const state = currentRequestState();
  if (state === undefined) return args;
  try {
    // request(options[, cb]) or request(url[, options][, cb])
    const optionsAt = isPlainOptions(args[0]) ? 0 : isPlainOptions(args[1]) ? 1 : -1;
    const out = [...args];
    let options: { headers?: unknown };
    if (optionsAt === -1) {
      if (typeof args[0] !== 'string' && !(args[0] instanceof URL)) return args;
      options = {};
      out.splice(1, 0, options);
    } else {
      options = { ...(args[optionsAt] as object) };
      out[optionsAt] = options;
    }
    if (Array.isArray(options.headers)) return args;
    const headers: HeaderBag = { ...(options.headers as HeaderBag | undefined) };
    inject(contextFor(state), headers, headerSetter);
    headerSetter.set(headers, 'x-request-id', state.requestId);
    headerSetter.set(headers, 'x-correlation-id', state.correlationId);
    options.headers = headers;
    return out;
  } catch {
    // Never break the app's outgoing call.
    return args;
  }
}

function isPlainOptions(value: unknown): boolean {
  return value !== null && typeof value === 'object' && !(value instanceof URL);
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
