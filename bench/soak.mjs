// A soak of the full stack: one million requests with random paths and headers, run by hand.
//
//   npm run bench:soak            # tsc -b, then node bench/soak.mjs
//
// Starts servers/vigil-full-stack-soak.mjs (vigil-full-stack-10, with --expose-gc) on core 0 and loads
// it from this process on core 1 with BENCH_SOAK_REQUESTS requests (default 1,000,000) over 32
// connections: the bench's routes with random user ids, paths no route matches, random query strings,
// and random user agents, request ids, traceparents, baggage, cookies and authorization headers.
// Every BENCH_SOAK_INTERVAL seconds (default 20) it prints the server's RSS and heap after a full
// garbage collection, and the series in a scrape of /metrics. A server whose memory or series grow with
// the traffic shows it as a rising column; the figures must stay flat once warm.
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { spawnSync } from 'node:child_process';
import { LOAD_CORE, PINNED, SERVER_CORE, startChild } from './lib/child.mjs';
import { loadAverage, machineLine } from './lib/machine.mjs';

const TOTAL = Number(process.env.BENCH_SOAK_REQUESTS ?? 1_000_000);
const INTERVAL_S = Number(process.env.BENCH_SOAK_INTERVAL ?? 20);
if (!(TOTAL > 0 && INTERVAL_S > 0)) {
  console.error('soak: BENCH_SOAK_REQUESTS and BENCH_SOAK_INTERVAL must be positive numbers');
  process.exit(2);
}

const hex = (/** @type {number} */ bytes) => randomBytes(bytes).toString('hex');
const pick = (/** @type {number} */ n) => Math.floor(Math.random() * n);
const ORDER_BODY = JSON.stringify({ sku: 'SKU-1234', quantity: 2, note: 'soak' });

/**
 * A random request: a third of them to paths no route matches (404), the rest spread over the bench's
 * routes with random ids and query strings; random headers on every one.
 * @returns {{ method: string, path: string, headers: Record<string, string>, body?: string }}
 */
function randomRequest() {
  /** @type {Record<string, string>} */
  const headers = { 'user-agent': `soak/${hex(4)} (${hex(6)})` };
  if (Math.random() < 0.5) headers['x-request-id'] = hex(8);
  if (Math.random() < 0.3) headers.traceparent = `00-${hex(16)}-${hex(8)}-0${pick(2)}`;
  if (Math.random() < 0.2) headers.baggage = `tenant=${hex(3)},user=${hex(4)}`;
  if (Math.random() < 0.2) headers.cookie = `session=${hex(12)}`;
  if (Math.random() < 0.1) headers.authorization = `Bearer ${hex(16)}`;
  if (Math.random() < 0.3) headers[`x-random-${hex(2)}`] = hex(8);
  const query = Math.random() < 0.3 ? `?q=${hex(5)}&page=${pick(1000)}` : '';
  switch (pick(6)) {
    case 0:
      return { method: 'GET', path: `/hello${query}`, headers };
    case 1:
    case 2:
      return { method: 'GET', path: `/users/${pick(1e9)}${query}`, headers };
    case 3:
      return {
        method: 'POST',
        path: `/orders${query}`,
        headers: { ...headers, 'content-type': 'application/json' },
        body: ORDER_BODY,
      };
    default:
      return {
        method: pick(4) === 0 ? 'DELETE' : 'GET',
        path: `/${hex(4)}/${hex(6)}${query}`,
        headers,
      };
  }
}

/**
 * Series in a scrape of /metrics (sample lines).
 * @param {number} port
 * @returns {Promise<number>}
 */
function seriesOf(port) {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: '/metrics', agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c) => (body += c));
        res.on('end', () => {
          let n = 0;
          for (const line of body.split('\n')) if (line !== '' && line[0] !== '#') n++;
          resolve(n);
        });
        res.on('error', reject);
      })
      .on('error', reject);
  });
}

