// Every generated file checked by the real tools: promtool check and test, the PrometheusRule CRD
// schema, amtool check-config; and the same output on every run.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { PrometheusRule } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import { alertmanagerObject, prometheusRuleObject } from '@vigil/alerts';
import { SETS, amtool, files, promtool, run, writeAll } from './support';

describe.each(SETS)('rule set %s', (name, make) => {
  const set = make();
  const generated = files(set);
  const dir = writeAll(generated);
  const rules = join(dir, `${set.name}.rules.yml`);
  const tests = Object.keys(generated).filter((f) => f.endsWith('.test.yml'));

  it('should be byte-identical when generated again', () => {
    expect(files(make())).toEqual(generated);
  });

  it.skipIf(!promtool)('should pass promtool check rules --lint=all --lint-fatal', () => {
    const r = run(promtool!, ['check', 'rules', '--lint=all', '--lint-fatal', rules]);
    console.log(
      `${name}: ${r.output
        .split('\n')
        .find((l) => l.includes('rules found'))
        ?.trim()}`,
    );
    expect(r.status, r.output).toBe(0);
  });

  it.skipIf(!promtool)(
    'should pass every generated promtool test',
    () => {
      const groups = set.tests.length + set.slowTests.length;
      const started = Date.now();
      const r = run(promtool!, ['test', 'rules', ...tests], dir);
      console.log(
        `${name}: promtool test rules ${tests.join(' ')}: ${groups} test groups, ${set.groups.reduce((n, g) => n + g.rules.length, 0)} rules, exit ${r.status} in ${((Date.now() - started) / 1000).toFixed(1)}s`,
      );
      expect(r.status, r.output).toBe(0);
    },
    300_000,
  );

  it('should be a valid PrometheusRule for the prometheus-operator CRD schema', () => {
    const object = prometheusRuleObject(set, {
      namespace: 'monitoring',
      labels: { release: 'prometheus' },
    });
    expect(() => new PrometheusRule(object as never).validate()).not.toThrow();
    expect(parse(generated[`${set.name}.prometheus-rule.yml`] as string)).toEqual(object);
  });

  it.skipIf(!amtool)(
    'should give inhibit rules and routes that amtool check-config accepts',
    () => {
      const snippet = alertmanagerObject(set);
      const config = {
        route: { receiver: 'default', ...snippet.route },
        receivers: [{ name: 'default' }, { name: 'page' }, { name: 'ticket' }, { name: 'info' }],
        inhibit_rules: snippet.inhibit_rules,
      };
      const cfg = writeAll({ 'alertmanager.yml': JSON.stringify(config) });
      const r = run(amtool!, ['check-config', join(cfg, 'alertmanager.yml')]);
      console.log(
        `${name}: ${snippet.inhibit_rules.length} inhibit rules, amtool exit ${r.status}`,
      );
      expect(r.status, r.output).toBe(0);
      expect(parse(readFileSync(join(dir, `${set.name}.alertmanager.yml`), 'utf8'))).toEqual(
        snippet,
      );
    },
  );
});

describe('generated tests', () => {
  it.skipIf(!promtool)(
    'should fail when a rule no longer does what its test proves',
    () => {
      // Mutations of the rules the tests were generated for: each must be caught.
      const set = SETS[0]![1]();
      const generated = files(set);
      const rulesName = `${set.name}.rules.yml`;
      const original = generated[rulesName] as string;
      const mutations: [string, (s: string) => string][] = [
        ['error-ratio threshold 0.05 -> 0.06', (s) => s.replace('> 0.05\n', '> 0.06\n')],
        [
          'page-fast long window 1h -> 5m',
          (s) =>
            s.replace(
              'slo:sli_error:ratio_rate1h{job="api",slo="api-availability"} > 0.0144',
              'slo:sli_error:ratio_rate5m{job="api",slo="api-availability"} > 0.0144',
            ),
        ],
        [
          'in-flight for 5m -> 1m',
          (s) => s.replace(/(alert: HttpInFlightHigh[\s\S]*?for: )5m/, '$11m'),
        ],
        [
          'target-down expr == 0 -> < 0',
          (s) => s.replace('up{job="api"} == 0', 'up{job="api"} < 0'),
        ],
      ];
      let caught = 0;
      for (const [what, mutate] of mutations) {
        const mutated = mutate(original);
        expect(mutated, what).not.toBe(original);
        const dir = writeAll({ ...generated, [rulesName]: mutated });
        const r = run(promtool!, ['test', 'rules', `${set.name}.rules.test.yml`], dir);
        if (r.status !== 0) caught++;
        else console.log(`mutation not caught: ${what}`);
      }
      console.log(`mutations caught by the generated tests: ${caught}/${mutations.length}`);
      expect(caught).toBe(mutations.length);
    },
    120_000,
  );
});
