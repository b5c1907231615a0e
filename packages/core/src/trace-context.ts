// The active trace context as other packages see it: tracing registers a provider, metrics reads it.
import { providerSlot } from './provider-slot';

/** Ids of the span active at the call site. */
export interface ActiveTraceContext {
  traceId: string;
  spanId: string;
  /** Whether the span is sampled; only sampled spans make useful exemplars. */
  sampled: boolean;
}

export type TraceContextProvider = () => ActiveTraceContext | undefined;

const slot = providerSlot<ActiveTraceContext>('vigil.traceContextProvider');

/** Installs (or with `undefined` removes) the function that reports the active trace context. */
export function setTraceContextProvider(provider: TraceContextProvider | undefined): void {
  slot.set(provider);
}

/** The active trace context, or undefined when no tracing is set up or the provider fails. */
export function getActiveTraceContext(): ActiveTraceContext | undefined {
  return slot.get();
}
