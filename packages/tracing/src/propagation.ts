// W3C Trace Context and Baggage, used directly when no global propagator is registered.
import {
  type Context,
  type TextMapGetter,
  type TextMapPropagator,
  type TextMapSetter,
  propagation,
} from '@opentelemetry/api';
import {
  CompositePropagator,
  W3CBaggagePropagator,
  W3CTraceContextPropagator,
} from '@opentelemetry/core';
import type { IncomingHttpHeaders } from 'node:http';

const w3c = new CompositePropagator({
  propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()],
});

// The API's default propagator does nothing; Vigil still propagates W3C context without the SDK.
let sdkPropagator: TextMapPropagator | undefined;

/** Makes Vigil use `propagator` (set by startTracing from OTEL_PROPAGATORS). */
export function setVigilPropagator(propagator: TextMapPropagator | undefined): void {
  sdkPropagator = propagator;
}

export function activePropagator(): TextMapPropagator {
  return sdkPropagator ?? w3c;
}

/** Reads headers from a Node request; Node already lower-cases names and joins repeated values. */
export const headerGetter: TextMapGetter<IncomingHttpHeaders> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => carrier[key],
};

/** Extracts inbound context; never throws (a propagator failure means no inbound context). */
export function extract(parent: Context, headers: IncomingHttpHeaders): Context {
  try {
    return activePropagator().extract(parent, headers, headerGetter);
  } catch {
    return parent;
  }
}

/** Injects the context into `carrier` through `setter`; never throws. */
export function inject<C>(ctx: Context, carrier: C, setter: TextMapSetter<C>): void {
  try {
    activePropagator().inject(ctx, carrier, setter);
  } catch {
    // An outgoing call without trace headers is better than a failed call.
  }
}

export { propagation };
