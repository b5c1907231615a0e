// Running the real TypeScript compiler on fixture projects, against the package's built types.
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';

export const ROOT = join(__dirname, '../../../..');
export const FIXTURES = join(__dirname, '../fixtures');
const TSC = join(ROOT, 'node_modules/typescript/bin/tsc');

/** Builds @vigil/business-metrics (and @vigil/core) into dist/, which fixtures import. */
export function buildPackage(): void {
  execFileSync(process.execPath, [TSC, '-b', join(ROOT, 'packages/business-metrics')], {
    cwd: ROOT,
    encoding: 'utf8',
  });
}

export interface TscResult {
  status: number | null;
  output: string;
}

/** `node node_modules/typescript/bin/tsc -p <project>`. */
export function tsc(project: string): TscResult {
  const r = spawnSync(process.execPath, [TSC, '-p', project], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

/** Lines (1-based) of `file` that tsc reported errors on. */
export function errorLines(output: string, file: string): number[] {
  const re = new RegExp(`${file.replace(/[.]/g, '\\.')}\\((\\d+),\\d+\\): error TS\\d+`, 'g');
  return [...new Set([...output.matchAll(re)].map((m) => Number(m[1])))].sort((a, b) => a - b);
}
