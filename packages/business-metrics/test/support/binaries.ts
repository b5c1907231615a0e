// Locating the real binaries tests start (promtool): skip with the Debian package named, or fail on CI.
import { execFileSync } from 'node:child_process';

/**
 * The absolute path of `binary`, or undefined when it is missing: the calling suite then skips with a
 * message naming the Debian package; with CI=true it fails instead.
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
    if (process.env.CI === 'true') {
      throw new Error(`${message}. CI=true, so this is a failure, not a skip.`);
    }
    console.warn(`skipping: ${message}`);
  }
  return found;
}
