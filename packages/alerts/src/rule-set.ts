// defineAlerts(): resolves alert and SLO definitions against the target Prometheus into one rule set.
import {
  METRIC_NAME_PATTERN,
  LABEL_NAME_PATTERN,
  VigilError,
  codedError,
  optionError,
  readOptions,
} from '@vigil/core';
import { ALERTS_ERROR_CODES, PACKAGE, context } from './errors';
import { type BuildContext, buildOf, durationOption, labelsOption, urlOption } from './definition';
import { formatDuration } from './duration';
import { exactMatchers } from './selectors';
import { buildSlo } from './slo';
import { formatVersion, requireFeature, versionOption } from './versions';
import { PROMQL_FEATURES } from './promql/catalogue';
import { unsupportedReason } from './evaluator';
import type {
  AlertRuleSet,
  AlertingRuleData,
  AlertsOptions,
  InhibitRuleData,
  PromtoolTestGroup,
  RecordingRuleData,
  RuleGroupData,
} from './types';

const KEYS = [
  'name',
  'prometheusVersion',
  'metricPrefix',
  'selector',
  'alerts',
  'slos',
  'runbookBaseUrl',
  'groupLabels',
  'longWindowInterval',
  'promqlFeatures',
] as const;

const GROUP_NAME_PATTERN = /^[a-z][a-z0-9]*(?:[-_][a-z0-9]+)*$/;

/**
 * Resolves alerts and SLOs into a rule set for one target Prometheus version: every check runs here,
 * once, and the emitters only write what it holds.
 */
export function defineAlerts(options: AlertsOptions): AlertRuleSet {
  const factory = 'defineAlerts';
  const o = readOptions<AlertsOptions>(context(factory), options, arguments.length, KEYS);
  const name = o.name ?? 'vigil';
  if (typeof name !== 'string' || !GROUP_NAME_PATTERN.test(name)) {
    throw optionError(
      context(factory),
      'INVALID_NAME',
      'name',
      'lower-case words and digits joined by "-" or "_"',
      name,
    );
  }
  const version = versionOption(factory, o.prometheusVersion);
  const prefix = o.metricPrefix ?? '';
  if (typeof prefix !== 'string' || (prefix !== '' && !METRIC_NAME_PATTERN.test(prefix))) {
    throw optionError(
      context(factory),
      'INVALID_OPTION',
      'metricPrefix',
      'the "prefix" given to @vigil/metrics: [a-zA-Z_:][a-zA-Z0-9_:]*',
      prefix,
    );
  }
  const selectorLabels = labelsOption(factory, 'selector', o.selector);
  for (const key of Object.keys(selectorLabels)) {
    if (
      !LABEL_NAME_PATTERN.test(key) ||
      ['le', 'route', 'method', 'status_code', 'outcome'].includes(key)
    ) {
      throw optionError(
        context(factory),
        'INVALID_LABELS',
        'selector',
        'target labels such as job or namespace (not labels the rules match themselves)',
        o.selector,
      );
    }
  }
  const runbookBaseUrl = urlOption(factory, 'runbookBaseUrl', o.runbookBaseUrl);
  const groupLabels = labelsOption(factory, 'groupLabels', o.groupLabels);
  if (Object.keys(groupLabels).length > 0)
    requireFeature(version, 'groupLabels', `defineAlerts() option "groupLabels"`);
  const longWindowMs = durationOption(
    factory,
    'longWindowInterval',
    o.longWindowInterval,
    '5m',
    1000,
  ) as number;
  const alerts = listOption(factory, 'alerts', o.alerts, ['alert', 'record']);
  const slos = listOption(factory, 'slos', o.slos, ['slo']);

  const features = o.promqlFeatures ?? [];
  if (
    !Array.isArray(features) ||
    !features.every((f) => (PROMQL_FEATURES as readonly unknown[]).includes(f))
  ) {
    throw optionError(
      context(factory),
      'INVALID_OPTION',
      'promqlFeatures',
      `an array of ${PROMQL_FEATURES.join(', ')}`,
      o.promqlFeatures,
    );
  }
  const ctx: BuildContext = {
    promqlFeatures: features,
    version,
    prometheusVersion: formatVersion(version),
    prefix,
    selector: exactMatchers(selectorLabels),
    selectorLabels,
    ...(runbookBaseUrl === undefined ? {} : { runbookBaseUrl }),
    longWindowMs,
  };
  const groups: RuleGroupData[] = [];
  const tests: PromtoolTestGroup[] = [];
  const slowTests: PromtoolTestGroup[] = [];
  const inhibitRules: InhibitRuleData[] = [];
  const untested: string[] = [];
  const withLabels = Object.keys(groupLabels).length > 0 ? { labels: groupLabels } : {};

  const plain: (AlertingRuleData | RecordingRuleData)[] = [];
  for (const def of alerts) {
    const built = (buildOf(def) as NonNullable<ReturnType<typeof buildOf>>)(ctx);
    plain.push(...built.records, ...built.alerts);
    tests.push(...built.tests);
    untested.push(...built.untested);
  }
  if (plain.length > 0) groups.push({ name: `${name}-alerts`, ...withLabels, rules: plain });

  const seenSlos = new Set<string>();
  for (const def of slos) {
    if (seenSlos.has(def.name)) throw duplicate(`SLO "${def.name}"`);
    seenSlos.add(def.name);
    const built = (buildOf(def) as (c: BuildContext) => ReturnType<typeof buildSlo>)(ctx);
    groups.push({
      name: `${name}-slo-${def.name}`,
      ...withLabels,
      rules: [...built.records, ...built.alerts],
    });
    groups.push({
      name: `${name}-slo-${def.name}-long`,
      interval: formatDuration(longWindowMs),
      ...withLabels,
      rules: built.longRecords,
    });
    tests.push(...built.tests);
    slowTests.push(...built.slowTests);
    inhibitRules.push(...built.inhibitRules);
  }
  checkDuplicates(groups);
  checkEvaluable(groups);
  return Object.freeze({
    name,
    prometheusVersion: formatVersion(version),
    groups,
    inhibitRules,
    tests,
    slowTests,
    untested,
    ...(Object.keys(selectorLabels).length === 0 ? {} : { selector: selectorLabels }),
  });
}

