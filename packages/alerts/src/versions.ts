// Target Prometheus versions: which rule-file features each one has, checked before anything is written.
import { codedError, optionError } from '@vigil/core';
import { ALERTS_ERROR_CODES, PACKAGE, context } from './errors';
// The default target, Debian 12's Prometheus server, is the PromQL checker's default too.
import { DEFAULT_PROMETHEUS_VERSION } from './promql/options';

/** Rule-file features that not every Prometheus version reads, with the release that added each. */
export const PROMETHEUS_FEATURES = {
  /** `keep_firing_for` on alerting rules (prometheus/prometheus#11827). */
  keepFiringFor: { since: '2.42.0', what: '`keep_firing_for` on an alerting rule' },
  /** `limit` on a rule group. */
  groupLimit: { since: '2.31.0', what: '`limit` on a rule group' },
  /** `query_offset` on a rule group. */
  queryOffset: { since: '2.53.0', what: '`query_offset` on a rule group' },
  /** `labels` on a rule group (prometheus/prometheus#11474). */
  groupLabels: { since: '3.0.0', what: '`labels` on a rule group' },
} as const;

export type PrometheusFeature = keyof typeof PROMETHEUS_FEATURES;

/** A parsed version: major, minor, patch. */
export type Version = readonly [number, number, number];

const VERSION_PATTERN = /^v?(\d+)\.(\d+)(?:\.(\d+))?$/;

export function parseVersion(text: string): Version | undefined {
  const m = VERSION_PATTERN.exec(text);
  if (m === null) return undefined;
  return [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)];
}

export function atLeast(version: Version, minimum: Version): boolean {
  for (let i = 0; i < 3; i++) {
    if ((version[i] as number) !== (minimum[i] as number))
      return (version[i] as number) > (minimum[i] as number);
  }
  return true;
}

/** Checks the `prometheusVersion` option: `2.42`, `2.53.1`, `3.5`; the versions the PromQL checker knows (2.33 to 3.x). */
export function versionOption(factory: string, value: unknown): Version {
  if (value === undefined) return parseVersion(DEFAULT_PROMETHEUS_VERSION) as Version;
  const parsed = typeof value === 'string' ? parseVersion(value) : undefined;
  if (parsed === undefined || !atLeast(parsed, [2, 33, 0]) || parsed[0] > 3) {
    throw optionError(
      context(factory),
      'INVALID_PROMETHEUS_VERSION',
      'prometheusVersion',
      'a Prometheus server version from 2.33 to 3.x, as "MAJOR.MINOR" or "MAJOR.MINOR.PATCH"',
      value,
      `Give the version your Prometheus reports (prometheus --version), e.g. "${DEFAULT_PROMETHEUS_VERSION}".`,
    );
  }
  return parsed;
}

export function formatVersion(v: Version): string {
  return `${v[0]}.${v[1]}.${v[2]}`;
}

/** Throws when the target version lacks `feature`; `where` says which rule or group asked for it. */
export function requireFeature(version: Version, feature: PrometheusFeature, where: string): void {
  const { since, what } = PROMETHEUS_FEATURES[feature];
  if (atLeast(version, parseVersion(since) as Version)) return;
  throw codedError(
    { pkg: PACKAGE },
    ALERTS_ERROR_CODES.FEATURE_UNAVAILABLE,
    `${where} uses ${what}, which Prometheus reads from ${since} on, but the target is Prometheus ${formatVersion(version)}.`,
    `Remove it, or raise "prometheusVersion" if every Prometheus that loads these rules is ${since} or later.`,
  );
}
