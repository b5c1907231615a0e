// CPU profile of one scenario server under the bench's load, summed by package.
//
//   node bench/profile.mjs vigil-full-stack-10 [seconds]
//
// Starts the scenario's server with --cpu-prof, loads it with the bench's request mix for `seconds`
// (default 10) after a 2-second warm-up, stops it, and prints each package's share of the samples
// taken while the load ran: the code's own (self) time, attributed to the @vigil package, the npm
// package or the Node.js internals the function lives in. The profile stays in bench/results/ for
// Chrome DevTools or `node --cpu-prof` tooling, with `window.json` beside it: the load window's start
// and end on the profile's clock and the requests answered in it, to read the profile per request.
import { fork } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { REQUESTS } from './lib/requests.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const [scenario, secondsArg] = process.argv.slice(2);
if (scenario === undefined) {
  console.error('usage: node bench/profile.mjs <scenario> [seconds]');
  process.exit(2);
}
const seconds = Number(secondsArg ?? 10);
const dir = join(here, 'results', `profile-${scenario}-${Date.now()}`);
mkdirSync(dir, { recursive: true });

const server = fork(join(here, 'servers', `${scenario}.mjs`), [], {
  execArgv: ['--cpu-prof', `--cpu-prof-dir=${dir}`],
  stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
});
/** @type {number} */
const port = await new Promise((resolve, reject) => {
  server.on('message', (/** @type {{ type?: string, port?: number }} */ m) => {
    if (m.type === 'ready' && m.port !== undefined) resolve(m.port);
  });
  server.on('exit', (code) => reject(new Error(`${scenario} exited (code ${code})`)));
});

/** @param {number} duration */
const load = (duration) =>
  autocannon({
    url: `http://127.0.0.1:${port}`,
    connections: 32,
    duration,
    requests: REQUESTS,
  });
await load(2);
// The profile's clock is the system's monotonic clock in microseconds, as process.hrtime's is.
const micros = () => Number(process.hrtime.bigint() / 1000n);
const started = micros();
const result = await load(seconds);
const ended = micros();
const exited = new Promise((resolve) => server.on('exit', resolve));
server.disconnect();
await exited;

/**
 * @typedef {{ id: number, callFrame: { url: string, functionName: string }, children?: number[] }} ProfileNode
 * @typedef {{ nodes: ProfileNode[], samples: number[], timeDeltas: number[], startTime: number }} Profile
 */
const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
if (file === undefined) throw new Error(`no profile written in ${dir}`);
/** @type {Profile} */
const profile = JSON.parse(readFileSync(join(dir, file), 'utf8'));

/**
 * The package a function belongs to, from its script URL.
 * @param {ProfileNode} node
 */
function packageOf(node) {
  const { url, functionName } = node.callFrame;
  if (url === '') {
    if (functionName === '(garbage collector)') return '(gc)';
    if (functionName === '(idle)' || functionName === '(program)') return functionName;
    return '(native)';
  }
  const vigil = /\/packages\/([^/]+)\/(?:dist|src)\//.exec(url);
  if (vigil) return `@vigil/${vigil[1]}`;
  const modules = url.lastIndexOf('/node_modules/');
  if (modules !== -1) {
    const rest = url.slice(modules + '/node_modules/'.length).split('/');
    return rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1]}` : (rest[0] ?? url);
  }
  if (url.startsWith('node:')) return 'node (internals)';
  if (url.includes('/bench/')) return 'bench (routes and server)';
  return url;
}

const byId = new Map(profile.nodes.map((n) => [n.id, n]));
/** @type {Map<number, ProfileNode>} */
const parentOf = new Map();
for (const node of profile.nodes) {
  for (const child of node.children ?? []) parentOf.set(child, node);
}
const OWNERLESS = new Set(['node (internals)', '(native)', '(gc)', '(program)']);
/**
 * The innermost package on the sample's stack: Node.js internals and native code count for the
 * package that called them (res.end() under the logger counts for the logger).
 * @param {ProfileNode} node
 */
function ownerOf(node) {
  /** @type {ProfileNode | undefined} */
  let at = node;
  while (at !== undefined) {
    const name = packageOf(at);
    if (!OWNERLESS.has(name)) return name;
    at = parentOf.get(at.id);
  }
  return packageOf(node);
}
/** @type {Map<string, number>} */
const shares = new Map();
/** @type {Map<string, number>} */
const owned = new Map();
let total = 0;
let busyMicros = 0;
let time = profile.startTime;
for (let i = 0; i < profile.samples.length; i++) {
  const delta = profile.timeDeltas[i] ?? 0;
  time += delta;
  if (time < started || time > ended) continue;
  const node = byId.get(profile.samples[i] ?? -1);
  if (node === undefined) continue;
  const name = packageOf(node);
  if (name === '(idle)') continue;
  busyMicros += delta;
  shares.set(name, (shares.get(name) ?? 0) + 1);
  const owner = ownerOf(node);
  owned.set(owner, (owned.get(owner) ?? 0) + 1);
  total++;
}

const perRequest = busyMicros / result.requests.total;
console.log(
  `${scenario}: ${Math.round(result.requests.average)} req/s over ${seconds} s; ${total} busy samples, ${perRequest.toFixed(1)} µs of busy main thread per request`,
);
console.log(
  '| package | self CPU share | with the internals it called | µs/req (with internals) |',
);
console.log('| --- | ---: | ---: | ---: |');
const names = new Set([...shares.keys(), ...owned.keys()]);
/** @param {number | undefined} count */
const percent = (count) => `${((100 * (count ?? 0)) / total).toFixed(1)} %`;
for (const name of [...names].sort((a, b) => (owned.get(b) ?? 0) - (owned.get(a) ?? 0))) {
  if (Math.max(shares.get(name) ?? 0, owned.get(name) ?? 0) / total < 0.005) continue;
  const micros = ((owned.get(name) ?? 0) / total) * perRequest;
  console.log(
    `| ${name} | ${percent(shares.get(name))} | ${percent(owned.get(name))} | ${micros.toFixed(1)} |`,
  );
}
writeFileSync(
  join(dir, 'window.json'),
  JSON.stringify({ scenario, started, ended, requests: result.requests.total }),
);
console.log(`\nprofile: ${join(dir, file)}`);
