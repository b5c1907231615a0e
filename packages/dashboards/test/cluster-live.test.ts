// The live page in a Node cluster primary with no Express or Koa app (livePage().listen() over the
// metrics package's cluster aggregator), with 2 real workers: the page's snapshot reflects the
// requests sent to both workers, totals and rate.
import { spawn } from 'node:child_process';
import { request } from 'node:http';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, describe, expect, it } from 'vitest';
import { pollFor } from '@vigil/test-utils';

const FIXTURE = join(__dirname, 'fixtures', 'cluster-live.cjs');
const ROOT = join(__dirname, '..', '..', '..');

interface Ready {
  event: 'ready';
  liveUrl: string;
  appPort: number;
  workers: number[];
}

interface Snapshot {
  service: string;
  series: { rps: (number | null)[] };
  routes: { method: string; route: string; total: number; rps: number }[];
}

/** One GET on a fresh connection (no keep-alive), so the primary spreads requests across workers. */
function get(url: string): Promise<{ status: number; body: string; pid: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false, timeout: 10_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('error', reject);
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          body,
          pid: String(res.headers['x-worker-pid'] ?? ''),
        }),
      );
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

describe('the live page in a cluster primary', () => {
  const child = spawn(process.execPath, [FIXTURE], {
    cwd: ROOT,
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: true,
  });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => (stderr += chunk));
  const ready = new Promise<Ready>((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      const event = JSON.parse(line) as { event: string };
      if (event.event === 'ready') resolve(event as Ready);
    });
    child.on('exit', (code) => reject(new Error(`primary exited ${code}: ${stderr}`)));
  });

  afterAll(() => {
    child.stdin.end();
    // The whole process group: the primary and its workers.
    setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }, 2000).unref();
  });

  it('should show the aggregate of both workers: totals and request rate', async () => {
    const { liveUrl, appPort, workers } = await ready;
    expect(workers).toHaveLength(2);
    const app = `http://127.0.0.1:${appPort}/work`;
    const snapshot = async (): Promise<Snapshot> => {
      const res = await get(`${liveUrl}/snapshot`);
      expect(res.status).toBe(200);
      return JSON.parse(res.body) as Snapshot;
    };
    // The first snapshot starts the sampler: the rate is computed from the next ones.
    expect((await snapshot()).service).toBe('cluster');

    // Requests until both workers served some (the primary hands connections round-robin).
    const byWorker = new Map<string, number>();
    let sent = 0;
    while (sent < 40 || byWorker.size < 2) {
      const r = await get(app);
      expect(r.status).toBe(200);
      byWorker.set(r.pid, (byWorker.get(r.pid) ?? 0) + 1);
      sent++;
      if (sent > 400) break;
    }
    expect(byWorker.size).toBe(2);

    const route = (s: Snapshot) => s.routes.find((r) => r.method === 'GET' && r.route === '/work');
    const seen = await pollFor(
      async () => {
        const s = await snapshot();
        return route(s)?.total === sent ? s : undefined;
      },
      15_000,
      250,
    );
    expect(seen, `the page never showed ${sent} requests`).toBeDefined();
    const peakRps = Math.max(0, ...(seen?.series.rps ?? []).map((v) => v ?? 0));
    expect(peakRps).toBeGreaterThan(0);
    const most = Math.max(...byWorker.values());
    expect(route(seen!)!.total).toBeGreaterThan(most);

    // The overview from the primary counts both workers too.
    const overview = JSON.parse(
      (await get(`${liveUrl.replace(/\/_vigil$/, '')}/observability`)).body,
    ) as {
      observability: { metrics: { summary: { total_requests: number } } };
    };
    expect(overview.observability.metrics.summary.total_requests).toBe(sent);
    // Other paths of the primary's page server: 404.
    expect((await get(`${liveUrl.replace(/\/_vigil$/, '')}/elsewhere`)).status).toBe(404);
    console.log(
      `cluster page: ${sent} requests sent (${[...byWorker.values()].join(' + ')} by worker), page total ${route(seen!)!.total}, overview total ${overview.observability.metrics.summary.total_requests}, peak ${peakRps} req/s`,
    );
  }, 60_000);
});
