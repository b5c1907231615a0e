// /metrics with 10,000 series, scraped while the full stack is under the bench's load.
//
//   npm run bench:scrape          # tsc -b, then node bench/scrape.mjs
//
// Starts servers/vigil-full-stack-scrape.mjs (vigil-full-stack-10 plus extra counter, gauge and
// histogram series in its registry, BENCH_SCRAPE_SERIES in all, default 10,000) on core 0 and the
// bench's load generator (load.mjs, 32 connections, the bench's request mix) on core 1, as bench/run.mjs
// does. Under load it measures the server's event-loop delay for BENCH_SCRAPE_BASELINE seconds with no
// scrape (the baseline), then scrapes /metrics every BENCH_SCRAPE_INTERVAL_MS for BENCH_SCRAPE_SECONDS
// and measures the delay again. It prints the scrape durations (from sending the request to the last
// byte, as Prometheus times a scrape), the event-loop delay of both windows and what the scrapes added,
// against the targets: a scrape in 50 ms or less, 20 ms or less added event-loop delay at p99. The
// scrapes send Prometheus's default Accept header (OpenMetrics preferred), or BENCH_SCRAPE_ACCEPT, and
// Accept-Encoding: gzip, as Prometheus does; the server answers compressed bodies then.
import http from 'node:http';
import { gunzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { LOAD_CORE, PINNED, SERVER_CORE, startChild } from './lib/child.mjs';
import { loadAverage, machineLine } from './lib/machine.mjs';
import { median } from './lib/stats.mjs';

const SERIES = Number(process.env.BENCH_SCRAPE_SERIES ?? 10_000);
const BASELINE_S = Number(process.env.BENCH_SCRAPE_BASELINE ?? 8);
const SCRAPE_S = Number(process.env.BENCH_SCRAPE_SECONDS ?? 50);
const INTERVAL_MS = Number(process.env.BENCH_SCRAPE_INTERVAL_MS ?? 500);
// What Prometheus 2.x and 3.x send by default: OpenMetrics preferred, the text format accepted.
const ACCEPT =
  process.env.BENCH_SCRAPE_ACCEPT ??
  'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';
const TARGET_SCRAPE_MS = 50;
const TARGET_ADDED_DELAY_MS = 20;
for (const [name, value] of Object.entries({ SERIES, BASELINE_S, SCRAPE_S, INTERVAL_MS })) {
  if (!Number.isFinite(value) || value <= 0) {
    console.error(`scrape: ${name} must be a positive number`);
    process.exit(2);
  }
}

// Prometheus (2.0 and later) keeps its connection to a target open between scrapes: one kept-alive
// connection here too, so a scrape's time is the server's answer and not a new TCP handshake and its
// accept behind the load's requests. The server keeps an idle connection 5 s, the interval is shorter.
const SCRAPER = new http.Agent({ keepAlive: true, maxSockets: 1 });

/**
 * One GET of `/metrics`: its duration to the last byte (ms), and its series (sample lines).
 * @param {number} port
 * @returns {Promise<{ ms: number, series: number }>}
 */
function scrape(port) {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const options = {
      host: '127.0.0.1',
      port,
      path: '/metrics',
      agent: SCRAPER,
      // Prometheus asks for gzip on every scrape unless its scrape config turns compression off.
      headers: { accept: ACCEPT, 'accept-encoding': 'gzip' },
    };
    const req = http.get(options, (res) => {
      /** @type {Buffer[]} */
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const ms = performance.now() - started;
        if (res.statusCode !== 200) {
          reject(new Error(`/metrics answered ${res.statusCode}`));
          return;
        }
        const raw = Buffer.concat(chunks);
        const body = (res.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw).toString(
          'utf8',
        );
        let series = 0;
        for (const line of body.split('\n')) if (line !== '' && line[0] !== '#') series++;
        resolve({ ms, series });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

/** @param {number[]} values @param {number} p */
function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

/** @typedef {{ type: 'eld', p50: number, p99: number, max: number }} Delay */

/** The server under test (a `vigil-umbrella` version would go here; see bench/README.md). */
const SERVER = fileURLToPath(new URL('./servers/vigil-full-stack-scrape.mjs', import.meta.url));
const header = machineLine();
const server = startChild(SERVER, {
  core: SERVER_CORE,
  label: 'server',
  env: { BENCH_SCRAPE_SERIES: String(SERIES) },
});
/** @type {import('./lib/child.mjs').Child | undefined} */
let load;
try {
  /** @type {{ port: number }} */
  const { port } = await server.waitFor((m) => m?.type === 'ready', 15_000, 'ready message');
  /**
   * @template T
   * @param {object} message
   * @param {string} type
   * @returns {Promise<T>}
   */
  const ask = (message, type) => {
    server.send(message);
    return server.waitFor((m) => m?.type === type, 10_000, `${type} answer`);
  };

  // Idle: the first scrape compiles the serialiser; the next ones are the idle figure.
  const first = await scrape(port);
  /** @type {number[]} */
  const idle = [];
  for (let i = 0; i < 10; i++) idle.push((await scrape(port)).ms);

  load = startChild(fileURLToPath(new URL('./load.mjs', import.meta.url)), {
    core: LOAD_CORE,
    label: 'load generator',
  });
  const duration = BASELINE_S + SCRAPE_S + 2;
  load.send({
    type: 'start',
    url: `http://127.0.0.1:${port}`,
    connections: 32,
    pipelining: 1,
    warmup: 2,
    duration,
  });
  await load.waitFor((m) => m?.type === 'warmed', 30_000, 'warm-up');
  load.send({ type: 'measure' });

  await ask({ type: 'eld-reset' }, 'eld-reset');
  await sleep(BASELINE_S * 1000);
  /** @type {Delay} */
  const baseline = await ask({ type: 'eld' }, 'eld');

  await ask({ type: 'eld-reset' }, 'eld-reset');
  /** @type {number[]} */
  const loaded = [];
  let series = first.series;
  const until = performance.now() + SCRAPE_S * 1000;
  while (performance.now() < until) {
    const next = performance.now() + INTERVAL_MS;
    const s = await scrape(port);
    loaded.push(s.ms);
    series = s.series;
    await sleep(Math.max(0, next - performance.now()));
  }
  /** @type {Delay} */
  const scraping = await ask({ type: 'eld' }, 'eld');

  /** @type {{ result: import('./load.mjs').LoadResult }} */
  const { result } = await load.waitFor(
    (m) => m?.type === 'result',
    (duration + 30) * 1000,
    'result',
  );
  if (result.non2xx > 0 || result.errors > 0 || result.timeouts > 0) {
    throw new Error(
      `the load failed: ${result.non2xx} non-2xx, ${result.errors} errors, ${result.timeouts} timeouts`,
    );
  }

  const p99 = percentile(loaded, 99);
  const added = scraping.p99 - baseline.p99;
  const addedMax = scraping.max - baseline.max;
  const verdict = (/** @type {boolean} */ ok) => (ok ? 'met' : '**not met**');
  console.log(`${header} at start, ${loadAverage()} at end`);
  console.log(
    `/metrics of vigil-full-stack-10 with extra series: ${series} series in the scrape (Accept: ${ACCEPT}); load ${Math.round(result.requests.average)} req/s (32 connections)` +
      `${PINNED ? '; server on core 0, load on core 1' : '; processes not pinned'}`,
  );
  console.log('');
  console.log('| measure | value | target |');
  console.log('| --- | ---: | --- |');
  console.log(`| series in the scrape | ${series} | |`);
  console.log(
    `| scrape duration, idle (10 scrapes) p50 / max | ${median(idle).toFixed(1)} / ${Math.max(...idle).toFixed(1)} ms | |`,
  );
  console.log(
    `| scrape duration under load (${loaded.length} scrapes, one per ${INTERVAL_MS} ms) p50 / p99 / max | ${median(loaded).toFixed(1)} / ${p99.toFixed(1)} / ${Math.max(...loaded).toFixed(1)} ms | p99 <= ${TARGET_SCRAPE_MS} ms: ${verdict(p99 <= TARGET_SCRAPE_MS)} |`,
  );
  console.log(
    `| event-loop delay under load, no scrape (${BASELINE_S} s) p50 / p99 / max | ${baseline.p50.toFixed(1)} / ${baseline.p99.toFixed(1)} / ${baseline.max.toFixed(1)} ms | |`,
  );
  console.log(
    `| event-loop delay under load while scraping (${SCRAPE_S} s) p50 / p99 / max | ${scraping.p50.toFixed(1)} / ${scraping.p99.toFixed(1)} / ${scraping.max.toFixed(1)} ms | |`,
  );
  console.log(
    `| event-loop delay added by the scrapes, p99 (max) | ${added.toFixed(1)} ms (${addedMax.toFixed(1)} ms) | p99 <= ${TARGET_ADDED_DELAY_MS} ms: ${verdict(added <= TARGET_ADDED_DELAY_MS)} |`,
  );
} catch (err) {
  console.error('scrape:', err instanceof Error ? err.message : err);
  process.exitCode = 1;
} finally {
  SCRAPER.destroy();
  await load?.stop();
  await server.stop();
}
