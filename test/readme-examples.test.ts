// Integration: every JavaScript and TypeScript example in the READMEs runs as written. Each code block
// is written to a file of its own (next to the repository's node_modules, so its imports resolve as
// in an app that installed the packages), run with node, and judged: a server must start, answer a
// request without crashing and keep running; a script must exit with status 0. The only change made
// to an example is the port: servers listen on a free loopback port (support/readme-preload.mjs).
// A block whose first line names its file and command (`// app.mjs — node --import x app.mjs`) is
// saved under that name and run with that command's flags.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join, relative } from 'node:path';
import ts from 'typescript';
import { afterAll, describe, expect, it } from 'vitest';
import { findBinary } from '@vigil/test-utils';

const ROOT = join(__dirname, '..');
const WORK = join(ROOT, 'node_modules', '.readme-examples');
const PRELOAD = join(__dirname, 'support', 'readme-preload.mjs');

interface Example {
  readme: string;
  line: number;
  lang: string;
  code: string;
}

/** Every js/ts block of the root README and the packages' READMEs. */
function examples(): Example[] {
  const readmes = [
    join(ROOT, 'README.md'),
    ...readdirSync(join(ROOT, 'packages')).map((p) => join(ROOT, 'packages', p, 'README.md')),
  ].filter((f) => existsSync(f));
  const found: Example[] = [];
  for (const file of readmes) {
    const text = readFileSync(file, 'utf8');
    const fence = /^```(js|javascript|mjs|cjs|ts|typescript)\n([\s\S]*?)^```/gm;
    for (const m of text.matchAll(fence)) {
      found.push({
        readme: relative(ROOT, file),
        line: text.slice(0, m.index).split('\n').length,
        lang: m[1] as string,
        code: m[2] as string,
      });
    }
  }
  return found;
}

/**
 * The file name an example names on its first line (`// business.js — the catalogue`), and the node
 * flags of the command it gives there (`// app.mjs — node --import @vigil/tracing/register app.mjs`).
 */
function declared(code: string): { name?: string; flags: string[] } {
  const first = /^\/\/ ([\w.-]+\.(?:m?js|cjs|ts|mts))\b(.*)$/m.exec(code.split('\n')[0] ?? '');
  if (first === null) return { flags: [] };
  const name = first[1] as string;
  const command = new RegExp(
    `— node ((?:--\\S+(?: [^-\\s]\\S*)? )*)${name.replace('.', '\\.')}`,
  ).exec(first[2] ?? '');
  const flags = (command?.[1] ?? '').trim().split(/\s+/).filter(Boolean);
  return { name, flags };
}

const isTypeScript = (lang: string): boolean => lang === 'ts' || lang === 'typescript';
const isModule = (code: string): boolean => /^\s*(?:import|export)\s/m.test(code);

/**
 * Where and how node runs the example: in a directory per README (so an example can import the one
 * before it by the name that one declares, `./business.js`), TypeScript compiled as tsc would.
 */
