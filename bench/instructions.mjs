// Instructions per request of scenario servers, counted by Valgrind's callgrind: a figure the host's
// load does not move, for comparing two builds or two variants of a scenario where run.mjs's
// throughput needs many rounds to show a few per cent.
//
//   node bench/instructions.mjs bare vigil-umbrella-10 [...]   # BENCH_INSTR_WARMUP, BENCH_INSTR_REQUESTS
//
// For each scenario in turn: starts its server under `valgrind --tool=callgrind` (Debian package
// `valgrind`), sends the bench's request mix over 4 kept-alive connections from this process,
// BENCH_INSTR_WARMUP requests (default 3,000, so the hot code is optimised first) and then
// BENCH_INSTR_REQUESTS (default 2,000) between a zeroing and a dump of the counters
// (`callgrind_control`). It prints the instructions per request of the server's process, all its
// threads together (main thread, garbage collector helpers, libuv's pool), and how many of them were
// V8's optimising compiler. Under Valgrind a server runs about 50 times slower; a scenario takes one
// to two minutes.
//
// The compiler's share is mostly an effect of Valgrind: measured on `bare`, V8 made 52 optimisations
// and 19 deoptimisations during 1,000 counted requests, where a normal run under load made 40
// optimisations in 54,000 requests. Under Valgrind the server runs about 50 times slower, so what
// happens per wall-clock second (timers, samplers, the rarely taken paths they run) happens about 50
// times as often per request: the likely cause. Compare builds on the column without the compiler,
// and keep in mind that periodic work still weighs more there than in a normal run.
//
// What it does not count: the kernel's work (system calls, the network), cache misses and memory
// stalls. The time a request takes grows faster than its instructions when the added work allocates
// or writes: see RESULTS.md for the two side by side.
import { spawn, execFileSync } from 'node:child_process';
import http from 'node:http';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { REQUESTS } from './lib/requests.mjs';
import { SCENARIOS } from './scenarios.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const WARMUP = Number(process.env.BENCH_INSTR_WARMUP ?? 3000);
const MEASURED = Number(process.env.BENCH_INSTR_REQUESTS ?? 2000);
const CONNECTIONS = 4;

const names = process.argv.slice(2);
if (names.length === 0) {
  console.error('usage: node bench/instructions.mjs <scenario> [<scenario> ...]');
  process.exit(2);
}
for (const [name, value] of Object.entries({ WARMUP, MEASURED })) {
  if (!Number.isInteger(value) || value <= 0) {
    console.error(`instructions: ${name} must be a positive integer`);
    process.exit(2);
  }
}
const unknown = names.filter((n) => !SCENARIOS.some((s) => s.name === n));
if (unknown.length > 0) {
  console.error(`instructions: unknown scenario(s) ${unknown.join(', ')}`);
  process.exit(2);
}
const redisScenario = names.find((n) => SCENARIOS.find((s) => s.name === n)?.redis === true);
if (redisScenario !== undefined) {
  console.error(`instructions: ${redisScenario} needs the harness's Redis; run it with run.mjs`);
  process.exit(2);
}
try {
  execFileSync('valgrind', ['--version'], { stdio: 'ignore' });
} catch {
  console.error('instructions: valgrind is not installed (Debian package `valgrind`)');
  process.exit(2);
}

/**
 * Sends `count` requests of the mix, CONNECTIONS at a time, each connection kept alive.
 * @param {number} port
 * @param {number} count
 * @returns {Promise<void>}
 */
function send(port, count) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONNECTIONS });
  let started = 0;
  let finished = 0;
  return new Promise((resolve, reject) => {
    const next = () => {
      if (started >= count) return;
      const r = REQUESTS[started++ % REQUESTS.length];
      if (r === undefined) return;
      const req = http.request(
        { host: '127.0.0.1', port, path: r.path, method: r.method, headers: r.headers, agent },
        (res) => {
          res.resume();
          res.on('end', () => {
            if (res.statusCode === undefined || res.statusCode >= 500) {
              reject(new Error(`${r.method} ${r.path} answered ${res.statusCode}`));
              return;
            }
            if (++finished === count) {
              agent.destroy();
              resolve();
            } else next();
          });
        },
      );
      req.on('error', reject);
      req.end(r.body);
    };
    for (let i = 0; i < CONNECTIONS; i++) next();
  });
}

