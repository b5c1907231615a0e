// What the logging scenarios with a line check share: a pino destination on /dev/null that counts what
// it is given, and an after-the-window check route that reports the count.
import pino from 'pino';

/** The path of the log check; used in scenarios.mjs, requested only after the window. */
export const LOG_CHECK_PATH = '/_bench/log';

/**
 * `pino.destination({ dest: '/dev/null', sync: false })`, as a deployment writing a file would have it
 * (SonicBoom, asynchronous writes), counting the lines it is given and the bytes it wrote. The line
 * count costs one increment and one extra call per line; the byte count is read from SonicBoom's
 * `write` event, once per write to the file, not per line.
 */
export function devNullDestination() {
  const destination = pino.destination({ dest: '/dev/null', sync: false });
  const stats = { lines: 0, bytes: 0 };
  // SonicBoom's own write(), called as before, after counting; pino writes one whole line per call.
  const write = destination.write.bind(destination);
  destination.write = function countingWrite(/** @type {string} */ data) {
    stats.lines++;
    return write(data);
  };
  destination.on('write', (/** @type {number} */ n) => {
    stats.bytes += n;
  });
  return Object.assign(destination, { stats });
}

/**
 * Mounts the log check (after the route mix): `log_lines_total` and `log_bytes_written_total` of a
 * devNullDestination(). The lines written for the check request itself come after its answer.
 * @param {import('express').Express} app
 * @param {ReturnType<typeof devNullDestination>} destination
 */
export function mountLogCheck(app, destination) {
  app.get(LOG_CHECK_PATH, (_req, res) => {
    const { lines, bytes } = destination.stats;
    res.type('text/plain').send(`log_lines_total ${lines}\nlog_bytes_written_total ${bytes}\n`);
  });
}
