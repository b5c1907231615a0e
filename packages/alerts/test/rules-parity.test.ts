// Parity of Vigil's promtool runner with the real promtool (Debian's prometheus package, 2.42): every
// promtool test file part 1 generates — the reference app's, its demo variant's, and those of rule
// sets using every builder and SLO kind — must pass in promtool and give the same verdict, assertion
// by assertion, in runPromtoolTests(); and a copy with one altered expectation per test group must
// fail exactly those assertions in both.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { runPromtoolTests, type PromtoolVerdict, type RuleGroupData } from '@vigil/alerts';
import { parseDuration } from '../src/duration';
import { SETS, files, promtool, writeAll } from './support';

const ROOT = join(__dirname, '..', '..', '..');

interface Case {
  readonly label: string;
  readonly dir: string;
  readonly file: string;
  readonly groups: readonly RuleGroupData[];
}

function exampleCases(dir: string, name: string): Case[] {
  const groups = (
    parse(readFileSync(join(dir, `${name}.rules.yml`), 'utf8')) as { groups: RuleGroupData[] }
  ).groups;
  return [`${name}.rules.test.yml`, `${name}.rules.slow.test.yml`].map((file) => ({
    label: `examples/${file}`,
    dir,
    file,
    groups,
  }));
}

const CASES: Case[] = [
  ...exampleCases(join(ROOT, 'examples', 'stack'), 'gateway'),
  ...exampleCases(join(ROOT, 'examples', 'stack', 'demo'), 'gateway-demo'),
  ...SETS.flatMap(([name, make]) => {
    const set = make();
    const generated = files(set);
    const dir = writeAll(generated);
    return Object.keys(generated)
      .filter((f) => f.endsWith('.test.yml'))
      .map((file) => ({ label: `set ${name}: ${file}`, dir, file, groups: set.groups }));
  }),
];

/** Alters the first assertion of every test group; returns the text and the keys altered. */
function mutate(text: string): { text: string; altered: Set<string> } {
  const doc = parse(text) as { tests: Record<string, unknown>[] };
  const altered = new Set<string>();
  doc.tests.forEach((tg, i) => {
    const alerts = tg.alert_rule_test as
      | {
          eval_time: string;
          alertname: string;
          exp_alerts: {
            exp_labels?: Record<string, string>;
            exp_annotations?: Record<string, string>;
          }[];
        }[]
      | undefined;
    const exprs = tg.promql_expr_test as
      | { eval_time: string; expr: string; exp_samples: { labels: string; value: number }[] }[]
      | undefined;
    const a = alerts?.[0];
    if (a !== undefined) {
      const first = a.exp_alerts[0];
      if (first === undefined) a.exp_alerts.push({ exp_labels: { severity: 'critical' } });
      else if (first.exp_annotations?.summary !== undefined)
        first.exp_annotations.summary += ' (altered)';
      else first.exp_labels = { ...first.exp_labels, altered: 'yes' };
      altered.add(`${i}|alert|${a.alertname}|${parseDuration(a.eval_time) ?? -1}`);
    }
    const e = exprs?.[0];
    if (e !== undefined) {
      const s = e.exp_samples[0];
      if (s === undefined) e.exp_samples.push({ labels: 'altered_metric', value: 1 });
      else s.value += 1;
      altered.add(`${i}|expr|${e.expr}|${parseDuration(e.eval_time) ?? -1}`);
    }
  });
  return { text: stringify(doc, { lineWidth: 0 }), altered };
}

interface PromtoolResult {
  status: number;
  /** Failed assertions by `name|kind|what|ms`, with counts. */
  failed: Map<string, number>;
  output: string;
}

/**
 * promtool's failure report: `name: ...,` then `alertname: A, time: T,` for an alert, `expr: "E",
 * time: T,` (without the group's name) for an expression.
 */
