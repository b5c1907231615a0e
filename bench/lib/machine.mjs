// The header line of the scrape and soak scripts: date, commit, Node.js, CPU and load average.
import { execFileSync } from 'node:child_process';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';

/** The commit measured, with ` (packages/ modified)` when packages/ had uncommitted changes. */
function revision() {
  const git = (/** @type {string[]} */ ...args) =>
    execFileSync('git', args, {
      cwd: fileURLToPath(new URL('../..', import.meta.url)),
      encoding: 'utf8',
    });
  try {
    const dirty = git('status', '--porcelain', '--', 'packages').trim() !== '';
    return `${git('rev-parse', '--short', 'HEAD').trim()}${dirty ? ' (packages/ modified)' : ''}`;
  } catch {
    return 'unknown';
  }
}

/** `Date: …, commit …, Node …, <cpu>, <n> cores, load average <1 min>`. */
export function machineLine() {
  return (
    `Date: ${new Date().toISOString()}, commit ${revision()}, Node ${process.version}, ` +
    `${cpus()[0]?.model ?? 'unknown CPU'}, ${availableParallelism()} cores, ` +
    `load average ${loadavg()[0]?.toFixed(2)}`
  );
}

/** The current 1-minute load average, two decimals. */
export function loadAverage() {
  return loadavg()[0]?.toFixed(2) ?? '?';
}
