// SIGTERM / SIGINT: drain the servers (health), then run every Vigil package's flush (audit events,
// spans), then let the signal end the process unless the app handles it. One listener per signal for
// all of them, shared by every copy of every package: with one listener each, each package would see
// the others' as the app's own, none would re-raise the signal, and the process would not stop.

/** A flush to run when SIGTERM or SIGINT arrives. */
export type ShutdownTask = () => Promise<void> | void;

/** When a task runs in the shutdown. */
export interface ShutdownTaskOptions {
  /**
   * `drain` tasks (servers finishing their in-flight requests) run first; `flush` tasks (spans,
   * audit events) start once every drain task has settled, so they include what the drained requests
   * recorded. Both within SHUTDOWN_TIMEOUT_MS. Default: `flush`.
   */
  phase?: 'drain' | 'flush';
}

// The phase is kept on the task the hub holds (a wrapper), not in the hub's shape: a copy of core
// that predates phases still runs every task, all at once, as it always did.
const kPhase = Symbol.for('vigil.shutdownPhase');
type HubTask = ShutdownTask & { [kPhase]?: 'drain' | 'flush' };
const isDrain = (task: HubTask): boolean => task[kPhase] === 'drain';

interface Hub {
  readonly tasks: Set<ShutdownTask>;
  /** The listener of the copy that installed it, so any copy can remove it. */
  listener: ((signal: NodeJS.Signals) => void) | undefined;
  flushing: boolean;
}

const SIGNALS = ['SIGTERM', 'SIGINT'] as const;
/** Longest the tasks may take before the signal goes ahead anyway: a stuck exporter must not keep a process alive. */
export const SHUTDOWN_TIMEOUT_MS = 5000;
const kHub = Symbol.for('vigil.shutdownHub');
type Slot = { [kHub]?: Hub };

function hub(): Hub {
  const slot = globalThis as Slot;
  slot[kHub] ??= { tasks: new Set(), listener: undefined, flushing: false };
  return slot[kHub];
}

function runTask(task: ShutdownTask): Promise<void> {
  try {
    return Promise.resolve(task());
  } catch (error) {
    return Promise.reject(error instanceof Error ? error : new Error(String(error)));
  }
}

function onSignal(signal: NodeJS.Signals): void {
  const h = hub();
  // The hub's once-listener is already removed. Whether the app handles the signal is read now: an
  // app's own `process.once` listener is still registered at this point, and gone once it has run.
  const appHandlesIt = process.listenerCount(signal) > 0;
  // A second signal during the flush finds the other signal's listener still there and waits for this one.
  if (h.flushing) return;
  h.flushing = true;
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, SHUTDOWN_TIMEOUT_MS);
    timer.unref();
  });
  const drains = [...h.tasks].filter(isDrain);
  const all = Promise.allSettled(drains.map(runTask)).then(() =>
    Promise.allSettled([...h.tasks].filter((t) => !isDrain(t)).map(runTask)),
  );
  void Promise.race([all, deadline]).then(() => {
    clearTimeout(timer);
    h.flushing = false;
    if (!appHandlesIt) {
      // Nothing runs between the last flush and the kill: the signal's default action ends the process.
      unlisten(h);
      process.kill(process.pid, signal);
    } else if (h.tasks.size > 0) {
      listen(h);
    }
  });
}

function listen(h: Hub): void {
  h.listener ??= onSignal;
  for (const signal of SIGNALS) {
    if (!process.listeners(signal).includes(h.listener)) process.once(signal, h.listener);
  }
}

function unlisten(h: Hub): void {
  if (h.listener === undefined) return;
  for (const signal of SIGNALS) process.removeListener(signal, h.listener);
  h.listener = undefined;
}

/**
 * Runs `task` when SIGTERM or SIGINT arrives, before the signal ends the process (re-raised after
 * every task settles or SHUTDOWN_TIMEOUT_MS passes, and only when no listener of the app's handles
 * it). Drain tasks run before flush tasks (`options.phase`). Returns the function that unregisters
 * the task.
 */
export function onShutdownSignal(task: ShutdownTask, options?: ShutdownTaskOptions): () => void {
  const h = hub();
  let entry: HubTask = task;
  if (options?.phase === 'drain') {
    entry = () => task();
    entry[kPhase] = 'drain';
  }
  h.tasks.add(entry);
  listen(h);
  return () => {
    h.tasks.delete(entry);
    if (h.tasks.size === 0 && !h.flushing) unlisten(h);
  };
}
