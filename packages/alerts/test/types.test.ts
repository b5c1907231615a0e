// The public types of the builders, SLOs and emitters.
import { describe, expectTypeOf, it } from 'vitest';
import {
  type AlertDefinition,
  type AlertRuleSet,
  type AlertsOptions,
  type BurnTier,
  type RecordingRuleDefinition,
  type Severity,
  type SloDefinition,
  alertmanagerConfig,
  defineAlerts,
  defineSlo,
  errorRatioAlert,
  generateFiles,
  latencyAlert,
  memoryAlert,
  businessFailureAlert,
  prometheusRuleFile,
  promqlAlert,
  recordingRule,
} from '@vigil/alerts';

describe('types', () => {
  it('should type the builders', () => {
    expectTypeOf(errorRatioAlert)
      .parameter(0)
      .toEqualTypeOf<Parameters<typeof errorRatioAlert>[0]>();
    expectTypeOf(errorRatioAlert()).toEqualTypeOf<AlertDefinition>();
    expectTypeOf(latencyAlert({ threshold: 0.5 })).toEqualTypeOf<AlertDefinition>();
    expectTypeOf(
      recordingRule({ record: 'a:b:c', expr: 'up' }),
    ).toEqualTypeOf<RecordingRuleDefinition>();
    expectTypeOf<Parameters<typeof errorRatioAlert>[0]>().toMatchTypeOf<
      { severity?: Severity; for?: string; keepFiringFor?: string } | undefined
    >();
    // Compiled, never run: each call is a type error.
    const rejected = (): void => {
      // @ts-expect-error memoryAlert needs its threshold
      memoryAlert({});
      // @ts-expect-error businessFailureAlert needs its metric
      businessFailureAlert({});
      // @ts-expect-error severities are critical, warning, info
      errorRatioAlert({ severity: 'page' });
      // @ts-expect-error a raw alert needs its expression
      promqlAlert({ name: 'X' });
    };
    expectTypeOf(rejected).toBeFunction();
  });

  it('should type SLOs by kind', () => {
    expectTypeOf(
      defineSlo({ kind: 'availability', name: 'a', objective: 0.999 }),
    ).toEqualTypeOf<SloDefinition>();
    const rejected = (): void => {
      // @ts-expect-error a latency SLO needs its threshold
      defineSlo({ kind: 'latency', name: 'l', objective: 0.99 });
      // @ts-expect-error periods are 30d or 28d
      defineSlo({ kind: 'availability', name: 'a', objective: 0.99, period: '7d' });
    };
    expectTypeOf(rejected).toBeFunction();
    expectTypeOf<BurnTier>().toEqualTypeOf<
      'page-fast' | 'page-slow' | 'ticket-fast' | 'ticket-slow'
    >();
  });

  it('should type the rule set and emitters', () => {
    expectTypeOf(defineAlerts).parameter(0).toEqualTypeOf<AlertsOptions>();
    expectTypeOf(defineAlerts({})).toEqualTypeOf<AlertRuleSet>();
    expectTypeOf(prometheusRuleFile).returns.toBeString();
    expectTypeOf(alertmanagerConfig).returns.toBeString();
    expectTypeOf(generateFiles).returns.toEqualTypeOf<Record<string, string>>();
  });
});
