// Integration: the tarballs `npm pack` makes of @vigil/core and @vigil/metrics, installed offline into a
// temp consumer and used from CommonJS, ESM and TypeScript, with only the peers a user would install.
import { execFileSync, spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuditLogger } from '@vigil/audit';

// Test files compile as CommonJS (no import.meta); Vitest provides __dirname.
const ROOT = join(__dirname, '..');
const FIXTURES = join(__dirname, 'fixtures');
const PACKAGES = ['core', 'metrics', 'tracing', 'audit', 'rate-limit'] as const;
type PackageDir = (typeof PACKAGES)[number];
// The consumer gets the required peer (prom-client), the framework it uses (express) and @types/node;
// koa, an optional peer, is left out on purpose: loading @vigil/metrics must not need it.
const THIRD_PARTY = [
  'prom-client',
  'express',
  '@types/node',
  // What the packed audit CLI loads.
  'pino',
  '@pinojs/redact',
  'safe-stable-stringify',
];

interface PackResult {
  name: string;
  filename: string;
  files: { path: string }[];
}

interface Packed {
  dir: PackageDir;
  tarball: string;
  files: string[];
  manifest: {
    name: string;
    engines?: { node?: string };
    exports?: Record<string, unknown>;
  };
}

let tmp: string;
let consumer: string;
const packed = new Map<PackageDir, Packed>();

