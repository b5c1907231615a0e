// Helpers of the receivers tests: webhook messages, and HTTP servers that record what they are sent.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { listen, type RunningServer } from '@vigil/test-utils';
import { type WebhookAlert, type WebhookMessage, ZERO_TIME, fingerprint } from '../src/model';

/** One alert of the HighErrorRate group. */
export function alert(instance: string, status: 'firing' | 'resolved' = 'firing'): WebhookAlert {
  const labels = { alertname: 'HighErrorRate', severity: 'critical', job: 'api', instance };
  return {
    status,
    labels,
    annotations: { summary: 'Errors above 5%' },
    startsAt: '2026-01-01T00:00:00Z',
    endsAt: status === 'firing' ? ZERO_TIME : '2026-01-01T00:10:00Z',
    generatorURL: 'http://prometheus.example/graph?g0.expr=x',
    fingerprint: fingerprint(labels),
  };
}

/** A message of the HighErrorRate group for `receiver`, with `alerts`. */
export function message(
  alerts: readonly WebhookAlert[] = [alert('a'), alert('b')],
  receiver = 'team',
  groupKey = '{}:{alertname="HighErrorRate"}',
): WebhookMessage {
  const status = alerts.some((a) => a.status === 'firing') ? 'firing' : 'resolved';
  return {
    version: '4',
    groupKey,
    truncatedAlerts: 0,
    status,
    receiver,
    groupLabels: { alertname: 'HighErrorRate' },
    commonLabels: { alertname: 'HighErrorRate', severity: 'critical', job: 'api' },
    commonAnnotations: { summary: 'Errors above 5%' },
    externalURL: 'http://vigil.example',
    alerts,
  };
}

/** A request a recording server received. */
export interface Received {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
  json<T = unknown>(): T;
}

/** A server that records each request and answers with `answer()` (default 200 `ok`). */
export interface Recorder extends RunningServer {
  readonly received: Received[];
  answer: (req: Received, res: ServerResponse) => void;
}

export async function recorder(): Promise<Recorder> {
  const received: Received[] = [];
  const self: { answer: Recorder['answer'] } = {
    answer: (_req, res) => {
      res.end('ok');
    },
  };
  const server = await listen((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const r: Received = {
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body,
        json: <T>() => JSON.parse(body) as T,
      };
      received.push(r);
      self.answer(r, res);
    });
  });
  return {
    url: server.url,
    port: server.port,
    close: () => server.close(),
    received,
    get answer() {
      return self.answer;
    },
    set answer(fn: Recorder['answer']) {
      self.answer = fn;
    },
  };
}
