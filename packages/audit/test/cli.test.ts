// The vigil-audit bin, spawned as a user runs it (the committed bin entry loading dist): summary line
// and exit status.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuditLogger } from '@vigil/audit';
import { rehash } from './support/chain';
import { BIN, CLI, PKG_DIR, ensureBuilt } from './support/dist';
import { cleanup, loginEvent, tempDir, track } from './support/memory';

let dir: string;
let intact: string;

beforeAll(async () => {
  ensureBuilt();
  dir = tempDir();
  intact = join(dir, 'audit.log');
  // Two runs of an app: 1200 events, the second run resumed, then a restart without resume.
  for (const [count, resume] of [
    [800, true],
    [400, true],
    [3, false],
  ] as const) {
    const logger = track(
      createAuditLogger({
        destination: intact,
        resume,
        signals: false,
        registry: false,
        default: false,
      }),
    );
    for (let i = 0; i < count; i++) logger.record({ ...loginEvent(i), metadata: { i } });
    await logger.close();
  }
}, 120_000);
afterAll(cleanup);

function run(args: string[], input?: string) {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    encoding: 'utf8',
    input,
    timeout: 30_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Writes a tampered copy of the intact log and returns its path. */
function tampered(name: string, change: (lines: string[]) => string[]): string {
  const lines = readFileSync(intact, 'utf8')
    .split('\n')
    .filter((l) => l !== '');
  const file = join(dir, name);
  writeFileSync(file, `${change(lines).join('\n')}\n`);
  return file;
}

const samples: string[] = [];
afterAll(() => console.log(`vigil-audit sample output:\n${samples.join('\n')}`));

describe('vigil-audit verify', () => {
  it('should print ok and exit 0 for an intact log', () => {
    const r = run(['verify', intact]);
    samples.push(`$ vigil-audit verify audit.log\n${r.stdout.trim()}\n(exit ${r.status})`);
    expect(r.stdout).toBe('ok: 1203 events, 2 chains (a new chain starts at line 1201)\n');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it.each([
    [
      'deleted',
      (l: string[]) => [...l.slice(0, 56), ...l.slice(58)],
      'TAMPERED line 57: 2 events deleted before this line (expected seq 57, found 59)',
    ],
    [
      'modified',
      (l: string[]) => l.map((x, i) => (i === 99 ? x.replace('user-99', 'root') : x)),
      'TAMPERED line 100: event modified: its content does not match its hash',
    ],
    [
      'rehashed',
      (l: string[]) => l.map((x, i) => (i === 99 ? rehash(x, (e) => (e.actor = 'root')) : x)),
      "TAMPERED line 101: prev_hash does not match the event at line 100: that event was modified and its hash recomputed (or this line's prev_hash was changed)",
    ],
    [
      'inserted',
      (l: string[]) => [...l.slice(0, 10), 'injected', ...l.slice(10)],
      'TAMPERED line 11: line inserted: not an audit event (not JSON), and the event after it links to line 10',
    ],
    [
      'reordered',
      (l: string[]) => [...l.slice(0, 4), l[5] as string, l[4] as string, ...l.slice(6)],
      'TAMPERED line 5: events out of order (expected seq 5, found 6; seq 5 is at line 6)',
    ],
  ])('should print the first problem and exit 1 for a %s event', (kind, change, expected) => {
    const file = tampered(`${kind}.log`, change);
    const r = run(['verify', file]);
    samples.push(`$ vigil-audit verify ${kind}.log\n${r.stdout.trim()}\n(exit ${r.status})`);
    expect(r.stdout).toBe(`${expected}\n`);
    expect(r.status).toBe(1);
  });

  it('should read standard input with -', () => {
    const r = run(['verify', '-'], readFileSync(intact, 'utf8'));
    expect(r.stdout).toMatch(/^ok: 1203 events/);
    expect(r.status).toBe(0);
  });

  it('should skip other lines with --allow-foreign, and accept a continued chain with --partial', () => {
    const mixed = tampered('mixed.log', (l) => [
      'server started',
      ...l.slice(500),
      '{"level":30,"msg":"bye"}',
    ]);
    expect(run(['verify', mixed]).status).toBe(1);
    const r = run(['verify', '--allow-foreign', '--partial', mixed]);
    samples.push(
      `$ vigil-audit verify --allow-foreign --partial mixed.log\n${r.stdout.trim()}\n(exit ${r.status})`,
    );
    expect(r.stdout).toMatch(
      /^ok: 703 events, 2 chains \(the first event continues chain [0-9a-f-]{36} at seq 501; a new chain starts at line 702; 2 other lines skipped\)\n$/,
    );
    expect(r.status).toBe(0);
  });

  it('should print the whole result with --json', () => {
    const r = run(['verify', '--json', intact]);
    const result = JSON.parse(r.stdout) as { ok: boolean; events: number; chains: unknown[] };
    expect(result).toMatchObject({ ok: true, events: 1203 });
    expect(result.chains).toHaveLength(2);
  });

  it.each([
    [[], /^Usage: vigil-audit verify/],
    [['check', 'x'], /unknown command "check"/],
    [['verify'], /verify takes one FILE, got 0/],
    [['verify', 'a', 'b'], /verify takes one FILE, got 2/],
    [['verify', '--strict', 'a'], /unknown option "--strict"/],
  ])('should exit 2 with usage for %j', (args, message) => {
    const r = run(args);
    expect(r.stderr).toMatch(message);
    expect(r.stdout).toBe('');
    expect(r.status).toBe(2);
  });

  it('should exit 2 for a file it cannot read', () => {
    const r = run(['verify', join(dir, 'missing.log')]);
    expect(r.stderr).toMatch(/^vigil-audit: cannot read .*missing\.log: ENOENT/);
    expect(r.status).toBe(2);
  });

  it('should print usage and exit 0 for --help', () => {
    const r = run(['--help']);
    expect(r.stdout).toMatch(/Exit status: 0 intact, 1 tampered, 2 usage or read error\./);
    expect(r.status).toBe(0);
  });

  it('should be the package bin', () => {
    const manifest = JSON.parse(readFileSync(join(PKG_DIR, 'package.json'), 'utf8')) as {
      bin: Record<string, string>;
    };
    // The bin is a committed file, not a build output: npm links a bin at install time only if its
    // target exists, and a fresh clone is installed before it is built.
    expect(manifest.bin).toEqual({ 'vigil-audit': './bin/vigil-audit.cjs' });
    expect(readFileSync(BIN, 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
    expect(statSync(BIN).mode & 0o111).toBe(0o111);
    expect(readFileSync(CLI, 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
  });

  it('should say to build, exit 2 and write nothing to stdout when dist is missing', () => {
    // The bin as a fresh clone has it: the package directory without dist/.
    const copy = join(dir, 'unbuilt', 'bin', 'vigil-audit.cjs');
    mkdirSync(join(dir, 'unbuilt', 'bin'), { recursive: true });
    copyFileSync(BIN, copy);
    const r = spawnSync(process.execPath, [copy, 'verify', intact], { encoding: 'utf8' });
    samples.push(
      `$ vigil-audit verify audit.log   # before the build\n${r.stderr.trim()}\n(exit ${r.status})`,
    );
    expect(r.stderr).toBe(
      `vigil-audit: @vigil/audit is not built (${join(dir, 'unbuilt', 'dist', 'cli.js')} is missing). In the Vigil repository, run \`npm run build\` at its root first.\n`,
    );
    expect(r.stdout).toBe('');
    expect(r.status).toBe(2);
  });
});
