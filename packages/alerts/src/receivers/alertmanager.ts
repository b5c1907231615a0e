// createAlertmanagerClient(): hands alerts over to Alertmanagers as Prometheus's notifier does —
// POST /api/v2/alerts in batches of 64, a queue of 10,000 alerts dropping the oldest, 10 s timeout,
// every Alertmanager given every alert — with a queue per Alertmanager so one that is down does not
// hold back the others, and a few retries with backoff.
import {
  codedError,
  createProblemReporter,
  integerOption,
  loggerOption,
  optionNames,
  readOptions,
  registryOption,
} from '@vigil/core';
import { ALERTS_ERROR_CODES, PACKAGE, context } from '../errors';
import type { PostableAlert } from '../model';
import { Sleeper, attemptSignal, backoffMs } from './backoff';
import { type Attempt, postJson, redactSecrets } from './http';
import { alertmanagerMetrics } from './metrics';
import { clockOption } from './notifier';
import type { AlertmanagerClient, AlertmanagerClientOptions } from './types';

/** Prometheus's maxBatchSize. */
export const ALERTMANAGER_BATCH_SIZE = 64;

/** Defaults of the client, Prometheus's own where it has one. */
export const ALERTMANAGER_DEFAULTS = Object.freeze({
  timeoutMs: 10_000,
  maxQueue: 10_000,
  maxAttempts: 3,
});

const ctx = context('createAlertmanagerClient');
const KNOWN = optionNames<AlertmanagerClientOptions>({
  url: true,
  registry: true,
  clock: true,
  logger: true,
  timeoutMs: true,
  maxQueue: true,
  maxAttempts: true,
});

interface Target {
  /** `<url>/api/v2/alerts`, without credentials. */
  readonly endpoint: string;
  /** The URL as labels and logs show it: no credentials, query or fragment. */
  readonly label: string;
  readonly headers: Readonly<Record<string, string>>;
  /** Credentials of the URL, redacted from anything logged. */
  readonly secrets: readonly string[];
}

/** Parses the Alertmanager URLs; credentials in a URL become a Basic authorization header. */
function targetsOf(value: unknown): Target[] {
  const raw = value ?? process.env.ALERTMANAGER_URL;
  const list =
    typeof raw === 'string'
      ? raw.split(',')
      : Array.isArray(raw) && raw.every((u) => typeof u === 'string')
        ? raw
        : undefined;
  const urls = list?.map((u) => u.trim()).filter((u) => u !== '') ?? [];
  if (urls.length === 0) {
    throw codedError(
      { pkg: PACKAGE },
      ALERTS_ERROR_CODES.RECEIVER_INVALID_URL,
      `createAlertmanagerClient(): option "url" must be an Alertmanager URL, a comma-separated list or an array of them, received ${value === undefined ? 'nothing (and ALERTMANAGER_URL is not set)' : Array.isArray(value) ? 'an array without URLs' : `a ${typeof value}`}.`,
      'Pass url: "http://alertmanager:9093", or set ALERTMANAGER_URL.',
    );
  }
  return urls.map((u, i) => {
    let parsed: URL | undefined;
    try {
      parsed = new URL(u);
    } catch {
      parsed = undefined;
    }
    if (parsed === undefined || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) {
      throw codedError(
        { pkg: PACKAGE },
        ALERTS_ERROR_CODES.RECEIVER_INVALID_URL,
        `createAlertmanagerClient(): Alertmanager URL number ${i + 1} must be an absolute http:// or https:// URL, received ${parsed === undefined ? 'a value that is not a URL' : `a URL with the scheme ${parsed.protocol}`}.`,
        'Check the URL (it may hold credentials, so it is not shown).',
      );
    }
    const headers: Record<string, string> = {};
    const secrets: string[] = [];
    if (parsed.username !== '' || parsed.password !== '') {
      const user = decodeURIComponent(parsed.username);
      const pass = decodeURIComponent(parsed.password);
      const token = Buffer.from(`${user}:${pass}`).toString('base64');
      headers.authorization = `Basic ${token}`;
      secrets.push(token, ...(pass.length >= 4 ? [pass, parsed.password] : []));
      parsed.username = '';
      parsed.password = '';
    }
    parsed.hash = '';
    const path = parsed.pathname.replace(/\/+$/, '');
    const endpoint = `${parsed.protocol}//${parsed.host}${path}/api/v2/alerts${parsed.search}`;
    return { endpoint, label: `${parsed.protocol}//${parsed.host}${path}`, headers, secrets };
  });
}

function isPostable(a: unknown): a is PostableAlert {
  if (a === null || typeof a !== 'object') return false;
  const labels = (a as { labels?: unknown }).labels;
  return labels !== null && typeof labels === 'object' && !Array.isArray(labels);
}

/**
 * Creates the hand-over client. Re-posting firing alerts (so Alertmanager does not resolve them on
 * its own) is the caller's: send them again, with an `endsAt` in the future, at every resend.
 */
