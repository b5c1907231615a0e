// Node cluster: workers answer the primary's metric requests; the primary serves the aggregate.
//
// prom-client's AggregatorRegistry merges worker snapshots, but forgets a worker the moment it exits,
// so aggregated counters drop whenever a worker is replaced, and one stuck worker stalls a scrape until
// its timeout. Here the primary keeps each worker's last snapshot: a stuck worker contributes its last
// values, an exited one's counters and histograms are retired into a running total, and every scrape
// finishes within `timeoutMs`.
import cluster, { type Worker } from 'node:cluster';
import {
  AggregatorRegistry,
  type MetricObjectWithValues,
  type MetricValue,
  type Registry,
} from 'prom-client';

type MetricJson = MetricObjectWithValues<MetricValue<string>>;
import {
  integerOption,
  listenOperational,
  looksLikeFrameworkCall,
  notCalledError,
  optionError,
  optionNames,
  readOptions,
  stringOption,
} from '@vigil/core';
import { context } from './errors';
import { renderJson } from './exposition';
import { resolveHandlerOptions, responderFromConfig } from './handler';
import type { MetricsServer, MetricsServerOptions } from './types';

const REQUEST = 'vigil:metrics:request';
const RESPONSE = 'vigil:metrics:response';

interface RequestMessage {
  type: typeof REQUEST;
  id: number;
}
interface ResponseMessage {
  type: typeof RESPONSE;
  id: number;
  metrics?: MetricJson[];
  error?: string;
}

const exposed = new Set<Registry>();
let listening = false;

/**
 * In a cluster worker, makes `registry` answer the primary's metric requests. Called by
 * expressMetrics() and koaMetrics(); does nothing outside a worker.
 */
export function exposeToClusterPrimary(registry: Registry): void {
  // Mounted as middleware it would never call next(), and every request would hang.
  if (looksLikeFrameworkCall(registry, arguments.length)) {
    throw notCalledError(context('exposeToClusterPrimary'), registry);
  }
  if (!cluster.isWorker || typeof process.send !== 'function') return;
  exposed.add(registry);
  if (listening) return;
  listening = true;
  process.on('message', (message: unknown) => {
    const m = message as Partial<RequestMessage> | null;
    if (m === null || typeof m !== 'object' || m.type !== REQUEST || typeof m.id !== 'number')
      return;
    const id = m.id;
    Promise.all([...exposed].map((r) => r.getMetricsAsJSON()))
      .then((all) => reply({ type: RESPONSE, id, metrics: all.flat() }))
      .catch((err: unknown) => reply({ type: RESPONSE, id, error: String(err) }));
  });
}

function reply(message: ResponseMessage): void {
  try {
    process.send?.(message);
  } catch {
    // The primary is gone; nothing to answer.
  }
}

/** Options of createClusterAggregator(). */
export interface ClusterAggregatorOptions {
  /** Longest wait for a worker's answer, in ms; a late worker contributes its last snapshot. Default: 2000. */
  timeoutMs?: number;
}

/** The primary's view of the cluster's metrics. */
export interface ClusterAggregator {
  /** Aggregated metrics of all live workers plus the retired totals of exited ones. */
  getMetricsAsJSON(): Promise<MetricJson[]>;
  /** The same, rendered in a text format. */
  metrics(format?: 'prometheus' | 'openmetrics'): Promise<string>;
  /** Stops listening to the cluster. */
  close(): void;
}

const RETIRED_TYPES = new Set(['counter', 'histogram']);

