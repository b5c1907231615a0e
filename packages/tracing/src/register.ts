// `node --require @vigil/tracing/register app.js`: starts tracing from OTEL_* variables before the app.
import { onShutdownSignal } from '@vigil/core';
import { startTracing } from './setup';

const tracing = startTracing();

// Flush spans on the way out, through the shutdown hub Vigil's packages share: the signal is re-raised
// after every package has flushed, and only when the app does not handle it, so an app's own graceful
// shutdown keeps control.
// With OTEL_SDK_DISABLED=true there is nothing to flush, and no signal listener is added.
if (!tracing.disabled) {
  onShutdownSignal(() => tracing.shutdown());
  process.once('beforeExit', () => {
    void tracing.shutdown();
  });
}

export { tracing };
