// The rules engine's own metrics, registered through @vigil/core's get-or-create so two engines (or a
// hot reload) on one registry share them.
import {
  FastCounter,
  FastGauge,
  FastHistogram,
  getOrRegister,
  type RegistryLike,
} from '@vigil/core';
import { PACKAGE } from '../errors';

/** Metric names of the rules engine (documented in the README, "Embedded evaluator"). */
export const RULE_ENGINE_METRICS = {
  firing: 'alerts_firing',
  evaluationDuration: 'alerts_rule_group_evaluation_duration_seconds',
  evaluationFailures: 'alerts_rule_evaluation_failures_total',
  lastEvaluation: 'alerts_rule_group_last_evaluation_timestamp_seconds',
  notifyFailures: 'alerts_notify_failures_total',
  storageSeries: 'alerts_rule_storage_series',
  storageSamples: 'alerts_rule_storage_samples',
  storageBytes: 'alerts_rule_storage_bytes',
} as const;

const DURATION_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];

/** The instruments, resolved once per engine. */
export interface RuleEngineMetrics {
  setFiring(counts: ReadonlyMap<string, { alertname: string; severity: string; n: number }>): void;
  observeGroup(group: string, seconds: number, evaluatedAtMs: number): void;
  ruleFailed(group: string, rule: string): void;
  notifyFailed(): void;
  storage(series: number, samples: number, bytes: number): void;
}

/** Registers (or reuses) the engine's metrics on `registry`; `undefined` records nothing. */
export function ruleEngineMetrics(registry: RegistryLike | undefined): RuleEngineMetrics {
  if (registry === undefined) {
    return {
      setFiring: () => undefined,
      observeGroup: () => undefined,
      ruleFailed: () => undefined,
      notifyFailed: () => undefined,
      storage: () => undefined,
    };
  }
  const M = RULE_ENGINE_METRICS;
  const firing = getOrRegister(
    registry,
    new FastGauge(
      M.firing,
      'Alerts firing in the embedded evaluator.',
      ['alertname', 'severity'],
      PACKAGE,
    ),
  );
  const duration = getOrRegister(
    registry,
    new FastHistogram(
      M.evaluationDuration,
      'Time one evaluation of a rule group took, scrape of the registry included.',
      ['rule_group'],
      PACKAGE,
      DURATION_BUCKETS,
    ),
  );
  const failures = getOrRegister(
    registry,
    new FastCounter(
      M.evaluationFailures,
      'Rule evaluations that failed (the rule is unhealthy until one succeeds).',
      ['rule_group', 'rule'],
      PACKAGE,
    ),
  );
  const last = getOrRegister(
    registry,
    new FastGauge(
      M.lastEvaluation,
      'Evaluation time of the last evaluation of a rule group, seconds since the epoch.',
      ['rule_group'],
      PACKAGE,
    ),
  );
  const notifyFailures = getOrRegister(
    registry,
    new FastCounter(M.notifyFailures, 'Calls of the notify hook that threw.', [], PACKAGE),
  );
  const series = getOrRegister(
    registry,
    new FastGauge(M.storageSeries, 'Series the embedded evaluator holds.', [], PACKAGE),
  );
  const samples = getOrRegister(
    registry,
    new FastGauge(M.storageSamples, 'Samples the embedded evaluator holds.', [], PACKAGE),
  );
  const bytes = getOrRegister(
    registry,
    new FastGauge(
      M.storageBytes,
      'Estimated bytes of the embedded evaluator storage.',
      [],
      PACKAGE,
    ),
  );
  const firingSeen = new Set<string>();
  return {
    setFiring(counts) {
      // Series of alerts no longer firing go to 0 rather than away, so rate()/changes() see the drop.
      for (const key of firingSeen) if (!counts.has(key)) firing.child(key, {}).value = 0;
      for (const [key, c] of counts) {
        firing.child(key, { alertname: c.alertname, severity: c.severity }).value = c.n;
        firingSeen.add(key);
      }
    },
    observeGroup(group, seconds, at) {
      duration.observe(duration.child(group, { rule_group: group }), seconds);
      last.child(group, { rule_group: group }).value = at / 1000;
    },
    ruleFailed(group, rule) {
      failures.child(`${group}\u0000${rule}`, { rule_group: group, rule }).value++;
    },
    notifyFailed() {
      notifyFailures.child('', {}).value++;
    },
    storage(s, n, b) {
      series.child('', {}).value = s;
      samples.child('', {}).value = n;
      bytes.child('', {}).value = b;
    },
  };
}
