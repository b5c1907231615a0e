// The Alertmanager hand-over against a real prometheus-alertmanager on a loopback port: posted alerts
// appear under model.fingerprint(labels), stay active while re-posted, resolve when posted resolved;
// and, against recording servers, Prometheus's batches of 64, the bounded queue and a down Alertmanager.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { captureLogger, findBinary, freePort, listen, pollFor } from '@vigil/test-utils';
import {
  ALERTMANAGER_BATCH_SIZE,
  type AlertmanagerClient,
  type AlertmanagerClientOptions,
  createAlertmanagerClient,
} from '@vigil/alerts';
import { ManualClock, type PostableAlert, fingerprint } from '../src/model';
import { type Recorder, recorder } from './receivers-support';

const binary = findBinary('prometheus-alertmanager', 'prometheus-alertmanager');

const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const o of open.splice(0)) await o.close();
});

function client(options: AlertmanagerClientOptions): AlertmanagerClient {
  const c = createAlertmanagerClient(options);
  open.push(c);
  return c;
}

async function server(): Promise<Recorder> {
  const s = await recorder();
  open.push(s);
  return s;
}

async function sample(registry: Registry, name: string): Promise<number> {
  const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === name);
  return (metric?.values ?? []).reduce((sum, v) => sum + v.value, 0);
}

const iso = (ms: number) => new Date(ms).toISOString();

const gc = (() => {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
})();

function heapMiB(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed / 2 ** 20;
}

interface GettableAlert {
  fingerprint: string;
  labels: Record<string, string>;
  endsAt: string;
  status: { state: string };
}

describe.skipIf(binary === undefined)('Alertmanager hand-over (prometheus-alertmanager)', () => {
  let am: ChildProcess | undefined;
  let url = '';
  let dir = '';

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vigil-am-'));
    writeFileSync(
      join(dir, 'alertmanager.yml'),
      'route:\n  receiver: none\n  group_wait: 1h\nreceivers:\n  - name: none\n',
    );
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    am = spawn(
      binary as string,
      [
        `--config.file=${join(dir, 'alertmanager.yml')}`,
        `--storage.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--cluster.listen-address=',
        '--log.level=warn',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    am.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
    const ready = await pollFor(async () => {
      try {
        return (await fetch(`${url}/-/ready`)).ok ? true : undefined;
      } catch {
        return undefined;
      }
    }, 20_000);
    if (ready === undefined) throw new Error(`alertmanager did not start: ${stderr}`);
  });

  afterAll(() => {
    am?.kill('SIGTERM');
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  async function active(): Promise<GettableAlert[]> {
    const res = await fetch(
      `${url}/api/v2/alerts?active=true&silenced=true&inhibited=true&unprocessed=true`,
    );
    return (await res.json()) as GettableAlert[];
  }

  it('should post alerts that appear with model.fingerprint(), stay active while re-posted, and resolve', async () => {
    const registry = new Registry();
    const c = client({ url, registry });
    const labels = {
      alertname: 'VigilHandOver',
      severity: 'critical',
      job: 'api',
      run: String(Date.now()),
    };
    const alertAt = (endsAt: number): PostableAlert => ({
      labels,
      annotations: { summary: 'hand-over test' },
      startsAt: iso(Date.now() - 60_000),
      endsAt: iso(endsAt),
      generatorURL: 'http://vigil.example/alerts',
    });
    c.send([alertAt(Date.now() + 2_000)]);
    await c.flush();
    const found = await active();
    const mine = found.find((a) => a.labels.run === labels.run);
    expect(mine?.fingerprint).toBe(fingerprint(labels));
    expect(mine?.status.state).toBe('active');

    // Re-posted every 500 ms with endsAt 2 s ahead, as the rules engine resends: active past the first endsAt.
    const until = Date.now() + 3_500;
    while (Date.now() < until) {
      c.send([alertAt(Date.now() + 2_000)]);
      await c.flush();
      await new Promise((r) => setTimeout(r, 500));
    }
    const still = (await active()).find((a) => a.labels.run === labels.run);
    expect(still?.status.state).toBe('active');

    // Posted resolved: endsAt now, gone from the active alerts.
    c.send([alertAt(Date.now())]);
    await c.flush();
    const gone = await pollFor(async () => {
      const a = (await active()).find((x) => x.labels.run === labels.run);
      return a === undefined ? true : undefined;
    }, 5_000);
    expect(gone).toBe(true);
    expect(await sample(registry, 'alerts_alertmanager_errors_total')).toBe(0);
    const sent = await sample(registry, 'alerts_alertmanager_sent_total');
    console.log(
      `alertmanager: fingerprint ${fingerprint(labels)} matched; ${sent} alerts posted, 0 errors`,
    );
  });

  it('should give every alert to every Alertmanager, one of them down', async () => {
    const registry = new Registry();
    const down = `http://127.0.0.1:${await freePort()}`;
    const log = captureLogger();
    const c = client({ url: `${down},${url}`, registry, logger: log.logger, maxAttempts: 2 });
    const run = String(Date.now());
    const alerts = Array.from({ length: 100 }, (_, i) => ({
      labels: { alertname: 'VigilFanOut', run, i: String(i) },
      endsAt: iso(Date.now() + 60_000),
    }));
    c.send(alerts);
    await c.flush();
    const mine = (await active()).filter((a) => a.labels.run === run);
    expect(mine).toHaveLength(100);
    expect(new Set(mine.map((a) => a.fingerprint))).toEqual(
      new Set(alerts.map((a) => fingerprint(a.labels))),
    );
    expect(await sample(registry, 'alerts_alertmanager_errors_total')).toBe(200); // 2 batches x 2 attempts, to the down one
    expect(log.lines.length).toBeGreaterThan(0);
  });
});

