// A bound on what a request logger's destination holds in memory.
//
// pino.destination({ sync: false }) (SonicBoom) keeps every line it is given until it has written it,
// one write of at most 16 KB in flight at a time, with no limit unless `maxLength` is set. When lines
// come faster than the file takes them (a busy server: measured in bench/RESULTS.md, 78 MB waiting
// after 40 s at about 6,000 requests a second to /dev/null), the process grows without bound. Given
// such a destination without a `maxLength`, the request logger sets one: SonicBoom then drops what
// would go beyond it and emits 'drop'. Drops are counted (requestLoggingStatus().dropped) and the
// first is reported as a process warning, since the destination that drops would drop a log line too.
import { createProblemReporter } from '@vigil/core';
import { PACKAGE } from './errors';
import { countDropped } from './status';

/** The `maxLength` given to a SonicBoom destination that has none: 16 MiB waiting to be written. */
export const DEFAULT_MAX_PENDING_BYTES = 16 * 1024 * 1024;

/** The part of SonicBoom read here: its public `sync` and `maxLength` options, its 'drop' event. */
interface BoundableDestination {
  sync: boolean;
  maxLength: number;
  on(event: 'drop', listener: () => void): unknown;
}

const watched = new WeakSet<object>();

/** An asynchronous SonicBoom: a synchronous one writes each line before write() returns. */
function isBoundable(destination: unknown): destination is BoundableDestination {
  const d = destination as Partial<BoundableDestination> | null;
  return (
    d !== null &&
    typeof d === 'object' &&
    d.sync === false &&
    typeof d.maxLength === 'number' &&
    typeof d.on === 'function'
  );
}

/**
 * Bounds `destination` if it is an asynchronous SonicBoom without `maxLength` (0), and counts what it
 * drops. A `maxLength` the app set is kept. Any other stream is left as it is.
 */
export function boundDestination(destination: unknown): void {
  // Once per destination, however many request loggers write to it: one 'drop' listener.
  if (!isBoundable(destination) || watched.has(destination)) return;
  watched.add(destination);
  if (destination.maxLength === 0) destination.maxLength = DEFAULT_MAX_PENDING_BYTES;
  const problems = createProblemReporter(PACKAGE);
  const limit = destination.maxLength;
  destination.on('drop', () => {
    countDropped();
    problems.report(
      'the log destination fell behind',
      `more than ${limit} bytes were waiting to be written; lines beyond that are dropped and counted in requestLoggingStatus().dropped`,
    );
  });
}
