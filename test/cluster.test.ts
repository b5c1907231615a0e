// Integration: a real Node cluster (test/fixtures/cluster-app.cjs, built packages from dist/) scraped
// through the primary's aggregated /metrics while workers serve traffic, die, hang and drain.
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { type IncomingHttpHeaders, request } from 'node:http';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// Test files compile as CommonJS (no import.meta); Vitest provides __dirname.
const ROOT = join(__dirname, '..');
const FIXTURE = join(__dirname, 'fixtures', 'cluster-app.cjs');
const WORKERS = 3;
const TIMEOUT_MS = 500;
// A scrape may take the aggregator's timeout plus rendering and one round trip; one second covers that.
const SCRAPE_BUDGET_MS = TIMEOUT_MS + 1000;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

interface Reply {
  status: number;
  body: string;
  headers: IncomingHttpHeaders;
  ms: number;
}

/** One GET on a fresh connection (no keep-alive), so the primary spreads requests across workers. */
function get(url: string, timeoutMs = 10_000): Promise<Reply> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('error', reject);
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          body,
          headers: res.headers,
          ms: performance.now() - started,
        }),
      );
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url} timed out after ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

/** Sum of every http_requests_total sample in a Prometheus text exposition. */
function requestsTotal(exposition: string): number {
  let sum = 0;
  for (const line of exposition.split('\n')) {
    const m = /^http_requests_total(?:\{.*\})? (\S+)$/.exec(line);
    if (m) sum += Number(m[1]);
  }
  return sum;
}

interface Scrape {
  status: number;
  total: number;
  ms: number;
}

async function scrape(url: string): Promise<Scrape> {
  const r = await get(url, 10_000);
  return { status: r.status, total: requestsTotal(r.body), ms: r.ms };
}

/** Indexes where a series of totals went down, with the values around the drop. */
function decreases(totals: readonly number[]): string[] {
  const out: string[] = [];
  for (let i = 1; i < totals.length; i++) {
    if ((totals[i] as number) < (totals[i - 1] as number)) {
      out.push(`#${i}: ${totals[i - 1]} -> ${totals[i]}`);
    }
  }
  return out;
}

function figures(ms: readonly number[]): string {
  const s = [...ms].sort((a, b) => a - b);
  const at = (q: number) => (s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? 0).toFixed(1);
  return `min ${at(0)} ms, median ${at(0.5)} ms, max ${at(1)} ms`;
}

interface ClusterEvent {
  event: string;
  pid?: number;
  id?: number;
  metricsUrl?: string;
  appPort?: number;
  workers?: number[];
  ok?: boolean;
  error?: string;
  signal?: string | null;
  found?: boolean;
}

const running = new Set<Cluster>();

/** The fixture's primary, its event lines and its whole process group. */
class Cluster {
  readonly events: ClusterEvent[] = [];
  stderr = '';
  exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly waiters = new Set<() => void>();

  constructor(env: Record<string, string>) {
    // Its own process group, so that stop() can kill the primary and every worker at once.
    this.child = spawn(process.execPath, [FIXTURE], {
      cwd: ROOT,
      env: {
        ...process.env,
        VIGIL_TEST_WORKERS: String(WORKERS),
        VIGIL_TEST_TIMEOUT_MS: String(TIMEOUT_MS),
        ...env,
      },
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true,
    });
    running.add(this);
    createInterface({ input: this.child.stdout }).on('line', (line) => {
      try {
        this.events.push(JSON.parse(line) as ClusterEvent);
      } catch {
        this.stderr += `(stdout) ${line}\n`;
      }
      this.notify();
    });
    this.child.stderr.setEncoding('utf8');
    this.child.stderr.on('data', (chunk: string) => (this.stderr += chunk));
    this.child.on('exit', (code, signal) => {
      this.exited = { code, signal };
      this.notify();
    });
  }

  private notify(): void {
    for (const w of [...this.waiters]) w();
  }

