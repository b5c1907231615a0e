// W3C Trace Context and Baggage, used directly when no global propagator is registered.
import {
  type Context,
  type TextMapGetter,
  type TextMapPropagator,
  type TextMapSetter,
  TraceFlags,
  createContextKey,
  isSpanContextValid,
  propagation,
  trace,
} from '@opentelemetry/api';
import {
  CompositePropagator,
  W3CBaggagePropagator,
  W3CTraceContextPropagator,
} from '@opentelemetry/core';
import type { IncomingHttpHeaders } from 'node:http';
import { VigilTraceState, parseTracestate } from './tracestate';

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
 * Whether the trace's id was random (Trace Context Level 2, the `random-trace-id` flag, bit 1 of
 * trace-flags), set when a caller's traceparent is extracted. OpenTelemetry's SDK keeps only the
 * sampled bit on the spans it makes, so the flag travels in the context instead. A context without it
 * belongs to a trace started here, whose id is random.
 */
export const RANDOM_TRACE_ID = createContextKey('vigil.randomTraceId');

/** The random-trace-id flag of Trace Context Level 2. */
export const RANDOM_FLAG = 0x02;

/** The trace-flags Vigil sends for `ctx`'s span: its sampled bit, and the random bit of its trace. */
export function outgoingFlags(ctx: Context, sampledFlags: number): number {
  const random = ctx.getValue(RANDOM_TRACE_ID) !== false;
  return (sampledFlags & TraceFlags.SAMPLED) | (random ? RANDOM_FLAG : 0);
}

/**
 * Wraps a propagator with what the W3C specifications ask and OpenTelemetry does not do: a traceparent
 * with characters outside visible ASCII is invalid; tracestate follows Level 2's grammar and limits
 * and is dropped whole when it breaks a rule; the random-trace-id flag is propagated; at most 64
 * baggage members and 8192 bytes are kept (whole members, in order); an empty header value is never
 * sent.
 */
export class GuardedPropagator implements TextMapPropagator {
  constructor(private readonly inner: TextMapPropagator) {}

  inject(ctx: Context, carrier: unknown, setter: TextMapSetter): void {
    this.inner.inject(ctx, carrier, {
      set(c, key, value) {
        if (value === '') return;
        if (key === 'traceparent') {
          // Written again from the span context: the flags carry the random bit and no undefined bit.
          const sc = trace.getSpanContext(ctx);
          if (sc !== undefined && isSpanContextValid(sc)) {
            const flags = outgoingFlags(ctx, sc.traceFlags);
            setter.set(c, key, `00-${sc.traceId}-${sc.spanId}-0${flags.toString(16)}`);
            return;
          }
        }
        setter.set(c, key, value);
      },
    });
  }

  extract(ctx: Context, carrier: unknown, getter: TextMapGetter): Context {
    const guarded: TextMapGetter = {
      keys: (c) => getter.keys(c),
      get(c, key) {
        // Read below, by Level 2's rules, once the traceparent is known valid.
        if (key === 'tracestate') return undefined;
        const value = getter.get(c, key);
        if (key === 'traceparent' && typeof value === 'string' && !traceparentAllowed(value)) {
          return undefined;
        }
        return value;
      },
    };
    const before = trace.getSpanContext(ctx);
    let out = this.inner.extract(ctx, carrier, guarded);
    const sc = trace.getSpanContext(out);
    if (sc !== undefined && sc !== before && sc.isRemote === true) {
      // A traceparent was extracted: its trace keeps the caller's random flag, and only now may
      // tracestate be parsed (§3.3: not when the traceparent is invalid).
      out = out.setValue(RANDOM_TRACE_ID, (sc.traceFlags & RANDOM_FLAG) !== 0);
      const members = parseTracestate(getter.get(carrier, 'tracestate'));
      out = trace.setSpanContext(out, {
        ...sc,
        traceState: members === undefined ? undefined : new VigilTraceState(members),
      });
    }
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
