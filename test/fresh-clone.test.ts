// Integration: the root README's `npx vigil audit verify FILE` in a fresh clone, installed offline from
// the npm cache with `npm ci`, before and after the build, against a registry that records requests.
import { execFile, execFileSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuditLogger } from '@vigil/audit';
import { type RunningServer, listen } from '@vigil/test-utils';

// Test files compile as CommonJS (no import.meta); Vitest provides __dirname.
const ROOT = join(__dirname, '..');

interface Run {
  status: number;
  stdout: string;
  stderr: string;
  ms: number;
}

let tmp: string;
let clone: string;
let registry: RunningServer;
// Every request npm makes to the registry: the bin must be found without one.
const registryRequests: string[] = [];
let auditLog: string;
let installMs = 0;

/**
 * Runs a command in the clone; never throws. With `recorded`, npm asks the recording registry instead
 * of the public one. `npm ci --offline` keeps the configured registry: the lockfile carries no download
 * addresses, so npm finds the cached packages under the registry's own URLs.
 */
function run(file: string, args: string[], recorded = true): Promise<Run> {
  const started = performance.now();
  return new Promise((resolve) => {
    // Asynchronous: the recording registry runs in this process and must answer while npm waits.
    execFile(
      file,
      args,
      {
        cwd: clone,
        encoding: 'utf8',
        timeout: 240_000,
        maxBuffer: 16 * 1024 * 1024,
        env: {
          // Without the npm_* variables of the command that started the tests (`npx -p node@24 --`
          // sets npm_config_package, which the npx under test would then install), as in a shell.
          ...Object.fromEntries(
            Object.entries(process.env).filter(([name]) => !name.toLowerCase().startsWith('npm_')),
          ),
          ...(recorded ? { npm_config_registry: `${registry.url}/` } : {}),
          npm_config_update_notifier: 'false',
          npm_config_audit: 'false',
          npm_config_fund: 'false',
        },
      },
      (error, stdout, stderr) => {
        const code = (error as { code?: unknown } | null)?.code;
        resolve({
          status: error === null ? 0 : typeof code === 'number' ? code : -1,
          stdout,
          stderr,
          ms: Math.round(performance.now() - started),
        });
      },
    );
  });
}

/** The files a clone of the working tree has: tracked and untracked-but-not-ignored, as on disk. */
function copyCloneFiles(to: string): number {
  const listed = execFileSync(
    'git',
    ['ls-files', '-z', '--cached', '--others', '--exclude-standard'],
    {
      cwd: ROOT,
      encoding: 'utf8',
    },
  )
    .split('\0')
    .filter((f) => f !== '' && existsSync(join(ROOT, f)) && lstatSync(join(ROOT, f)).isFile());
  for (const file of listed) {
    mkdirSync(dirname(join(to, file)), { recursive: true });
    // copyFile keeps the permission bits, as a checkout keeps git's executable bit.
    copyFileSync(join(ROOT, file), join(to, file));
  }
  return listed.length;
}

