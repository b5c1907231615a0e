// The built package, for tests that spawn processes: built once (under a lock) when missing or stale.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const ROOT = join(__dirname, '..', '..', '..', '..');
export const PKG_DIR = join(__dirname, '..', '..');
export const CLI = join(PKG_DIR, 'dist', 'cli.js');
/** The package's bin, a committed file that runs the built CLI. */
export const BIN = join(PKG_DIR, 'bin', 'vigil-audit.cjs');

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

function stale(pkg: string): boolean {
  // tsc -b rewrites its build info on every build that saw a change, even when no output changed.
  const info = join(ROOT, 'packages', pkg, 'dist', '.tsbuildinfo');
  if (!existsSync(join(ROOT, 'packages', pkg, 'dist', 'index.js')) || !existsSync(info))
    return true;
  return newestMtime(join(ROOT, 'packages', pkg, 'src')) > statSync(info).mtimeMs;
}

/**
 * Runs `tsc -b` when @vigil/audit's or @vigil/core's dist is missing or older than its sources. Test
 * files run in parallel workers, so a lock directory keeps two builds from writing the same files.
 */
export function ensureBuilt(): void {
  if (!stale('audit') && !stale('core') && existsSync(CLI)) return;
  const lock = join(tmpdir(), 'vigil-audit-build.lock');
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      if (Date.now() > deadline) throw new Error(`build lock ${lock} held for 2 minutes`);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);
    }
  }
  try {
    if (stale('audit') || stale('core') || !existsSync(CLI)) {
      execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-b'], {
        cwd: ROOT,
        stdio: 'inherit',
      });
    }
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}