// Before pinning: a pinned process sees one core.
/** The server under test (a `vigil-umbrella` version would go here; see bench/README.md). */
const SERVER = fileURLToPath(new URL('./servers/vigil-full-stack-soak.mjs', import.meta.url));
const header = machineLine();
// The load runs in this process: on the other core than the server's, as in bench/run.mjs.
if (PINNED) spawnSync('taskset', ['-p', '-c', String(LOAD_CORE), String(process.pid)]);
const server = startChild(SERVER, {
  core: SERVER_CORE,
  label: 'server',
  env: { NODE_OPTIONS: '--expose-gc' },
});
try {
  /** @type {{ port: number }} */
  const { port } = await server.waitFor((m) => m?.type === 'ready', 15_000, 'ready message');
  const MB = (/** @type {number} */ b) => (b / 1024 / 1024).toFixed(1);
  /** @type {{ at: number, requests: number, rss: number, heap: number, series: number, dropped: number }[]} */
  const rows = [];
  let sent = 0;
  let answered = 0;
  const started = performance.now();
  const sample = async () => {
    server.send({ type: 'memory', gc: true });
    /** @type {{ rss: number, heapUsed: number, logLinesDropped: number }} */
    const m = await server.waitFor((x) => x?.type === 'memory', 30_000, 'memory answer');
    const row = {
      at: (performance.now() - started) / 1000,
      requests: answered,
      rss: m.rss,
      heap: m.heapUsed,
      series: await seriesOf(port),
      dropped: m.logLinesDropped,
    };
    rows.push(row);
    console.log(
      `| ${row.at.toFixed(0)} | ${row.requests} | ${MB(row.rss)} | ${MB(row.heap)} | ${row.series} | ${row.dropped} | ${loadAverage()} |`,
    );
  };
  console.log(header);
  console.log(
    `vigil-full-stack-10, ${TOTAL} requests with random paths and headers, 32 connections; RSS and heap after a full GC`,
  );
  console.log('');
  console.log(
    '| s | requests answered | RSS MB | heap used MB | series in /metrics | log lines dropped | load average |',
  );
  console.log('| ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  await sample();
  /** @type {Promise<void> | undefined} */
  let sampling;
  const timer = setInterval(() => {
    sampling ??= sample().finally(() => (sampling = undefined));
  }, INTERVAL_S * 1000);
  const instance = autocannon({
    url: `http://127.0.0.1:${port}`,
    connections: 32,
    amount: TOTAL,
    timeout: 30,
    requests: [
      {
        setupRequest: (/** @type {import('autocannon').Request} */ req) => {
          sent++;
          return { ...req, ...randomRequest() };
        },
      },
    ],
  });
  instance.on('response', () => answered++);
  const result = await instance;
  clearInterval(timer);
  await sampling;
  await sample();
  const byStatus = Object.entries(result.statusCodeStats)
    .map(([code, s]) => `${code}: ${s.count}`)
    .join(', ');
  console.log('');
  console.log(
    `${sent} requests sent, ${result.requests.total} answered in ${result.duration.toFixed(0)} s (${Math.round(result.requests.average)} req/s); status ${byStatus}; ${result.errors} errors, ${result.timeouts} timeouts`,
  );
  const warm = rows.filter((r) => r.requests >= TOTAL / 10);
  if (warm.length >= 2) {
    const span = (/** @type {(r: (typeof rows)[number]) => number} */ f) =>
      Math.max(...warm.map(f)) - Math.min(...warm.map(f));
    console.log(
      `After the first ${TOTAL / 10} requests (${warm.length} samples): RSS range ${MB(span((r) => r.rss))} MB, heap range ${MB(span((r) => r.heap))} MB, series range ${span((r) => r.series)}`,
    );
  }
  if (result.errors > 0 || result.timeouts > 0) process.exitCode = 1;
} catch (err) {
  console.error('soak:', err instanceof Error ? err.message : err);
  process.exitCode = 1;
} finally {
  await server.stop();
}
