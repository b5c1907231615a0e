// The pure helpers under the rules: decimal arithmetic, durations, versions, selectors.
import { describe, expect, it } from 'vitest';
import { defineAlerts, promqlAlert } from '@vigil/alerts';
import { decimalOf, formatDecimal, mul, sub } from '../src/decimal';
import { formatDuration, parseDuration } from '../src/duration';
import { atLeast, parseVersion } from '../src/versions';
import { camelCase, leMatcher, matchAny } from '../src/selectors';

describe('decimals', () => {
  it.each([
    ['14.4', '0.001', '0.0144'],
    ['13.44', '0.0005', '0.00672'],
    ['1.1', '0.0144', '0.01584'],
    ['0.9', '1e-7', '0.00000009'],
  ])('should multiply %s by %s exactly', (a, b, product) => {
    expect(formatDecimal(mul(decimalOf(a), decimalOf(b)))).toBe(product);
  });

  it('should subtract without float artefacts', () => {
    expect(1 - 0.97).not.toBe(0.03);
    expect(formatDecimal(sub(decimalOf(1), decimalOf(0.97)))).toBe('0.03');
    expect(formatDecimal(sub(decimalOf(1), decimalOf(0.99999)))).toBe('0.00001');
  });
});

describe('durations', () => {
  it.each([
    ['5m', 300_000, '5m'],
    ['90m', 5_400_000, '1h30m'],
    ['3d', 259_200_000, '3d'],
    ['1w', 604_800_000, '7d'],
    ['1h30m', 5_400_000, '1h30m'],
  ])('should read %s as Prometheus does', (text, ms, canonical) => {
    expect(parseDuration(text)).toBe(ms);
    expect(formatDuration(ms)).toBe(canonical);
  });

  it.each(['', '5 m', '1.5h', 'm5', '30m1h', '-5m'])('should refuse %j', (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });
});

describe('versions', () => {
  it('should compare versions', () => {
    expect(atLeast(parseVersion('2.42')!, parseVersion('2.42.0')!)).toBe(true);
    expect(atLeast(parseVersion('2.41.9')!, parseVersion('2.42.0')!)).toBe(false);
    expect(atLeast(parseVersion('v3.0.1')!, parseVersion('2.53.0')!)).toBe(true);
  });

  it('should pass the server feature flags to the PromQL check of raw rules', () => {
    const alert = (): ReturnType<typeof promqlAlert> =>
      // Prometheus-only: the embedded evaluator computes PromQL of Prometheus 2.42.
      promqlAlert({ name: 'Lim', expr: 'limitk(2, up) > 0', prometheusOnly: true });
    expect(() => defineAlerts({ prometheusVersion: '3.5', alerts: [alert()] })).toThrow(
      /PROMQL_UNSUPPORTED/,
    );
    expect(() =>
      defineAlerts({
        prometheusVersion: '3.5',
        promqlFeatures: ['promql-experimental-functions'],
        alerts: [alert()],
      }),
    ).not.toThrow();
  });
});

describe('selectors', () => {
  it('should match integer buckets in both forms and escape the rest', () => {
    expect(leMatcher(1)).toBe('le=~"1(\\\\.0)?"');
    expect(leMatcher(10)).toBe('le=~"10(\\\\.0)?"');
    expect(leMatcher(0.005)).toBe('le=~"0\\\\.005"');
  });

  it('should quote and escape label values', () => {
    expect(matchAny('route', ['/api/a'])).toBe('route="/api/a"');
    expect(matchAny('route', ['/a.b', '/c+d'])).toBe('route=~"/a\\\\.b|/c\\\\+d"');
    expect(matchAny('route', ['/say "hi"'])).toBe('route="/say \\"hi\\""');
  });

  it('should make CamelCase names', () => {
    expect(camelCase('api-availability')).toBe('ApiAvailability');
    expect(camelCase('video_uploads')).toBe('VideoUploads');
  });
});
