// The binaries the stack and the tests run, the Debian packages that bring them, and a PATH lookup.
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** Each binary with the Debian package that installs it, and what needs it. */
export const BINARIES = [
  { binary: 'redis-server', debian: 'redis-server', for: 'a shared rate-limit store (REDIS_URL)' },
  { binary: 'prometheus', debian: 'prometheus', for: 'scraping the app and evaluating the rules' },
  {
    binary: 'promtool',
    debian: 'prometheus',
    for: '`vigil check`: the config, rules and rule tests',
  },
  {
    binary: 'prometheus-alertmanager',
    debian: 'prometheus-alertmanager',
    for: 'routing alerts to receivers (ALERTMANAGER_URL)',
  },
  { binary: 'amtool', debian: 'prometheus-alertmanager', for: '`vigil check`: alertmanager.yml' },
  { binary: 'chromium', debian: 'chromium', for: 'the live page tests' },
] as const;

/** The absolute path of `binary` on PATH, or undefined. */
export function findOnPath(binary: string, path = process.env.PATH ?? ''): string | undefined {
  for (const dir of path.split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, binary);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this folder
    }
  }
  return undefined;
}

/** The Debian package of a binary of BINARIES. */
export function debianPackageOf(binary: string): string {
  return BINARIES.find((b) => b.binary === binary)?.debian ?? binary;
}

/** `apt-get install -y ...` for the packages of `binaries`, each package once. */
export function aptCommand(binaries: readonly string[]): string {
  const packages = [...new Set(binaries.map(debianPackageOf))];
  return `apt-get install -y ${packages.join(' ')}`;
}
