// SLO math: exact burn-rate factors and thresholds, matchers that survive Prometheus 3's `le`, and
// long windows that count events (measured by promtool on spiky input against an average of ratios).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { BURN_TIERS, burnFactor, defineAlerts, defineSlo, prometheusRuleFile } from '@vigil/alerts';
import { promtool, run, writeAll } from './support';

function alertExprs(objective: number, period: '30d' | '28d'): Record<string, string> {
  const set = defineAlerts({
    slos: [defineSlo({ kind: 'availability', name: 'a', objective, period })],
  });
  const out: Record<string, string> = {};
  for (const g of set.groups)
    for (const r of g.rules) if ('alert' in r) out[r.labels.burn_tier as string] = r.expr;
  return out;
}

describe('burn-rate factors', () => {
  it.each([
    ['30d', ['14.4', '6', '3', '1']],
    ['28d', ['13.44', '5.6', '2.8', '1']],
  ] as const)('should be exact for %s', (period, factors) => {
    expect(
      BURN_TIERS.map((t) => {
        const f = burnFactor(t, period);
        return (Number(f.units) / 10 ** f.scale).toString();
      }),
    ).toEqual(factors);
  });

  it.each([
    [0.999, '30d', ['0.0144', '0.006', '0.003', '0.001']],
    [0.9995, '30d', ['0.0072', '0.003', '0.0015', '0.0005']],
    [0.99, '28d', ['0.1344', '0.056', '0.028', '0.01']],
    [0.9999, '30d', ['0.00144', '0.0006', '0.0003', '0.0001']],
  ] as const)(
    'should write exact thresholds for objective %s over %s',
    (objective, period, thresholds) => {
      const exprs = alertExprs(objective, period);
      const written = Object.values(exprs).map((e) => /> ([0-9.]+)\n/.exec(e)?.[1]);
      expect(written).toEqual(thresholds);
    },
  );

  it('should never write a float artefact into a rule file', () => {
    const set = defineAlerts({
      slos: [
        defineSlo({ kind: 'availability', name: 'a', objective: 0.9995, period: '28d' }),
        defineSlo({
          kind: 'availability',
          name: 'b',
          objective: 0.97,
          tiers: ['page-slow', 'ticket-fast', 'ticket-slow'],
        }),
      ],
    });
    const text = prometheusRuleFile(set);
    const long = text.match(/\d+\.\d{8,}/g) ?? [];
    expect(long).toEqual([]);
    // 1 - 0.97 in floating point is 0.030000000000000027.
    expect(text).toContain('/ 0.03\n');
  });
});

describe('le matchers', () => {
  it('should match both the 2.x and the Prometheus 3 form of an integer bucket', () => {
    const set = defineAlerts({
      slos: [defineSlo({ kind: 'latency', name: 'l', objective: 0.99, threshold: 1 })],
    });
    const text = prometheusRuleFile(set);
    expect(text).toContain('le=~"1(\\\\.0)?"');
    // The generated tests include a firing test whose input has le="1.0".
    expect(set.tests.some((t) => t.input_series.some((s) => s.series.includes('le="1.0"')))).toBe(
      true,
    );
    const fractional = prometheusRuleFile(
      defineAlerts({
        slos: [defineSlo({ kind: 'latency', name: 'l', objective: 0.99, threshold: 0.25 })],
      }),
    );
    expect(fractional).toContain('le=~"0\\\\.25"');
  });
});

/** Runs promtool on a test whose expectations are deliberately empty, and reads the values it got. */
function evaluate(dir: string, exprs: readonly string[], at: string): number[] {
  const test = {
    rule_files: ['rules.yml'],
    evaluation_interval: '1m',
    tests: exprs.map((expr) => ({
      interval: '1m',
      input_series: SPIKY_SERIES,
      promql_expr_test: [{ expr, eval_time: at, exp_samples: [] }],
    })),
  };
  writeFileSync(join(dir, 'probe.yml'), stringify(test));
  const r = run(promtool!, ['test', 'rules', 'probe.yml'], dir);
  return [...r.output.matchAll(/got:\s*\[?\{[^}]*\}\s*([-0-9.eE+]+)/g)].map((m) => Number(m[1]));
}

// A day of 1000 requests a minute with 1 error a minute, except a 10-minute burst at minute 600
// of 10000 requests a minute, 20% of them errors.
const DAY = 1440;
const BURST_AT = 600;
const values = (normal: number, burst: number): string =>
  `0 ${normal}+${normal}x${BURST_AT - 1} ${normal * BURST_AT + burst}+${burst}x9 ${normal * BURST_AT + burst * 10 + normal}+${normal}x${DAY - BURST_AT - 10 + 10}`;
const SPIKY_SERIES = [
  {
    series: 'http_requests_total{method="GET",route="/api/test",status_code="200"}',
    values: values(999, 8000),
  },
  {
    series: 'http_requests_total{method="GET",route="/api/test",status_code="500"}',
    values: values(1, 2000),
  },
];

describe('count-based long windows', () => {
  it.skipIf(!promtool)(
    'should give the true error ratio of a spiky day, where an average of ratios does not',
    () => {
      const set = defineAlerts({
        slos: [defineSlo({ kind: 'availability', name: 'spiky', objective: 0.99 })],
      });
      const dir = writeAll({ 'rules.yml': prometheusRuleFile(set) });
      // At 24h05m the 1d window spans minutes 6 to 1445: 1430 normal minutes and the burst.
      const at = '1d5m';
      const events = 1430 * 1000 + 10 * 10000;
      const errors = 1430 * 1 + 10 * 2000;
      const truth = errors / events;
      const [counted, averaged] = evaluate(
        dir,
        [
          'slo:sli_error:ratio_rate1d{slo="spiky"}',
          'avg_over_time(slo:sli_error:ratio_rate5m{slo="spiky"}[1d])',
        ],
        at,
      );
      const error = Math.abs((counted as number) / truth - 1);
      const averageError = Math.abs((averaged as number) / truth - 1);
      console.log(
        `spiky day: true 1d error ratio ${(truth * 100).toFixed(4)}%, recorded (count-based) ${((counted as number) * 100).toFixed(4)}% (off by ${(error * 100).toFixed(3)}%), average of 5m ratios ${((averaged as number) * 100).toFixed(4)}% (off by ${(averageError * 100).toFixed(1)}%)`,
      );
      expect(error).toBeLessThan(0.005);
      expect(averageError).toBeGreaterThan(0.5);
      // And the same bound as a promtool assertion of its own.
      const test = {
        rule_files: ['rules.yml'],
        evaluation_interval: '1m',
        tests: [
          {
            interval: '1m',
            input_series: SPIKY_SERIES,
            promql_expr_test: [
              {
                expr: `abs(slo:sli_error:ratio_rate1d{slo="spiky"} / ${truth} - 1) < bool 0.005`,
                eval_time: at,
                exp_samples: [{ labels: '{slo="spiky"}', value: 1 }],
              },
            ],
          },
        ],
      };
      writeFileSync(join(dir, 'bound.yml'), stringify(test));
      const r = run(promtool!, ['test', 'rules', 'bound.yml'], dir);
      expect(r.status, r.output).toBe(0);
    },
    120_000,
  );
});