function parseFailures(output: string): Map<string, number> {
  const failed = new Map<string, number>();
  let name = '';
  for (const line of output.split('\n')) {
    const n = /^ {4}name: (.*),$/.exec(line);
    if (n) {
      name = n[1] ?? '';
      continue;
    }
    const a = /^ {4}alertname: (.*), time: ([^\s,]+), ?$/.exec(line);
    const e = /^ {4}expr: (".*"), time: ([^\s,]+),?$/.exec(line);
    const key = a
      ? `${name}|alert|${a[1]}|${parseDuration(a[2] ?? '') ?? -1}`
      : e
        ? `|expr|${JSON.parse(e[1] ?? '""') as string}|${parseDuration(e[2] ?? '') ?? -1}`
        : undefined;
    if (key !== undefined) {
      failed.set(key, (failed.get(key) ?? 0) + 1);
      name = '';
    }
    if (line.trim() === '') name = '';
  }
  return failed;
}

// Two promtool processes at a time: the machine is shared.
let running = 0;
const waiting: (() => void)[] = [];
async function runPromtool(dir: string, file: string): Promise<PromtoolResult> {
  if (running >= 2) await new Promise<void>((resolve) => waiting.push(resolve));
  running++;
  try {
    return await new Promise((resolve) => {
      execFile(
        promtool as string,
        ['test', 'rules', file],
        { cwd: dir, maxBuffer: 64 << 20, timeout: 900_000 },
        (err, stdout, stderr) => {
          const output = `${stdout}${stderr}`;
          const status = err === null ? 0 : typeof err.code === 'number' ? err.code : -1;
          resolve({ status, failed: parseFailures(output), output });
        },
      );
    });
  } finally {
    running--;
    waiting.shift()?.();
  }
}

/**
 * An assertion's key: by test-group name as promtool prints alert failures, or by index for the
 * altered set. promtool prints no group name with an expression's failure, so those go by expression
 * and time alone.
 */
function keyOf(v: PromtoolVerdict, byName: boolean): string {
  const what = v.kind === 'alert' ? v.alertname : v.expr;
  const group = byName ? (v.kind === 'alert' ? v.name : '') : String(v.test);
  return `${group}|${v.kind}|${what ?? ''}|${parseDuration(v.evalTime) ?? -1}`;
}

const totals = {
  files: 0,
  groups: 0,
  assertions: 0,
  agreements: 0,
  disagreements: 0,
  altered: 0,
  alteredFailedInBoth: 0,
};

/** Compares promtool's failures with Vigil's verdicts; returns the disagreements. */
function compare(verdicts: readonly PromtoolVerdict[], pt: PromtoolResult): string[] {
  const failed = new Map(pt.failed);
  const out: string[] = [];
  for (const v of verdicts) {
    const key = keyOf(v, true);
    const n = failed.get(key) ?? 0;
    const promtoolPassed = n === 0;
    if (n > 0) failed.set(key, n - 1);
    if (promtoolPassed === v.passed) totals.agreements++;
    else {
      totals.disagreements++;
      out.push(
        `${key}: promtool ${promtoolPassed ? 'passed' : 'failed'}, Vigil ${v.passed ? 'passed' : `failed (${v.message ?? ''})`}`,
      );
    }
    totals.assertions++;
  }
  for (const [key, n] of failed)
    if (n > 0) out.push(`${key}: a promtool failure no assertion matches`);
  return out;
}