export function createAlertmanagerClient(options: AlertmanagerClientOptions): AlertmanagerClient {
  const o = readOptions<AlertmanagerClientOptions>(ctx, options, arguments.length, KNOWN);
  const targets = targetsOf(o.url);
  const timeoutMs = integerOption(
    ctx,
    'timeoutMs',
    o.timeoutMs,
    ALERTMANAGER_DEFAULTS.timeoutMs,
    1,
    600_000,
  );
  const maxQueue = integerOption(
    ctx,
    'maxQueue',
    o.maxQueue,
    ALERTMANAGER_DEFAULTS.maxQueue,
    1,
    10_000_000,
  );
  const maxAttempts = integerOption(
    ctx,
    'maxAttempts',
    o.maxAttempts,
    ALERTMANAGER_DEFAULTS.maxAttempts,
    1,
    100,
  );
  const clock = clockOption('createAlertmanagerClient', o.clock);
  const logger = loggerOption(ctx, o.logger);
  const registry = registryOption(ctx, o.registry, { allowFalse: true, code: 'INVALID_OPTION' });
  const metrics = alertmanagerMetrics(registry);
  const reporter = createProblemReporter('@vigil/alerts alertmanager', logger);
  const sleeper = new Sleeper(clock);
  const closing = new AbortController();
  let closed = false;
  const idleWaiters: (() => void)[] = [];

  const queues = targets.map((t) => {
    const labels = { alertmanager: t.label };
    const q = {
      target: t,
      alerts: [] as PostableAlert[],
      sending: false,
      sent: metrics.sent.child(t.label, labels),
      errors: metrics.errors.child(t.label, labels),
      dropped: metrics.dropped.child(t.label, labels),
      length: metrics.queueLength.child(t.label, labels),
      latency: metrics.latency.child(t.label, labels),
    };
    q.length.value = 0;
    return q;
  });
  type Queue = (typeof queues)[number];

  const idle = () => queues.every((q) => !q.sending && q.alerts.length === 0);
  const checkIdle = () => {
    if (idleWaiters.length > 0 && idle()) for (const wake of idleWaiters.splice(0)) wake();
  };

  async function post(q: Queue, body: string, count: number): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const { signal, done } = attemptSignal(timeoutMs, closing.signal);
      const started = performance.now();
      let result: Attempt;
      try {
        result = await postJson(q.target.endpoint, body, signal, q.target.headers);
      } finally {
        done();
      }
      metrics.latency.observe(q.latency, (performance.now() - started) / 1000);
      q.sent.value += count;
      if (result.ok) return;
      q.errors.value += count;
      if (closed || !result.retry || attempt >= maxAttempts) {
        reporter.report(
          `Alertmanager ${q.target.label} failed with ${result.reason.split(':')[0] as string}`,
          redactSecrets(
            `posting ${count} alerts failed after ${attempt} of ${maxAttempts} attempts: ${result.reason}`,
            q.target.secrets,
          ),
        );
        return;
      }
      if (!(await sleeper.sleep(backoffMs(attempt, result.retryAfterMs)))) return;
    }
  }

  async function drain(q: Queue): Promise<void> {
    while (q.alerts.length > 0 && !closed) {
      const batch = q.alerts.splice(0, ALERTMANAGER_BATCH_SIZE);
      q.length.value = q.alerts.length;
      await post(q, JSON.stringify(batch), batch.length);
    }
  }

  function kick(q: Queue): void {
    if (q.sending || closed) return;
    q.sending = true;
    drain(q)
      .catch((e: unknown) => reporter.report('internal error', e))
      .finally(() => {
        q.sending = false;
        if (q.alerts.length > 0 && !closed) kick(q);
        else checkIdle();
      });
  }

  return {
    send(alerts) {
      try {
        if (closed || !Array.isArray(alerts)) return;
        const valid = (alerts as readonly unknown[]).filter(isPostable);
        if (valid.length < alerts.length) {
          reporter.report(
            'alerts without labels',
            `${alerts.length - valid.length} alerts left out`,
          );
        }
        for (const q of queues) {
          q.alerts.push(...valid.slice(-maxQueue));
          const excess = q.alerts.length - maxQueue;
          if (excess > 0) {
            q.alerts.splice(0, excess);
            q.dropped.value += excess;
          }
          if (valid.length > maxQueue) q.dropped.value += valid.length - maxQueue;
          q.length.value = q.alerts.length;
          kick(q);
        }
      } catch (e) {
        reporter.report('alerts that cannot be read', e instanceof Error ? e.message : e);
      }
    },
    flush() {
      if (idle()) return Promise.resolve();
      return new Promise<void>((resolve) => idleWaiters.push(resolve));
    },
    async close() {
      if (!closed) {
        closed = true;
        for (const q of queues) {
          q.dropped.value += q.alerts.length;
          q.alerts.length = 0;
          q.length.value = 0;
        }
        closing.abort(new DOMException('The client closed', 'AbortError'));
        sleeper.cancelAll();
      }
      await this.flush();
    },
  };
}
