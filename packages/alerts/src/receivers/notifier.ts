// createNotifier(): a bounded delivery queue per receiver in front of its integrations. Deliveries
// never block or throw; attempts are timed out, retried with backoff and counted.
import {
  type MinimalLogger,
  createProblemReporter,
  hasMethod,
  integerOption,
  loggerOption,
  optionError,
  optionNames,
  readOptions,
  registryOption,
} from '@vigil/core';
import { context } from '../errors';
import { type Clock, type Delivery, type WebhookMessage, systemClock } from '../model';
import { Sleeper, attemptSignal, backoffMs } from './backoff';
import {
  type IntegrationKind,
  type ResolvedIntegration,
  type ResolvedReceiver,
  resolveReceivers,
} from './config';
import { sendEmail } from './email';
import { type Attempt, postJson, redactSecrets } from './http';
import { notifierMetrics } from './metrics';
import { pagerDutyEvent } from './pagerduty';
import { slackPayload } from './slack';
import { withoutResolved } from './templates';
import type { Notifier, NotifierOptions, NotifierQueueOptions } from './types';
import { webhookPayload } from './webhook';

/** Defaults of the delivery queue. */
export const NOTIFIER_DEFAULTS = Object.freeze({
  maxLength: 1000,
  maxAttempts: 5,
  timeoutMs: 10_000,
  concurrency: 4,
});

const ctx = context('createNotifier');
const KNOWN = optionNames<NotifierOptions>({
  receivers: true,
  registry: true,
  clock: true,
  logger: true,
  queue: true,
});
const QUEUE_KNOWN = optionNames<NotifierQueueOptions>({
  maxLength: true,
  maxAttempts: true,
  timeoutMs: true,
  concurrency: true,
});

type Send = (signal: AbortSignal) => Promise<Attempt>;

/**
 * A POST of the JSON `build()` returns, built at the first attempt and kept for the next ones: most
 * notifications queued for a receiver that is down are dropped or replaced before they are sent, so
 * deliver() does not pay for their bodies.
 */
function lazyPost(url: string, build: () => unknown): Send {
  let body: string | undefined;
  return async (signal) => {
    if (body === undefined) {
      try {
        body = JSON.stringify(build());
      } catch (e) {
        const reason = e instanceof Error ? e.name : 'error';
        return { ok: false, retry: false, reason: `message cannot be rendered (${reason})` };
      }
    }
    return postJson(url, body, signal);
  };
}

/**
 * What an integration does with a delivery, decided when it is queued: the send of its payload, or
 * undefined when it has nothing to send (resolved alerts without send_resolved, an acknowledgement
 * the integration has no notion of).
 */
function prepare(it: ResolvedIntegration, d: Delivery, timeoutMs: number): Send | undefined {
  if (d.kind === 'acknowledge') {
    if (it.kind !== 'pagerduty') return undefined;
    return lazyPost(it.url, () => pagerDutyEvent(d, d.message, it));
  }
  const m: WebhookMessage | undefined = it.sendResolved ? d.message : withoutResolved(d.message);
  if (m === undefined) return undefined;
  switch (it.kind) {
    case 'webhook':
      return lazyPost(it.url, () => webhookPayload(m, it));
    case 'slack':
      return lazyPost(it.url, () => slackPayload(m, it));
    case 'pagerduty':
      return lazyPost(it.url, () => pagerDutyEvent(d, m, it));
    case 'email':
      return (signal) => sendEmail(it, m, signal, timeoutMs);
  }
}

interface Job {
  /** Integration and group: one job per group is in flight at a time, so a group's order is kept. */
  readonly group: string;
  /** Group and delivery kind: a newer job of the same key replaces the one waiting. */
  readonly key: string;
  readonly kind: IntegrationKind;
  send: Send;
}

interface Limits {
  readonly maxLength: number;
  readonly maxAttempts: number;
  readonly timeoutMs: number;
  readonly concurrency: number;
}