/**
 * The dump taken after the measured requests (the counters were zeroed before them): the one with
 * the largest total in `dir`, and that total.
 * @param {string} dir
 * @returns {{ file: string, total: number } | undefined}
 */
function measuredDump(dir) {
  /** @type {{ file: string, total: number } | undefined} */
  let found;
  for (const file of readdirSync(dir)) {
    const match = /^totals: (\d+)/m.exec(readFileSync(join(dir, file), 'utf8'));
    const total = Number(match?.[1] ?? 0);
    if (total > 0 && (found === undefined || total > found.total))
      found = { file: join(dir, file), total };
  }
  return found;
}

/**
 * The instructions of V8's optimising compiler (TurboFan, `v8::internal::compiler::`) in a dump, by
 * the functions' own counts as callgrind_annotate lists them.
 * @param {string} file
 */
function compilerInstructions(file) {
  const listing = execFileSync('callgrind_annotate', ['--inclusive=no', '--threshold=100', file], {
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
  });
  let total = 0;
  for (const line of listing.split('\n')) {
    const match = /^\s*([\d,]+) \(\s*[\d.]+%\)\s+\S*v8::internal::compiler::/.exec(line);
    if (match?.[1] !== undefined) total += Number(match[1].replaceAll(',', ''));
  }
  return total;
}

/**
 * One scenario's instructions per request, all of them and those of the optimising compiler.
 * @param {string} name
 * @returns {Promise<{ all: number, compiler: number }>}
 */
async function measure(name) {
  const scenario = /** @type {import('./scenarios.mjs').Scenario} */ (
    SCENARIOS.find((s) => s.name === name)
  );
  const dir = mkdtempSync(join(tmpdir(), 'vigil-callgrind-'));
  const server = spawn(
    'valgrind',
    [
      '--tool=callgrind',
      // V8 writes and rewrites its machine code in memory.
      '--smc-check=all-non-file',
      `--callgrind-out-file=${join(dir, 'callgrind.%p')}`,
      'node',
      join(here, scenario.server),
    ],
    { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] },
  );
  let stderr = '';
  server.stderr?.on('data', (/** @type {Buffer} */ chunk) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  try {
    /** @type {number} */
    const port = await new Promise((resolve, reject) => {
      server.on('message', (/** @type {{ type?: string, port?: number }} */ m) => {
        if (m.type === 'ready' && m.port !== undefined) resolve(m.port);
      });
      server.on('exit', (code) => reject(new Error(`${name} exited (code ${code}): ${stderr}`)));
    });
    const pid = String(server.pid);
    await send(port, WARMUP);
    execFileSync('callgrind_control', ['--zero', pid], { stdio: 'ignore' });
    await send(port, MEASURED);
    execFileSync('callgrind_control', ['--dump', pid], { stdio: 'ignore' });
    // The dump is written by the server's own thread: wait for it.
    for (let waited = 0; waited < 30_000; waited += 200) {
      const dump = measuredDump(dir);
      if (dump !== undefined) {
        return {
          all: dump.total / MEASURED,
          compiler: compilerInstructions(dump.file) / MEASURED,
        };
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    throw new Error(`${name}: callgrind wrote no dump`);
  } finally {
    server.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

console.log(
  `Instructions per request under callgrind, Node ${process.version}: ${WARMUP} requests of warm-up, then ${MEASURED} counted, ${CONNECTIONS} kept-alive connections`,
);
console.log('');
console.log(
  '| scenario | instructions per request | of which the optimising compiler | without the compiler |',
);
console.log('| --- | ---: | ---: | ---: |');
/** @param {number} n */
const format = (n) => Math.round(n).toLocaleString('en-US');
for (const name of names) {
  const { all, compiler } = await measure(name);
  console.log(`| ${name} | ${format(all)} | ${format(compiler)} | ${format(all - compiler)} |`);
}
