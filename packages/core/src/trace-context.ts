// The active trace context as other packages see it: tracing registers a provider, metrics reads it.

/** Ids of the span active at the call site. */
export interface ActiveTraceContext {
  traceId: string;
  spanId: string;
  /** Whether the span is sampled; only sampled spans make useful exemplars. */
  sampled: boolean;
}

export type TraceContextProvider = () => ActiveTraceContext | undefined;

// A registered symbol on globalThis so that the provider survives duplicated copies of this package.
const kProvider = Symbol.for('vigil.traceContextProvider');
type Slot = { [kProvider]?: TraceContextProvider };

/** Installs (or with `undefined` removes) the function that reports the active trace context. */
export function setTraceContextProvider(provider: TraceContextProvider | undefined): void {
  (globalThis as Slot)[kProvider] = provider;
}

/** The active trace context, or undefined when no tracing is set up or the provider fails. */
export function getActiveTraceContext(): ActiveTraceContext | undefined {
  const provider = (globalThis as Slot)[kProvider];
  if (provider === undefined) return undefined;
  try {
    return provider();
  } catch {
    return undefined;
  }
}