function runnable(example: Example): {
  dir: string;
  file: string;
  source: string;
  flags: string[];
} {
  const { name, flags } = declared(example.code);
  const dir = join(WORK, example.readme.replace(/[/.]/g, '-'));
  const module = isModule(example.code);
  if (isTypeScript(example.lang)) {
    const legacy = /experimentalDecorators/.test(example.code);
    const source = ts.transpileModule(example.code, {
      compilerOptions: {
        target: ts.ScriptTarget.ES2022,
        module: ts.ModuleKind.ESNext,
        experimentalDecorators: legacy,
      },
    }).outputText;
    // `./business` in TypeScript is the module `./business.js` here.
    const resolved = source.replace(/(from ['"]\.\/[\w-]+)(['"])/g, '$1.js$2');
    return {
      dir,
      file: `${name?.replace(/\.m?ts$/, '') ?? `example-${example.line}`}.mjs`,
      source: resolved,
      flags,
    };
  }
  // The directory's package.json says `"type": "module"`, as the examples' `.js` files with import
  // assume; a `.js` file written with require() is saved as `.cjs` (and run under that name).
  const file =
    name === undefined
      ? `example-${example.line}.${module ? 'mjs' : 'cjs'}`
      : !module && name.endsWith('.js')
        ? name.replace(/\.js$/, '.cjs')
        : name;
  return { dir, file, source: example.code, flags };
}

/**
 * The paths of the GET routes an example serves (`app.get('/api/users/:id', ...)` is asked as
 * `/api/users/1`), without the ones that fail on purpose; `/` when it names none.
 */
function getPaths(code: string): string[] {
  const paths = [...code.matchAll(/\.get\(\s*'(\/[^']*)'/g)]
    .map((m) => (m[1] as string).replace(/:\w+/g, '1'))
    .filter((p) => !/fail|boom|error/.test(p));
  return paths.length === 0 ? ['/'] : [...new Set(paths)];
}

/** One GET to the example's server: the status, or the error. */
function get(port: number, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, timeout: 5000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${path} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Outcome {
  kind: 'server' | 'script';
  /** `GET /path status` for each path the example serves. */
  statuses?: string[];
  exitCode?: number | null;
  output: string;
}

/** Runs `file`: a server until it answers a request, or a script until it exits. */
async function run(
  dir: string,
  file: string,
  flags: string[],
  env: NodeJS.ProcessEnv,
  paths: string[],
): Promise<Outcome> {
  const portsFile = join(dir, `${file}.ports`);
  writeFileSync(portsFile, '');
  const child: ChildProcess = spawn(
    process.execPath,
    ['--import', PRELOAD, ...flags, join(dir, file)],
    {
      cwd: dir,
      env: { ...process.env, ...env, VIGIL_README_PORTS: portsFile, NODE_ENV: 'test' },
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group, so a cluster's workers are stopped with it.
      detached: true,
    },
  );
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  let exitCode: number | null | undefined;
  const exited = new Promise<void>((resolve) =>
    child.on('exit', (code) => {
      exitCode = code;
      resolve();
    }),
  );
  const stop = async (): Promise<void> => {
    if (exitCode !== undefined) return;
    try {
      process.kill(-(child.pid as number), 'SIGKILL');
    } catch {
      // Already gone.
    }
    await exited;
  };
  try {
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      if (exitCode !== undefined) return { kind: 'script', exitCode, output };
      const port = readFileSync(portsFile, 'utf8').split('\n').find(Boolean);
      if (port !== undefined) {
        // Give a cluster's workers, or a second server, a moment to start.
        await sleep(300);
        const statuses: string[] = [];
        for (const path of paths) statuses.push(`GET ${path} ${await get(Number(port), path)}`);
        await sleep(300);
        if (exitCode !== undefined) return { kind: 'script', exitCode, output };
        return { kind: 'server', statuses, output };
      }
      await sleep(50);
    }
    throw new Error(`neither listened nor exited within 20 s:\n${output}`);
  } finally {
    await stop();
  }
}

const all = examples();
const results: { example: string; kind: string; result: string }[] = [];
let redis: ChildProcess | undefined;

afterAll(() => {
  redis?.kill('SIGKILL');
  console.log(
    `README examples run: ${results.length}\n${results.map((r) => `  ${r.example}: ${r.kind}, ${r.result}`).join('\n')}`,
  );
});

describe('README examples', () => {
  rmSync(WORK, { recursive: true, force: true });
  mkdirSync(WORK, { recursive: true });

  it('should find the examples of every README', () => {
    const readmes = new Set(all.map((e) => e.readme));
    expect(readmes.size).toBeGreaterThanOrEqual(8);
    expect(all.length).toBeGreaterThan(30);
  });

  it.each(all.map((e) => [`${e.readme}:${e.line}`, e] as const))(
    'should run %s as written',
    async (label, example) => {
      const { dir, file, source, flags } = runnable(example);
      mkdirSync(dir, { recursive: true });
      if (!existsSync(join(dir, 'package.json'))) {
        writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n');
      }
      writeFileSync(join(dir, file), source);
      const env: NodeJS.ProcessEnv = {};
      if (/\bioredis\b|\bRedis\(/.test(example.code)) {
        const server = findBinary('redis-server', 'redis-server');
        if (server === undefined) return;
        env.REDIS_URL = await startRedis(server);
      }
      const outcome = await run(dir, file, flags, env, getPaths(example.code));
      // An example may log (a warning, a problem reported once); it must not crash or reject unhandled.
      const problem = /Uncaught|UnhandledPromiseRejection|triggerUncaughtException/.exec(
        outcome.output,
      );
      if (outcome.kind === 'script') {
        expect(outcome.exitCode, `${label} exited:\n${outcome.output}`).toBe(0);
        results.push({ example: label, kind: 'script', result: 'exit 0' });
      } else {
        // Every GET route it serves answers, without a 5xx (routes that fail on purpose left out).
        const failed = (outcome.statuses ?? []).filter((s) => / 5\d\d$/.test(s));
        expect(failed, `${label}:\n${outcome.output}`).toEqual([]);
        results.push({
          example: label,
          kind: 'server',
          result: (outcome.statuses ?? []).join(', '),
        });
      }
      expect(problem, `${label} printed an error:\n${outcome.output}`).toBeNull();
    },
    30_000,
  );
});

/** A redis-server on a free port for the examples that use Redis; its URL. */
async function startRedis(binary: string): Promise<string> {
  if (redis === undefined) {
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    redis = spawn(binary, ['--port', String(port), '--save', '', '--appendonly', 'no'], {
      stdio: 'ignore',
    });
    redis.once('exit', () => (redis = undefined));
    (redis as ChildProcess & { url?: string }).url = `redis://127.0.0.1:${port}`;
    await sleep(300);
  }
  return (redis as ChildProcess & { url?: string }).url as string;
}
