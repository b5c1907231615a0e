// Shared machinery of the alert builders: common options, the build context, and the threshold-alert tests.
import { LABEL_NAME_PATTERN, codedError, optionError, readOptions } from '@vigil/core';
import { ALERTS_ERROR_CODES, PACKAGE, context } from './errors';
import { formatDuration, parseDuration, MINUTE } from './duration';
import { type Version, requireFeature } from './versions';
import type { PromQLFeature } from './promql/types';
import type {
  AlertDefinition,
  AlertOptions,
  AlertingRuleData,
  PromtoolInputSeries,
  PromtoolTestGroup,
  RecordingRuleData,
  Severity,
} from './types';

export const SEVERITIES: readonly Severity[] = ['critical', 'warning', 'info'];
export const ALERT_NAME_PATTERN = /^[A-Z][A-Za-z0-9]*$/;
export const COMMON_KEYS = [
  'name',
  'severity',
  'for',
  'keepFiringFor',
  'labels',
  'summary',
  'description',
  'runbookUrl',
] as const;

/** Labels the rule set sets itself; an alert's `labels` may not set them. */
const RESERVED_LABELS = new Set(['alertname', 'severity', 'slo', 'burn_tier', '__name__']);

/** What a definition is resolved against: the rule set's options. */
export interface BuildContext {
  readonly version: Version;
  readonly prometheusVersion: string;
  readonly prefix: string;
  /** The rule set's `selector` as sorted exact matchers. */
  readonly selector: readonly string[];
  /** The rule set's `selector` as labels (for test input series). */
  readonly selectorLabels: Readonly<Record<string, string>>;
  readonly runbookBaseUrl?: string;
  /** Evaluation interval of the SLOs' long-window groups. */
  readonly longWindowMs: number;
  /** The PromQL feature flags the server runs with. */
  readonly promqlFeatures: readonly PromQLFeature[];
}

/** A resolved alert: its rule, recording rules it needs, and its tests. */
export interface BuiltRules {
  readonly alerts: readonly AlertingRuleData[];
  readonly records: readonly RecordingRuleData[];
  readonly tests: readonly PromtoolTestGroup[];
  readonly untested: readonly string[];
}

const builds = new WeakMap<object, (ctx: BuildContext) => BuiltRules>();

/** Registers how a definition is resolved; the definition object itself stays plain, frozen data. */
export function defineBuilt<T extends object>(def: T, build: (ctx: BuildContext) => BuiltRules): T {
  builds.set(def, build);
  return Object.freeze(def);
}

export function buildOf(def: unknown): ((ctx: BuildContext) => BuiltRules) | undefined {
  return def !== null && typeof def === 'object' ? builds.get(def) : undefined;
}

/** The common options, checked and resolved. */
export interface ResolvedCommon {
  readonly name: string;
  readonly severity: Severity;
  readonly forMs: number;
  readonly keepFiringForMs?: number;
  readonly labels: Readonly<Record<string, string>>;
  readonly summary: string;
  readonly description: string;
  readonly runbookUrl?: string;
}

export function durationOption(
  factory: string,
  option: string,
  value: unknown,
  fallback: string | undefined,
  minimumMs = 0,
): number | undefined {
  if (value === undefined) return fallback === undefined ? undefined : parseDuration(fallback);
  const ms = typeof value === 'string' ? parseDuration(value) : undefined;
  if (ms === undefined || ms < minimumMs || ms % 1000 !== 0) {
    throw optionError(
      context(factory),
      'INVALID_DURATION',
      option,
      `a Prometheus duration of whole seconds${minimumMs > 0 ? ` of at least ${formatDuration(minimumMs)}` : ''}, such as "5m", "1h30m" or "3d"`,
      value,
      'Write units in the order y, w, d, h, m, s, each once.',
    );
  }
  return ms;
}

