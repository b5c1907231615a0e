// Helpers of the alerting end-to-end suites: a webhook receiver collecting Alertmanager webhook v4
// messages, request traffic run until stopped, and reads of GET /alerts.
import type { AlertStatus, AlertView, WebhookMessage } from '@vigil/alerts';
import { type RunningServer, listen } from '@vigil/test-utils';

/** A webhook message and the time it arrived (performance.now()). */
export interface ReceivedMessage {
  readonly at: number;
  readonly message: WebhookMessage;
}

export interface WebhookReceiver {
  readonly server: RunningServer;
  /** Every JSON body posted, in arrival order. */
  readonly received: ReceivedMessage[];
  /** The messages of the group whose `alertname` group label is `alertname`. */
  group(alertname: string, status?: WebhookMessage['status']): ReceivedMessage[];
}

/** A node:http server on a loopback port that keeps every JSON body posted to it. */
export async function webhookReceiver(): Promise<WebhookReceiver> {
  const received: ReceivedMessage[] = [];
  const server = await listen((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      try {
        const message = JSON.parse(Buffer.concat(chunks).toString('utf8')) as WebhookMessage;
        received.push({ at: performance.now(), message });
      } catch {
        // Only the notifier under test posts here.
      }
      res.end();
    });
  });
  return {
    server,
    received,
    group: (alertname, status) =>
      received.filter(
        (r) =>
          r.message.groupLabels.alertname === alertname &&
          (status === undefined || r.message.status === status),
      ),
  };
}

export interface Traffic {
  /** Requests answered so far. */
  readonly answered: number;
  /** Stops sending and resolves with the number of requests answered. */
  stop(): Promise<number>;
}

/**
 * Sends GET requests to `baseUrl` + `pick(i)` from `concurrency` loops, each request after the
 * previous one of its loop is answered (and `pauseMs` later), until stopped.
 */
export function startTraffic(
  baseUrl: string,
  pick: (i: number) => string,
  concurrency: number,
  pauseMs = 0,
): Traffic {
  let stopped = false;
  let next = 0;
  let answered = 0;
  const loop = async (): Promise<void> => {
    while (!stopped) {
      try {
        const res = await fetch(baseUrl + pick(next++));
        await res.arrayBuffer();
        answered++;
      } catch {
        // A refused connection ends nothing: the assertions are on the alerts.
      }
      if (pauseMs > 0) await new Promise((resolve) => setTimeout(resolve, pauseMs));
    }
  };
  const loops = Array.from({ length: concurrency }, loop);
  return {
    get answered() {
      return answered;
    },
    async stop() {
      stopped = true;
      await Promise.all(loops);
      return answered;
    },
  };
}

/** GET /alerts?status=`status` of the service at `baseUrl`. */
export async function alertsWithStatus(baseUrl: string, status: AlertStatus): Promise<AlertView[]> {
  const res = await fetch(`${baseUrl}/alerts?status=${status}`);
  const body = (await res.json()) as { alerts: AlertView[] };
  return body.alerts;
}
