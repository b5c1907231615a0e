// runPromtoolTests(): promtool's `test rules` in the process. Reads a promtool unit-test file, loads
// its input series (promtool's expanding notation), evaluates the rule groups through the rules
// engine on a ManualClock exactly as promtool 2.42 steps them, and returns one verdict per assertion.
import { parse } from 'yaml';
import { codedError } from '@vigil/core';
import { compileExpr, evaluate } from './evaluator-api';
import { ALERTS_ERROR_CODES, PACKAGE } from '../errors';
import { formatDuration, parseDuration } from '../duration';
import { ManualClock, type LabelSet } from '../model';
import type { AlertRuleSet, RuleGroupData } from '../types';
import { Engine } from './engine';
import { labelsKey, sortedLabels } from './labels';

/** The verdict on one assertion of a promtool test file. */
export interface PromtoolVerdict {
  /** Index of the test group in the file. */
  readonly test: number;
  /** The test group's `name` (empty when it has none). */
  readonly name: string;
  readonly kind: 'alert' | 'expr';
  /** `eval_time` as promtool prints it (`16m`, `1d2h30m`). */
  readonly evalTime: string;
  /** The alert name (alert assertions). */
  readonly alertname?: string;
  /** The expression (expression assertions). */
  readonly expr?: string;
  readonly passed: boolean;
  /** What was expected and what was got, when it failed. */
  readonly message?: string;
}

/** What runPromtoolTests() returns. */
export interface PromtoolRun {
  readonly passed: boolean;
  readonly verdicts: readonly PromtoolVerdict[];
  /** Test groups run. */
  readonly tests: number;
}

interface Sample {
  readonly t: number;
  /** undefined: a staleness marker. */
  readonly v: number | undefined;
}

function invalid(message: string): Error {
  return codedError(
    { pkg: PACKAGE },
    ALERTS_ERROR_CODES.RULES_INVALID_TEST_FILE,
    `runPromtoolTests(): ${message}.`,
    'Give the text of a promtool unit-test file (`promtool test rules` reads the same file).',
  );
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL =
  /^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=)\s*("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)\s*(,)?/;

/** Parses a series description `name{a="b"}` (promql's ParseMetric) into labels with `__name__`. */
export function parseSeriesLabels(text: string): LabelSet {
  let rest = text.trim();
  const labels: Record<string, string> = {};
  const name = NAME.exec(rest);
  if (name !== null) {
    labels.__name__ = name[0];
    rest = rest.slice(name[0].length).trim();
  }
  if (rest.startsWith('{')) {
    rest = rest.slice(1);
    for (;;) {
      rest = rest.trimStart();
      if (rest.startsWith('}')) {
        rest = rest.slice(1);
        break;
      }
      const m = LABEL.exec(rest);
      if (m === null) throw invalid(`"${text}" is not a series description`);
      const quoted = m[3] as string;
      let value: string;
      if (quoted.startsWith('"')) value = JSON.parse(quoted) as string;
      else if (quoted.startsWith("'"))
        value = JSON.parse(
          `"${quoted.slice(1, -1).replace(/\\'/g, "'").replace(/"/g, '\\"')}"`,
        ) as string;
      else value = quoted.slice(1, -1);
      if (value !== '') labels[m[1] as string] = value;
      rest = rest.slice(m[0].length);
      if (m[4] === undefined && !rest.trimStart().startsWith('}'))
        throw invalid(`"${text}" is not a series description`);
    }
  }
  if (rest.trim() !== '' || Object.keys(labels).length === 0)
    throw invalid(`"${text}" is not a series description`);
  return sortedLabels(labels);
}

const NUMBER = String.raw`(?:[+-]?(?:Inf|inf|NaN|nan|0x[0-9a-fA-F]+|\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?))`;
const ITEM = new RegExp(
  String.raw`^(?:(_)(?:x(\d+))?|(stale)|(${NUMBER})(?:([+-](?:Inf|inf|0x[0-9a-fA-F]+|\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?))?x(\d+))?)$`,
);

function number(text: string): number {
  const t = text.toLowerCase().replace(/^\+/, '');
  if (t === 'inf') return Infinity;
  if (t === '-inf') return -Infinity;
  if (t === 'nan' || t === '-nan') return NaN;
  return Number(t);
}

/**
 * Expands promtool's series values: `1 2 _ stale`, `a+bxN` and `a-bxN` (N+1 values, by repeated
 * addition as promql's parser does), `axN` (N+1 copies of a), `_xN` (N missing).
 */
export function expandSeriesValues(text: string): (number | null | 'stale')[] {
  const out: (number | null | 'stale')[] = [];
  for (const token of text.trim().split(/\s+/)) {
    if (token === '') continue;
    const m = ITEM.exec(token);
    if (m === null) throw invalid(`"${token}" of "${text}" is not a series value`);
    if (m[1] !== undefined) {
      const n = m[2] === undefined ? 1 : Number(m[2]);
      for (let i = 0; i < n; i++) out.push(null);
    } else if (m[3] !== undefined) {
      out.push('stale');
    } else {
      let v = number(m[4] as string);
      if (m[6] === undefined) {
        out.push(v);
        continue;
      }
      const n = Number(m[6]);
      const step = m[5] === undefined ? 0 : number(m[5]);
      out.push(v);
      for (let i = 1; i <= n; i++) {
        v += step;
        out.push(v);
      }
    }
  }
  return out;
}

interface TestGroupFile {
  name?: unknown;
  interval?: unknown;
  input_series?: unknown;
  alert_rule_test?: unknown;
  promql_expr_test?: unknown;
  external_labels?: unknown;
  external_url?: unknown;
}

function durationField(value: unknown, what: string): number {
  const ms = typeof value === 'string' ? parseDuration(value) : undefined;
  if (ms === undefined) throw invalid(`${what} ${JSON.stringify(value)} is not a duration`);
  return ms;
}

function arrayField(value: unknown, what: string): Record<string, unknown>[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw invalid(`${what} must be a list`);
  return value as Record<string, unknown>[];
}

function stringMap(value: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (value === null || typeof value !== 'object') return out;
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) out[k] = String(v);
  return out;
}

