// The ids of the request being served, as other packages see them: tracing registers a provider,
// audit and rate limiting read it, so none of them depends on another.
import { providerSlot } from './provider-slot';

/** Ids of the request whose async flow the caller is in. */
export interface ActiveRequestIds {
  /** The validated or generated x-request-id. */
  readonly requestId: string;
  /** The validated x-correlation-id, or the request id when the caller sent none. */
  readonly correlationId: string;
  /** Trace id of the request's server span (32 hex), when there is one. */
  readonly traceId: string | undefined;
  /** Span id of the request's server span (16 hex), when there is one. */
  readonly spanId: string | undefined;
}

export type RequestIdsProvider = () => ActiveRequestIds | undefined;

const slot = providerSlot<ActiveRequestIds>('vigil.requestIdsProvider');

/** Installs (or with `undefined` removes) the function that reports the current request's ids. */
export function setRequestIdsProvider(provider: RequestIdsProvider | undefined): void {
  slot.set(provider);
}

/** The current request's ids, or undefined outside a traced request or when the provider fails. */
export function getActiveRequestIds(): ActiveRequestIds | undefined {
  return slot.get();
}
