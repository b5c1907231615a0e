// The load generator, a process of its own: a warm-up run, then the measured run when told to start.
//
// Protocol (IPC): harness -> {type:'start', url, connections, pipelining, warmup, duration}
//                 load    -> {type:'warmed', result}      harness asks the server for its usage
//                 harness -> {type:'measure'}
//                 load    -> {type:'result', result}      harness asks the server again
import autocannon from 'autocannon';
import { REQUESTS } from './lib/requests.mjs';

/**
 * What the harness sends to start the generator.
 * @typedef {{ type: 'start', url: string, connections: number, pipelining: number, warmup: number, duration: number }} Start
 */

/**
 * @param {Start} config
 * @param {number} duration  seconds
 */
function run(config, duration) {
  return autocannon({
    url: config.url,
    connections: config.connections,
    pipelining: config.pipelining,
    duration,
    requests: REQUESTS,
  });
}

/**
 * What the harness needs from an autocannon result (the histograms are large and unused).
 * @param {import('autocannon').Result} r
 */
function summarise(r) {
  return {
    duration: r.duration,
    requests: { total: r.requests.total, sent: r.requests.sent, average: r.requests.average },
    latency: {
      mean: r.latency.mean,
      p50: r.latency.p50,
      p90: r.latency.p90,
      p99: r.latency.p99,
      max: r.latency.max,
    },
    throughputBytesPerSec: r.throughput.average,
    errors: r.errors,
    timeouts: r.timeouts,
    non2xx: r.non2xx,
    resets: r.resets,
    statusCodeStats: r.statusCodeStats,
  };
}

/** @typedef {ReturnType<typeof summarise>} LoadResult */

// The process runs only as the harness's child, with an IPC channel, so process.send is there.
const send = /** @type {NonNullable<typeof process.send>} */ (process.send).bind(process);

/**
 * An IPC message listener running `fn`. A failure ends the process with the error printed, so the
 * harness's wait fails at once with the exit rather than timing out.
 * @template M
 * @param {(message: M) => Promise<void>} fn
 * @returns {(message: M) => void}
 */
function listener(fn) {
  return (message) => {
    fn(message).catch((err) => {
      console.error('load:', err);
      process.exit(1);
    });
  };
}

process.once(
  'message',
  listener(async (/** @type {Start} */ config) => {
    if (config?.type !== 'start') {
      throw new Error(`load: expected a start message, got ${JSON.stringify(config)}`);
    }
    const warmed = config.warmup > 0 ? summarise(await run(config, config.warmup)) : null;
    process.on(
      'message',
      listener(async (/** @type {{ type?: string } | undefined} */ message) => {
        if (message?.type !== 'measure') return;
        const result = summarise(await run(config, config.duration));
        send({ type: 'result', result }, () => process.disconnect());
      }),
    );
    send({ type: 'warmed', result: warmed });
  }),
);
process.on('disconnect', () => process.exit(0));
