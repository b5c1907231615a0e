// End to end in local mode: no Alertmanager, Vigil's own dispatcher and notifier deliver. The
// reference app's demo rules and alertmanager.yml (gatewayAlerts, gatewayAlertmanagerConfig) run in
// createAlerting() over an Express app measured by @vigil/metrics, with the `page` receiver given a
// webhook: a local server collecting the webhook v4 messages. The reference app itself has no
// option for receiver configs, so the app here is its smallest stand-in: /api/fail and /api/videos/:id.
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Alerting, type AlertView, createAlerting } from '@vigil/alerts';
import { expressMetrics } from '@vigil/metrics';
import { type RunningServer, listen, pollFor } from '@vigil/test-utils';
import {
  GATEWAY_JOB,
  gatewayAlertmanagerConfig,
  gatewayAlerts,
  gatewayEvaluationInterval,
} from '../examples/reference-app/src/alerts';
import { createGatewayRegistry } from '../examples/reference-app/src/index';
import {
  type WebhookReceiver,
  alertsWithStatus,
  startTraffic,
  webhookReceiver,
} from './support/alerts';

/**
 * The demo's route tree with short timers, so that a repeat is due every few seconds: an
 * acknowledgement that did not pause notifications would show within the pause checked below.
 */
const TIMING = { group_wait: '1s', group_interval: '2s', repeat_interval: '4s' } as const;
const REPEAT_MS = 4_000;

