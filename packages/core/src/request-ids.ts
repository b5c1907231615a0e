// The ids of the request being served, as other packages see them: tracing registers a provider,
// audit and rate limiting read it, so none of them depends on another.

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

// A registered symbol on globalThis so that the provider survives duplicated copies of this package.
const kProvider = Symbol.for('vigil.requestIdsProvider');
type Slot = { [kProvider]?: RequestIdsProvider };

/** Installs (or with `undefined` removes) the function that reports the current request's ids. */
export function setRequestIdsProvider(provider: RequestIdsProvider | undefined): void {
  (globalThis as Slot)[kProvider] = provider;
}

/** The current request's ids, or undefined outside a traced request or when the provider fails. */
export function getActiveRequestIds(): ActiveRequestIds | undefined {
  const provider = (globalThis as Slot)[kProvider];
  if (provider === undefined) return undefined;
  try {
    return provider();
  } catch {
    return undefined;
  }
}
