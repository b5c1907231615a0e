// The stack end to end: `vigil stack` writes the reference app's stack (demo rules, file service
// discovery, every receiver a local webhook); the Debian packages' Prometheus and Alertmanager run
// it; two instances of the reference app share one redis-server and export spans to an OTLP/HTTP
// receiver. Shows: both targets up, sum(http_requests_total) equal to the requests sent to both, the
// login limit held across instances, the demo error-rate alert firing in Prometheus and reaching
// Alertmanager and the webhook once (one alert for both instances), spans of both instances.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WebhookMessage } from '@vigil/alerts';
import {
  type ActiveAlert,
  RedisServer,
  type VectorSample,
  findBinary,
  findRedisServer,
  freePort,
  pollFor,
} from '@vigil/test-utils';
import { type WebhookReceiver, startTraffic, webhookReceiver } from './support/alerts';
import { type OtlpReceiver, OtlpStore, startOtlpReceiver } from './support/tracing-otlp';

const ROOT = join(__dirname, '..');
const BIN = join(ROOT, 'packages', 'vigil', 'bin', 'vigil.cjs');
const MODULE = join(ROOT, 'examples', 'stack', 'vigil.config.cjs');
const DEMO_RULES = join(ROOT, 'examples', 'stack', 'demo', 'gateway-demo.rules.yml');
// The built app, as `npm start` runs it (npm test builds before it runs the tests).
const MAIN = join(ROOT, 'examples', 'reference-app', 'dist', 'main.js');

const prometheusBinary = findBinary('prometheus', 'prometheus');
const alertmanagerBinary = findBinary('prometheus-alertmanager', 'prometheus-alertmanager');
const redisBinary = findRedisServer();

const LOG_LIMIT = 64 * 1024;

/** A child process whose output is kept (the last 64 KiB) for failure messages. */
interface Proc {
  child: ChildProcess;
  logs(): string;
  stop(): Promise<void>;
}