function canonical(labels: Readonly<Record<string, string>>): string {
  return JSON.stringify(sortedLabels(labels));
}

/**
 * Runs a promtool unit-test file against rule groups (a rule set from defineAlerts(), or groups as a
 * rule file holds them): the same steps as `promtool test rules` of Prometheus 2.42, evaluated by the
 * embedded evaluator. The file's `rule_files` are not read: the groups given stand for them.
 */
export function runPromtoolTests(
  rules: AlertRuleSet | readonly RuleGroupData[],
  testFileYaml: string,
): PromtoolRun {
  let file: { evaluation_interval?: unknown; tests?: unknown } | null;
  try {
    file = parse(testFileYaml) as typeof file;
  } catch (e) {
    throw invalid(`the text is not YAML (${e instanceof Error ? e.message : String(e)})`);
  }
  if (file === null || typeof file !== 'object') throw invalid('the text is not a test file');
  const evalInterval =
    file.evaluation_interval === undefined
      ? 60_000
      : durationField(file.evaluation_interval, 'evaluation_interval');
  const groups = Array.isArray(rules)
    ? (rules as readonly RuleGroupData[])
    : (rules as AlertRuleSet).groups;
  const tests = arrayField(file.tests, 'tests') as TestGroupFile[];
  const verdicts: PromtoolVerdict[] = [];
  tests.forEach((tg, index) => verdicts.push(...runGroup(groups, tg, index, evalInterval)));
  return { passed: verdicts.every((v) => v.passed), verdicts, tests: tests.length };
}

