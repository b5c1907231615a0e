// The health metrics: health_check_status{check} (1 pass or warn, 0 fail) and
// health_check_duration_seconds{check} (latency of the latest run), on the registry given.
import {
  FastGauge,
  type RegistryLike,
  codedError,
  getOrRegister,
  registryState,
} from '@vigil/core';
import { HEALTH_ERROR_CODES, PACKAGE } from './errors';
import type { Outcome } from './runner';
import type { HealthCheck } from './types';

export const STATUS_METRIC = 'health_check_status';
export const DURATION_METRIC = 'health_check_duration_seconds';

function instrument(registry: RegistryLike, candidate: FastGauge): FastGauge {
  const state = registryState(registry, candidate);
  if (state === 'foreign' || state === 'different') {
    throw codedError(
      { pkg: PACKAGE },
      HEALTH_ERROR_CODES.METRIC_CONFLICT,
      `The registry already holds another metric named "${candidate.name}".`,
      'Remove it, or give @vigil/health a registry of its own.',
    );
  }
  return getOrRegister(registry, candidate);
}

/** Records each check's outcome into the gauges; a no-op without a registry. */
export function healthMetrics(
  registry: RegistryLike | false | undefined,
): (check: HealthCheck, outcome: Outcome) => void {
  if (registry === false || registry === undefined) return () => undefined;
  const status = instrument(
    registry,
    new FastGauge(
      STATUS_METRIC,
      'Whether a health check passed at its latest run: 1 for pass or warn, 0 for fail.',
      ['check'],
      PACKAGE,
      false,
    ),
  );
  const duration = instrument(
    registry,
    new FastGauge(
      DURATION_METRIC,
      'How long the latest run of a health check took, in seconds (its timeout when it timed out).',
      ['check'],
      PACKAGE,
      false,
    ),
  );
  return (check, outcome) => {
    const labels = { check: check.name };
    status.child(check.name, labels).value = outcome.result.status === 'fail' ? 0 : 1;
    duration.child(check.name, labels).value = outcome.seconds;
  };
}