export function nameOption(
  factory: string,
  option: string,
  value: unknown,
  fallback: string,
): string {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !ALERT_NAME_PATTERN.test(value)) {
    throw optionError(
      context(factory),
      'INVALID_NAME',
      option,
      'an alert name in CamelCase: a capital letter, then letters and digits ([A-Z][A-Za-z0-9]*)',
      value,
      'Vigil names alerts in CamelCase, e.g. "CheckoutErrorRatioHigh".',
    );
  }
  return value;
}

export function labelsOption(
  factory: string,
  option: string,
  value: unknown,
): Readonly<Record<string, string>> {
  if (value === undefined) return {};
  const bad = (why: string): never => {
    throw optionError(
      context(factory),
      'INVALID_LABELS',
      option,
      `an object of label names ([a-zA-Z_][a-zA-Z0-9_]*, not starting with "__") to string values${why}`,
      value,
      `Labels set by the rule set itself (${[...RESERVED_LABELS].join(', ')}) have options of their own.`,
    );
  };
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return bad('');
  const out: Record<string, string> = {};
  for (const key of Object.keys(value).sort()) {
    const v = (value as Record<string, unknown>)[key];
    if (!LABEL_NAME_PATTERN.test(key) || key.startsWith('__'))
      bad(`; "${key}" is not a label name`);
    if (RESERVED_LABELS.has(key)) bad(`; "${key}" is reserved`);
    if (typeof v !== 'string' || v === '') bad(`; "${key}" has no string value`);
    out[key] = v as string;
  }
  return Object.freeze(out);
}

