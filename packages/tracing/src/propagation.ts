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

/** W3C Baggage limits: members and bytes (whole members only). */
export const MAX_BAGGAGE_MEMBERS = 64;
export const MAX_BAGGAGE_BYTES = 8192;

/**
 * What OpenTelemetry's parser misses: its `\s` accepts Unicode spaces (U+00A0) around the value,
 * which the W3C grammar does not (only space and tab). Version 00 must be visible ASCII throughout;
 * a future version only in its four defined fields, followed by the end or a dash.
 */
function traceparentAllowed(value: string): boolean {
  const t = value.replace(/^[ \t]+|[ \t]+$/g, '');
  if (t.startsWith('00-')) return /^[!-~]*$/.test(t);
  if (!/^[!-~]{55}/.test(t)) return false;
  return t.length === 55 || t[55] === '-';
}

/**
 * Wraps a propagator with the limits the W3C specifications set and OpenTelemetry does not enforce:
 * a traceparent with characters outside visible ASCII is invalid, at most 64 baggage members and
 * 8192 bytes are kept (whole members, in order), and an empty header value is never sent.
 */
export class GuardedPropagator implements TextMapPropagator {
  constructor(private readonly inner: TextMapPropagator) {}

  inject(ctx: Context, carrier: unknown, setter: TextMapSetter): void {
    this.inner.inject(ctx, carrier, {
      set(c, key, value) {
        if (value !== '') setter.set(c, key, value);
      },
    });
  }

  extract(ctx: Context, carrier: unknown, getter: TextMapGetter): Context {
    const guarded: TextMapGetter = {
      keys: (c) => getter.keys(c),
      get(c, key) {
        const value = getter.get(c, key);
        if (key === 'traceparent' && typeof value === 'string' && !traceparentAllowed(value)) {
          return undefined;
        }
        return value;
      },
    };
    const out = this.inner.extract(ctx, carrier, guarded);
    const bag = propagation.getBaggage(out);
    if (bag === undefined) return out;
    const entries = bag.getAllEntries();
    let bytes = 0;
    let kept = 0;
    for (const [key, entry] of entries) {
      // Counted as serialised (key=value plus a separator), the way the header limit applies.
      const size = key.length + encodeURIComponent(entry.value).length + 2;
      if (kept === MAX_BAGGAGE_MEMBERS || bytes + size > MAX_BAGGAGE_BYTES) break;
      bytes += size;
      kept++;
    }
    if (kept === entries.length) return out;
    return propagation.setBaggage(
      out,
      propagation.createBaggage(Object.fromEntries(entries.slice(0, kept))),
    );
  }

  fields(): string[] {
    return this.inner.fields();
  }
}

const w3c = new GuardedPropagator(
  new CompositePropagator({
    propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()],
  }),
);

// The API's default propagator does nothing; Vigil still propagates W3C context without the SDK.
let sdkPropagator: TextMapPropagator | undefined;

/** Makes Vigil use `propagator` (set by startTracing from OTEL_PROPAGATORS). */
export function setVigilPropagator(propagator: TextMapPropagator | undefined): void {
  sdkPropagator = propagator;
}

function activePropagator(): TextMapPropagator {
  return sdkPropagator ?? w3c;
}

/** Reads headers from a Node request; Node already lower-cases names and joins repeated values. */
const headerGetter: TextMapGetter<IncomingHttpHeaders> = {
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