describe.skipIf(promtool === undefined)('runPromtoolTests parity with promtool', () => {
  const prepared = CASES.map((c) => {
    const text = readFileSync(join(c.dir, c.file), 'utf8');
    const mutated = mutate(text);
    const mutatedFile = c.file.replace(/\.yml$/, '.altered.yml');
    return { ...c, text, mutated, mutatedFile };
  });

  afterAll(() => {
    console.log(
      `parity: files ${totals.files}, groups ${totals.groups}, assertions ${totals.assertions} (originals and altered copies), agreements ${totals.agreements}, disagreements ${totals.disagreements}; altered expectations ${totals.altered}, failed in both ${totals.alteredFailedInBoth}`,
    );
  });

  it.each(prepared.map((p) => [p.label, p] as const))(
    "should give promtool's verdicts on %s and its altered copy",
    async (_label, p) => {
      // promtool reads the rule files named in the test file, relative to it: altered copies go next
      // to a copy of the rule files.
      const rulesFiles = (parse(p.text) as { rule_files: string[] }).rule_files;
      const dir = writeAll({
        ...Object.fromEntries(rulesFiles.map((f) => [f, readFileSync(join(p.dir, f), 'utf8')])),
        [p.file]: p.text,
        [p.mutatedFile]: p.mutated.text,
      });
      const original = runPromtool(dir, p.file);
      const altered = runPromtool(dir, p.mutatedFile);
      const mine = runPromtoolTests(p.groups, p.text);
      const mineAltered = runPromtoolTests(p.groups, p.mutated.text);
      const pt = await original;
      const ptAltered = await altered;
      totals.files++;
      totals.groups += mine.tests;
      expect(pt.status, pt.output).toBe(0);
      expect(mine.verdicts.filter((v) => !v.passed)).toEqual([]);
      const disagreements = [
        ...compare(mine.verdicts, pt),
        ...compare(mineAltered.verdicts, ptAltered),
      ];
      expect(disagreements).toEqual([]);
      // Mutation check: each altered assertion fails in both, every other one passes in both.
      for (const v of mineAltered.verdicts) {
        const altered = p.mutated.altered.has(keyOf(v, false));
        if (altered) {
          totals.altered++;
          const failedInPromtool = (ptAltered.failed.get(keyOf(v, true)) ?? 0) > 0;
          if (!v.passed && failedInPromtool) totals.alteredFailedInBoth++;
          expect(v.passed, keyOf(v, true)).toBe(false);
          expect(failedInPromtool, keyOf(v, true)).toBe(true);
        } else {
          expect(v.passed, `${keyOf(v, true)} ${v.message ?? ''}`).toBe(true);
        }
      }
      expect(p.mutated.altered.size).toBeGreaterThan(0);
    },
    1_800_000,
  );
});

describe.skipIf(promtool === undefined)('runPromtoolTests on ALERTS', () => {
  it('should write ALERTS and ALERTS_FOR_STATE from the first evaluation, as promtool 2.42 does', async () => {
    const groups: RuleGroupData[] = [
      {
        name: 'g',
        rules: [
          { alert: 'Always', expr: 'vector(1)', labels: {}, annotations: {} },
          {
            alert: 'Slow',
            expr: 'vector(2)',
            for: '5m',
            labels: { severity: 'info' },
            annotations: {},
          },
        ],
      },
    ];
    const test = stringify({
      rule_files: ['r.yml'],
      evaluation_interval: '1m',
      tests: [
        {
          interval: '1m',
          input_series: [],
          promql_expr_test: [
            {
              expr: 'ALERTS',
              eval_time: '0m',
              exp_samples: [
                { labels: 'ALERTS{alertname="Always", alertstate="firing"}', value: 1 },
                {
                  labels: 'ALERTS{alertname="Slow", alertstate="pending", severity="info"}',
                  value: 1,
                },
              ],
            },
            {
              expr: 'ALERTS_FOR_STATE',
              eval_time: '2m',
              exp_samples: [
                { labels: 'ALERTS_FOR_STATE{alertname="Always"}', value: 0 },
                { labels: 'ALERTS_FOR_STATE{alertname="Slow", severity="info"}', value: 0 },
              ],
            },
            {
              expr: 'ALERTS{alertstate="firing"}',
              eval_time: '6m',
              exp_samples: [
                { labels: 'ALERTS{alertname="Always", alertstate="firing"}', value: 1 },
                {
                  labels: 'ALERTS{alertname="Slow", alertstate="firing", severity="info"}',
                  value: 1,
                },
              ],
            },
          ],
        },
      ],
    });
    const dir = writeAll({ 'r.yml': stringify({ groups }), 't.yml': test });
    const pt = await runPromtool(dir, 't.yml');
    const mine = runPromtoolTests(groups, test);
    expect(pt.status, pt.output).toBe(0);
    expect(mine.verdicts.map((v) => [v.expr, v.passed, v.message])).toEqual([
      ['ALERTS', true, undefined],
      ['ALERTS_FOR_STATE', true, undefined],
      ['ALERTS{alertstate="firing"}', true, undefined],
    ]);
  });
});
