// Cluster mode on a real node:cluster of two workers (test/fixtures/cluster-app.cjs, built packages
// from dist/): the primary's aggregated metrics count the requests sent to both workers, and the alert
// rules are evaluated in the primary only.
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { request } from 'node:http';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, pollFor } from '@vigil/test-utils';
import { VIGIL_ERROR_CODES } from 'vigil';

const FIXTURE = join(__dirname, 'fixtures', 'cluster-app.cjs');
const REQUESTS = 40;

interface Event {
  event: string;
  url?: string;
  alerting?: string;
  error?: string;
  workers?: { pid: number; alerting: string; notPrimary: string }[];
}

/** One GET on a fresh connection, so the primary spreads connections across the workers. */
function get(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false, headers, timeout: 10_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

function helloTotal(exposition: string): number {
  let sum = 0;
  for (const line of exposition.split('\n')) {
    const m = /^http_requests_total\{[^}]*route="\/hello"[^}]*\} (\S+)$/.exec(line);
    if (m) sum += Number(m[1]);
  }
  return sum;
}

describe('cluster mode', () => {
  let child: ChildProcessWithoutNullStreams;
  const events: Event[] = [];
  let stderr = '';
  let appUrl = '';

  beforeAll(async () => {
    const port = await freePort();
    appUrl = `http://127.0.0.1:${port}`;
    child = spawn(process.execPath, [FIXTURE], {
      env: { ...process.env, VIGIL_TEST_WORKERS: '2', VIGIL_TEST_APP_PORT: String(port) },
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true,
    });
    createInterface({ input: child.stdout }).on('line', (line) => {
      try {
        events.push(JSON.parse(line) as Event);
      } catch {
        stderr += `(stdout) ${line}\n`;
      }
    });
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const ready = await pollFor(() => events.find((e) => e.event === 'workers'), 30_000);
    expect(ready, `the cluster did not start:\n${stderr}`).toBeDefined();
  });

  afterAll(async () => {
    if (child === undefined || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.stdin.end();
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }, 5000);
    await exited;
    clearTimeout(timer);
  });

  const primaryUrl = () => events.find((e) => e.event === 'primary')!.url!;

  it('should count in the primary every request sent to both workers', async () => {
    const pids = new Set<number>();
    for (let i = 0; i < REQUESTS; i++) {
      const r = await get(`${appUrl}/hello`);
      expect(r.status).toBe(200);
      pids.add((JSON.parse(r.body) as { pid: number }).pid);
    }
    expect(pids.size).toBe(2);
    // Metrics are recorded when the response ends: poll until the last ones are in.
    const total = await pollFor(async () => {
      const scrape = await get(`${primaryUrl()}/metrics`);
      const n = helloTotal(scrape.body);
      return n === REQUESTS ? n : undefined;
    }, 10_000);
    console.log(
      `cluster: ${REQUESTS} requests over ${pids.size} workers, aggregated count ${total}`,
    );
    expect(total).toBe(REQUESTS);
    const summary = JSON.parse((await get(`${primaryUrl()}/metrics/summary`)).body) as {
      requests: { total: number };
    };
    expect(summary.requests.total).toBe(REQUESTS);
  });

  it('should serve health and the live page over the aggregated metrics in the primary', async () => {
    for (const path of [
      '/health/live',
      '/health/ready',
      '/health/startup',
      '/_vigil',
      '/observability',
    ]) {
      expect((await get(`${primaryUrl()}${path}`)).status, path).toBe(200);
    }
    const snapshot = await pollFor(async () => {
      const r = await get(`${primaryUrl()}/_vigil/snapshot`);
      return r.status === 200 && r.body.includes('/hello') ? r.body : undefined;
    }, 10_000);
    expect(snapshot).toContain('/hello');
  });

  it('should evaluate the alert rules in the primary only', async () => {
    const workers = events.find((e) => e.event === 'workers')!.workers!;
    expect(workers.map((w) => w.alerting)).toEqual(['off', 'off']);
    expect(events.find((e) => e.event === 'primary')!.alerting).toBe('local');
    // Workers serve no alerts API; the primary's evaluates its rules.
    expect((await get(`${appUrl}/alerts`)).status).toBe(404);
    const rules = await get(`${primaryUrl()}/alerts/rules`);
    expect(rules.status).toBe(200);
    expect(rules.body).toContain('HttpErrorRatioHigh');
  });

  it('should refuse vigil.primary() in a worker', () => {
    const workers = events.find((e) => e.event === 'workers')!.workers!;
    expect(workers.map((w) => w.notPrimary)).toEqual([
      VIGIL_ERROR_CODES.NOT_PRIMARY,
      VIGIL_ERROR_CODES.NOT_PRIMARY,
    ]);
  });
});
