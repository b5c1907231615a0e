// The metrics of the receivers and of the Alertmanager hand-over, on the registry the caller gives.
import {
  FastCounter,
  FastGauge,
  FastHistogram,
  type RegistryLike,
  type VigilInstrument,
  codedError,
  getOrRegister,
  registryState,
} from '@vigil/core';
import { ALERTS_ERROR_CODES, PACKAGE } from '../errors';

/** Buckets of the notification duration, in seconds: 5 ms to a 10 s timeout and past it. */
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** Registers `candidate`, or reuses the same instrument a previous instance registered. */
export function instrument<T extends VigilInstrument>(
  registry: RegistryLike | false | undefined,
  candidate: T,
): T {
  if (registry === false || registry === undefined) return candidate;
  const state = registryState(registry, candidate);
  if (state === 'foreign' || state === 'different') {
    throw codedError(
      { pkg: PACKAGE },
      ALERTS_ERROR_CODES.METRIC_CONFLICT,
      `The registry already holds another metric named "${candidate.name}".`,
      'Remove it, or give @vigil/alerts a registry of its own.',
    );
  }
  return getOrRegister(registry, candidate);
}

/** The notifier's instruments. */
export interface NotifierMetrics {
  readonly notifications: FastCounter;
  readonly duration: FastHistogram;
  readonly queueLength: FastGauge;
}

/** The notifier's instruments on `registry` (unregistered ones when there is none). */
export function notifierMetrics(registry: RegistryLike | false | undefined): NotifierMetrics {
  return {
    notifications: instrument(
      registry,
      new FastCounter(
        'alerts_notifications_total',
        'Notifications by receiver and integration, by result: success, failure (given up on) or dropped (queue full or closed).',
        ['receiver', 'integration', 'result'],
        PACKAGE,
      ),
    ),
    duration: instrument(
      registry,
      new FastHistogram(
        'alerts_notification_duration_seconds',
        'Duration of one notification attempt, by receiver and integration.',
        ['receiver', 'integration'],
        PACKAGE,
        DURATION_BUCKETS,
      ),
    ),
    queueLength: instrument(
      registry,
      new FastGauge(
        'alerts_notification_queue_length',
        'Notifications waiting to be sent or retried, by receiver.',
        ['receiver'],
        PACKAGE,
        false,
      ),
    ),
  };
}

/** The Alertmanager client's instruments: Prometheus's prometheus_notifications_* with an alerts_ prefix. */
export interface AlertmanagerMetrics {
  readonly sent: FastCounter;
  readonly errors: FastCounter;
  readonly dropped: FastCounter;
  readonly queueLength: FastGauge;
  readonly latency: FastHistogram;
}

/** The Alertmanager client's instruments on `registry` (unregistered ones when there is none). */
export function alertmanagerMetrics(
  registry: RegistryLike | false | undefined,
): AlertmanagerMetrics {
  return {
    sent: instrument(
      registry,
      new FastCounter(
        'alerts_alertmanager_sent_total',
        'Alerts posted to an Alertmanager, failed posts included.',
        ['alertmanager'],
        PACKAGE,
      ),
    ),
    errors: instrument(
      registry,
      new FastCounter(
        'alerts_alertmanager_errors_total',
        'Alerts whose post to an Alertmanager failed.',
        ['alertmanager'],
        PACKAGE,
      ),
    ),
    dropped: instrument(
      registry,
      new FastCounter(
        'alerts_alertmanager_dropped_total',
        'Alerts dropped before reaching an Alertmanager: queue full, attempts exhausted or client closed.',
        ['alertmanager'],
        PACKAGE,
      ),
    ),
    queueLength: instrument(
      registry,
      new FastGauge(
        'alerts_alertmanager_queue_length',
        'Alerts waiting to be posted, by Alertmanager.',
        ['alertmanager'],
        PACKAGE,
        false,
      ),
    ),
    latency: instrument(
      registry,
      new FastHistogram(
        'alerts_alertmanager_latency_seconds',
        'Duration of one post to an Alertmanager.',
        ['alertmanager'],
        PACKAGE,
        DURATION_BUCKETS,
      ),
    ),
  };
}
