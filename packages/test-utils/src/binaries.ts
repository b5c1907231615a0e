// Locating the real servers tests start (prometheus, promtool, redis-server, ...): skip or fail.
import { execFileSync } from 'node:child_process';

/**
 * Returns the absolute path of `binary`, or undefined when it is missing. A missing binary makes the
 * calling suite skip with a message naming the Debian package; with CI=true it fails instead.
 */
export function findBinary(binary: string, debianPackage: string): string | undefined {
  let found: string | undefined;
  try {
    found =
      execFileSync('sh', ['-c', `command -v ${binary}`], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    found = undefined;
  }
  if (found === undefined) {
    const message = `${binary} not found: install the Debian package "${debianPackage}" (apt-get install -y ${debianPackage})`;
    if (process.env.CI === 'true')
      throw new Error(`${message}. CI=true, so this is a failure, not a skip.`);
    console.warn(`skipping: ${message}`);
  }
  return found;
}
