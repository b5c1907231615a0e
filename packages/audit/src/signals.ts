// SIGTERM / SIGINT: flush every audit logger before the signal ends the process, through @vigil/core's
// shutdown hub, which Vigil's other packages (tracing's register entry) share.
import { onShutdownSignal } from '@vigil/core';

/** What the hub needs from a logger. */
export interface SignalFlushable {
  /** Switches to synchronous writes and resolves once everything queued is written. */
  flushForSignal(): Promise<void>;
}

/** Registers a logger for flushing on signals; returns the function that unregisters it. */
export function flushOnSignals(member: SignalFlushable): () => void {
  return onShutdownSignal(() => member.flushForSignal());
}