describe('alerts end to end in local mode (Vigil delivers)', () => {
  let webhook: WebhookReceiver;
  let alerting: Alerting;
  let server: RunningServer;
  const savedAlertmanagerUrl = process.env.ALERTMANAGER_URL;

  beforeAll(async () => {
    // Local mode is the absence of an Alertmanager URL, the environment's included.
    delete process.env.ALERTMANAGER_URL;
    webhook = await webhookReceiver();
    const config = gatewayAlertmanagerConfig(true);
    const registry = createGatewayRegistry();
    alerting = createAlerting({
      rules: gatewayAlerts(true),
      service: 'gateway',
      registry,
      job: GATEWAY_JOB,
      interval: gatewayEvaluationInterval(true),
      alertmanager: { ...config, route: { ...(config.route as object), ...TIMING } },
      // Critical alerts route to `page`; here it posts to the local webhook.
      receivers: [
        {
          name: 'page',
          webhook_configs: [{ url: `${webhook.server.url}/hook`, send_resolved: true }],
        },
      ],
    });
    const app = express();
    app.use(expressMetrics({ registry }));
    app.use(alerting.api.express());
    app.get('/api/fail', () => {
      throw new Error('this endpoint always fails (it drives the error-rate alert)');
    });
    app.get('/api/videos/:id', (req, res) => {
      res.json({ id: req.params.id, title: 'video' });
    });
    // Express's default handler answers the throw with a 500, without a stack trace in the output.
    app.use(
      (
        _err: unknown,
        _req: express.Request,
        res: express.Response,
        _next: express.NextFunction,
      ) => {
        res.status(500).json({ error: 'internal error' });
      },
    );
    server = await listen(app);
    alerting.start();
  });

  afterAll(async () => {
    await alerting?.stop();
    await server?.close();
    await webhook?.server.close();
    if (savedAlertmanagerUrl !== undefined) process.env.ALERTMANAGER_URL = savedAlertmanagerUrl;
  });

  it('should deliver the firing group to the webhook, pause it while acknowledged, and deliver its resolution', async () => {
    expect(alerting.mode).toBe('local');
    const started = performance.now();
    const seconds = () => ((performance.now() - started) / 1000).toFixed(1);

    // One request in two fails, well above the 10% threshold; it goes on until the pause is checked.
    const failing = startTraffic(
      server.url,
      (i) => (i % 2 === 0 ? '/api/fail' : '/api/videos/1'),
      1,
      100,
    );
    let firing: AlertView | undefined;
    let groupKey: string | undefined;
    let acknowledgedAt = 0;
    try {
      firing = await pollFor(
        async () =>
          (await alertsWithStatus(server.url, 'firing')).find(
            (a) => a.labels.alertname === 'HighErrorRate',
          ),
        90_000,
        500,
      );
      expect(firing).toBeDefined();
      console.log(`HighErrorRate firing in the process after ${seconds()} s`);
      const fp = firing!.fingerprint;
      expect(firing).toMatchObject({
        status: 'firing',
        labels: { alertname: 'HighErrorRate', severity: 'critical' },
        receivers: ['page'],
      });

      // The webhook gets the group, the alert under the fingerprint GET /alerts shows.
      const first = await pollFor(() => webhook.group('HighErrorRate', 'firing')[0], 30_000, 100);
      expect(first).toBeDefined();
      console.log(`firing message at the webhook after ${seconds()} s`);
      expect(first!.message).toMatchObject({
        version: '4',
        status: 'firing',
        receiver: 'page',
        groupLabels: { alertname: 'HighErrorRate' },
        commonLabels: { alertname: 'HighErrorRate', severity: 'critical' },
        truncatedAlerts: 0,
      });
      groupKey = first!.message.groupKey;
      expect(groupKey).toContain('alertname="HighErrorRate"');
      expect(first!.message.alerts).toEqual([
        expect.objectContaining({ fingerprint: fp, status: 'firing', labels: firing!.labels }),
      ]);

      // Unacknowledged, the group is notified again every repeat_interval.
      const repeated = await pollFor(
        () => webhook.group('HighErrorRate', 'firing')[1],
        REPEAT_MS * 3,
        100,
      );
      expect(repeated, 'a repeat of the firing group').toBeDefined();

      const ack = await fetch(
        `${server.url}/alerts/${fp}/acknowledge?acknowledged_by=oncall&comment=looking`,
        { method: 'POST' },
      );
      expect(ack.status).toBe(200);
      acknowledgedAt = performance.now();
      const { alert } = (await ack.json()) as { alert: AlertView };
      expect(alert).toMatchObject({ status: 'acknowledged', acknowledgement: { by: 'oncall' } });

      // Acknowledged: no firing message for three repeat intervals. A notification the dispatcher
      // handed over just before the acknowledgement may still be on its way for a moment.
      const inFlight = 500;
      const afterAck = () =>
        webhook.group('HighErrorRate', 'firing').filter((r) => r.at > acknowledgedAt + inFlight);
      const repeatWhileAcknowledged = await pollFor(
        () => afterAck()[0],
        REPEAT_MS * 3 + inFlight,
        100,
      );
      expect(repeatWhileAcknowledged, 'a firing message after the acknowledgement').toBeUndefined();
      const stillAcknowledged = await alertsWithStatus(server.url, 'acknowledged');
      expect(stillAcknowledged.map((a) => a.fingerprint)).toContain(fp);
    } finally {
      await failing.stop();
    }
    const fp = firing!.fingerprint;
    console.log(
      `no firing message for ${((performance.now() - acknowledgedAt) / 1000).toFixed(1)} s after the acknowledgement`,
    );

    // Recovery: successful requests bring the 2m error ratio under 10%.
    const recovering = performance.now();
    const good = startTraffic(server.url, () => '/api/videos/1', 4);
    let resolved: AlertView | undefined;
    let answered: number;
    try {
      resolved = await pollFor(
        async () =>
          (await alertsWithStatus(server.url, 'resolved')).find((a) => a.fingerprint === fp),
        240_000,
        500,
      );
    } finally {
      answered = await good.stop();
    }
    expect(resolved).toBeDefined();
    const secondsToResolve = (performance.now() - recovering) / 1000;
    console.log(
      `HighErrorRate resolved in the process ${secondsToResolve.toFixed(1)} s after the failures stopped (${answered} successful requests)`,
    );
    expect(resolved).toMatchObject({ status: 'resolved', labels: firing!.labels });

    // The resolution is notified even though the alert was acknowledged (send_resolved: true).
    const resolution = await pollFor(
      () => webhook.group('HighErrorRate', 'resolved')[0],
      30_000,
      100,
    );
    expect(resolution).toBeDefined();
    console.log(
      `resolved message at the webhook ${((performance.now() - recovering) / 1000).toFixed(1)} s after the failures stopped`,
    );
    expect(resolution!.message).toMatchObject({
      version: '4',
      status: 'resolved',
      receiver: 'page',
      groupKey,
    });
    expect(resolution!.message.alerts).toEqual([
      expect.objectContaining({ fingerprint: fp, status: 'resolved' }),
    ]);
    expect(Date.parse(resolution!.message.alerts[0]!.endsAt)).toBeLessThanOrEqual(Date.now());
  }, 420_000);
});
