// End to end: the reference app with VIGIL_ALERTS_DEMO=1 evaluates its rules in the process and hands
// its alerts to a real Alertmanager (ALERTMANAGER_URL), whose webhook receiver is a local server.
// GET /api/fail fires HighErrorRate; the alert reaches Alertmanager with the fingerprint GET /alerts
// shows, arrives at the webhook grouped by alert name, and acknowledging it is an audit event. Once
// requests succeed again it resolves in the process, in Alertmanager and at the webhook.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AlertView, WebhookMessage } from '@vigil/alerts';
import { findBinary, freePort, pollFor } from '@vigil/test-utils';
import { type ReferenceApp, startReferenceApp } from '../examples/reference-app/src/index';
import {
  type WebhookReceiver,
  alertsWithStatus,
  startTraffic,
  webhookReceiver,
} from './support/alerts';

const alertmanagerBinary = findBinary('prometheus-alertmanager', 'prometheus-alertmanager');

interface Alertmanager {
  url: string;
  logs(): string;
  stop(): Promise<void>;
}

/**
 * Starts Alertmanager on a loopback port, clustering off, its storage in `dir`. A free port can be
 * taken by another test's server before Alertmanager binds it: that start is retried on a new port.
 */
async function startAlertmanager(
  binary: string,
  dir: string,
  webhook: string,
): Promise<Alertmanager> {
  let lastError: Error | undefined;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await startAlertmanagerOnce(binary, dir, webhook);
    } catch (err) {
      lastError = err instanceof Error ? err : new Error(String(err));
      if (!/address already in use/.test(lastError.message)) break;
    }
  }
  throw lastError ?? new Error('alertmanager did not start');
}

