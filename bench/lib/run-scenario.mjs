// One run of one scenario: a fresh server, a sanity check, warm-up, the measured window, teardown.
import { fileURLToPath } from 'node:url';
import { LOAD_CORE, SERVER_CORE, startChild } from './child.mjs';

const LOAD_SCRIPT = fileURLToPath(new URL('../load.mjs', import.meta.url));
const MB = 1024 * 1024;

/** A run that must not be reported: wrong answers, errors, or a missing metric. */
export class RunFailure extends Error {}

/**
 * @param {string} base
 * @param {string} path
 * @param {RequestInit | undefined} init
 * @param {number} status
 * @param {(body: string) => boolean} check
 */
async function expectResponse(base, path, init, status, check) {
  const res = await fetch(base + path, init);
  const body = await res.text();
  if (res.status !== status || !check(body)) {
    throw new RunFailure(
      `${init?.method ?? 'GET'} ${path} answered ${res.status} ${JSON.stringify(body.slice(0, 200))}, expected ${status}`,
    );
  }
}

/**
 * The route mix answers as it should before any load is sent.
 * @param {string} base
 */
async function sanityCheck(base) {
  await expectResponse(base, '/hello', undefined, 200, (b) => b === 'Hello, world!');
  await expectResponse(base, '/users/7', undefined, 200, (b) => JSON.parse(b).id === '7');
  await expectResponse(
    base,
    '/orders',
    {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ sku: 'SKU-1', quantity: 1 }),
    },
    201,
    (b) => JSON.parse(b).sku === 'SKU-1',
  );
}

/**
 * After the measured window: the scrape answers and holds what the middleware should have recorded.
 * @param {string} base
 * @param {import('../scenarios.mjs').Check} metrics
 */
async function checkMetrics(base, metrics) {
  const res = await fetch(base + metrics.path);
  const text = await res.text();
  const missing = metrics.expect.filter((pattern) => !pattern.test(text));
  if (res.status !== 200 || missing.length > 0) {
    throw new RunFailure(
      `GET ${metrics.path} answered ${res.status}; missing ${missing.map(String).join(', ') || 'nothing'}`,
    );
  }
  return Buffer.byteLength(text);
}

/**
 * What went wrong in one autocannon run, as one line, or nothing.
 * @param {string} phase
 * @param {import('../load.mjs').LoadResult} r
 */
function failures(phase, r) {
  const bad = [];
  if (r.errors > 0) bad.push(`${r.errors} errors`);
  if (r.timeouts > 0) bad.push(`${r.timeouts} timeouts`);
  if (r.non2xx > 0) bad.push(`${r.non2xx} non-2xx (${JSON.stringify(r.statusCodeStats)})`);
  if (r.requests.total === 0) bad.push('no completed requests');
  return bad.length ? [`${phase}: ${bad.join(', ')}`] : [];
}

/**
 * The server's answer to a usage question (servers/common.mjs).
 * @typedef {{ cpu: NodeJS.CpuUsage, at: number, requests: number, rss: number }} Usage
 */

let usageId = 0;
/**
 * @param {import('./child.mjs').Child} server
 * @returns {Promise<Usage>}
 */
async function usage(server) {
  const id = ++usageId;
  server.send({ type: 'usage', id });
  return server.waitFor((m) => m?.type === 'usage' && m.id === id, 5000, 'usage answer');
}

/**
 * Runs `scenario` once and returns its measurements; throws RunFailure on any failed request.
 * `redis` is the harness's redis-server (lib/redis.mjs), required by scenarios with `redis: true`.
 * @param {import('../scenarios.mjs').Scenario} scenario
 * @param {import('./config.mjs').Config} config
 * @param {{ redis?: import('./redis.mjs').RedisServer }} [harness]
 */
export async function runScenario(scenario, config, { redis } = {}) {
  // The harness's redis-server, when this scenario uses it.
  let own;
  if (scenario.redis) {
    if (!redis) throw new Error(`${scenario.name} needs the harness's redis-server`);
    own = redis;
    // Each run starts from an empty Redis, so its check sees only its own counts.
    await own.flush();
  }
  const server = startChild(fileURLToPath(new URL(`../${scenario.server}`, import.meta.url)), {
    core: SERVER_CORE,
    label: `server ${scenario.name}`,
    env: { NODE_ENV: 'production', ...(own && { REDIS_URL: own.url }) },
  });
  let load;
  try {
    /** @type {{ port: number }} */
    const { port } = await server.waitFor((m) => m?.type === 'ready', 15_000, 'ready message');
    const base = `http://127.0.0.1:${port}`;
    await sanityCheck(base);

    load = startChild(LOAD_SCRIPT, { core: LOAD_CORE, label: 'load generator' });
    load.send({
      type: 'start',
      url: base,
      connections: config.connections,
      pipelining: config.pipelining,
      warmup: config.warmup,
      duration: config.duration,
    });
    const warmTimeout = (config.warmup + 30) * 1000;
    /** @type {{ result: import('../load.mjs').LoadResult | null }} */
    const { result: warmup } = await load.waitFor(
      (m) => m?.type === 'warmed',
      warmTimeout,
      'warm-up',
    );

    // The measured window: the server's own CPU and request count between these two snapshots, and
    // the CPU of redis-server, which shares the server's core.
    const before = await usage(server);
    const redisBefore = own?.cpuUs();
    load.send({ type: 'measure' });
    const measureTimeout = (config.duration + 30) * 1000;
    /** @type {{ result: import('../load.mjs').LoadResult }} */
    const { result } = await load.waitFor((m) => m?.type === 'result', measureTimeout, 'result');
    const after = await usage(server);
    const redisAfter = own?.cpuUs();

    const bad = [...(warmup ? failures('warm-up', warmup) : []), ...failures('measured', result)];
    if (bad.length > 0) throw new RunFailure(`${scenario.name}: ${bad.join('; ')}`);
    let scrapeBytes;
    for (const check of scenario.metrics ? [scenario.metrics].flat() : []) {
      scrapeBytes = (scrapeBytes ?? 0) + (await checkMetrics(base, check));
    }

    const cpuUs = after.cpu.user + after.cpu.system - (before.cpu.user + before.cpu.system);
    const served = after.requests - before.requests;
    const wallMs = after.at - before.at;
    const redisCpuUs =
      redisBefore === undefined || redisAfter === undefined ? undefined : redisAfter - redisBefore;
    return {
      scenario: scenario.name,
      reqPerSec: result.requests.total / result.duration,
      latencyP50Ms: result.latency.p50,
      latencyP99Ms: result.latency.p99,
      // The Node server process only; redis-server's share is redisCpuUsPerReq.
      cpuUsPerReq: cpuUs / served,
      redisCpuUsPerReq: redisCpuUs === undefined ? undefined : redisCpuUs / served,
      // Near 100 % means the server's core was the bottleneck, as it should be; much lower means the
      // load was. redis-server runs on that core too, so its CPU counts here.
      serverCpuUtilisation: (cpuUs + (redisCpuUs ?? 0)) / 1000 / wallMs,
      rssMB: after.rss / MB,
      requests: { completed: result.requests.total, sent: result.requests.sent, served },
      cpuUs: {
        user: after.cpu.user - before.cpu.user,
        system: after.cpu.system - before.cpu.system,
      },
      windowMs: wallMs,
      non2xx: result.non2xx,
      errors: result.errors,
      timeouts: result.timeouts,
      scrapeBytes,
      load: result,
      warmup,
    };
  } finally {
    await Promise.all([server.stop(), load?.stop()]);
  }
}

/** @typedef {Awaited<ReturnType<typeof runScenario>>} Run */
