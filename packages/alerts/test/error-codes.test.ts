// Every coded error of the rules, SLOs and emitters, pinned by code and message.
import { describe, expect, it } from 'vitest';
import { Counter, Registry } from 'prom-client';
import {
  ALERTS_ERROR_CODES,
  alertsApi,
  createAlerting,
  createDispatcher,
  createNotifier,
  defineAlerts,
  defineSlo,
  errorRatioAlert,
  latencyAlert,
  promqlAlert,
  recordingRule,
  targetDownAlert,
  compileExpr,
  createRuleEngine,
  runPromtoolTests,
} from '@vigil/alerts';
import { ruleSetOf } from '../src/cli';

const C = ALERTS_ERROR_CODES;
const AM = { route: { receiver: 'a' }, receivers: [{ name: 'a' }] };
const deliver = (): void => undefined;

function thrown(fn: () => unknown): { code: string; message: string } {
  try {
    fn();
  } catch (e) {
    return e as { code: string; message: string };
  }
  throw new Error('expected a throw');
}

const cases: [string, () => unknown, RegExp][] = [
  [
    C.INVALID_OPTIONS,
    () => errorRatioAlert(42 as never),
    /errorRatioAlert\(\): option "options" must be an object or undefined, received 42/,
  ],
  [
    C.UNKNOWN_OPTION,
    () => errorRatioAlert({ treshold: 0.1 } as never),
    /option "treshold" must be one of .*threshold.*Check the spelling/,
  ],
  [
    C.INVALID_OPTION,
    () => errorRatioAlert({ threshold: 5 }),
    /option "threshold" must be a fraction between 0 and 1 \(exclusive\), such as 0.05, received 5/,
  ],
  [
    C.INVALID_DURATION,
    () => errorRatioAlert({ for: '5 minutes' }),
    /option "for" must be a Prometheus duration of whole seconds.*received '5 minutes'/,
  ],
  [
    C.INVALID_NAME,
    () => errorRatioAlert({ name: 'high_error_rate' }),
    /option "name" must be an alert name in CamelCase.*received 'high_error_rate'/,
  ],
  [
    C.INVALID_LABELS,
    () => errorRatioAlert({ labels: { severity: 'critical' } }),
    /option "labels" must be .*"severity" is reserved/,
  ],
  [
    C.INVALID_TEMPLATE,
    () => errorRatioAlert({ description: 'Ratio is {{ $value }}' }),
    /option "description" must be text whose only templates are \{\{ \$labels.NAME \}\}.*promqlAlert\(\)/,
  ],
  [
    C.INVALID_PROMETHEUS_VERSION,
    () => defineAlerts({ prometheusVersion: '2.20' }),
    /option "prometheusVersion" must be a Prometheus server version from 2.33 to 3.x.*received '2.20'/,
  ],
  [
    C.FEATURE_UNAVAILABLE,
    () =>
      defineAlerts({
        prometheusVersion: '2.41',
        alerts: [targetDownAlert({ keepFiringFor: '5m' })],
      }),
    /alert "TargetDown" uses `keep_firing_for` on an alerting rule, which Prometheus reads from 2.42.0 on, but the target is Prometheus 2.41.0/,
  ],
  [
    C.INVALID_OBJECTIVE,
    () => defineSlo({ kind: 'availability', name: 'a', objective: 99.9 }),
    /option "objective" must be a fraction between 0 and 1 \(exclusive\): 0.999 for 99.9%, received 99.9\. Write the objective as a fraction/,
  ],
  [
    C.NOT_A_BUCKET,
    () => defineSlo({ kind: 'latency', name: 'l', objective: 0.99, threshold: 0.3 }),
    /latency threshold 0.3s is not a bucket of the duration histogram.*the nearest buckets are 0.25 or 0.5/,
  ],
  [
    C.NEVER_FIRES,
    () => defineSlo({ kind: 'availability', name: 'a', objective: 0.9 }),
    /tier page-fast alerts when the error ratio exceeds 14.4 x \(1 - 0.9\) = 1.44, which no ratio can exceed: it could never fire.*"tiers": \["page-slow", "ticket-fast", "ticket-slow"\]/,
  ],
  [
    C.DUPLICATE_NAME,
    () => defineAlerts({ alerts: [errorRatioAlert(), errorRatioAlert()] }),
    /alert "HttpErrorRatioHigh" with labels \{"severity":"critical"\} is defined twice/,
  ],
  [
    C.INVALID_RULES_MODULE,
    () => ruleSetOf({ something: 1 }),
    /The module exports no rules: .*found the exports something/,
  ],
  [
    C.PROMQL_TYPE,
    () => defineAlerts({ alerts: [recordingRule({ record: 'x:y:z', expr: 'up[5m]' })] }),
    /recording rule "x:y:z": the expression is a matrix, and a rule records or alerts on an instant vector or a scalar only/,
  ],
  [
    C.API_INVALID_SERVICE,
    () => alertsApi({ service: 'x', alerts: () => [] } as never),
    /alertsApi\(\): option "service" must be an AlertsService .*; missing stats, rules, silences, acknowledge, silence, expireSilence, received .*Pass what createAlerting\(\) returns/,
  ],
  [
    C.ALERTING_INVALID_CONFIG,
    () => createAlerting({ rules: { alerts: [targetDownAlert()] }, alertmanager: 'route: [' }),
    /createAlerting\(\): option "alertmanager" must be an alertmanager.yml object or its YAML text \(.*\), received 'route: \['\. Check the file with `amtool check-config/,
  ],
  [
    C.ALERTING_INVALID_URL,
    () =>
      createAlerting({
        rules: { alerts: [targetDownAlert()] },
        alertmanagerUrl: 'alertmanager:9093',
      }),
    /createAlerting\(\): option "alertmanagerUrl" must be Alertmanager's base URL, http:\/\/ or https:\/\/, .*received 'alertmanager:9093'/,
  ],
  [
    C.PROMQL_SYNTAX,
    () => defineAlerts({ alerts: [promqlAlert({ name: 'Broken', expr: 'sum(rate(x[5m])' })] }),
    /^ERR_VIGIL_ALERTS_PROMQL_SYNTAX: alert "Broken": /,
  ],
  // --- dispatcher ---
  [
    C.DISPATCH_INVALID_OPTIONS,
    () => createDispatcher({ config: AM, deliver: 42 as never }),
    /createDispatcher\(\): option "deliver" must be a function taking each Delivery, received 42/,
  ],
  [
    C.DISPATCH_INVALID_CONFIG,
    () =>
      createDispatcher({
        config: { ...AM, route: { receiver: 'a', grup_by: [] } as never },
        deliver,
      }),
    /option "config.route.grup_by" must be absent: Alertmanager refuses unknown fields, the known ones are receiver, group_by/,
  ],
  [
    C.DISPATCH_INVALID_MATCHER,
    () =>
      createDispatcher({
        config: { ...AM, route: { receiver: 'a', routes: [{ matchers: ['severity=="x"'] }] } },
        deliver,
      }),
    /option "config.route.routes\[0\].matchers\[0\]" must be a matcher as Alertmanager parses it .*: matcher value contains unescaped double quote/,
  ],
  [
    C.DISPATCH_INVALID_DURATION,
    () =>
      createDispatcher({
        config: { ...AM, route: { receiver: 'a', group_wait: '30 seconds' } },
        deliver,
      }),
    /option "config.route.group_wait" must be a Prometheus duration such as 30s, 5m or 4h, received '30 seconds'/,
  ],
  [
    C.DISPATCH_UNKNOWN_RECEIVER,
    () => createDispatcher({ config: { ...AM, route: { receiver: 'pager' } }, deliver }),
    /option "config.route.receiver" must be the name of a receiver of "receivers" \(a\), received 'pager'. Add the receiver/,
  ],
  [
    C.DISPATCH_INVALID_MAINTENANCE,
    () =>
      createDispatcher({
        config: AM,
        deliver,
        maintenance: [
          { name: 'weekly', schedule: '0 2 * *', duration: '2h', matchers: ['service="x"'] },
        ],
      }),
    /option "maintenance\[0\].schedule" must be a cron schedule such as "0 2 \* \* 0" .*received '0 2 \* \*'/,
  ],
  [
    C.DISPATCH_INVALID_SILENCE,
    () =>
      createDispatcher({ config: AM, deliver }).addSilence({
        matchers: ['service=~".*"'],
        endsAt: Date.now() + 60_000,
        createdBy: 'ops',
        comment: 'all',
      }),
    /addSilence\(\): option "matchers" must be matchers of which at least one does not match the empty string/,
  ],
  // --- embedded evaluator ---
  [
    C.PROMQL_NOT_EVALUATED,
    () => compileExpr('sum(x @ 1700000000)'),
    /the embedded evaluator does not compute the @ modifier, in "sum\(x @ 1700000000\)".*mark the rule prometheusOnly/,
  ],
  // --- receivers and the Alertmanager hand-over ---
  [
    C.RECEIVER_INVALID_CONFIG,
    () =>
      createNotifier({
        receivers: [
          { name: 'a', slack_configs: [{ api_url: 'https://x', chanel: '#a' } as never] },
        ],
      }),
    /receivers\[0\]\.slack_configs\[0\]\.chanel must be one of the supported fields \(api_url, .*Check the spelling/,
  ],
  [
    C.RECEIVER_DUPLICATE_NAME,
    () => createNotifier({ receivers: [{ name: 'team' }, { name: 'team' }], registry: false }),
    /receivers\[1\]\.name "team" is the name of an earlier receiver\. Give each receiver its own name\./,
  ],
  [
    C.RECEIVER_MISSING_SECRET,
    () =>
      createNotifier({
        receivers: [{ name: 'a', slack_configs: [{ api_url: { env: 'VIGIL_UNSET_SLACK_URL' } }] }],
        registry: false,
      }),
    /api_url reads the environment variable VIGIL_UNSET_SLACK_URL, which is not set or empty\. Set VIGIL_UNSET_SLACK_URL/,
  ],
  [
    C.RECEIVER_INVALID_URL,
    () =>
      createNotifier({
        receivers: [{ name: 'a', webhook_configs: [{ url: 'hooks.example.com/t0ken' }] }],
        registry: false,
      }),
    /webhook_configs\[0\]\.url must be an absolute http:\/\/ or https:\/\/ URL, received a value that is not a URL\./,
  ],
  [
    C.METRIC_CONFLICT,
    () => {
      const registry = new Registry();
      new Counter({ name: 'alerts_notifications_total', help: 'mine', registers: [registry] });
      return createNotifier({ receivers: [], registry });
    },
    /The registry already holds another metric named "alerts_notifications_total"\. Remove it/,
  ],
  // --- end of receivers and the Alertmanager hand-over ---
  // --- rules engine ---
  [
    C.PROMQL_NOT_EVALUATED,
    () =>
      defineAlerts({
        alerts: [promqlAlert({ name: 'At', expr: 'sum(x @ 1700000000) > 1' })],
      }),
    /^ERR_VIGIL_ALERTS_PROMQL_NOT_EVALUATED: defineAlerts\(\): alert "At" cannot be evaluated by the embedded evaluator .*@ modifier.*Mark the rule `prometheusOnly: true`/,
  ],
  [
    C.INVALID_REGISTRY,
    () => createRuleEngine({ rules: defineAlerts({}), registry: {} as never }),
    /createRuleEngine\(\): option "registry" must be a prom-client Registry, received \{\}/,
  ],
  [
    C.RULES_UNSUPPORTED_TEMPLATE,
    () =>
      createRuleEngine({
        rules: defineAlerts({
          alerts: [promqlAlert({ name: 'Q', expr: 'up == 0', summary: '{{ query "up" }}' })],
        }),
        registry: new Registry(),
      }),
    /createRuleEngine\(\): the annotation "summary" template of alert "Q" \(group "vigil-alerts"\) cannot be expanded in the process: "query" is not supported.*or mark the rule prometheusOnly/,
  ],
  [
    C.RULES_INVALID_TEST_FILE,
    () =>
      runPromtoolTests([], 'tests:\n  - input_series:\n      - series: "x{"\n        values: 1\n'),
    /runPromtoolTests\(\): "x\{" is not a series description.*promtool unit-test file/,
  ],
];

describe('error codes', () => {
  it.each(cases)(
    'should throw %s with a message that says what and how to fix',
    (code, fn, message) => {
      const e = thrown(fn);
      expect(e.code).toBe(code);
      expect(e.message).toMatch(message);
      expect(e.message.startsWith(`${code}: `)).toBe(true);
    },
  );

  it('should refuse a latency alert threshold past the largest bucket as NEVER_FIRES', () => {
    const e = thrown(() => latencyAlert({ threshold: 10 }));
    expect(e.code).toBe(C.NEVER_FIRES);
    expect(e.message).toMatch(/histogram_quantile\(\) never returns more than 10/);
  });

  it('should refuse a raw rule that uses what the target Prometheus lacks', () => {
    const e = thrown(() =>
      defineAlerts({ alerts: [promqlAlert({ name: 'Lim', expr: 'limitk(2, up)' })] }),
    );
    expect(e.code).toBe(C.PROMQL_UNSUPPORTED);
  });

  it('should refuse group labels before Prometheus 3', () => {
    expect(thrown(() => defineAlerts({ groupLabels: { team: 'a' } })).code).toBe(
      C.FEATURE_UNAVAILABLE,
    );
    expect(() =>
      defineAlerts({ prometheusVersion: '3.0', groupLabels: { team: 'a' } }),
    ).not.toThrow();
  });
});