  /** The first event at index `from` or later that matches, within `timeoutMs`. */
  waitFor(match: (e: ClusterEvent) => boolean, timeoutMs: number, from = 0): Promise<ClusterEvent> {
    return new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined = undefined;
      const check = (): void => {
        const found = this.events.slice(from).find(match);
        if (found !== undefined) {
          done();
          resolve(found);
        } else if (this.exited !== undefined) {
          done();
          reject(
            new Error(`primary exited ${JSON.stringify(this.exited)}; stderr:\n${this.stderr}`),
          );
        }
      };
      const done = (): void => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      timer = setTimeout(() => {
        done();
        reject(new Error(`no matching event in ${timeoutMs} ms; stderr:\n${this.stderr}`));
      }, timeoutMs);
      this.waiters.add(check);
      check();
    });
  }

  async ready(): Promise<{ metricsUrl: string; appUrl: string; workers: number[] }> {
    const e = await this.waitFor((x) => x.event === 'ready', 15_000);
    return {
      metricsUrl: e.metricsUrl as string,
      appUrl: `http://127.0.0.1:${e.appPort}`,
      workers: e.workers as number[],
    };
  }

  send(command: Record<string, unknown>): void {
    this.child.stdin.write(`${JSON.stringify(command)}\n`);
  }

  /** Every worker pid the primary reported, alive or not. */
  private pids(): number[] {
    const pids: number[] = [];
    for (const e of this.events) {
      if (e.workers) pids.push(...e.workers);
      if (typeof e.pid === 'number') pids.push(e.pid);
    }
    return pids;
  }

  async stop(): Promise<void> {
    running.delete(this);
    const kill = (pid: number) => {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    };
    if (this.child.pid !== undefined) kill(-this.child.pid);
    for (const pid of this.pids()) kill(pid);
    if (this.exited === undefined) {
      await Promise.race([new Promise((r) => this.child.once('exit', r)), sleep(5000)]);
    }
  }
}

afterAll(async () => {
  await Promise.all([...running].map((c) => c.stop()));
});

