// The vigil-alerts command, run as users run it: the committed bin over the built package.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const BIN = join(__dirname, '..', 'bin', 'vigil-alerts.cjs');
const DIST = join(__dirname, '..', 'dist', 'index.js');

function cli(
  args: readonly string[],
  cwd: string,
): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function project(): string {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-alerts-cli-'));
  writeFileSync(
    join(dir, 'alerts.cjs'),
    `const a = require(${JSON.stringify(DIST)});
module.exports = { rules: { name: 'api', selector: { job: 'api' }, alerts: [a.errorRatioAlert(), a.targetDownAlert({ keepFiringFor: '5m' }), a.promqlAlert({ name: 'Raw', expr: 'vector(1)' })],
  slos: [a.defineSlo({ kind: 'availability', name: 'api-availability', objective: 0.999 })] } };\n`,
  );
  writeFileSync(
    join(dir, 'alerts.mjs'),
    `import a from ${JSON.stringify(DIST)};\nexport default { name: 'esm', alerts: [a.errorRatioAlert()] };\n`,
  );
  return dir;
}

describe('vigil-alerts', () => {
  it('should be committed executable', () => {
    expect(statSync(BIN).mode & 0o111).not.toBe(0);
  });

  it('should print its usage with --help and exit 0', () => {
    const r = cli(['--help'], tmpdir());
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^Usage: vigil-alerts generate MODULE --out DIR/);
    expect(r.stdout).toMatch(/Exit status: 0 files written, 1 the definitions are invalid/);
  });

  it('should write every file, byte-identical on a second run', () => {
    const dir = project();
    const first = cli(['generate', 'alerts.cjs', '--out', 'one'], dir);
    expect(first.status, first.stderr).toBe(0);
    expect(first.stderr).toBe(
      'vigil-alerts: note: alert Raw has no tests (give promqlAlert() its "tests")\n',
    );
    const second = cli(
      ['generate', './alerts.cjs', '--out', 'two', '--prometheus-version', '2.42'],
      dir,
    );
    expect(second.status, second.stderr).toBe(0);
    const names = readdirSync(join(dir, 'one')).sort();
    expect(names).toEqual([
      'api.alertmanager.yml',
      'api.prometheus-rule.yml',
      'api.rules.slow.test.yml',
      'api.rules.test.yml',
      'api.rules.yml',
    ]);
    for (const n of names) {
      expect(readFileSync(join(dir, 'two', n), 'utf8'), n).toBe(
        readFileSync(join(dir, 'one', n), 'utf8'),
      );
    }
  });

  it('should load an ES module default export', () => {
    const dir = project();
    const r = cli(['generate', 'alerts.mjs', '--out', 'out'], dir);
    expect(r.status, r.stderr).toBe(0);
    expect(readdirSync(join(dir, 'out'))).toContain('esm.rules.yml');
  });

  it('should exit 1 with the coded error when the target version lacks a feature', () => {
    const r = cli(
      ['generate', 'alerts.cjs', '--out', 'out', '--prometheus-version', '2.41'],
      project(),
    );
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(
      /ERR_VIGIL_ALERTS_FEATURE_UNAVAILABLE: alert "TargetDown" uses `keep_firing_for`/,
    );
  });

  it.each([
    [['generate', 'alerts.cjs'], /--out DIR is required/],
    [['generate', 'missing.cjs', '--out', 'x'], /cannot load missing.cjs/],
    [['render', 'alerts.cjs'], /expected "generate MODULE"/],
    [['generate', 'alerts.cjs', '--out', 'x', '--bogus'], /Unknown option '--bogus'/],
  ])('should exit 2 on a usage error: %j', (args, message) => {
    const r = cli(args, project());
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(message);
  });
});
