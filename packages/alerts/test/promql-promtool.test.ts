// checkPromQL() against the real promtool (Debian's prometheus package, 2.42): every expression of the
// corpus, generated combinations of operators, functions and aggregations over operands of each type,
// and seeded random expression trees, is written as a recording rule of one rule file; promtool's verdict on each rule must be
// checkPromQL's with prometheusVersion "2.42".
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findBinary } from '@vigil/test-utils';
import { ALERTS_ERROR_CODES, checkPromQL } from '@vigil/alerts';

const promtool = findBinary('promtool', 'prometheus');

/** The hand-written corpus: one expression per line, `//` comments and blank lines skipped. */
const corpus = readFileSync(join(__dirname, 'promql', 'corpus.txt'), 'utf8')
  .split('\n')
  .filter((line) => line.trim() !== '' && !line.startsWith('//'));

/** Expressions a line-based file cannot hold. */
const multiline = [
  '`raw\nstring`',
  'sum by (job) (\n  rate(http_requests_total[5m])\n)',
  'x # comment\n+ y',
  'x{job="a\nb"}',
  'rate(\n  x[5m]\n) > \n 0',
  'x\t+\ty',
];

const OPERANDS = ['x', '1', '"s"', 'x[5m]', 'x[5m:]', '(x)', '-x', 'sum(x)'];
const OPERATORS = [
  '+',
  '^',
  '==',
  '== bool',
  '> bool',
  'and',
  'or',
  'unless',
  '+ on(a)',
  '+ on()',
  '/ ignoring(a) group_left',
  '* on(a) group_right(b)',
  'and on(a)',
  'or ignoring(a) group_left',
  'unless bool',
  'atan2',
];
const FUNCTIONS = [
  'abs',
  'absent',
  'absent_over_time',
  'acos',
  'avg_over_time',
  'ceil',
  'changes',
  'clamp',
  'clamp_max',
  'clamp_min',
  'count_over_time',
  'days_in_month',
  'day_of_week',
  'delta',
  'deriv',
  'exp',
  'histogram_count',
  'histogram_fraction',
  'histogram_quantile',
  'histogram_sum',
  'holt_winters',
  'hour',
  'idelta',
  'increase',
  'irate',
  'label_join',
  'label_replace',
  'last_over_time',
  'ln',
  'max_over_time',
  'minute',
  'pi',
  'predict_linear',
  'present_over_time',
  'quantile_over_time',
  'rate',
  'resets',
  'round',
  'scalar',
  'sgn',
  'sort',
  'sort_desc',
  'stddev_over_time',
  'sum_over_time',
  'time',
  'timestamp',
  'vector',
  'year',
  'histogram_avg',
  'histogram_stddev',
  'mad_over_time',
  'sort_by_label',
  'info',
  'double_exponential_smoothing',
];
const ARGUMENTS = [
  '',
  'x',
  'x[5m]',
  '1',
  '"s"',
  'x, 1',
  'x[5m], 1',
  '1, x',
  '1, x[5m]',
  'x, "a"',
  'x, "a", "b", "c"',
  'x, "a", "b", "c", "d"',
  'x[5m], 1, 1',
  '1, 1, x',
];
const AGGREGATIONS = [
  'sum',
  'avg',
  'count',
  'group',
  'stddev',
  'topk',
  'bottomk',
  'quantile',
  'count_values',
  'limitk',
];
const AGGREGATED = ['', 'x', 'x[5m]', '1', '1, x', '"l", x', 'x, x', 'scalar(x), x'];

const generated = [
  ...OPERANDS.flatMap((l) => OPERATORS.flatMap((op) => OPERANDS.map((r) => `${l} ${op} ${r}`))),
  ...FUNCTIONS.flatMap((f) => ARGUMENTS.map((a) => `${f}(${a})`)),
  ...AGGREGATIONS.flatMap((a) =>
    AGGREGATED.flatMap((g) => [`${a}(${g})`, `${a} by (job) (${g})`, `${a}(${g}) without (i)`]),
  ),
];

/** A seeded generator, so that a failure names an expression that comes back on the next run. */
function seeded(seed: number): () => number {
  let state = seed;
  return () => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return state / 4294967296;
  };
}

