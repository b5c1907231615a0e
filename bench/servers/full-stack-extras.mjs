// What the scrape and soak scripts add to the full-stack server (servers/vigil-full-stack.mjs):
// extra series in its registry, and IPC questions about the event loop and memory. Neither is an HTTP
// request, so asking costs the server no request and is not counted.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Counter, Gauge, Histogram } from 'prom-client';
import { requestLoggingStatus } from '@vigil/logging';

/**
 * Adds `total` series (about) to `registry`, shaped like a busy service's: 40 % counter series, 30 %
 * gauge series and 30 % histogram series (9 buckets + `+Inf` + `_sum` + `_count` = 12 per label set),
 * spread over 10 metric names of each type, each series with a value.
 * @param {import('prom-client').Registry} registry
 * @param {number} total
 * @returns {number} the series added
 */
export function addSeries(registry, total) {
  const names = 10;
  const counters = Math.round((total * 0.4) / names);
  const gauges = Math.round((total * 0.3) / names);
  const histograms = Math.round((total * 0.3) / 12 / names);
  const labelNames = ['tenant', 'operation'];
  /** @param {number} i */
  const labels = (i) => ({ tenant: `tenant-${i % 97}`, operation: `op-${i}` });
  let added = 0;
  for (let m = 0; m < names; m++) {
    const counter = new Counter({
      name: `bench_extra_ops_${m}_total`,
      help: 'Extra series for the scrape benchmark',
      labelNames,
      registers: [registry],
    });
    for (let i = 0; i < counters; i++) counter.inc(labels(i), i + 1);
    const gauge = new Gauge({
      name: `bench_extra_level_${m}`,
      help: 'Extra series for the scrape benchmark',
      labelNames,
      registers: [registry],
    });
    for (let i = 0; i < gauges; i++) gauge.set(labels(i), i / 7);
    const histogram = new Histogram({
      name: `bench_extra_latency_${m}_seconds`,
      help: 'Extra series for the scrape benchmark',
      labelNames,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    });
    for (let i = 0; i < histograms; i++) histogram.observe(labels(i), (i % 100) / 100);
    added += counters + gauges + histograms * 12;
  }
  return added;
}

/**
 * Answers the scrape and soak scripts over IPC:
 * - `{ type: 'eld-reset' }` starts a new event-loop delay window (answer `{ type: 'eld-reset' }`);
 * - `{ type: 'eld' }` reports the window's delay percentiles in ms (`{ type: 'eld', p50, p99, max }`);
 * - `{ type: 'memory', gc }` reports `process.memoryUsage()` in bytes, after a full garbage collection
 *   when `gc` is true and the process runs with `--expose-gc`.
 */
export function answerIpcQuestions() {
  const send = /** @type {NonNullable<typeof process.send>} */ (process.send).bind(process);
  // 1 ms resolution: the timer itself then costs about a thousand wake-ups per second, on every run alike.
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  process.on('message', (/** @type {{ type?: string, gc?: boolean } | undefined} */ message) => {
    if (message?.type === 'eld-reset') {
      delay.reset();
      send({ type: 'eld-reset' });
    } else if (message?.type === 'eld') {
      const ms = (/** @type {number} */ ns) => ns / 1e6;
      send({
        type: 'eld',
        p50: ms(delay.percentile(50)),
        p99: ms(delay.percentile(99)),
        max: ms(delay.max),
      });
    } else if (message?.type === 'memory') {
      const collect = /** @type {{ gc?: () => void }} */ (globalThis).gc;
      if (message.gc && collect) collect();
      send({
        type: 'memory',
        ...process.memoryUsage(),
        collected: Boolean(message.gc && collect),
        // Lines the request log's destination dropped (its bound): what keeps the heap flat costs.
        logLinesDropped: requestLoggingStatus().dropped,
      });
    }
  });
}
