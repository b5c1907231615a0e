// `vigil check DIR`: promtool and amtool on the files a stack holds, when they are installed.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { aptCommand, findOnPath } from './binaries';

/** One run of a tool over some files. */
export interface CheckRun {
  tool: 'promtool' | 'amtool';
  args: string[];
  files: string[];
  /** `ok`, `failed`, or `missing` (the tool is not installed, so the files were not checked). */
  result: 'ok' | 'failed' | 'missing';
  output: string;
}

const SKIPPED_DIRS = new Set(['node_modules', 'grafana', 'kubernetes', '.git']);

function walk(dir: string, found: string[] = []): string[] {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) {
      if (!SKIPPED_DIRS.has(entry.name)) walk(join(dir, entry.name), found);
    } else if (entry.isFile()) {
      found.push(join(dir, entry.name));
    }
  }
  return found.sort();
}

/** The files of `dir` each tool checks, by kind. */
export function checkedFiles(dir: string): {
  configs: string[];
  rules: string[];
  tests: string[];
  alertmanager: string[];
} {
  const files = walk(dir);
  const named = (test: (name: string) => boolean) =>
    files.filter((file) => test(file.slice(dirname(file).length + 1)));
  return {
    configs: named((name) => name === 'prometheus.yml'),
    rules: named((name) => name.endsWith('.rules.yml')),
    tests: named(
      (name) => name.endsWith('.rules.test.yml') || name.endsWith('.rules.slow.test.yml'),
    ),
    alertmanager: named((name) => name === 'alertmanager.yml'),
  };
}

/** Runs every check of `dir`; tools are looked up on PATH. */
export function runChecks(dir: string, path = process.env.PATH): CheckRun[] {
  const files = checkedFiles(dir);
  const runs: CheckRun[] = [];
  const run = (tool: CheckRun['tool'], args: string[], list: string[], cwd?: string) => {
    const operands = cwd === undefined ? list : list.map((file) => relative(cwd, file));
    if (list.length === 0) return;
    const binary = findOnPath(tool, path);
    if (binary === undefined) {
      runs.push({ tool, args, files: list, result: 'missing', output: '' });
      return;
    }
    const child = spawnSync(binary, [...args, ...operands], {
      encoding: 'utf8',
      timeout: 300_000,
      ...(cwd === undefined ? {} : { cwd }),
    });
    const output =
      `${child.stdout ?? ''}${child.stderr ?? ''}${child.error ? String(child.error) : ''}`.trim();
    runs.push({ tool, args, files: list, result: child.status === 0 ? 'ok' : 'failed', output });
  };
  for (const config of files.configs) run('promtool', ['check', 'config'], [config]);
  run('promtool', ['check', 'rules', '--lint=all', '--lint-fatal'], files.rules);
  // promtool reads a test file's rule_files relative to the working directory.
  for (const test of files.tests) run('promtool', ['test', 'rules'], [test], dirname(test));
  for (const config of files.alertmanager) run('amtool', ['check-config'], [config]);
  return runs;
}

/** The lines `vigil check` prints for `runs`. */
export function describeRuns(runs: readonly CheckRun[], dir: string): string[] {
  const lines: string[] = [];
  const missing = new Set<string>();
  for (const r of runs) {
    const files = r.files.map((file) => relative(dir, file) || file);
    const what = `${r.tool} ${r.args.join(' ')} ${files.join(' ')}`;
    if (r.result === 'missing') {
      missing.add(r.tool);
      lines.push(`missing  ${what}: ${r.tool} is not installed`);
    } else {
      lines.push(`${r.result === 'ok' ? 'ok      ' : 'FAILED  '} ${what}`);
      if (r.result === 'failed') lines.push(...r.output.split('\n').map((l) => `    ${l}`));
    }
  }
  if (missing.size > 0) lines.push(`install what is missing: ${aptCommand([...missing])}`);
  return lines;
}
