// `node --require @vigil/tracing/register app.js`: starts tracing from OTEL_* variables before the app.
import { startTracing } from './setup';

const tracing = startTracing();

// Flush spans on the way out. A signal is re-raised only when nothing else handles it, so an app's own
// graceful shutdown keeps control.
let flushing = false;
function flushThenExit(signal: NodeJS.Signals): void {
  if (flushing) return;
  flushing = true;
  void tracing.shutdown().finally(() => {
    if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
  });
}
process.once('SIGTERM', flushThenExit);
process.once('SIGINT', flushThenExit);
process.once('beforeExit', () => {
  void tracing.shutdown();
});

export { tracing };