/** Creates the aggregator in the cluster primary. */
export function createClusterAggregator(options?: ClusterAggregatorOptions): ClusterAggregator {
  const ctx = context('createClusterAggregator');
  if (looksLikeFrameworkCall(options, arguments.length)) throw notCalledError(ctx, options);
  const o = readOptions<ClusterAggregatorOptions>(ctx, options, 1, ['timeoutMs']);
  const timeoutMs = integerOption(ctx, 'timeoutMs', o.timeoutMs, 2000, 1, 60_000);

  let nextId = 1;
  const pending = new Map<
    number,
    { worker: Worker; resolve: (m: MetricJson[] | undefined) => void }
  >();
  const last = new Map<number, MetricJson[]>();
  const gone = new Set<number>();
  // Retirements are chained so two workers leaving together are both kept.
  let retired: Promise<MetricJson[]> = Promise.resolve([]);

  const onMessage = (worker: Worker, message: unknown): void => {
    const m = message as Partial<ResponseMessage> | null;
    if (m === null || typeof m !== 'object' || m.type !== RESPONSE || typeof m.id !== 'number')
      return;
    const p = pending.get(m.id);
    if (p === undefined || p.worker !== worker) return;
    p.resolve(Array.isArray(m.metrics) ? m.metrics : undefined);
  };
  // A worker leaves on 'disconnect' (graceful restart: it may still drain, but can no longer answer)
  // or on 'exit'; whichever comes first retires its last snapshot, once.
  const retire = (worker: Worker): void => {
    if (gone.has(worker.id)) return;
    gone.add(worker.id);
    for (const p of pending.values()) if (p.worker === worker) p.resolve(undefined);
    const snapshot = last.get(worker.id);
    last.delete(worker.id);
    if (snapshot === undefined) return;
    // Gauges describe the present, so a departed worker's gauges go; its counts stay.
    const kept = snapshot.filter((metric) => RETIRED_TYPES.has(String(metric.type)));
    retired = retired.then(
      (prev) =>
        AggregatorRegistry.aggregate([prev, kept]).getMetricsAsJSON() as unknown as Promise<
          MetricJson[]
        >,
    );
  };
  cluster.on('message', onMessage);
  cluster.on('disconnect', retire);
  cluster.on('exit', retire);

  const ask = (worker: Worker): Promise<MetricJson[] | undefined> =>
    new Promise((resolve) => {
      const id = nextId++;
      const settle = (m: MetricJson[] | undefined): void => {
        if (!pending.delete(id)) return;
        clearTimeout(timer);
        resolve(m);
      };
      const timer = setTimeout(() => settle(undefined), timeoutMs);
      pending.set(id, { worker, resolve: settle });
      try {
        // A worker that just died fails asynchronously (EPIPE): the callback sees it, and an
        // unhandled 'error' on the Worker would otherwise crash the primary.
        worker.send({ type: REQUEST, id } satisfies RequestMessage, (err: Error | null) => {
          if (err) settle(undefined);
        });
      } catch {
        settle(undefined);
      }
    });

  const getMetricsAsJSON = async (): Promise<MetricJson[]> => {
    const workers = Object.values(cluster.workers ?? {}).filter(
      (w): w is Worker => w !== undefined && w.isConnected() && !gone.has(w.id),
    );
    await Promise.all(
      workers.map(async (w) => {
        const m = await ask(w);
        // An answer from a worker that left meanwhile is dropped: its counts are already retired.
        if (m !== undefined && !gone.has(w.id)) last.set(w.id, m);
      }),
    );
    // Wait until no retirement is in progress, then read `last` and `retired` together, so a worker
    // that leaves during the scrape is counted exactly once.
    let settled: Promise<MetricJson[]>;
    let retiredNow: MetricJson[];
    do {
      settled = retired;
      retiredNow = await settled;
    } while (settled !== retired);
    const snapshots = [...last.values()];
    if (retiredNow.length > 0) snapshots.push(retiredNow);
    return AggregatorRegistry.aggregate(snapshots).getMetricsAsJSON();
  };

  return {
    getMetricsAsJSON,
    async metrics(format = 'prometheus') {
      return renderJson((await getMetricsAsJSON()) as never, format);
    },
    close() {
      cluster.off('message', onMessage);
      cluster.off('disconnect', retire);
      cluster.off('exit', retire);
    },
  };
}

/** Options of startClusterMetricsServer(). */
export interface ClusterMetricsServerOptions
  extends Omit<MetricsServerOptions, 'registry'>, ClusterAggregatorOptions {}

const KNOWN = optionNames<ClusterMetricsServerOptions>({
  token: true,
  openMetrics: true,
  path: true,
  port: true,
  host: true,
  timeoutMs: true,
});

/**
 * In the cluster primary, serves the aggregated metrics of every worker on a port of its own
 * (default 9464). Workers need only expressMetrics() or koaMetrics().
 */
export async function startClusterMetricsServer(
  options?: ClusterMetricsServerOptions,
): Promise<MetricsServer & { aggregator: ClusterAggregator }> {
  const ctx = context('startClusterMetricsServer');
  // `registry` is read only to explain that it does not belong here.
  const o = readOptions<ClusterMetricsServerOptions & { registry?: unknown }>(
    ctx,
    options,
    arguments.length,
    [...KNOWN, 'registry'],
  );
  if (o.registry !== undefined) {
    throw optionError(
      ctx,
      'INVALID_OPTION',
      'registry',
      'left out: the primary serves the registries of its workers',
      o.registry,
      'Pass the registry to expressMetrics() or koaMetrics() in the workers instead.',
    );
  }
  const timeoutMs = integerOption(ctx, 'timeoutMs', o.timeoutMs, 2000, 1, 60_000);
  const config = resolveHandlerOptions(ctx, o, KNOWN);
  const port = integerOption(ctx, 'port', config.port, 9464, 0, 65535);
  const host = stringOption(ctx, 'host', config.host, '127.0.0.1');
  const path = config.path ?? '/metrics';
  const aggregator = createClusterAggregator({ timeoutMs });
  const responder = responderFromConfig({ ...config, path }, (format) =>
    aggregator.metrics(format),
  );
  const server = await listenOperational(responder, port, host, path);
  return {
    ...server,
    aggregator,
    close: async () => {
      aggregator.close();
      await server.close();
    },
  };
}