/** The README's command, with FILE replaced by `file`, as an argv. */
function readmeCommand(file: string): string[] {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const match = /`(npx [^`]*vigil audit verify FILE)`/.exec(readme);
  if (match?.[1] === undefined)
    throw new Error('README.md shows no `npx ... vigil audit verify FILE`');
  return match[1].split(' ').map((word) => (word === 'FILE' ? file : word));
}

beforeAll(async () => {
  registry = await listen((req, res) => {
    registryRequests.push(`${req.method} ${req.url}`);
    res.statusCode = 404;
    res.setHeader('content-type', 'application/json');
    res.end('{"error":"Not found"}');
  });
  tmp = mkdtempSync(join(tmpdir(), 'vigil-clone-'));
  clone = join(tmp, 'repo');
  const files = copyCloneFiles(clone);
  const ci = await run('npm', ['ci', '--offline', '--no-audit', '--no-fund'], false);
  installMs = ci.ms;
  console.log(
    `[fresh-clone] ${files} files copied; npm ci --offline: exit ${ci.status} in ${ci.ms} ms`,
  );
  if (ci.status !== 0) {
    throw new Error(
      `npm ci --offline failed (exit ${ci.status}); the npm cache must hold every package of ` +
        `package-lock.json (run npm ci at the repository root once):\n${ci.stderr.slice(-2000)}`,
    );
  }

  auditLog = join(tmp, 'audit.log');
  const logger = createAuditLogger({
    destination: auditLog,
    registry: false,
    signals: false,
    default: false,
  });
  for (let i = 0; i < 3; i++) logger.record({ type: 'auth.login', outcome: 'success' });
  await logger.close();
}, 300_000);

afterAll(async () => {
  await registry?.close();
  if (tmp !== undefined) rmSync(tmp, { recursive: true, force: true });
});

describe('a fresh clone after npm ci', () => {
  it('should link the vigil-audit bin to a file tracked by git, before anything is built', () => {
    const link = join(clone, 'node_modules', '.bin', 'vigil-audit');
    expect(existsSync(join(clone, 'packages', 'audit', 'dist'))).toBe(false);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    const target = relative(realpathSync(clone), realpathSync(link));
    console.log(
      `[fresh-clone] node_modules/.bin/vigil-audit -> ${target} (npm ci: ${installMs} ms)`,
    );
    expect(target).toBe(join('packages', 'audit', 'bin', 'vigil-audit.cjs'));
    // Throws unless git tracks the file: an untracked bin would be missing from a real clone.
    const tracked = execFileSync('git', ['ls-files', '--error-unmatch', target], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    expect(tracked.trim()).toBe(target);
  });

  it('should tell to run the build, without asking the registry, when dist is missing', async () => {
    const before = registryRequests.length;
    const [npx = 'npx', ...args] = readmeCommand(auditLog);
    const r = await run(npx, args);
    console.log(
      `[fresh-clone] before the build: ${readmeCommand('FILE').join(' ')}: exit ${r.status}, ${r.stderr.trim()}`,
    );
    expect(r.stderr).toContain('vigil: the vigil package is not built');
    expect(r.stderr).toContain('run `npm run build`');
    expect(r.status).toBe(2);
    expect(registryRequests.slice(before)).toEqual([]);
  });

  it('should verify the audit log with the README command after npm run build, offline', async () => {
    const build = await run('npm', ['run', 'build']);
    console.log(`[fresh-clone] npm run build: exit ${build.status} in ${build.ms} ms`);
    expect(build.status, build.stderr).toBe(0);
    const before = registryRequests.length;
    for (const argv of [
      readmeCommand(auditLog),
      // The audit package's own command, which the umbrella's runs.
      ['npx', '--no-install', 'vigil-audit', 'verify', auditLog],
    ]) {
      const [npx = 'npx', ...args] = argv;
      const r = await run(npx, args);
      console.log(
        `[fresh-clone] ${argv.slice(0, -1).join(' ')} audit.log: exit ${r.status}, ${r.stdout.trim()} (${r.ms} ms)`,
      );
      expect(r.stdout).toBe('ok: 3 events, 1 chain\n');
      expect(r.status).toBe(0);
    }
    expect(registryRequests.slice(before)).toEqual([]);
  });

  it('should reach the recording registry for a command that is not installed (the control)', async () => {
    // Shows that a lookup which falls through to the registry is seen: the checks above are not blind.
    const before = registryRequests.length;
    const r = await run('npx', ['--no-install', 'vigil-not-a-command']);
    const seen = registryRequests.slice(before);
    console.log(
      `[fresh-clone] control: npx --no-install vigil-not-a-command: exit ${r.status}, registry saw ${JSON.stringify(seen)}`,
    );
    expect(r.status).not.toBe(0);
    expect(seen.some((line) => line.includes('vigil-not-a-command'))).toBe(true);
  });
});