async function startAlertmanagerOnce(
  binary: string,
  dir: string,
  webhook: string,
): Promise<Alertmanager> {
  const config = join(dir, 'alertmanager.yml');
  // JSON is YAML. Grouped by alert name, first notification after 1 s.
  writeFileSync(
    config,
    JSON.stringify({
      route: {
        receiver: 'webhook',
        group_by: ['alertname'],
        group_wait: '1s',
        group_interval: '5s',
        repeat_interval: '1h',
      },
      receivers: [{ name: 'webhook', webhook_configs: [{ url: webhook, send_resolved: true }] }],
    }),
  );
  const port = await freePort();
  let log = '';
  const child: ChildProcess = spawn(
    binary,
    [
      `--config.file=${config}`,
      `--storage.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--cluster.listen-address=',
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const collect = (chunk: Buffer) => {
    log = (log + chunk.toString('utf8')).slice(-20_000);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const url = `http://127.0.0.1:${port}`;
  const ready = await pollFor(
    async () => {
      // Exited (a port lost to another process): no point waiting.
      if (child.exitCode !== null) return false;
      try {
        return (await fetch(`${url}/-/ready`)).ok ? true : undefined;
      } catch {
        return undefined;
      }
    },
    20_000,
    100,
  );
  if (!ready) {
    child.kill('SIGKILL');
    throw new Error(`Alertmanager did not start:\n${log}`);
  }
  return {
    url,
    logs: () => log,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

describe.skipIf(!alertmanagerBinary)('alerts end to end with a real Alertmanager', () => {
  let dir: string;
  let webhook: WebhookReceiver;
  let alertmanager: Alertmanager;
  let app: ReferenceApp;
  const messages = (): WebhookMessage[] => webhook.received.map((r) => r.message);
  /** HighErrorRate as the first test saw it fire; the second one fires it itself when run alone. */
  let fired: AlertView | undefined;

  /** Fails one request in two until HighErrorRate fires in the process. */
  async function fireHighErrorRate(): Promise<AlertView | undefined> {
    let i = 0;
    const started = performance.now();
    const traffic = setInterval(() => {
      const path = i++ % 2 === 0 ? '/api/fail' : '/api/videos/1';
      fetch(app.gatewayUrl + path).then(
        (r) => r.arrayBuffer(),
        () => undefined,
      );
    }, 100);
    let firing: AlertView | undefined;
    try {
      firing = await pollFor(
        async () =>
          (await alertsWithStatus(app.gatewayUrl, 'firing')).find(
            (a) => a.labels.alertname === 'HighErrorRate',
          ),
        90_000,
        500,
      );
    } finally {
      clearInterval(traffic);
    }
    const secondsToFire = (performance.now() - started) / 1000;
    if (firing)
      console.log(`HighErrorRate firing in the process after ${secondsToFire.toFixed(1)} s`);
    return firing;
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vigil-alertmanager-'));
    webhook = await webhookReceiver();
    alertmanager = await startAlertmanager(alertmanagerBinary!, dir, `${webhook.server.url}/hook`);
    app = await startReferenceApp({
      port: 0,
      catalogPort: 0,
      logDestination: { write: () => true },
      auditDestination: { write: () => true },
      rateLimit: { apiLimit: 1_000_000 },
      alertsDemo: true,
      alertmanagerUrl: alertmanager.url,
    });
  }, 60_000);

  afterAll(async () => {
    await app?.close();
    await alertmanager?.stop();
    await webhook?.server.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('should fire the demo alert, hand it to Alertmanager with the same fingerprint, and audit its acknowledgement', async () => {
    expect(app.alerting.mode).toBe('alertmanager');
    // One request in two fails, well above the 10% threshold.
    const firing = await fireHighErrorRate();
    expect(firing, alertmanager.logs()).toBeDefined();
    fired = firing;
    const fp = firing!.fingerprint;
    expect(firing).toMatchObject({ labels: { severity: 'critical' }, status: 'firing' });

    // Alertmanager has it under the same fingerprint.
    const inAlertmanager = await pollFor(
      async () => {
        const alerts = (await (await fetch(`${alertmanager.url}/api/v2/alerts`)).json()) as {
          fingerprint: string;
          labels: Record<string, string>;
        }[];
        return alerts.find((a) => a.labels.alertname === 'HighErrorRate');
      },
      30_000,
      250,
    );
    expect(inAlertmanager?.fingerprint, alertmanager.logs()).toBe(fp);
    expect(inAlertmanager?.labels).toEqual(firing!.labels);

    // The webhook gets it, grouped by alert name as configured.
    const message = await pollFor(
      () =>
        messages().find(
          (m) => m.status === 'firing' && m.groupLabels.alertname === 'HighErrorRate',
        ),
      30_000,
      100,
    );
    expect(message, alertmanager.logs()).toBeDefined();
    expect(message).toMatchObject({
      version: '4',
      receiver: 'webhook',
      groupLabels: { alertname: 'HighErrorRate' },
      commonLabels: { alertname: 'HighErrorRate', severity: 'critical' },
    });
    expect(message!.alerts.map((a) => a.fingerprint)).toContain(fp);
    console.log(
      `webhook: ${messages().length} message(s), first HighErrorRate group of ${message!.alerts.length} alert(s)`,
    );

    // Acknowledged through the API: an audit event with who and which alert.
    const ack = await fetch(
      `${app.gatewayUrl}/alerts/${fp}/acknowledge?acknowledged_by=oncall&comment=looking`,
      { method: 'POST', headers: { 'x-request-id': 'e2e-ack-1' } },
    );
    expect(ack.status).toBe(200);
    const body = (await ack.json()) as { alert: AlertView };
    expect(body.alert.status).toBe('acknowledged');
    const event = app.audit.recent().find((e) => e.type === 'alerts.acknowledge');
    expect(event).toMatchObject({
      outcome: 'success',
      actor: 'oncall',
      resource: `alert:${fp}`,
      request_id: 'e2e-ack-1',
      metadata: { alertname: 'HighErrorRate', severity: 'critical', comment: 'looking' },
    });

    // A silence through the API is made in Alertmanager too, and expired there with it.
    const silenced = await fetch(`${app.gatewayUrl}/alerts/${fp}/silence`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ duration_minutes: 30, created_by: 'oncall' }),
    });
    expect(silenced.status).toBe(200);
    const { silence } = (await silenced.json()) as { silence: { id: string } };
    type AmSilence = {
      id: string;
      status: { state: string };
      createdBy: string;
      matchers: { name: string; value: string }[];
    };
    const amSilences = async () =>
      (await (await fetch(`${alertmanager.url}/api/v2/silences`)).json()) as AmSilence[];
    const mirrored = await pollFor(
      async () => (await amSilences()).find((x) => x.status.state === 'active'),
      10_000,
      100,
    );
    expect(mirrored?.createdBy).toBe('oncall');
    expect(mirrored?.matchers).toContainEqual(
      expect.objectContaining({ name: 'alertname', value: 'HighErrorRate' }),
    );
    const del = await fetch(`${app.gatewayUrl}/alerts/silences/${silence.id}`, {
      method: 'DELETE',
    });
    expect(del.status).toBe(200);
    const expired = await pollFor(
      async () =>
        (await amSilences()).find((x) => x.id === mirrored?.id && x.status.state === 'expired'),
      10_000,
      100,
    );
    expect(expired).toBeDefined();
    expect(app.audit.recent().map((e) => e.type)).toEqual(
      expect.arrayContaining(['alerts.acknowledge', 'alerts.silence', 'alerts.silence_expire']),
    );
  });

  it('should resolve the alert in the process, in Alertmanager and at the webhook once requests succeed again', async () => {
    const firing = fired ?? (await fireHighErrorRate());
    expect(firing, alertmanager.logs()).toBeDefined();
    const fp = firing!.fingerprint;
    type AmAlert = { fingerprint: string; endsAt: string; status: { state: string } };
    const amAlert = async (): Promise<AmAlert | undefined> =>
      ((await (await fetch(`${alertmanager.url}/api/v2/alerts`)).json()) as AmAlert[]).find(
        (a) => a.fingerprint === fp,
      );
    // Active in Alertmanager first, so that its going away below means something.
    const active = await pollFor(
      async () => ((await amAlert())?.status.state === 'active' ? true : undefined),
      30_000,
      250,
    );
    expect(active, alertmanager.logs()).toBe(true);

    // No more failures. The ratio is errors over all requests of the last 2 minutes: successful
    // requests bring it under 10% long before the failures leave the window.
    const started = performance.now();
    const good = startTraffic(app.gatewayUrl, () => '/api/videos/1', 4);
    let resolved: AlertView | undefined;
    let answered: number;
    try {
      resolved = await pollFor(
        async () =>
          (await alertsWithStatus(app.gatewayUrl, 'resolved')).find((a) => a.fingerprint === fp),
        240_000,
        500,
      );
    } finally {
      answered = await good.stop();
    }
    const secondsToResolve = (performance.now() - started) / 1000;
    expect(resolved, alertmanager.logs()).toBeDefined();
    console.log(
      `HighErrorRate resolved in the process ${secondsToResolve.toFixed(1)} s after the failures stopped (${answered} successful requests)`,
    );
    expect(resolved).toMatchObject({ status: 'resolved', labels: firing!.labels });
    expect(Date.parse(resolved!.endsAt!)).toBeGreaterThanOrEqual(Date.parse(resolved!.startsAt));
    const stillFiring = await alertsWithStatus(app.gatewayUrl, 'firing');
    expect(stillFiring.map((a) => a.fingerprint)).not.toContain(fp);

    // The process posted it with endsAt in the past: Alertmanager no longer lists it as active.
    const notActive = await pollFor(
      async () => {
        const held = await amAlert();
        return held === undefined || held.status.state !== 'active' ? { held } : undefined;
      },
      30_000,
      250,
    );
    expect(notActive, alertmanager.logs()).toBeDefined();
    const secondsInAlertmanager = (performance.now() - started) / 1000;

    // send_resolved: the webhook gets the group resolved, with this alert in it.
    const message = await pollFor(
      () =>
        messages().find(
          (m) => m.status === 'resolved' && m.groupLabels.alertname === 'HighErrorRate',
        ),
      30_000,
      100,
    );
    expect(message, alertmanager.logs()).toBeDefined();
    const secondsToWebhook = (performance.now() - started) / 1000;
    expect(message).toMatchObject({
      version: '4',
      receiver: 'webhook',
      groupLabels: { alertname: 'HighErrorRate' },
    });
    const alert = message!.alerts.find((a) => a.fingerprint === fp);
    expect(alert?.status).toBe('resolved');
    expect(Date.parse(alert!.endsAt)).toBeLessThanOrEqual(Date.now());
    console.log(
      `HighErrorRate gone from Alertmanager's active alerts after ${secondsInAlertmanager.toFixed(1)} s, resolved message at the webhook after ${secondsToWebhook.toFixed(1)} s`,
    );
  }, 420_000);
});