function limitsOf(value: unknown): Limits {
  const q = readOptions<NotifierQueueOptions>(ctx, value, 1, QUEUE_KNOWN);
  return {
    maxLength: integerOption(
      ctx,
      'queue.maxLength',
      q.maxLength,
      NOTIFIER_DEFAULTS.maxLength,
      1,
      1_000_000,
    ),
    maxAttempts: integerOption(
      ctx,
      'queue.maxAttempts',
      q.maxAttempts,
      NOTIFIER_DEFAULTS.maxAttempts,
      1,
      100,
    ),
    timeoutMs: integerOption(
      ctx,
      'queue.timeoutMs',
      q.timeoutMs,
      NOTIFIER_DEFAULTS.timeoutMs,
      1,
      600_000,
    ),
    concurrency: integerOption(
      ctx,
      'queue.concurrency',
      q.concurrency,
      NOTIFIER_DEFAULTS.concurrency,
      1,
      1000,
    ),
  };
}

/** The clock option: anything with now() and setTimer(). */
export function clockOption(factory: string, value: unknown): Clock {
  if (value === undefined) return systemClock;
  if (!hasMethod(value, 'now') || !hasMethod(value, 'setTimer')) {
    throw optionError(
      context(factory),
      'INVALID_OPTION',
      'clock',
      'a Clock with now() and setTimer() (systemClock, ManualClock)',
      value,
    );
  }
  return value as Clock;
}

/**
 * Creates the notifier of `receivers` (Alertmanager's receiver configuration). The configuration and
 * its secrets are checked here, with coded errors; afterwards nothing it does throws.
 */