function runGroup(
  groups: readonly RuleGroupData[],
  tg: TestGroupFile,
  index: number,
  evalInterval: number,
): PromtoolVerdict[] {
  const name = typeof tg.name === 'string' ? tg.name : '';
  const interval =
    tg.interval === undefined ? evalInterval : durationField(tg.interval, 'interval');
  const clock = new ManualClock(0);
  const engine = new Engine(
    {
      rules: {
        name: 'promtool',
        prometheusVersion: '2.42.0',
        groups,
        inhibitRules: [],
        tests: [],
        slowTests: [],
        untested: [],
      },
      clock,
      interval: formatDuration(evalInterval),
      externalLabels: stringMap(tg.external_labels),
      ...(typeof tg.external_url === 'string' && tg.external_url !== ''
        ? { externalURL: tg.external_url }
        : {}),
    },
    1,
    { scrape: false, retainAll: true, alertSeries: 'always' },
  );
  const storage = engine.storage;
  // Every input sample, in time order, appended as evaluation reaches its time.
  const pending: { labels: LabelSet; s: Sample }[] = [];
  for (const item of arrayField(tg.input_series, 'input_series')) {
    const labels = parseSeriesLabels(scalarText(item.series));
    expandSeriesValues(scalarText(item.values)).forEach((v, i) => {
      if (v === null) return;
      pending.push({ labels, s: { t: i * interval, v: v === 'stale' ? undefined : v } });
    });
  }
  pending.sort((a, b) => a.s.t - b.s.t);
  let next = 0;
  const loadTill = (ts: number): void => {
    while (next < pending.length && (pending[next]?.s.t ?? Infinity) <= ts) {
      const p = pending[next++] as { labels: LabelSet; s: Sample };
      if (p.s.v === undefined) storage.appendStale(p.labels, p.s.t);
      else storage.append(p.labels, p.s.t, p.s.v);
    }
  };

  const alertTests = arrayField(tg.alert_rule_test, 'alert_rule_test').map((a) => ({
    evalMs: durationField(a.eval_time, 'eval_time'),
    alertname: String(a.alertname),
    exp: arrayField(a.exp_alerts, 'exp_alerts').map((e) => ({
      labels: { ...stringMap(e.exp_labels), alertname: String(a.alertname) },
      annotations: stringMap(e.exp_annotations),
    })),
  }));
  const exprTests = arrayField(tg.promql_expr_test, 'promql_expr_test').map((e) => ({
    evalMs: durationField(e.eval_time, 'eval_time'),
    expr: String(e.expr),
    exp: arrayField(e.exp_samples, 'exp_samples').map((s) => ({
      labels: parseOptionalLabels(scalarText(s.labels)),
      value: typeof s.value === 'number' ? s.value : number(String(s.value)),
    })),
  }));
  const maxt = Math.max(0, ...alertTests.map((a) => a.evalMs), ...exprTests.map((e) => e.evalMs));
  const order = [...alertTests.keys()].sort(
    (a, b) => (alertTests[a]?.evalMs ?? 0) - (alertTests[b]?.evalMs ?? 0),
  );
  const verdicts = new Map<number, PromtoolVerdict>();
  let curr = 0;
  for (let ts = 0; ts <= maxt; ts += evalInterval) {
    loadTill(ts);
    clock.advance(ts - clock.now());
    engine.evaluateAllAt(ts);
    // promtool checks an eval_time against the evaluation at or just before it.
    while (curr < order.length) {
      const i = order[curr] as number;
      const t = alertTests[i] as (typeof alertTests)[number];
      if (!(ts <= t.evalMs && t.evalMs < ts + evalInterval)) break;
      const got = engine
        .firingOf(t.alertname)
        .map((a) => `${canonical(a.labels)} ${canonical(a.annotations)}`)
        .sort();
      const exp = t.exp.map((e) => `${canonical(e.labels)} ${canonical(e.annotations)}`).sort();
      const passed = got.length === exp.length && got.every((g, k) => g === exp[k]);
      verdicts.set(i, {
        test: index,
        name,
        kind: 'alert',
        evalTime: formatDuration(t.evalMs),
        alertname: t.alertname,
        passed,
        ...(passed ? {} : { message: `exp: [${exp.join(', ')}], got: [${got.join(', ')}]` }),
      });
      curr++;
    }
  }
  loadTill(Infinity);
  const out: PromtoolVerdict[] = alertTests.map(
    (t, i) =>
      verdicts.get(i) ?? {
        test: index,
        name,
        kind: 'alert',
        evalTime: formatDuration(t.evalMs),
        alertname: t.alertname,
        passed: false,
        message: 'not evaluated',
      },
  );
  for (const t of exprTests) {
    const base = {
      test: index,
      name,
      kind: 'expr' as const,
      evalTime: formatDuration(t.evalMs),
      expr: t.expr,
    };
    let got: { labels: LabelSet; value: number }[];
    try {
      const result = evaluate(compileExpr(t.expr), t.evalMs, storage);
      if ('error' in result) {
        const err: unknown = result.error;
        throw err instanceof Error ? err : new Error(String(err));
      }
      if (result.type === 'vector')
        got = result.samples.map((s) => ({ labels: s.labels, value: s.value }));
      else if (result.type === 'scalar') got = [{ labels: {}, value: result.value }];
      else throw new Error('rule result is not a vector or scalar');
    } catch (e) {
      out.push({
        ...base,
        passed: false,
        message: `error: ${e instanceof Error ? e.message : String(e)}`,
      });
      continue;
    }
    const key = (s: { labels: LabelSet; value: number }): string =>
      `${labelsKey(s.labels)} ${s.value}`;
    const exp = t.exp.map(key).sort();
    const gotKeys = got.map(key).sort();
    // reflect.DeepEqual on float64: NaN never equals NaN.
    const passed =
      exp.length === gotKeys.length &&
      exp.every((e, k) => e === gotKeys[k]) &&
      !got.some((s) => Number.isNaN(s.value));
    out.push({
      ...base,
      passed,
      ...(passed ? {} : { message: `exp: [${exp.join(', ')}], got: [${gotKeys.join(', ')}]` }),
    });
  }
  return out;
}

function parseOptionalLabels(text: string): LabelSet {
  return text.trim() === '' || text.trim() === '{}' ? {} : parseSeriesLabels(text);
}

/** A YAML scalar as text (promtool reads these fields as strings). */
function scalarText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (value === undefined || value === null) return '';
  throw invalid(`${JSON.stringify(value)} is not a string`);
}
