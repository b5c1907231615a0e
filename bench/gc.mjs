// What the garbage collector does per request in scenario servers under the bench's load.
//
//   node bench/gc.mjs vigil-full-stack-100 hand-assembled-100 [...]   # BENCH_GC_SECONDS (default 8)
//
// For each scenario in turn: starts its server with V8's `--trace-gc-nvp` on core 0 (as bench/run.mjs
// pins it), loads it from this process on core 1 with the bench's request mix over 32 connections for
// a 3-second warm-up and BENCH_GC_SECONDS measured, and sums V8's line for every collection in the
// measured window. It prints, per request: the bytes allocated, the bytes promoted from the young to
// the old generation (what a major collection later has to mark and sweep), the main thread's GC
// pauses, and how many scavenges and major collections ran; and, on Linux, the share of the server's
// core taken by its other threads: V8's helpers (concurrent marking and sweeping, parallel
// scavenging) and libuv's pool (asynchronous file writes), time the main thread then does not get.
//
// A server whose requests leave nothing behind promotes next to nothing: short-lived objects die in
// the young generation. Promotion per request is the figure to watch for a change that keeps request
// objects reachable longer than a scavenge, or that makes V8 pretenure them (RESULTS.md, 2026-12-06).
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { LOAD_CORE, PINNED, SERVER_CORE, pinned } from './lib/child.mjs';
import { machineLine } from './lib/machine.mjs';
import { REQUESTS } from './lib/requests.mjs';
import { SCENARIOS } from './scenarios.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const SECONDS = Number(process.env.BENCH_GC_SECONDS ?? 8);
const names = process.argv.slice(2);
if (names.length === 0 || !Number.isFinite(SECONDS) || SECONDS <= 0) {
  console.error('usage: node bench/gc.mjs <scenario> [...]   (BENCH_GC_SECONDS > 0)');
  process.exit(2);
}
const unknown = names.filter((n) => !SCENARIOS.some((s) => s.name === n));
if (unknown.length > 0) {
  console.error(`gc: unknown scenario ${unknown.join(', ')}`);
  process.exit(2);
}
const needRedis = names.filter((n) => SCENARIOS.some((s) => s.name === n && s.redis));
if (needRedis.length > 0) {
  console.error(`gc: ${needRedis.join(', ')} need the harness's redis-server; use bench/run.mjs`);
  process.exit(2);
}
/**
 * CPU time (ms) of each thread of `pid` by name, from /proc; empty where /proc is not there.
 * @param {number} pid
 * @returns {Map<string, number>}
 */
function threadTimes(pid) {
  /** @type {Map<string, number>} */
  const times = new Map();
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const raw = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const name = raw.slice(raw.indexOf('(') + 1, raw.lastIndexOf(')'));
      const fields = raw.slice(raw.lastIndexOf(')') + 2).split(' ');
      // utime and stime, in clock ticks (100 per second on Linux).
      const ms = (Number(fields[11]) + Number(fields[12])) * 10;
      times.set(`${tid} ${name}`, ms);
    }
  } catch {
    // Not Linux, or the process is gone.
  }
  return times;
}

/**
 * @param {string} name
 */
async function measure(name) {
  const scenario = /** @type {import('./scenarios.mjs').Scenario} */ (
    SCENARIOS.find((s) => s.name === name)
  );
  const { command, args } = pinned(SERVER_CORE, process.execPath, [
    '--trace-gc-nvp',
    join(here, scenario.server),
  ]);
  const server = spawn(command, args, { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
  const totals = { allocated: 0, promoted: 0, pause: 0, scavenges: 0, majors: 0 };
  let counting = false;
  let pending = '';
  server.stdout?.setEncoding('utf8');
  server.stdout?.on('data', (/** @type {string} */ chunk) => {
    pending += chunk;
    let end;
    while ((end = pending.indexOf('\n')) !== -1) {
      const line = pending.slice(0, end);
      pending = pending.slice(end + 1);
      if (!counting) continue;
      const kind = /\bgc=(\w+)/.exec(line)?.[1];
      if (kind === undefined) continue;
      /** @param {string} field */
      const value = (field) => Number(new RegExp(`\\b${field}=([\\d.]+)`).exec(line)?.[1] ?? 0);
      totals.allocated += value('allocated');
      totals.promoted += value('promoted');
      totals.pause += value('pause');
      if (kind === 's') totals.scavenges++;
      else if (kind === 'mc' || kind === 'ms') totals.majors++;
    }
  });
  /** @type {number} */
  const port = await new Promise((resolve, reject) => {
    server.on('message', (/** @type {{ type?: string, port?: number }} */ m) => {
      if (m.type === 'ready' && m.port !== undefined) resolve(m.port);
    });
    server.on('exit', (code) => reject(new Error(`${name} exited (code ${code})`)));
  });
  /** @param {number} duration */
  const load = (duration) =>
    autocannon({ url: `http://127.0.0.1:${port}`, connections: 32, duration, requests: REQUESTS });
  await load(3);
  counting = true;
  const before = threadTimes(/** @type {number} */ (server.pid));
  const result = await load(SECONDS);
  const after = threadTimes(/** @type {number} */ (server.pid));
  counting = false;
  const exited = new Promise((resolve) => server.on('exit', resolve));
  server.disconnect();
  await exited;

  const n = result.requests.total;
  let helpers = 0;
  for (const [thread, ms] of after) {
    if (!thread.startsWith(`${server.pid} `)) helpers += ms - (before.get(thread) ?? 0);
  }
  return {
    name,
    rps: Math.round(result.requests.average),
    allocated: totals.allocated / n / 1024,
    promoted: totals.promoted / n / 1024,
    pause: (totals.pause * 1000) / n,
    scavenges: totals.scavenges,
    majors: totals.majors,
    helpers: after.size > 0 ? (100 * helpers) / (SECONDS * 1000) : undefined,
  };
}

console.log(machineLine());
// This process is the load generator: on the other core from here on (after the machine line, which
// counts the cores this process may use).
if (PINNED)
  spawnSync('taskset', ['-p', '-c', String(LOAD_CORE), String(process.pid)], { stdio: 'ignore' });
console.log(
  `${SECONDS} s measured after a 3 s warm-up, 32 connections${PINNED ? `; server on core ${SERVER_CORE}, load on core ${LOAD_CORE}` : ''}`,
);
console.log(
  '| scenario | req/s | allocated KiB/req | promoted KiB/req | GC pause µs/req | scavenges | major GCs | other threads, % of a core |',
);
console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const name of names) {
  const r = await measure(name);
  console.log(
    `| ${r.name} | ${r.rps} | ${r.allocated.toFixed(1)} | ${r.promoted.toFixed(2)} | ${r.pause.toFixed(1)} | ${r.scavenges} | ${r.majors} | ${r.helpers === undefined ? 'n/a' : r.helpers.toFixed(1)} |`,
  );
}