const LABEL_TEMPLATE = /\{\{\s*\$labels\.([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}/g;

/**
 * Checks an annotation: plain text with `{{ $labels.NAME }}` templates only. Other template code
 * (`$value`, functions) renders to values the generated promtool test cannot know in advance, so it
 * is refused here; raw alerts (`promqlAlert`) take any template.
 */
export function annotationOption(
  factory: string,
  option: string,
  value: unknown,
  fallback: string | undefined,
): string | undefined {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || value.trim() === '') {
    throw optionError(context(factory), 'INVALID_OPTION', option, 'a non-empty string', value);
  }
  if (value.replace(LABEL_TEMPLATE, '').includes('{{')) {
    throw optionError(
      context(factory),
      'INVALID_TEMPLATE',
      option,
      'text whose only templates are {{ $labels.NAME }}',
      value,
      'The generated promtool test checks every annotation as rendered, which it can do only for label templates. Put other templates on a promqlAlert() with tests of your own.',
    );
  }
  return value;
}

/** Renders `{{ $labels.NAME }}` the way Prometheus does (a missing label renders as empty). */
export function renderLabels(text: string, labels: Readonly<Record<string, string>>): string {
  return text.replace(LABEL_TEMPLATE, (_m, name: string) => labels[name] ?? '');
}

export function severityOption(factory: string, value: unknown, fallback: Severity): Severity {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !SEVERITIES.includes(value as Severity)) {
    throw optionError(
      context(factory),
      'INVALID_OPTION',
      'severity',
      `one of ${SEVERITIES.map((s) => `"${s}"`).join(', ')}`,
      value,
    );
  }
  return value as Severity;
}

export function urlOption(factory: string, option: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  let ok = typeof value === 'string';
  if (ok) {
    try {
      const url = new URL(value as string);
      ok = url.protocol === 'https:' || url.protocol === 'http:';
    } catch {
      ok = false;
    }
  }
  if (!ok) throw optionError(context(factory), 'INVALID_OPTION', option, 'an http(s) URL', value);
  return value as string;
}

/** Reads a builder's options object: known keys only, then the common options. */
export function readBuilderOptions<T extends object>(
  factory: string,
  value: unknown,
  argCount: number,
  ownKeys: readonly string[],
): Partial<T> {
  return readOptions<T>(context(factory), value, argCount, [...COMMON_KEYS, ...ownKeys]);
}

export function resolveCommon(
  factory: string,
  o: Partial<AlertOptions>,
  defaults: { name: string; severity: Severity; for: string; summary: string; description: string },
): ResolvedCommon {
  const keep = durationOption(factory, 'keepFiringFor', o.keepFiringFor, undefined, 1000);
  const runbookUrl = urlOption(factory, 'runbookUrl', o.runbookUrl);
  return Object.freeze({
    name: nameOption(factory, 'name', o.name, defaults.name),
    severity: severityOption(factory, o.severity, defaults.severity),
    forMs: durationOption(factory, 'for', o.for, defaults.for) as number,
    ...(keep === undefined ? {} : { keepFiringForMs: keep }),
    labels: labelsOption(factory, 'labels', o.labels),
    summary: annotationOption(factory, 'summary', o.summary, defaults.summary) as string,
    description: annotationOption(
      factory,
      'description',
      o.description,
      defaults.description,
    ) as string,
    ...(runbookUrl === undefined ? {} : { runbookUrl }),
  });
}

/** Whether a number option is in range; throws INVALID_OPTION otherwise. */
export function numberOption(
  factory: string,
  option: string,
  value: unknown,
  fallback: number | undefined,
  check: (n: number) => boolean,
  expected: string,
): number {
  if (value === undefined && fallback !== undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || !check(value)) {
    throw optionError(context(factory), 'INVALID_OPTION', option, expected, value);
  }
  return value;
}

export function stringListOption(
  factory: string,
  option: string,
  value: unknown,
  fallback: readonly string[],
  pattern?: RegExp,
): readonly string[] {
  if (value === undefined) return fallback;
  const ok =
    Array.isArray(value) &&
    value.length > 0 &&
    value.every(
      (v) => typeof v === 'string' && v !== '' && (pattern === undefined || pattern.test(v)),
    );
  if (!ok) {
    throw optionError(
      context(factory),
      'INVALID_OPTION',
      option,
      `a non-empty array of ${pattern === undefined ? 'non-empty strings' : `strings matching ${String(pattern)}`}`,
      value,
    );
  }
  return Object.freeze([...new Set(value as string[])]);
}

/** The alerting rule as written: labels and annotations in a fixed order. */
export function alertingRule(
  ctx: BuildContext,
  common: ResolvedCommon,
  expr: string,
  extraLabels: Readonly<Record<string, string>> = {},
): AlertingRuleData {
  const where = `alert "${common.name}"`;
  if (common.keepFiringForMs !== undefined) requireFeature(ctx.version, 'keepFiringFor', where);
  const runbook =
    common.runbookUrl ??
    (ctx.runbookBaseUrl === undefined
      ? undefined
      : `${ctx.runbookBaseUrl}#${common.name.toLowerCase()}`);
  return {
    alert: common.name,
    expr,
    ...(common.forMs > 0 ? { for: formatDuration(common.forMs) } : {}),
    ...(common.keepFiringForMs === undefined
      ? {}
      : { keep_firing_for: formatDuration(common.keepFiringForMs) }),
    labels: sortKeys({ ...common.labels, ...extraLabels, severity: common.severity }),
    annotations: {
      summary: common.summary,
      description: common.description,
      ...(runbook === undefined ? {} : { runbook_url: runbook }),
    },
  };
}

export function sortKeys<V>(record: Readonly<Record<string, V>>): Record<string, V> {
  const out: Record<string, V> = {};
  for (const key of Object.keys(record).sort()) out[key] = record[key] as V;
  return out;
}

/** A phase of a threshold alert's test: `level` is a multiple of the threshold, 0 healthy traffic. */
export interface SignalPhase {
  readonly minutes: number;
  readonly level: number | 'restart';
}

/** How a threshold alert's input is made up, for its generated tests. */
export interface Signal {
  /** The range of the expression's rate window, in whole minutes (0 for a gauge). */
  readonly windowMinutes: number;
  readonly series: (phases: readonly SignalPhase[]) => PromtoolInputSeries[];
  /** Labels the alert carries from its series (the `by` labels, or the target's). */
  readonly labels: Readonly<Record<string, string>>;
  /** The restart test: counters reset and traffic stops (default), or a scrape target's short blip. */
  readonly restart?: 'counters' | 'blip';
}

const minutes = (ms: number): number => Math.ceil(ms / MINUTE);
const at = (m: number): string => formatDuration(m * MINUTE);

/**
 * The promtool tests of a threshold alert: it fires on input 1.1 times its threshold within its
 * window plus `for` plus one interval, and not at half that time; it resolves a window (plus
 * `keep_firing_for`) after recovery; it stays silent at 0.9 times its threshold; counters reset by a
 * restart with no traffic after it raise nothing.
 */
export function thresholdTests(
  rule: AlertingRuleData,
  common: ResolvedCommon,
  signal: Signal,
): PromtoolTestGroup[] {
  const w = signal.windowMinutes;
  const f = minutes(common.forMs);
  const k = minutes(common.keepFiringForMs ?? 0);
  const lead = Math.max(w, 5);
  const labels = sortKeys({ ...signal.labels, ...rule.labels });
  const annotations = Object.fromEntries(
    Object.entries(rule.annotations).map(([key, v]) => [key, renderLabels(v, labels)]),
  );
  const firing = [{ exp_labels: labels, exp_annotations: annotations }];
  const breach = w + f + 2;
  const recover = w + k + 3;
  const fire: PromtoolTestGroup = {
    name: `${rule.alert}: fires at 1.1x its threshold within ${at(w)} + for ${at(f)} + 1m, resolves after recovery`,
    interval: '1m',
    input_series: signal.series([
      { minutes: lead, level: 0 },
      { minutes: breach, level: 1.1 },
      { minutes: recover, level: 0 },
    ]),
    alert_rule_test: [
      ...(w + f >= 2
        ? [{ eval_time: at(lead + Math.floor((w + f) / 2)), alertname: rule.alert, exp_alerts: [] }]
        : []),
      { eval_time: at(lead + w + f + 1), alertname: rule.alert, exp_alerts: firing },
      { eval_time: at(lead + breach + w + k + 2), alertname: rule.alert, exp_alerts: [] },
    ],
  };
  const silent: PromtoolTestGroup = {
    name: `${rule.alert}: silent at 0.9x its threshold`,
    interval: '1m',
    input_series: signal.series([
      { minutes: lead, level: 0 },
      { minutes: w + f + 3, level: 0.9 },
    ]),
    alert_rule_test: [
      { eval_time: at(lead + w + f + 1), alertname: rule.alert, exp_alerts: [] },
      { eval_time: at(lead + w + f + 3), alertname: rule.alert, exp_alerts: [] },
    ],
  };
  const groups = [fire, silent];
  if (signal.restart !== 'blip' || f >= 2) {
    const after = w + f + 5;
    groups.push({
      name:
        signal.restart === 'blip'
          ? `${rule.alert}: silent through a restart shorter than its for`
          : `${rule.alert}: silent on zero traffic after a restart (counters reset)`,
      interval: '1m',
      input_series: signal.series([
        { minutes: lead + 5, level: 0 },
        { minutes: signal.restart === 'blip' ? 1 : after, level: 'restart' },
        ...(signal.restart === 'blip' ? [{ minutes: after, level: 0 }] : []),
      ]),
      alert_rule_test: [
        { eval_time: at(lead + 5 + Math.floor(after / 2)), alertname: rule.alert, exp_alerts: [] },
        { eval_time: at(lead + 5 + after), alertname: rule.alert, exp_alerts: [] },
      ],
    });
  }
  return groups;
}

/** A coded error not about one option. */
export function neverFires(message: string, fix: string): Error {
  return codedError({ pkg: PACKAGE }, ALERTS_ERROR_CODES.NEVER_FIRES, message, fix);
}

export type { AlertDefinition };