export function createNotifier(options: NotifierOptions): Notifier {
  const o = readOptions<NotifierOptions>(ctx, options, arguments.length, KNOWN);
  const receivers = resolveReceivers(o.receivers);
  const limits = limitsOf(o.queue);
  const clock = clockOption('createNotifier', o.clock);
  const logger: MinimalLogger | undefined = loggerOption(ctx, o.logger);
  const registry = registryOption(ctx, o.registry, { allowFalse: true, code: 'INVALID_OPTION' });
  const metrics = notifierMetrics(registry);
  const reporter = createProblemReporter('@vigil/alerts receivers', logger);
  const sleeper = new Sleeper(clock);
  const closing = new AbortController();
  let closed = false;
  const idleWaiters: (() => void)[] = [];
  const queues = new Map<string, ReceiverQueue>();

  const allIdle = () => {
    for (const q of queues.values()) if (!q.idle) return false;
    return true;
  };
  const checkIdle = () => {
    if (idleWaiters.length === 0 || !allIdle()) return;
    for (const wake of idleWaiters.splice(0)) wake();
  };

  class ReceiverQueue {
    readonly #receiver: ResolvedReceiver;
    readonly #pending: Job[] = [];
    readonly #waiting = new Map<string, Job>();
    readonly #inFlight = new Set<string>();
    /** Backoff waits of jobs in flight, by job key: a newer job of the key ends the wait. */
    readonly #sleeps = new Map<string, () => void>();
    #active = 0;
    #backingOff = 0;
    readonly #length;

    constructor(receiver: ResolvedReceiver) {
      this.#receiver = receiver;
      this.#length = metrics.queueLength.child(receiver.name, { receiver: receiver.name });
      this.#length.value = 0;
    }

    get idle(): boolean {
      return this.#pending.length === 0 && this.#active === 0;
    }

    #count(kind: IntegrationKind, result: 'success' | 'failure' | 'dropped', n = 1): void {
      const name = this.#receiver.name;
      metrics.notifications.child(`${name}\u0000${kind}\u0000${result}`, {
        receiver: name,
        integration: kind,
        result,
      }).value += n;
    }

    #gauge(): void {
      this.#length.value = this.#pending.length + this.#backingOff;
    }

    deliver(d: Delivery): void {
      this.#receiver.integrations.forEach((it, i) => {
        const send = prepare(it, d, limits.timeoutMs);
        if (send !== undefined) {
          const group = `${i}\u0000${d.message.groupKey}`;
          this.#enqueue({ group, key: `${group}\u0000${d.kind}`, kind: it.kind, send });
        }
      });
      this.#gauge();
      this.#pump();
    }

    #enqueue(job: Job): void {
      // A newer state of a group replaces the one still waiting: only the latest is worth sending.
      const waiting = this.#waiting.get(job.key);
      if (waiting !== undefined) {
        waiting.send = job.send;
        return;
      }
      if (this.#pending.length >= limits.maxLength) {
        const oldest = this.#pending.shift() as Job;
        this.#waiting.delete(oldest.key);
        this.#count(oldest.kind, 'dropped');
      }
      this.#pending.push(job);
      this.#waiting.set(job.key, job);
      // The same notification waiting for its next attempt is now out of date: stop waiting for it.
      this.#sleeps.get(job.key)?.();
    }

    #pump(): void {
      while (this.#active < limits.concurrency && !closed) {
        const i = this.#pending.findIndex((j) => !this.#inFlight.has(j.group));
        if (i === -1) break;
        const job = this.#pending.splice(i, 1)[0] as Job;
        this.#waiting.delete(job.key);
        this.#inFlight.add(job.group);
        this.#active++;
        this.#gauge();
        this.#run(job)
          .catch((e: unknown) => reporter.report(`${this.#receiver.name}: internal error`, e))
          .finally(() => {
            this.#active--;
            this.#inFlight.delete(job.group);
            this.#gauge();
            this.#pump();
            checkIdle();
          });
      }
    }

    async #run(job: Job): Promise<void> {
      const name = this.#receiver.name;
      const duration = metrics.duration.child(`${name}\u0000${job.kind}`, {
        receiver: name,
        integration: job.kind,
      });
      for (let attempt = 1; ; attempt++) {
        const { signal, done } = attemptSignal(limits.timeoutMs, closing.signal);
        const started = performance.now();
        let result: Attempt;
        try {
          result = await job.send(signal);
        } catch (e) {
          result = { ok: false, retry: true, reason: e instanceof Error ? e.name : 'error' };
        } finally {
          done();
        }
        metrics.duration.observe(duration, (performance.now() - started) / 1000);
        if (result.ok) {
          this.#count(job.kind, 'success');
          return;
        }
        const superseded = this.#waiting.has(job.key);
        const last = closed || !result.retry || attempt >= limits.maxAttempts || superseded;
        if (last) {
          this.#count(job.kind, 'failure');
          const head = result.reason.split(':')[0] as string;
          const why = closed
            ? 'the notifier closed'
            : !result.retry
              ? 'not retried'
              : superseded
                ? 'a newer notification of the group is queued'
                : `gave up after ${attempt} attempts`;
          reporter.report(
            redactSecrets(
              `receiver "${name}" (${job.kind}) failed with ${head}`,
              this.#receiver.secrets,
            ),
            redactSecrets(`notification failed, ${why}: ${result.reason}`, this.#receiver.secrets),
          );
          return;
        }
        this.#backingOff++;
        this.#gauge();
        const sleep = sleeper.start(backoffMs(attempt, result.retryAfterMs));
        this.#sleeps.set(job.key, sleep.cancel);
        const woke = await sleep.woke;
        this.#sleeps.delete(job.key);
        this.#backingOff--;
        this.#gauge();
        if (!woke || closed) {
          // Closed, or a newer notification of the group replaces this one.
          this.#count(job.kind, 'failure');
          return;
        }
      }
    }

    /** Drops what waits (counted) at close. */
    drop(): void {
      for (const job of this.#pending.splice(0)) this.#count(job.kind, 'dropped');
      this.#waiting.clear();
      this.#gauge();
    }
  }

  for (const r of receivers) queues.set(r.name, new ReceiverQueue(r));
  const names = Object.freeze(receivers.map((r) => r.name));

  return {
    deliver(d) {
      try {
        if (closed) return;
        const q = queues.get(d.receiver);
        if (q === undefined) {
          reporter.report(
            'delivery to an unknown receiver',
            `no receiver is named ${JSON.stringify(String(d.receiver)).slice(0, 100)}; known: ${names.join(', ')}`,
          );
          return;
        }
        q.deliver(d);
      } catch (e) {
        reporter.report('delivery that cannot be read', e instanceof Error ? e.message : e);
      }
    },
    flush() {
      if (allIdle()) return Promise.resolve();
      return new Promise<void>((resolve) => idleWaiters.push(resolve));
    },
    async close() {
      if (!closed) {
        closed = true;
        for (const q of queues.values()) q.drop();
        closing.abort(new DOMException('The notifier closed', 'AbortError'));
        sleeper.cancelAll();
      }
      await this.flush();
    },
    receiverNames: () => names,
  };
}