function start(command: string, args: string[], env: NodeJS.ProcessEnv = {}): Proc {
  let log = '';
  const child = spawn(command, args, {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const collect = (chunk: Buffer) => {
    log = (log + chunk.toString('utf8')).slice(-LOG_LIMIT);
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let stopped: Promise<void> | undefined;
  return {
    child,
    logs: () => log,
    stop() {
      stopped ??= (async () => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      })();
      return stopped;
    },
  };
}

/** Resolves once `url` answers 200, or throws with the process's output. */
async function ready(proc: Proc, url: string, what: string): Promise<void> {
  const ok = await pollFor(
    async () => {
      if (proc.child.exitCode !== null) return false;
      try {
        const res = await fetch(url, { signal: AbortSignal.timeout(1_000) });
        await res.arrayBuffer();
        return res.status === 200 ? true : undefined;
      } catch {
        return undefined;
      }
    },
    60_000,
    100,
  );
  if (ok !== true) throw new Error(`${what} did not become ready at ${url}:\n${proc.logs()}`);
}

/** An instance of the reference app: its gateway URL, read from what `npm start` prints. */
interface AppInstance extends Proc {
  url: string;
  host: string;
}

async function startApp(env: NodeJS.ProcessEnv): Promise<AppInstance> {
  const proc = start(process.execPath, [MAIN], env);
  const url = await pollFor(
    () => /^gateway\s+(http:\/\/[\d.]+:\d+)/m.exec(proc.logs())?.[1],
    60_000,
    50,
  );
  if (url === undefined) {
    await proc.stop();
    throw new Error(`the reference app did not start:\n${proc.logs()}`);
  }
  await ready(proc, `${url}/health/ready`, 'the reference app');
  return { ...proc, url, host: new URL(url).host };
}

interface AmAlert {
  labels: Record<string, string>;
  status: { state: string };
  fingerprint: string;
}

const seconds = (ms: number) => (ms / 1000).toFixed(1);

describe.skipIf(!prometheusBinary || !alertmanagerBinary || !redisBinary)(
  'the stack: vigil stack, Prometheus, Alertmanager, Redis, OTLP and two reference app instances',
  () => {
    let dir: string;
    let stackDir: string;
    let redis: RedisServer;
    let webhook: WebhookReceiver;
    const otlp = new OtlpStore();
    let otlpReceiver: OtlpReceiver;
    const apps: AppInstance[] = [];
    let alertmanager: Proc;
    let alertmanagerUrl: string;
    let prometheus: Proc;
    let prometheusUrl: string;

    async function api<T>(path: string, params: Record<string, string> = {}): Promise<T> {
      const res = await fetch(`${prometheusUrl}${path}?${new URLSearchParams(params).toString()}`, {
        signal: AbortSignal.timeout(5_000),
      });
      const body = (await res.json()) as { status: string; data: T; error?: string };
      if (body.status !== 'success') throw new Error(`${path}: ${body.error ?? res.status}`);
      return body.data;
    }
    const query = async (expr: string) =>
      (await api<{ result: VectorSample[] }>('/api/v1/query', { query: expr })).result;
    const promAlerts = async () => (await api<{ alerts: ActiveAlert[] }>('/api/v1/alerts')).alerts;
    const amAlerts = async () =>
      (await (await fetch(`${alertmanagerUrl}/api/v2/alerts`)).json()) as AmAlert[];
    const logs = () =>
      [
        `prometheus:\n${prometheus?.logs()}`,
        `alertmanager:\n${alertmanager?.logs()}`,
        ...apps.map((a, i) => `app ${i}:\n${a.logs().slice(-4000)}`),
      ].join('\n');

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'vigil-stack-e2e-'));
      stackDir = join(dir, 'stack');
      webhook = await webhookReceiver();
      otlpReceiver = await startOtlpReceiver(otlp);
      redis = await RedisServer.start(redisBinary!);

      // The stack as a user generates it, with the demo rules and a webhook for every receiver.
      const generated = start(
        process.execPath,
        [
          BIN,
          'stack',
          MODULE,
          '--out',
          stackDir,
          '--discovery',
          'file',
          '--scrape-interval',
          '1s',
          '--evaluation-interval',
          '1s',
          '--webhook-url',
          `${webhook.server.url}/hook`,
        ],
        { VIGIL_ALERTS_DEMO: '1' },
      );
      const code = await new Promise<number | null>((resolve) =>
        generated.child.once('close', (c) => resolve(c)),
      );
      expect(code, generated.logs()).toBe(0);

      // Two instances of the reference app on one Redis, spans to the OTLP receiver. Prometheus
      // evaluates the rules over both: the apps get no ALERTMANAGER_URL, or each would alert.
      const appEnv = {
        PORT: '0',
        REDIS_URL: redis.url,
        VIGIL_ALERTS_DEMO: '1',
        OTEL_EXPORTER_OTLP_ENDPOINT: otlpReceiver.url,
        OTEL_BSP_SCHEDULE_DELAY: '500',
        // The api policy (600 a minute per address, shared through Redis) would limit the test's
        // own traffic, which all comes from 127.0.0.1; the login policy keeps its default of 5.
        VIGIL_API_LIMIT: '1000000',
      };
      apps.push(...(await Promise.all([startApp(appEnv), startApp(appEnv)])));

      // File service discovery, written by the test: the instances and Alertmanager on their ports.
      const alertmanagerPort = await freePort();
      alertmanagerUrl = `http://127.0.0.1:${alertmanagerPort}`;
      const targets = join(stackDir, 'prometheus', 'targets');
      writeFileSync(
        join(targets, 'gateway.json'),
        JSON.stringify([{ targets: apps.map((a) => a.host), labels: {} }]),
      );
      writeFileSync(
        join(targets, 'alertmanager.json'),
        JSON.stringify([{ targets: [`127.0.0.1:${alertmanagerPort}`], labels: {} }]),
      );

      alertmanager = start(alertmanagerBinary!, [
        `--config.file=${join(stackDir, 'alertmanager', 'alertmanager.yml')}`,
        `--storage.path=${join(dir, 'alertmanager-data')}`,
        `--web.listen-address=127.0.0.1:${alertmanagerPort}`,
        '--cluster.listen-address=',
        '--log.level=warn',
      ]);
      await ready(alertmanager, `${alertmanagerUrl}/-/ready`, 'alertmanager');

      const prometheusPort = await freePort();
      prometheusUrl = `http://127.0.0.1:${prometheusPort}`;
      prometheus = start(prometheusBinary!, [
        `--config.file=${join(stackDir, 'prometheus', 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(dir, 'prometheus-data')}`,
        `--web.listen-address=127.0.0.1:${prometheusPort}`,
        '--log.level=warn',
      ]);
      await ready(prometheus, `${prometheusUrl}/-/ready`, 'prometheus');
    }, 150_000);

    afterAll(async () => {
      await Promise.all(apps.map((a) => a.stop()));
      await prometheus?.stop();
      await alertmanager?.stop();
      await redis?.kill();
      await webhook?.server.close();
      await otlpReceiver?.close();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it('should load the demo rules committed under examples/stack/demo', () => {
      expect(readFileSync(join(stackDir, 'gateway-demo.rules.yml'), 'utf8')).toBe(
        readFileSync(DEMO_RULES, 'utf8'),
      );
    });

    it('should scrape both instances (both targets up)', async () => {
      const up = await pollFor(
        async () => {
          const samples = await query('up{job="gateway"}');
          return samples.length === 2 && samples.every((s) => s.value[1] === '1')
            ? samples
            : undefined;
        },
        30_000,
        250,
      );
      expect(up, logs()).toBeDefined();
      console.log(`targets up: ${up!.map((s) => s.metric.instance).join(', ')}`);
    }, 40_000);

    it('should count in sum(http_requests_total) every request sent to both', async () => {
      const sent = [30, 20];
      await Promise.all(
        apps.map(async (app, i) => {
          for (let n = 0; n < sent[i]!; n++) {
            const res = await fetch(`${app.url}/api/videos/${(n % 5) + 1}`);
            await res.arrayBuffer();
            expect(res.status).toBe(200);
          }
        }),
      );
      const total = sent[0]! + sent[1]!;
      const perInstance = await pollFor(
        async () => {
          const samples = await query('sum by (instance) (http_requests_total{job="gateway"})');
          const sum = samples.reduce((s, x) => s + Number(x.value[1]), 0);
          return sum === total ? samples : undefined;
        },
        20_000,
        250,
      );
      const last = await query('sum(http_requests_total{job="gateway"})');
      expect(perInstance, `sum: ${JSON.stringify(last)}\n${logs()}`).toBeDefined();
      const byHost = Object.fromEntries(
        perInstance!.map((s) => [s.metric.instance, Number(s.value[1])]),
      );
      expect(byHost).toEqual({ [apps[0]!.host]: sent[0], [apps[1]!.host]: sent[1] });
      console.log(
        `sum(http_requests_total{job="gateway"}) = ${total}: ${sent[0]} sent to one instance, ${sent[1]} to the other, as Prometheus counts them ${JSON.stringify(byHost)}`,
      );
    }, 40_000);

    it('should hold the login limit across instances (the 6th login on either is 429)', async () => {
      const statuses: number[] = [];
      for (let n = 0; n < 6; n++) {
        const app = apps[n % 2]!;
        const res = await fetch(`${app.url}/api/auth/login`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ username: 'demo', password: 'vigil-demo' }),
        });
        await res.arrayBuffer();
        statuses.push(res.status);
      }
      console.log(`logins alternating between the instances: ${statuses.join(' ')}`);
      expect(statuses.slice(0, 5)).toEqual([200, 200, 200, 200, 200]);
      expect(statuses[5]).toBe(429);
      // Both instances refuse now: the count lives in Redis, not in either process.
      for (const app of apps) {
        const res = await fetch(`${app.url}/api/auth/login`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ username: 'demo', password: 'vigil-demo' }),
        });
        await res.arrayBuffer();
        expect(res.status).toBe(429);
      }
    });

    it('should be seen running by vigil doctor', async () => {
      // Readiness follows the app's checks (the catalog, the event loop): on a loaded machine it can
      // be 503 for a moment. Doctor reports what it sees; wait until the app says it is ready.
      const ready = await pollFor(
        async () => {
          const res = await fetch(`${apps[0]!.url}/health/ready`);
          await res.arrayBuffer();
          return res.ok ? true : undefined;
        },
        30_000,
        200,
      );
      expect(ready).toBe(true);
      const doctor = start(process.execPath, [
        BIN,
        'doctor',
        '--url',
        apps[0]!.url,
        '--redis-url',
        redis.url,
        '--alertmanager-url',
        alertmanagerUrl,
        '--otlp-endpoint',
        `${otlpReceiver.url}/v1/traces`,
        '--prometheus-url',
        prometheusUrl,
      ]);
      const code = await new Promise<number | null>((resolve) =>
        doctor.child.once('close', (c) => resolve(c)),
      );
      console.log(`vigil doctor against the stack (exit ${code}):\n${doctor.logs()}`);
      for (const what of [
        'app /metrics',
        'app /health/ready',
        'REDIS_URL',
        'ALERTMANAGER_URL',
        'OTLP endpoint',
        'Prometheus',
      ]) {
        expect(doctor.logs()).toMatch(new RegExp(`^ok\\s+${what}\\s`, 'm'));
      }
      // 3 would only say that a binary of the list is missing on this machine.
      expect(code).toBe(/install what is missing/.test(doctor.logs()) ? 3 : 0);
    });

    it('should fire the demo error-rate alert in Prometheus, in Alertmanager and at the webhook once', async () => {
      const t0 = performance.now();
      // Half the requests fail, spread over both instances.
      const traffic = apps.map((app) =>
        startTraffic(app.url, (i) => (i % 2 === 0 ? '/api/fail' : '/api/videos/1'), 1, 50),
      );
      try {
        const alertOf = (list: ActiveAlert[]) =>
          list.filter((a) => a.labels.alertname === 'HighErrorRate');
        const pending = await pollFor(
          async () => (alertOf(await promAlerts()).length > 0 ? performance.now() : undefined),
          60_000,
          250,
        );
        expect(pending, logs()).toBeDefined();
        const firing = await pollFor(
          async () => {
            const list = alertOf(await promAlerts());
            return list.some((a) => a.state === 'firing')
              ? { at: performance.now(), list }
              : undefined;
          },
          60_000,
          250,
        );
        expect(firing, logs()).toBeDefined();
        // One alert for the job, whatever the number of instances.
        expect(firing!.list).toHaveLength(1);
        expect(firing!.list[0]!.labels).toMatchObject({
          alertname: 'HighErrorRate',
          severity: 'critical',
        });
        expect(firing!.list[0]!.labels).not.toHaveProperty('instance');

        const inAlertmanager = await pollFor(
          async () => {
            const list = (await amAlerts()).filter((a) => a.labels.alertname === 'HighErrorRate');
            return list.length > 0 ? { at: performance.now(), list } : undefined;
          },
          30_000,
          250,
        );
        expect(inAlertmanager, logs()).toBeDefined();
        expect(inAlertmanager!.list).toHaveLength(1);
        expect(inAlertmanager!.list[0]!.status.state).toBe('active');

        const firingMessages = () => webhook.group('HighErrorRate', 'firing');
        const atWebhook = await pollFor(
          () => (firingMessages().length > 0 ? performance.now() : undefined),
          30_000,
          100,
        );
        expect(atWebhook, logs()).toBeDefined();
        const message: WebhookMessage = firingMessages()[0]!.message;
        expect(message.receiver).toBe('page');
        expect(message.alerts).toHaveLength(1);
        expect(message.alerts[0]!.fingerprint).toBe(inAlertmanager!.list[0]!.fingerprint);
        console.log(
          `HighErrorRate: pending after ${seconds(pending! - t0)} s of errors, firing in Prometheus after ${seconds(firing!.at - t0)} s, in Alertmanager after ${seconds(inAlertmanager!.at - t0)} s, at the webhook after ${seconds(atWebhook! - t0)} s`,
        );

        // Still one notification once Alertmanager's group_interval (30 s in the demo) has passed
        // with the errors going on: nothing to deduplicate, the two instances make one alert.
        const settled = performance.now();
        await new Promise((resolve) => setTimeout(resolve, 35_000));
        const after = firingMessages();
        const stillFiring = alertOf(await promAlerts());
        const inAmAfter = (await amAlerts()).filter((a) => a.labels.alertname === 'HighErrorRate');
        console.log(
          `${seconds(performance.now() - settled)} s later: ${after.length} HighErrorRate notification(s) at the webhook (${webhook.received.length} webhook message(s) in all), ${stillFiring.length} alert in Prometheus, ${inAmAfter.length} in Alertmanager`,
        );
        expect(after).toHaveLength(1);
        expect(stillFiring).toHaveLength(1);
        expect(inAmAfter).toHaveLength(1);
      } finally {
        const answered = await Promise.all(traffic.map((t) => t.stop()));
        console.log(`error-rate traffic: ${answered.join(' + ')} requests answered`);
      }
    }, 150_000);

    it('should receive the spans of both instances at the OTLP receiver', async () => {
      const traceIds = apps.map(() => randomBytes(16).toString('hex'));
      await Promise.all(
        apps.map(async (app, i) => {
          const res = await fetch(`${app.url}/api/videos/2`, {
            headers: { traceparent: `00-${traceIds[i]}-${randomBytes(8).toString('hex')}-01` },
          });
          await res.arrayBuffer();
          expect(res.status).toBe(200);
        }),
      );
      // The catalog's span ends first and may leave in an earlier export batch than the gateway's:
      // wait until each trace has spans of both services, not just the first of them.
      const arrived = await pollFor(
        () =>
          traceIds.every((id) => {
            const services = new Set(
              otlp.spans.filter((s) => s.traceId === id).map((s) => s.resource['service.name']),
            );
            return services.has('gateway') && services.has('catalog');
          })
            ? true
            : undefined,
        30_000,
        100,
      );
      expect(arrived, logs()).toBe(true);
      const instances = new Set(
        otlp.spans
          .filter((s) => s.resource['service.name'] === 'gateway')
          .map((s) => s.resource['service.instance.id']),
      );
      const ofTraces = traceIds.map((id) => otlp.spans.filter((s) => s.traceId === id));
      // Each trace crosses the gateway and the catalog it calls, in the instance it was sent to.
      for (const spans of ofTraces) {
        expect(new Set(spans.map((s) => s.resource['service.name']))).toEqual(
          new Set(['gateway', 'catalog']),
        );
      }
      expect(
        new Set(
          ofTraces.map(
            (spans) =>
              spans.find((s) => s.resource['service.name'] === 'gateway')!.resource[
                'service.instance.id'
              ],
          ),
        ).size,
      ).toBe(2);
      expect(instances.size).toBe(2);
      console.log(
        `OTLP receiver: ${otlp.spans.length} spans in ${otlp.requests.length} export requests from ${instances.size} gateway instances; the two sent traces have ${ofTraces.map((s) => s.length).join(' and ')} spans`,
      );
    }, 40_000);
  },
);
