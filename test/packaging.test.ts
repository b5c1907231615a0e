// Integration: the tarballs `npm pack` makes of every package in packages/, installed offline into a
// temp consumer and used from CommonJS, ESM and TypeScript, with only the dependencies a user would get.
import { execFileSync, spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
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
// Every directory of packages/ with a package.json is a published package, unless it is private
// (test-utils): a new one is packed too.
const PACKAGES = readdirSync(join(ROOT, 'packages'))
  .filter((dir) => existsSync(join(ROOT, 'packages', dir, 'package.json')))
  .filter(
    (dir) =>
      (
        JSON.parse(readFileSync(join(ROOT, 'packages', dir, 'package.json'), 'utf8')) as {
          private?: boolean;
        }
      ).private !== true,
  )
  .sort();
type PackageDir = string;
const manifestOf = (dir: PackageDir): Manifest =>
  JSON.parse(readFileSync(join(ROOT, 'packages', dir, 'package.json'), 'utf8')) as Manifest;
// Besides each package's dependencies and required peers, the consumer gets the framework its
// fixtures use (express) and @types/node; koa, an optional peer, is left out on purpose: loading
// @vigil/metrics must not need it.
const FIXTURE_PACKAGES = ['express', '@types/node'];

interface PackResult {
  name: string;
  filename: string;
  files: { path: string }[];
}

interface Manifest {
  name: string;
  private?: boolean;
  license?: string;
  engines?: { node?: string };
  exports?: Record<string, unknown>;
  bin?: string | Record<string, string>;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
}

interface Packed {
  dir: PackageDir;
  tarball: string;
  files: string[];
  manifest: Manifest;
}

/** A manifest's bins as name -> path, whichever form package.json uses. */
function binsOf(manifest: Manifest): Record<string, string> {
  const { bin } = manifest;
  if (typeof bin === 'string') return { [manifest.name.replace(/^@[^/]+\//, '')]: bin };
  return bin ?? {};
}

/** What a user's install brings besides the Vigil packages: dependencies and required peers. */
function thirdParty(manifests: readonly Manifest[]): string[] {
  const names = new Set(FIXTURE_PACKAGES);
  for (const m of manifests) {
    for (const name of Object.keys(m.dependencies ?? {})) names.add(name);
    for (const name of Object.keys(m.peerDependencies ?? {})) {
      if (m.peerDependenciesMeta?.[name]?.optional !== true) names.add(name);
    }
  }
  return [...names].filter((name) => !name.startsWith('@vigil/')).sort();
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
      ) as Manifest,
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
  for (const name of thirdParty([...packed.values()].map((p) => p.manifest))) {
    const link = join(modules, name);
    if (!existsSync(join(ROOT, 'node_modules', name))) {
      throw new Error(`${name} is not installed at the repository root: run npm install`);
    }
    mkdirSync(dirname(link), { recursive: true });
    symlinkSync(join(ROOT, 'node_modules', name), link, 'dir');
  }
  for (const file of ['packed-consumer.cjs', 'packed-consumer.mjs']) {
    copyFileSync(join(FIXTURES, file), join(consumer, file));
  }
  copyFileSync(join(FIXTURES, 'packed-consumer.ts'), join(consumer, 'consumer.ts'));
  copyFileSync(join(FIXTURES, 'packed-consumer.ts'), join(consumer, 'consumer.mts'));
  // Every package's declarations, from a CommonJS (.ts) and an ESM (.mts) TypeScript module.
  const everyPackage = [...packed.values()]
    .map(
      (p, i) =>
        `import * as p${i} from '${p.manifest.name}';\nexport const k${i}: string[] = Object.keys(p${i});\n`,
    )
    .join('');
  writeFileSync(join(consumer, 'every-package.ts'), everyPackage);
  writeFileSync(join(consumer, 'every-package.mts'), everyPackage);
}, 120_000);

afterAll(() => {
  if (tmp !== undefined) rmSync(tmp, { recursive: true, force: true });
});

const get = (dir: PackageDir): Packed => {
  const p = packed.get(dir);
  if (p === undefined) throw new Error(`packages/${dir} was not packed`);
  return p;
};

const ROOT_LICENSE = readFileSync(join(ROOT, 'LICENSE'), 'utf8');

describe('the package list', () => {
  it('should be every directory of packages/ with a package.json, none of them private', () => {
    console.log(`[packaging] packed: ${PACKAGES.join(', ')}`);
    expect(PACKAGES.length).toBeGreaterThanOrEqual(6);
    expect(PACKAGES).toContain('business-metrics');
    for (const dir of PACKAGES) expect(manifestOf(dir).private, dir).not.toBe(true);
  });
});

describe('the license', () => {
  it('should be MIT, held by The Vigil authors, at the repository root', () => {
    expect(ROOT_LICENSE.split('\n')[0]).toBe('MIT License');
    expect(ROOT_LICENSE).toContain('Copyright (c) 2026 The Vigil authors');
    expect(manifestOf(PACKAGES[0] ?? 'core').license).toBe('MIT');
  });

  it.each(PACKAGES)('should be the root LICENSE, byte for byte, in packages/%s', (dir) => {
    // npm packs the LICENSE of the package directory; a copy that drifted would ship other terms.
    expect(readFileSync(join(ROOT, 'packages', dir, 'LICENSE'), 'utf8')).toBe(ROOT_LICENSE);
    expect(manifestOf(dir).license).toBe('MIT');
  });
});

describe('npm pack', () => {
  it.each(PACKAGES)('should ship the build and nothing of the sources in packages/%s', (dir) => {
    const { files } = get(dir);
    const maps = files.filter((f) => f.endsWith('.map'));
    const declarations = files.filter((f) => f.startsWith('dist/') && f.endsWith('.d.ts'));
    console.log(
      `[packaging] ${get(dir).manifest.name}: ${files.length} files, ${declarations.length} declaration files, ` +
        `${maps.length} source maps, bins ${JSON.stringify(binsOf(get(dir).manifest))}`,
    );
    expect(files).toContain('package.json');
    expect(files).toContain('LICENSE');
    expect(files).toContain('README.md');
    expect(files).toContain('dist/index.js');
    expect(files).toContain('dist/index.d.ts');
    // Every JavaScript module of dist has its declarations next to it.
    for (const js of files.filter((f) => f.startsWith('dist/') && /\.[cm]?js$/.test(f))) {
      expect(files, js).toContain(js.replace(/\.([cm]?)js$/, '.d.$1ts'));
    }
    expect(files.filter((f) => f.startsWith('src/'))).toEqual([]);
    expect(
      files.filter((f) => /(^|\/)(test|tests|__tests__)\/|\.(test|spec)\.[cm]?[jt]s$/.test(f)),
    ).toEqual([]);
    expect(files.filter((f) => f.endsWith('.tsbuildinfo'))).toEqual([]);
    expect(files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
  });

  it.each(PACKAGES)('should ship the packed LICENSE and README of packages/%s', (dir) => {
    const installed = join(consumer, 'node_modules', get(dir).manifest.name);
    expect(readFileSync(join(installed, 'LICENSE'), 'utf8')).toBe(ROOT_LICENSE);
    expect(readFileSync(join(installed, 'README.md'), 'utf8')).toBe(
      readFileSync(join(ROOT, 'packages', dir, 'README.md'), 'utf8'),
    );
  });

  it.each(PACKAGES)(
    'should declare engines.node >=20.6 and a typed exports map in packages/%s',
    (dir) => {
      const { manifest, files } = get(dir);
      expect(manifest.engines?.node).toBe('>=20.6');
      const root = manifest.exports?.['.'] as Record<string, string> | undefined;
      expect(root).toBeDefined();
      for (const [subpath, target] of Object.entries(manifest.exports ?? {})) {
        if (typeof target === 'string') {
          expect(files, subpath).toContain(target.replace(/^\.\//, ''));
          continue;
        }
        const conditions = target as Record<string, string>;
        // TypeScript takes the first matching condition, so `types` must come first.
        expect(Object.keys(conditions)[0], subpath).toBe('types');
        for (const file of Object.values(conditions)) {
          expect(files, subpath).toContain(file.replace(/^\.\//, ''));
        }
      }
    },
  );

  it.each(PACKAGES.filter((dir) => Object.keys(binsOf(manifestOf(dir))).length > 0))(
    'should ship each declared bin, tracked by git, in packages/%s',
    (dir) => {
      const { manifest, files } = get(dir);
      for (const [name, path] of Object.entries(binsOf(manifest))) {
        const file = path.replace(/^\.\//, '');
        expect(files, name).toContain(file);
        const shipped = join(consumer, 'node_modules', manifest.name, file);
        expect(readFileSync(shipped, 'utf8').startsWith('#!/usr/bin/env node\n'), name).toBe(true);
        // npm links a workspace bin when it installs the repository, before any build: the target must
        // be a file of the clone, not a build output.
        const tracked = execFileSync('git', ['ls-files', join('packages', dir, file)], {
          cwd: ROOT,
          encoding: 'utf8',
        });
        expect(tracked.trim(), `${name} -> packages/${dir}/${file} must be tracked by git`).toBe(
          join('packages', dir, file),
        );
      }
    },
  );
});

describe('the packed vigil-audit bin', () => {
  it('should verify a log from the consumer project', async () => {
    const { manifest } = get('audit');
    const bin = binsOf(manifest)['vigil-audit'];
    expect(bin).toBe('./bin/vigil-audit.cjs');
    const script = join(consumer, 'node_modules', '@vigil', 'audit', bin ?? '');
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

describe('every packed package in a consumer project', () => {
  // Loads each package's main entry; the other subpaths (e.g. @vigil/tracing/register, which starts
  // the SDK) are resolved only.
  const script = (esm: boolean): string => `
    const names = ${JSON.stringify(PACKAGES.map((dir) => get(dir).manifest.name))};
    const subpaths = ${JSON.stringify(
      Object.fromEntries(
        PACKAGES.map((dir) => [
          get(dir).manifest.name,
          Object.keys(get(dir).manifest.exports ?? {}).filter(
            (k) => k !== '.' && k !== './package.json',
          ),
        ]),
      ),
    )};
    const out = {};
    for (const name of names) {
      const mod = ${esm ? 'await import(name)' : 'require(name)'};
      out[name] = {
        exports: Object.keys(mod)
          .filter((k) => !['default', 'module.exports', '__esModule'].includes(k))
          .sort(),
        resolved: [name, ...subpaths[name].map((s) => name + s.slice(1))].map((id) =>
          ${esm ? 'import.meta.resolve(id)' : 'require.resolve(id)'},
        ),
      };
    }
    process.stdout.write(JSON.stringify(out));
  `;

  const load = (esm: boolean) => {
    const args = esm ? ['--input-type=module', '-e', script(true)] : ['-e', script(false)];
    const r = run(process.execPath, args, consumer);
    expect(r.status, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as Record<string, { exports: string[]; resolved: string[] }>;
  };

  it('should load every package from CommonJS and ESM, with the same named exports', () => {
    const cjs = load(false);
    const esm = load(true);
    for (const dir of PACKAGES) {
      const { name } = get(dir).manifest;
      const c = cjs[name];
      const e = esm[name];
      console.log(
        `[packaging] ${name}: ${c?.exports.length} exports from require(), ${e?.exports.length} named exports from import`,
      );
      expect(c?.exports.length, name).toBeGreaterThan(0);
      // Node finds a CommonJS module's named exports by static analysis: every one must be there.
      expect(e?.exports, name).toEqual(c?.exports);
      for (const file of c?.resolved ?? []) {
        expect(file.startsWith(join(consumer, 'node_modules', name, 'dist')), file).toBe(true);
      }
      for (const url of e?.resolved ?? []) {
        expect(url.startsWith(`file://${join(consumer, 'node_modules', name, 'dist')}`), url).toBe(
          true,
        );
      }
      // A subpath with conditions gives require() its CommonJS file and import its ESM one.
      const subpaths = Object.entries(get(dir).manifest.exports ?? {}).filter(
        ([k]) => k !== '.' && k !== './package.json',
      );
      subpaths.forEach(([subpath, target], i) => {
        if (typeof target === 'string') return;
        const conditions = target as Record<string, string>;
        const file = (condition: string | undefined) =>
          join(consumer, 'node_modules', name, condition ?? conditions.default ?? '');
        const id = name + subpath.slice(1);
        expect(c?.resolved[i + 1], `require.resolve('${id}')`).toBe(file(conditions.require));
        expect(e?.resolved[i + 1], `import.meta.resolve('${id}')`).toBe(
          `file://${file(conditions.import)}`,
        );
      });
    }
    // The register entries, both forms: `node --require` / `--import vigil/register`.
    for (const name of ['vigil', '@vigil/tracing']) {
      const dist = join(consumer, 'node_modules', name, 'dist');
      expect(cjs[name]?.resolved, name).toContain(join(dist, 'register.js'));
      expect(esm[name]?.resolved, name).toContain(`file://${join(dist, 'register.mjs')}`);
    }
  });

  it.each(['--require', '--import'])(
    'should start tracing with node %s vigil/register, from the packed packages',
    (flag) => {
      const script = `
        const { getTracing } = require('@vigil/tracing');
        const tracing = getTracing();
        process.stdout.write(JSON.stringify({
          started: tracing !== undefined && !tracing.disabled,
          entries: Object.keys(require.cache).filter((f) => f.endsWith('/dist/register.js')).sort(),
        }));
        tracing?.shutdown().then(() => process.exit(0));
      `;
      const r = spawnSync(process.execPath, [flag, 'vigil/register', '-e', script], {
        cwd: consumer,
        encoding: 'utf8',
        timeout: 30_000,
        env: {
          ...process.env,
          OTEL_TRACES_EXPORTER: 'none',
          OTEL_SDK_DISABLED: '',
          NODE_OPTIONS: '',
        },
      });
      console.log(`[packaging] ${flag} vigil/register: exit ${r.status}, ${r.stdout}`);
      expect(r.status, r.stderr).toBe(0);
      const out = JSON.parse(r.stdout) as { started: boolean; entries: string[] };
      expect(out.started).toBe(true);
      // --import loads vigil's ESM entry, which is not in require.cache; both share @vigil/tracing's.
      const expected = [join(consumer, 'node_modules/@vigil/tracing/dist/register.js')];
      if (flag === '--require')
        expected.push(join(consumer, 'node_modules/vigil/dist/register.js'));
      expect(out.entries).toEqual(expected.sort());
    },
  );
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

  it('should type-check TypeScript consumers of every package against the packed declarations', () => {
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
        files: ['consumer.ts', 'consumer.mts', 'every-package.ts', 'every-package.mts'],
      }),
    );
    const tsc = join(ROOT, 'node_modules/typescript/bin/tsc');
    const r = run(process.execPath, [tsc, '-p', 'tsconfig.json', '--listFiles'], consumer);
    // The scoped packages, and the umbrella `vigil`.
    const listed = r.stdout
      .split('\n')
      .filter((l) => l.includes('/@vigil/') || l.includes('/node_modules/vigil/'));
    const errors = r.stdout.split('\n').filter((l) => l.includes('error TS'));
    console.log(
      `[packaging] tsc (nodenext, .ts and .mts): exit ${r.status}, ${listed.length} @vigil declaration files, ${errors.length} errors${errors.length ? `\n${errors.join('\n')}` : ''}`,
    );
    expect(errors).toEqual([]);
    expect(r.status).toBe(0);
    for (const dir of PACKAGES) {
      const name = get(dir).manifest.name;
      expect(listed).toContain(join(consumer, 'node_modules', name, 'dist/index.d.ts'));
    }
    // The declarations come from the tarballs, never from the repository's packages/.
    expect(listed.filter((l) => l.includes(join(ROOT, 'packages')))).toEqual([]);
  });
});
