// What the logging scenarios with a line check share: a pino destination on /dev/null that counts what
// it is given, and an after-the-window check route that reports the count.
import pino from 'pino';

/** The path of the log check; used in scenarios.mjs, requested only after the window. */
export const LOG_CHECK_PATH = '/_bench/log';

/**
 * The `maxLength` of every log destination of the throughput scenarios, on both sides: far more than
 * a run's window leaves waiting, so no line is dropped and both sides write every line (checked after
 * the window). Without one, @vigil/logging would give its destinations a bound (16 MiB) that the
 * other loggers do not have, and a fast scenario could drop lines and so do less work. The soak leaves
 * it to @vigil/logging (`maxLength` 0).
 */
export const BENCH_LOG_MAX_LENGTH = 512 * 1024 * 1024;

/**
 * `pino.destination({ dest: '/dev/null', maxLength: BENCH_LOG_MAX_LENGTH })` without counting: the
 * destination of the scenarios that compare a request logger with pino-http, the same on both sides.
 */
export function plainDevNullDestination() {
  return pino.destination({ dest: '/dev/null', maxLength: BENCH_LOG_MAX_LENGTH });
}

/**
 * `pino.destination({ dest: '/dev/null', sync: false, maxLength })`, as a deployment writing a file
 * would have it (SonicBoom, asynchronous writes), counting the lines it is given, the bytes it wrote
 * and the lines it dropped. The line count costs one increment and one extra call per line; the byte
 * count is read from SonicBoom's `write` event, once per write to the file, not per line; drops from
 * its `drop` event.
 * @param {number} [maxLength]  SonicBoom's bound on what waits in memory; 0 for none
 */
export function devNullDestination(maxLength = BENCH_LOG_MAX_LENGTH) {
  const destination = pino.destination({ dest: '/dev/null', sync: false, maxLength });
  const stats = { lines: 0, bytes: 0, dropped: 0 };
  // SonicBoom's own write(), called as before, after counting; pino writes one whole line per call.
  const write = destination.write.bind(destination);
  destination.write = function countingWrite(/** @type {string} */ data) {
    stats.lines++;
    return write(data);
  };
  destination.on('write', (/** @type {number} */ n) => {
    stats.bytes += n;
  });
  destination.on('drop', () => {
    stats.dropped++;
  });
  return Object.assign(destination, { stats });
}

/**
 * Mounts the log check (after the route mix): `log_lines_total`, `log_bytes_written_total` and
 * `log_lines_dropped_total` of a devNullDestination(). The lines written for the check request itself
 * come after its answer.
 * @param {import('express').Express} app
 * @param {ReturnType<typeof devNullDestination>} destination
 */
export function mountLogCheck(app, destination) {
  app.get(LOG_CHECK_PATH, (_req, res) => {
    const { lines, bytes, dropped } = destination.stats;
    res
      .type('text/plain')
      .send(
        `log_lines_total ${lines}\nlog_bytes_written_total ${bytes}\nlog_lines_dropped_total ${dropped}\n`,
      );
  });
}