/** Sends `count` GETs to `url` with `concurrency` in flight; returns how many requests each worker served. */
async function traffic(
  url: string,
  count: number,
  concurrency: number,
): Promise<Map<string, number>> {
  const byWorker = new Map<string, number>();
  let next = 0;
  const lane = async () => {
    while (next < count) {
      next++;
      const r = await get(url);
      expect(r.status).toBe(200);
      const pid = String(r.headers['x-worker-pid']);
      byWorker.set(pid, (byWorker.get(pid) ?? 0) + 1);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
  return byWorker;
}

/** Scrapes until the total reaches `expected` or 20 tries pass; returns the last scrape. */
async function settle(metricsUrl: string, expected: number): Promise<Scrape> {
  let s = await scrape(metricsUrl);
  for (let i = 0; i < 20 && s.total !== expected; i++) {
    await sleep(50);
    s = await scrape(metricsUrl);
  }
  return s;
}

describe('startClusterMetricsServer in a real cluster', () => {
  let cluster: Cluster;
  let metricsUrl: string;
  let appUrl: string;
  let workers: number[];
  const totals: number[] = [];
  const times: number[] = [];
  let sent = 0;

  beforeAll(async () => {
    cluster = new Cluster({ VIGIL_TEST_RESPAWN: '1' });
    ({ metricsUrl, appUrl, workers } = await cluster.ready());
  });

  afterAll(async () => {
    await cluster.stop();
  });

  it('should aggregate every worker, never decreasing, while traffic runs', async () => {
    const requests = 600;
    let trafficDone = false;
    let scrapesDuringTraffic = 0;
    const scraping = (async () => {
      // Bounded: at least 20 scrapes, and no more than 200 whatever the traffic does.
      for (let i = 0; i < 200 && (!trafficDone || i < 20); i++) {
        const s = await scrape(metricsUrl);
        expect(s.status).toBe(200);
        totals.push(s.total);
        times.push(s.ms);
        if (!trafficDone) scrapesDuringTraffic++;
        await sleep(20);
      }
    })();
    const byWorker = await traffic(`${appUrl}/`, requests, 12);
    trafficDone = true;
    sent += requests;
    await scraping;
    const final = await settle(metricsUrl, sent);
    totals.push(final.total);
    times.push(final.ms);

    console.log(
      `[cluster] ${WORKERS} workers, requests sent ${sent}, served per worker ${JSON.stringify(Object.fromEntries(byWorker))}; ` +
        `${totals.length} scrapes (${scrapesDuringTraffic} during traffic), aggregated http_requests_total ` +
        `min ${Math.min(...totals)} max ${Math.max(...totals)} final ${final.total}; scrape time ${figures(times)}`,
    );
    expect(byWorker.size).toBe(WORKERS);
    expect(scrapesDuringTraffic).toBeGreaterThan(0);
    expect(decreases(totals)).toEqual([]);
    expect(final.total).toBe(sent);
    expect(Math.max(...times)).toBeLessThan(SCRAPE_BUDGET_MS);
  });

  it('should keep a SIGKILLed worker counted and keep scrapes within the timeout', async () => {
    const before = (await settle(metricsUrl, sent)).total;
    const victim = workers[0] as number;
    const from = cluster.events.length;
    const after: number[] = [];
    const afterTimes: number[] = [];
    for (let i = 0; i < 30; i++) {
      if (i === 5) process.kill(victim, 'SIGKILL');
      const s = await scrape(metricsUrl);
      expect(s.status).toBe(200);
      after.push(s.total);
      afterTimes.push(s.ms);
      await sleep(30);
    }
    const exit = await cluster.waitFor((e) => e.event === 'exit' && e.pid === victim, 5000, from);
    const replacement = await cluster.waitFor((e) => e.event === 'fork', 5000, from);
    // The replacement and the survivors serve more traffic; all of it must be added to the retired counts.
    await traffic(`${appUrl}/`, 90, 6);
    sent += 90;
    const final = await settle(metricsUrl, sent);
    after.push(final.total);
    afterTimes.push(final.ms);

    console.log(
      `[cluster] SIGKILL worker ${victim} (exit signal ${exit.signal}), replacement ${replacement.pid}: ` +
        `total before ${before}, ${after.length} scrapes after: min ${Math.min(...after)} max ${Math.max(...after)} ` +
        `final ${final.total} (requests sent ${sent}); scrape time ${figures(afterTimes)}`,
    );
    expect(exit.signal).toBe('SIGKILL');
    expect(decreases([before, ...after])).toEqual([]);
    expect(Math.min(...after)).toBe(before);
    expect(final.total).toBe(sent);
    expect(Math.max(...afterTimes)).toBeLessThan(SCRAPE_BUDGET_MS);
    expect(cluster.exited).toBeUndefined();
  });

  it('should answer within the timeout while a live worker is stuck, with its last counts', async () => {
    const before = (await settle(metricsUrl, sent)).total;
    const from = cluster.events.length;
    const blocked = get(`${appUrl}/block?ms=3000`, 15_000);
    const stuck = await cluster.waitFor((e) => e.event === 'blocking', 5000, from);
    const during: Scrape[] = [];
    for (let i = 0; i < 4; i++) during.push(await scrape(metricsUrl));
    const unblocked = await blocked;
    sent += 1;
    const final = await settle(metricsUrl, sent);

    console.log(
      `[cluster] worker ${stuck.pid} busy for 3000 ms, timeoutMs ${TIMEOUT_MS}: ` +
        `scrapes ${during.map((s) => `${s.ms.toFixed(0)} ms -> ${s.total}`).join(', ')}; ` +
        `after unblocking ${final.total} (requests sent ${sent})`,
    );
    expect(unblocked.status).toBe(200);
    for (const s of during) {
      expect(s.status).toBe(200);
      // The stuck worker was really waited for, and not beyond the timeout.
      expect(s.ms).toBeGreaterThanOrEqual(TIMEOUT_MS * 0.9);
      expect(s.ms).toBeLessThan(SCRAPE_BUDGET_MS);
      expect(s.total).toBe(before);
    }
    expect(final.total).toBe(sent);
  });
});

describe('cluster worker lifetime', () => {
  it('should keep a worker alive when its Express server is all it runs', async () => {
    // With the default round-robin scheduling a worker's listening server is a handle owned by the
    // primary, so the worker's IPC channel is what keeps it running: the channel must stay referenced.
    const cluster = new Cluster({ VIGIL_TEST_RESPAWN: '0' });
    try {
      const ready = await cluster.ready().catch((err: unknown) => err as Error);
      await sleep(1000);
      const exits = cluster.events.filter((e) => e.event === 'exit');
      console.log(
        `[cluster] Express-only workers: ready ${!(ready instanceof Error)}, worker exits ${exits.length} ` +
          `${JSON.stringify(exits)}, primary ${cluster.exited ? `exited ${JSON.stringify(cluster.exited)}` : 'running'}`,
      );
      expect(cluster.exited, `primary died; stderr:\n${cluster.stderr}`).toBeUndefined();
      expect(exits).toEqual([]);
      expect(ready).not.toBeInstanceOf(Error);
      if (!(ready instanceof Error)) expect((await get(`${ready.appUrl}/`)).status).toBe(200);
    } finally {
      await cluster.stop();
    }
  });
});

describe('cluster aggregation when workers leave', () => {
  it('should not count a worker twice when it dies during a scrape', async () => {
    const cluster = new Cluster({ VIGIL_TEST_RESPAWN: '0' });
    try {
      const { metricsUrl, appUrl, workers } = await cluster.ready();
      await traffic(`${appUrl}/`, 60, 6);
      const before = (await settle(metricsUrl, 60)).total;
      expect(before).toBe(60);
      // A stuck worker holds the scrape open for TIMEOUT_MS; another worker answers at once, then dies.
      const from = cluster.events.length;
      const blocked = get(`${appUrl}/block?ms=2500`, 15_000);
      const stuck = await cluster.waitFor((e) => e.event === 'blocking', 5000, from);
      const victim = workers.find((pid) => pid !== stuck.pid) as number;
      const during = scrape(metricsUrl);
      await sleep(150);
      process.kill(victim, 'SIGKILL');
      await cluster.waitFor((e) => e.event === 'exit' && e.pid === victim, 5000, from);
      const racing = await during;
      const next = await scrape(metricsUrl);
      await blocked;

      console.log(
        `[cluster] worker ${victim} killed during a scrape held open by stuck worker ${stuck.pid}: ` +
          `total before ${before}, that scrape ${racing.total} (${racing.ms.toFixed(0)} ms), next ${next.total}`,
      );
      expect(racing.total).toBe(before);
      expect(next.total).toBe(before);
    } finally {
      await cluster.stop();
    }
  });

  it("should keep a gracefully disconnected worker's counts while it drains", async () => {
    const cluster = new Cluster({
      VIGIL_TEST_RESPAWN: '0',
      VIGIL_TEST_DRAIN_MS: '1500',
    });
    try {
      const { metricsUrl, appUrl, workers } = await cluster.ready();
      await traffic(`${appUrl}/`, 60, 6);
      const before = (await settle(metricsUrl, 60)).total;
      expect(before).toBe(60);
      const victim = workers[0] as number;
      const from = cluster.events.length;
      // worker.disconnect() in the primary: the rolling-restart pattern of the Node cluster docs.
      cluster.send({ cmd: 'disconnect', pid: victim });
      const ack = await cluster.waitFor((e) => e.event === 'ack', 5000, from);
      const totals: number[] = [];
      let exitedAt = -1;
      // Bounded: 1500 ms of draining at ~100 ms per round, plus a few rounds after the exit.
      for (let i = 0; i < 40 && (exitedAt < 0 || i < exitedAt + 3); i++) {
        totals.push((await scrape(metricsUrl)).total);
        const gone = cluster.events.slice(from).some((e) => e.event === 'exit' && e.pid === victim);
        if (gone && exitedAt < 0) exitedAt = i;
        await sleep(100);
      }

      console.log(
        `[cluster] worker ${victim} disconnected (found ${ack.found}), exited after scrape #${exitedAt}: ` +
          `total before ${before}, scrapes while draining and after: ${totals.join(' ')}`,
      );
      expect(ack.found).toBe(true);
      expect(exitedAt).toBeGreaterThanOrEqual(0);
      expect(decreases([before, ...totals])).toEqual([]);
      expect(Math.min(...totals)).toBe(before);
    } finally {
      await cluster.stop();
    }
  });

  it('should survive a scrape that reaches a worker whose process just died', async () => {
    const cluster = new Cluster({ VIGIL_TEST_RESPAWN: '0' });
    try {
      const { metricsUrl, workers } = await cluster.ready();
      const victim = workers[0] as number;
      const from = cluster.events.length;
      // The fixture kills the worker and blocks 100 ms before scraping, so the scrape runs before the
      // primary has read the end of that worker's IPC channel: a real race, made deterministic.
      cluster.send({ cmd: 'kill-then-scrape', pid: victim, spinMs: 100 });
      const scraped = await cluster
        .waitFor((e) => e.event === 'scraped', 5000, from)
        .catch((err: unknown) => err as Error);
      await sleep(300);
      const alive = cluster.exited === undefined;
      const after = alive ? await scrape(metricsUrl) : undefined;

      console.log(
        `[cluster] scrape racing worker ${victim}'s death: ${scraped instanceof Error ? 'no result' : JSON.stringify(scraped)}, ` +
          `primary ${alive ? 'running' : `exited ${JSON.stringify(cluster.exited)}`}, next scrape status ${after?.status}`,
      );
      expect(cluster.exited, `primary died; stderr:\n${cluster.stderr}`).toBeUndefined();
      expect(scraped).not.toBeInstanceOf(Error);
      expect(after?.status).toBe(200);
    } finally {
      await cluster.stop();
    }
  });
});
