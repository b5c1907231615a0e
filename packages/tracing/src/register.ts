// `node --require @vigil/tracing/register app.js`: starts tracing from OTEL_* variables before the app.
import { startTracing } from './setup';

const tracing = startTracing();

// Flush spans on the way out. A signal is re-raised only when nothing else handles it, so an app's own
// graceful shutdown keeps control. Whether the app listens is read when the signal arrives: an app's
// `process.once` listener is still registered then, and gone once it has run.
let flushing = false;
function flushThenExit(signal: NodeJS.Signals): void {
  if (flushing) return;
  flushing = true;
  const appHandlesIt = process.listenerCount(signal) > 0;
  void tracing.shutdown().finally(() => {
    if (!appHandlesIt) process.kill(process.pid, signal);
  });
}
process.once('SIGTERM', flushThenExit);
process.once('SIGINT', flushThenExit);
process.once('beforeExit', () => {
  void tracing.shutdown();
});

export { tracing };