/** Random expression trees over every construct, operands of every type, valid or not. */
function randomExpressions(count: number, seed: number): string[] {
  const rnd = seeded(seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(rnd() * list.length)] as T;
  const matchers = [
    'a="b"',
    'a=""',
    'a!="b"',
    'a=~".*"',
    'a=~".+"',
    'a!~""',
    '__name__="m"',
    'b=~"x|"',
    'c=~"(?i)x"',
    'd=~"[a-"',
    'e="\\x41"',
  ];
  const duration = (): string => pick(['5m', '1h', '30s', '1h30m', '0s', '5', '1m5m', '2d']);
  const selector = (): string => {
    const name = pick([
      'x',
      'http_requests_total',
      'job:rate5m',
      'sum',
      'by',
      'offset',
      'inf',
      'bool',
    ]);
    const list = Array.from({ length: Math.floor(rnd() * 3) }, () => pick(matchers)).join(',');
    return pick([name, `${name}{${list}}`, `{${list}}`]);
  };
  const tree = (depth: number): string => {
    const r = rnd();
    if (depth <= 0 || r < 0.2)
      return pick([selector(), selector(), '1', '0.5', '-2', '"s"', 'Inf', '0x10']);
    const sub = (): string => tree(depth - 1);
    if (r < 0.35) {
      const args = Array.from({ length: Math.floor(rnd() * 4) }, sub).join(', ');
      return `${pick([...FUNCTIONS, 'time', 'clamp', 'label_replace'])}(${args})`;
    }
    if (r < 0.5) {
      const args = Array.from({ length: 1 + Math.floor(rnd() * 2) }, sub).join(', ');
      const by = pick(['', ' by (a)', ' without (b)']);
      return rnd() < 0.5
        ? `${pick(AGGREGATIONS)}${by}(${args})`
        : `${pick(AGGREGATIONS)}(${args})${by}`;
    }
    if (r < 0.7)
      return `${sub()} ${pick(OPERATORS)}${pick(['', ' bool', ' on(a) group_left(a)'])} ${sub()}`;
    if (r < 0.78) return `${sub()}[${duration()}]`;
    if (r < 0.84) return `${sub()}[${duration()}:${pick(['', duration()])}]`;
    if (r < 0.89) return `${sub()} offset ${pick(['', '-'])}${duration()}`;
    if (r < 0.93) return `${sub()} @ ${pick(['10', '-5', 'start()', 'end()', '1e30'])}`;
    if (r < 0.97) return `(${sub()})`;
    return `${pick(['-', '+'])}${sub()}`;
  };
  const found = new Set<string>();
  for (let i = 0; found.size < count && i < count * 10; i++)
    found.add(tree(1 + Math.floor(rnd() * 4)));
  return [...found];
}

const random = randomExpressions(2000, 42);
const expressions = [...corpus, ...multiline, ...generated, ...random];

/** promtool's verdict on each expression: undefined when accepted, else its message. */
function promtoolVerdicts(exprs: readonly string[]): (string | undefined)[] {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-promql-'));
  try {
    const file = join(dir, 'rules.yml');
    // JSON is YAML, and JSON.stringify escapes whatever an expression holds.
    const rules = exprs.map((expr, i) => ({ record: `vigil:rule${i}`, expr }));
    writeFileSync(file, JSON.stringify({ groups: [{ name: 'corpus', rules }] }));
    const run = spawnSync(promtool as string, ['check', 'rules', file], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    if (run.error) throw run.error;
    const output = `${run.stdout}${run.stderr}`;
    const verdicts: (string | undefined)[] = exprs.map(() => undefined);
    let errors = 0;
    for (const line of output.split('\n')) {
      // promtool numbers rules from 1: `group "corpus", rule 3, "vigil:rule2": could not parse ...`;
      // a message may quote a carriage return from the expression, hence the `s` flag.
      const m = /rule (\d+), "vigil:rule\d+": (.*)$/s.exec(line);
      if (m) {
        verdicts[Number(m[1]) - 1] = m[2];
        errors++;
      }
    }
    // A file promtool could not read at all would otherwise look like all-accepted.
    if (errors === 0) expect(output).toContain(`SUCCESS: ${exprs.length} rules found`);
    else expect(run.status).not.toBe(0);
    return verdicts;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** checkPromQL's verdict: undefined when accepted, else the code and first line of the message. */
function vigilVerdict(expr: string): string | undefined {
  try {
    checkPromQL(expr, { prometheusVersion: '2.42' });
    return undefined;
  } catch (e) {
    const { code, message } = e as { code: string; message: string };
    expect(Object.values(ALERTS_ERROR_CODES)).toContain(code);
    return message.split('\n')[0];
  }
}

describe('checkPromQL against promtool 2.42', () => {
  let summary = '';
  afterAll(() => {
    if (summary !== '') console.log(summary);
  });

  it('should have a corpus that covers every rule in valid and invalid forms', () => {
    expect(corpus.length).toBeGreaterThanOrEqual(200);
    expect(expressions.length).toBeGreaterThan(1000);
  });

  it.skipIf(!promtool)('should give the verdict promtool gives on every expression', () => {
    const theirs = promtoolVerdicts(expressions);
    const disagreements: string[] = [];
    let accepted = 0;
    let agree = 0;
    expressions.forEach((expr, i) => {
      const mine = vigilVerdict(expr);
      const prom = theirs[i];
      if (prom === undefined) accepted++;
      if ((mine === undefined) === (prom === undefined)) agree++;
      else {
        disagreements.push(
          `${JSON.stringify(expr)}\n  promtool: ${prom ?? 'accepted'}\n  vigil:    ${mine ?? 'accepted'}`,
        );
      }
    });
    const rejected = expressions.length - accepted;
    summary = `promtool differential: ${expressions.length} expressions (${corpus.length + multiline.length} written, ${generated.length} combinations, ${random.length} random trees): promtool accepted ${accepted}, rejected ${rejected}; checkPromQL agrees on ${agree}, disagrees on ${disagreements.length}`;
    expect(disagreements, disagreements.join('\n')).toEqual([]);
    // Both verdicts occur in numbers, so agreement is not vacuous.
    expect(accepted).toBeGreaterThan(200);
    expect(rejected).toBeGreaterThan(200);
  });
});