function run(
  file: string,
  args: string[],
  cwd: string,
): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(file, args, { cwd, encoding: 'utf8', timeout: 30_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(() => {
  execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-b'], {
    cwd: ROOT,
  });
  tmp = mkdtempSync(join(tmpdir(), 'vigil-pack-'));
  for (const dir of PACKAGES) {
    const out = execFileSync('npm', ['pack', '--json', '--pack-destination', tmp], {
      cwd: join(ROOT, 'packages', dir),
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const [result] = JSON.parse(out) as PackResult[];
    if (result === undefined) throw new Error(`npm pack printed no result in packages/${dir}`);
    const tarball = join(tmp, result.filename);
    const extracted = join(tmp, 'extract', dir);
    mkdirSync(extracted, { recursive: true });
    execFileSync('tar', ['-xzf', tarball, '-C', extracted]);
    packed.set(dir, {
      dir,
      tarball,
      files: result.files.map((f) => f.path).sort(),
      manifest: JSON.parse(
        readFileSync(join(extracted, 'package', 'package.json'), 'utf8'),
      ) as Packed['manifest'],
    });
  }

  // Offline install: each tarball unpacked as node_modules/<name>, the third-party packages linked from
  // the repository (a link resolves its own dependencies from its real path, the repository's).
  consumer = join(tmp, 'consumer');
  const modules = join(consumer, 'node_modules');
  mkdirSync(modules, { recursive: true });
  writeFileSync(
    join(consumer, 'package.json'),
    JSON.stringify({ name: 'vigil-consumer', private: true }),
  );
  for (const p of packed.values()) {
    const target = join(modules, p.manifest.name);
    mkdirSync(target, { recursive: true });
    execFileSync('tar', ['-xzf', p.tarball, '-C', target, '--strip-components=1']);
  }
  for (const name of THIRD_PARTY) {
    const link = join(modules, name);
    mkdirSync(dirname(link), { recursive: true });
    symlinkSync(join(ROOT, 'node_modules', name), link, 'dir');
  }
  for (const file of ['packed-consumer.cjs', 'packed-consumer.mjs']) {
    copyFileSync(join(FIXTURES, file), join(consumer, file));
  }
  copyFileSync(join(FIXTURES, 'packed-consumer.ts'), join(consumer, 'consumer.ts'));
  copyFileSync(join(FIXTURES, 'packed-consumer.ts'), join(consumer, 'consumer.mts'));
}, 120_000);

afterAll(() => {
  if (tmp !== undefined) rmSync(tmp, { recursive: true, force: true });
});

const get = (dir: PackageDir): Packed => {
  const p = packed.get(dir);
  if (p === undefined) throw new Error(`packages/${dir} was not packed`);
  return p;
};

describe('npm pack', () => {
  it.each(PACKAGES)('should ship the build and nothing of the sources in packages/%s', (dir) => {
    const { files } = get(dir);
    const maps = files.filter((f) => f.endsWith('.map'));
    console.log(
      `[packaging] @vigil/${dir}: ${files.length} files, ${maps.length} source maps (their sources, ` +
        `../src/*.ts, are not shipped), README.md ${existsSync(join(ROOT, 'packages', dir, 'README.md')) ? 'present' : 'absent from the package directory'}`,
    );
    expect(files).toContain('package.json');
    expect(files).toContain('dist/index.js');
    expect(files).toContain('dist/index.d.ts');
    if (existsSync(join(ROOT, 'packages', dir, 'README.md'))) expect(files).toContain('README.md');
    expect(files.filter((f) => f.startsWith('src/'))).toEqual([]);
    expect(
      files.filter((f) => /(^|\/)(test|tests|__tests__)\/|\.(test|spec)\.[cm]?[jt]s$/.test(f)),
    ).toEqual([]);
    expect(files.filter((f) => f.endsWith('.tsbuildinfo'))).toEqual([]);
    expect(files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
  });

  it.each(PACKAGES)(
    'should declare engines.node >=20.6 and a typed exports map in packages/%s',
    (dir) => {
      const { manifest, files } = get(dir);
      expect(manifest.engines?.node).toBe('>=20.6');
      const root = manifest.exports?.['.'] as Record<string, string> | undefined;
      expect(root).toBeDefined();
      // TypeScript takes the first matching condition, so `types` must come first.
      expect(Object.keys(root ?? {})[0]).toBe('types');
      expect(files).toContain((root?.types ?? '').replace(/^\.\//, ''));
      expect(files).toContain((root?.default ?? '').replace(/^\.\//, ''));
    },
  );
});

describe('the packed vigil-audit bin', () => {
  it('should be declared, shipped with a shebang, and verify a log from the consumer project', async () => {
    const { manifest, files } = get('audit');
    const bin = (manifest as { bin?: Record<string, string> }).bin?.['vigil-audit'];
    expect(bin).toBe('./bin/vigil-audit.cjs');
    expect(files).toContain('bin/vigil-audit.cjs');
    const script = join(consumer, 'node_modules', '@vigil', 'audit', 'bin', 'vigil-audit.cjs');
    expect(readFileSync(script, 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
    const log = join(tmp, 'packed-audit.log');
    const logger = createAuditLogger({
      destination: log,
      registry: false,
      signals: false,
      default: false,
    });
    for (let i = 0; i < 3; i++) logger.record({ type: 'test.packed', outcome: 'success' });
    await logger.close();
    const r = run(process.execPath, [script, 'verify', log], consumer);
    console.log(`[packaging] vigil-audit verify: exit ${r.status}, ${r.stdout.trim()}`);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^ok: 3 events/);
  });
});

describe('packed packages in a consumer project', () => {
  it('should serve and count a request from CommonJS with require()', () => {
    const r = run(process.execPath, ['packed-consumer.cjs'], consumer);
    const out = JSON.parse(r.stdout.trim() || '{}');
    console.log(
      `[packaging] cjs: exit ${r.status}, ${r.stdout.trim()}${r.stderr ? `\nstderr: ${r.stderr}` : ''}`,
    );
    expect(r.status, r.stderr).toBe(0);
    expect(out.status).toBe(200);
    expect(out.samples).toEqual([
      'http_requests_total{method="GET",route="/items/:id",status_code="200"} 1',
    ]);
    expect(out.resolved.metrics).toBe(join(consumer, 'node_modules/@vigil/metrics/dist/index.js'));
    expect(out.resolved.core).toBe(join(consumer, 'node_modules/@vigil/core/dist/index.js'));
    expect(typeof out.unmatchedRoute).toBe('string');
  });

  it('should serve and count requests from ESM with named imports', () => {
    const r = run(process.execPath, ['packed-consumer.mjs'], consumer);
    const out = JSON.parse(r.stdout.trim() || '{}');
    console.log(
      `[packaging] esm: exit ${r.status}, ${r.stdout.trim()}${r.stderr ? `\nstderr: ${r.stderr}` : ''}`,
    );
    expect(r.status, r.stderr).toBe(0);
    expect(out.statuses).toEqual([200, 404]);
    expect(out.koaMiddleware).toBe('function');
    const expected = [
      'http_requests_total{method="GET",route="/items/:id",status_code="200"} 1',
      `http_requests_total{method="GET",route="${out.unmatchedRoute}",status_code="404"} 1`,
    ];
    expect([...out.handlerSamples].sort()).toEqual([...expected].sort());
    expect([...out.serverSamples].sort()).toEqual([...expected].sort());
    expect(out.resolved.metrics).toBe(
      `file://${join(consumer, 'node_modules/@vigil/metrics/dist/index.js')}`,
    );
    expect(out.resolved.core).toBe(
      `file://${join(consumer, 'node_modules/@vigil/core/dist/index.js')}`,
    );
  });

  it('should type-check a TypeScript consumer against the packed declarations', () => {
    writeFileSync(
      join(consumer, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'nodenext',
          moduleResolution: 'nodenext',
          target: 'es2022',
          strict: true,
          noEmit: true,
          // The packed declarations are what is under test, so they are checked too.
          skipLibCheck: false,
          types: ['node'],
        },
        files: ['consumer.ts', 'consumer.mts'],
      }),
    );
    const tsc = join(ROOT, 'node_modules/typescript/bin/tsc');
    const r = run(process.execPath, [tsc, '-p', 'tsconfig.json', '--listFiles'], consumer);
    const listed = r.stdout.split('\n').filter((l) => l.includes('/@vigil/'));
    const errors = r.stdout.split('\n').filter((l) => l.includes('error TS'));
    console.log(
      `[packaging] tsc (nodenext, .ts and .mts): exit ${r.status}, ${listed.length} @vigil declaration files, ${errors.length} errors${errors.length ? `\n${errors.join('\n')}` : ''}`,
    );
    expect(errors).toEqual([]);
    expect(r.status).toBe(0);
    expect(listed).toContain(join(consumer, 'node_modules/@vigil/metrics/dist/index.d.ts'));
    expect(listed).toContain(join(consumer, 'node_modules/@vigil/core/dist/index.d.ts'));
    // The declarations come from the tarballs, never from the repository's packages/.
    expect(listed.filter((l) => l.includes(join(ROOT, 'packages')))).toEqual([]);
  });
});