describe('Alertmanager client', () => {
  it('should post in batches of 64 to <url>/api/v2/alerts, credentials as Basic auth', async () => {
    const s = await server();
    const registry = new Registry();
    const c = client({ url: [`http://vigil:p%40ss@127.0.0.1:${s.port}/am/`], registry });
    const alerts = Array.from({ length: 150 }, (_, i) => ({
      labels: { alertname: 'Batch', i: String(i) },
    }));
    c.send(alerts);
    await c.flush();
    expect(ALERTMANAGER_BATCH_SIZE).toBe(64);
    expect(s.received.map((r) => r.json<unknown[]>().length)).toEqual([64, 64, 22]);
    expect(s.received.every((r) => r.path === '/am/api/v2/alerts')).toBe(true);
    expect(s.received[0]!.headers.authorization).toBe(
      `Basic ${Buffer.from('vigil:p@ss').toString('base64')}`,
    );
    expect(s.received.flatMap((r) => r.json<PostableAlert[]>())).toEqual(alerts);
    expect(await sample(registry, 'alerts_alertmanager_sent_total')).toBe(150);
    const metric = (await registry.getMetricsAsJSON()).find(
      (m) => m.name === 'alerts_alertmanager_sent_total',
    );
    expect(metric?.values[0]?.labels.alertmanager).toBe(`http://127.0.0.1:${s.port}/am`);
  });

  it('should try a failed post again after a backoff on the clock, and not a 400', async () => {
    const s = await server();
    let calls = 0;
    s.answer = (r, res) => {
      calls++;
      res.statusCode = r.body.includes('Bad') ? 400 : calls === 1 ? 503 : 200;
      res.end();
    };
    const clock = new ManualClock();
    const registry = new Registry();
    const c = client({ url: s.url, registry, clock, logger: captureLogger().logger });
    c.send([{ labels: { alertname: 'Retry' } }]);
    await pollFor(() => (calls === 1 ? true : undefined), 2000);
    await new Promise((r) => setTimeout(r, 50));
    expect(calls).toBe(1);
    clock.advance(500);
    await c.flush();
    expect(calls).toBe(2);
    expect(await sample(registry, 'alerts_alertmanager_errors_total')).toBe(1);
    expect(await sample(registry, 'alerts_alertmanager_sent_total')).toBe(2);
    c.send([{ labels: { alertname: 'Bad' } }]);
    await c.flush();
    expect(calls).toBe(3);
    expect(await sample(registry, 'alerts_alertmanager_errors_total')).toBe(2);
  });

  it('should keep the queue and heap bounded, dropping the oldest, while an Alertmanager hangs', async () => {
    const hanging = await listen(() => undefined);
    open.push(hanging);
    const registry = new Registry();
    const c = createAlertmanagerClient({
      url: hanging.url,
      registry,
      maxQueue: 1_000,
      timeoutMs: 200,
      maxAttempts: 1,
      logger: captureLogger().logger,
    });
    const heap: string[] = [];
    const lengths: number[] = [];
    let worstSendUs = 0;
    for (let round = 0; round < 4; round++) {
      const alerts = Array.from({ length: 5_000 }, (_, i) => ({
        labels: { alertname: 'Flood', round: String(round), i: String(i) },
        endsAt: iso(Date.now() + 60_000),
      }));
      const started = performance.now();
      for (const a of alerts) c.send([a]);
      worstSendUs = Math.max(worstSendUs, ((performance.now() - started) * 1000) / alerts.length);
      lengths.push(await sample(registry, 'alerts_alertmanager_queue_length'));
      heap.push(heapMiB().toFixed(1));
    }
    const dropped = await sample(registry, 'alerts_alertmanager_dropped_total');
    const closing = performance.now();
    await c.close();
    console.log(
      `hanging Alertmanager, 4 rounds of 5000 sends: queue ${lengths.join(', ')}; heap MiB ${heap.join(', ')}; ` +
        `dropped ${dropped}; worst send() ${worstSendUs.toFixed(1)} µs; close() in ${(performance.now() - closing).toFixed(1)} ms`,
    );
    for (const l of lengths) expect(l).toBeLessThanOrEqual(1_000);
    expect(dropped).toBeGreaterThanOrEqual(20_000 - 1_000 - 4 * 64);
    expect(Number(heap[3]) - Number(heap[1])).toBeLessThan(8);
    expect(() => c.send([{ labels: { a: 'b' } }])).not.toThrow();
  });

  it('should refuse a missing or bad URL without showing it', () => {
    const saved = process.env.ALERTMANAGER_URL;
    delete process.env.ALERTMANAGER_URL;
    try {
      expect(() => createAlertmanagerClient({} as AlertmanagerClientOptions)).toThrow(
        /ERR_VIGIL_ALERTS_RECEIVER_INVALID_URL: .*ALERTMANAGER_URL is not set/,
      );
      let message = '';
      try {
        createAlertmanagerClient({ url: 'ftp://admin:hunter2@am:9093', registry: false });
      } catch (e) {
        message = (e as Error).message;
      }
      expect(message).toMatch(/scheme ftp:/);
      expect(message).not.toContain('hunter2');
    } finally {
      if (saved !== undefined) process.env.ALERTMANAGER_URL = saved;
    }
  });

  it('should never throw on alerts it cannot use', async () => {
    const s = await server();
    const c = client({ url: s.url, registry: false, logger: captureLogger().logger });
    for (const bad of [null, 42, [null], [{}], [{ labels: null }], 'x'])
      expect(() => c.send(bad as never)).not.toThrow();
    await c.flush();
    expect(s.received).toHaveLength(0);
  });
});
