// The request loggers' state in this process, read-only, for status pages such as the live page's
// `/observability`: how many there are, the level of the latest, lines written, failed and dropped.
import type { Logger } from 'pino';

/** What requestLoggingStatus() returns. */
export interface RequestLoggingStatus {
  /** Request loggers created in this process (expressRequestLogger() and koaRequestLogger() calls). */
  readonly requestLoggers: number;
  /** The level of the latest one (its `component: "http"` logger), or null when there is none. */
  readonly level: string | null;
  /** Request lines written since the process started, every request logger together. */
  readonly lines: number;
  /** Request lines that could not be written (the logger threw). */
  readonly failures: number;
  /**
   * Lines a request logger's destination dropped because too much was waiting to be written (a
   * SonicBoom destination's `maxLength`, which a request logger sets when there is none).
   */
  readonly dropped: number;
}

interface State {
  requestLoggers: number;
  latest: WeakRef<Logger> | undefined;
  lines: number;
  failures: number;
  dropped: number;
}

// One state per process, even with the package loaded twice (CommonJS and ESM copies).
const kState = Symbol.for('vigil.logging.status');
const holder = globalThis as { [kState]?: State };
const state: State = (holder[kState] ??= {
  requestLoggers: 0,
  latest: undefined,
  lines: 0,
  failures: 0,
  dropped: 0,
});
// A state made by an older copy of the package has no count of drops yet.
state.dropped ??= 0;

/** Counts a new request logger (called once per factory call). */
export function trackRequestLogger(logger: Logger): void {
  state.requestLoggers++;
  state.latest = new WeakRef(logger);
}

/** Counts a request line, written or failed. */
export function countLine(written: boolean): void {
  if (written) state.lines++;
  else state.failures++;
}

/** Counts a line a destination dropped. */
export function countDropped(): void {
  state.dropped++;
}

/**
 * The request loggers' state in this process. Read-only and cheap: pass it to the live page
 * (`livePage({ logging: requestLoggingStatus })`) so `/observability` reports request logging.
 */
export function requestLoggingStatus(): RequestLoggingStatus {
  const level = state.latest?.deref()?.level;
  return {
    requestLoggers: state.requestLoggers,
    level: typeof level === 'string' ? level : null,
    lines: state.lines,
    failures: state.failures,
    dropped: state.dropped,
  };
}