/**
 * Every rule not marked prometheusOnly must be one the embedded evaluator evaluates: found at
 * definition, not when the engine starts in production.
 */
function checkEvaluable(groups: readonly RuleGroupData[]): void {
  for (const g of groups) {
    for (const r of g.rules) {
      if (r.prometheusOnly === true) continue;
      const reason = unsupportedReason(r.expr);
      if (reason === undefined) continue;
      const what = 'alert' in r ? `alert "${r.alert}"` : `recording rule "${r.record}"`;
      // The evaluator's own coded error, naming the rule.
      const code =
        /^(ERR_VIGIL_[A-Z_]+): /.exec(reason)?.[1] ?? ALERTS_ERROR_CODES.PROMQL_NOT_EVALUATED;
      throw new VigilError(
        code,
        `defineAlerts(): ${what} cannot be evaluated by the embedded evaluator (the PromQL of Prometheus 2.42): ${reason.replace(/^ERR_VIGIL_[A-Z_]+: /, '')} Mark the rule \`prometheusOnly: true\` to leave it to Prometheus.`,
      );
    }
  }
}

function listOption(
  factory: string,
  option: string,
  value: unknown,
  kinds: readonly string[],
): readonly { kind: string; name: string }[] {
  if (value === undefined) return [];
  if (!Array.isArray(value))
    throw optionError(context(factory), 'INVALID_OPTION', option, 'an array', value);
  for (const item of value) {
    const kind = (item as { kind?: unknown } | null)?.kind;
    if (buildOf(item) === undefined || typeof kind !== 'string' || !kinds.includes(kind)) {
      throw optionError(
        context(factory),
        'INVALID_OPTION',
        option,
        option === 'slos'
          ? 'an array of defineSlo() results'
          : 'an array of alert builder results (errorRatioAlert(), promqlAlert(), recordingRule() ...)',
        item,
        'Call the builder: errorRatioAlert(), not errorRatioAlert.',
      );
    }
  }
  return value as { kind: string; name: string }[];
}

function duplicate(what: string): Error {
  return codedError(
    { pkg: PACKAGE },
    ALERTS_ERROR_CODES.DUPLICATE_NAME,
    `defineAlerts(): ${what} is defined twice in one rule set.`,
    'Give each alert (with the same labels) and each SLO a name of its own: the "name" or "alertName" option.',
  );
}

/** Two alerting rules with one name and the same static labels, or two SLOs with one name, would clash. */
function checkDuplicates(groups: readonly RuleGroupData[]): void {
  const seen = new Set<string>();
  for (const g of groups) {
    for (const r of g.rules) {
      if (!('alert' in r)) continue;
      const key = `${r.alert} ${JSON.stringify(r.labels)}`;
      if (seen.has(key))
        throw duplicate(`alert "${r.alert}" with labels ${JSON.stringify(r.labels)}`);
      seen.add(key);
    }
  }
}
