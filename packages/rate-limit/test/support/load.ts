// A concurrent keep-alive load loop whose requests are labelled with the phase they started in, and
// per-phase figures (status counts, latency percentiles).
import { type Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';
import { keepAliveAgent } from './http';

export interface Sample {
  phase: string;
  path: string;
  /** 0 when no response arrived (connection error or client timeout). */
  status: number;
  startedAt: number;
  endedAt: number;
  retryAfter: string | undefined;
  error: string | undefined;
}

export interface LoadOptions {
  origin: string;
  /** Paths requested in turn by each worker. */
  paths: readonly string[];
  /** Concurrent workers (and keep-alive connections). */
  workers: number;
  /** A request unanswered after this long counts as hung. */
  timeoutMs: number;
  headers?: Record<string, string>;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class LoadLoop {
  /** The phase new requests are labelled with. */
  phase = 'idle';
  readonly samples: Sample[] = [];
  private readonly completed = new Map<string, number>();
  private running = false;
  private workers: Promise<void>[] = [];
  private readonly agent: Agent;

  constructor(private readonly options: LoadOptions) {
    this.agent = keepAliveAgent(options.workers);
  }

  start(phase: string): void {
    this.phase = phase;
    this.running = true;
    this.workers = Array.from({ length: this.options.workers }, (_, i) => this.work(i));
  }

  /** Resolves once `n` requests that started in `phase` have completed. */
  async until(phase: string, n: number, timeoutMs = 30_000): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while ((this.completed.get(phase) ?? 0) < n) {
      if (performance.now() > deadline) {
        throw new Error(`only ${this.completed.get(phase) ?? 0} of ${n} requests done in ${phase}`);
      }
      await sleep(5);
    }
  }

  /** Resolves once `check` is true (polled every 5 ms), with the time it took; rejects after timeoutMs. */
  async waitFor(check: () => boolean, timeoutMs: number, what: string): Promise<number> {
    const start = performance.now();
    while (!check()) {
      if (performance.now() - start > timeoutMs)
        throw new Error(`${what}: not within ${timeoutMs} ms`);
      await sleep(5);
    }
    return performance.now() - start;
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.workers);
    this.agent.destroy();
  }

  private async work(worker: number): Promise<void> {
    let i = worker;
    while (this.running) {
      const path = this.options.paths[i++ % this.options.paths.length] as string;
      const sample = await this.send(this.phase, path);
      this.samples.push(sample);
      this.completed.set(sample.phase, (this.completed.get(sample.phase) ?? 0) + 1);
    }
  }

  private send(phase: string, path: string): Promise<Sample> {
    const startedAt = performance.now();
    return new Promise<Sample>((resolve) => {
      let settled = false;
      const finish = (status: number, retryAfter: string | undefined, error?: string) => {
        if (settled) return;
        settled = true;
        resolve({ phase, path, status, startedAt, endedAt: performance.now(), retryAfter, error });
      };
      const req = request(`${this.options.origin}${path}`, {
        agent: this.agent,
        headers: this.options.headers,
      });
      req.setTimeout(this.options.timeoutMs, () => {
        req.destroy(new Error(`no response within ${this.options.timeoutMs} ms`));
      });
      req.on('error', (error) => finish(0, undefined, error.message));
      req.on('response', (res) => {
        res.resume();
        res.on('end', () => finish(res.statusCode ?? 0, res.headers['retry-after']));
        res.on('error', (error) => finish(0, undefined, error.message));
      });
      req.end();
    });
  }
}

export interface PhaseFigures {
  phase: string;
  sent: number;
  '2xx': number;
  '429s': number;
  '503s': number;
  other: number;
  unanswered: number;
  'p50 ms': number;
  'p99 ms': number;
  'max ms': number;
}

/** The q-quantile (nearest rank) of sorted values. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank] as number;
}

const round = (ms: number) => Math.round(ms * 10) / 10;

/**
 * Figures of the requests that started in `phase` (and, with `endedBy`, completed by then: requests
 * still in flight when the next phase began are left out).
 */
export function figures(
  samples: readonly Sample[],
  phase: string,
  endedBy = Infinity,
): PhaseFigures {
  const mine = samples.filter((s) => s.phase === phase && s.endedAt <= endedBy);
  const latencies = mine.map((s) => s.endedAt - s.startedAt).sort((a, b) => a - b);
  const count = (test: (s: Sample) => boolean) => mine.filter(test).length;
  return {
    phase,
    sent: mine.length,
    '2xx': count((s) => s.status >= 200 && s.status < 300),
    '429s': count((s) => s.status === 429),
    '503s': count((s) => s.status === 503),
    other: count(
      (s) =>
        s.status !== 0 &&
        s.status !== 429 &&
        s.status !== 503 &&
        (s.status < 200 || s.status >= 300),
    ),
    unanswered: count((s) => s.status === 0),
    'p50 ms': round(quantile(latencies, 0.5)),
    'p99 ms': round(quantile(latencies, 0.99)),
    'max ms': round(latencies[latencies.length - 1] ?? 0),
  };
}
