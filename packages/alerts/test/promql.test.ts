// checkPromQL(): tables of expressions Prometheus accepts (with their types) and refuses (with the code
// and Prometheus's wording), version and feature gates, options, messages, and hostile input.
import { describe, expect, it } from 'vitest';
import {
  ALERTS_ERROR_CODES,
  checkPromQL,
  MAX_PROMQL_DEPTH,
  MAX_PROMQL_LENGTH,
  type PromQLType,
} from '@vigil/alerts';

const C = ALERTS_ERROR_CODES;

/** The VigilError checkPromQL throws for `expr`, or a failure when it returns. */
function errorOf(expr: unknown, options?: unknown): { code: string; message: string } {
  try {
    checkPromQL(expr as string, options as never);
  } catch (e) {
    expect((e as Error).name).toBe('VigilError');
    return e as { code: string; message: string };
  }
  throw new Error(`accepted: ${String(expr)}`);
}

describe('checkPromQL', () => {
  it.each<[string, PromQLType]>([
    ['up', 'vector'],
    ['rate(http_requests_total[5m])', 'vector'],
    ['sum by (route) (rate(http_requests_total{status_code=~"5.."}[5m]))', 'vector'],
    [
      'histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))',
      'vector',
    ],
    ['sum(rate(x[5m])) / on(route) group_left sum by (route) (rate(y[5m]))', 'vector'],
    ['x * ignoring(a) group_right(b) y', 'vector'],
    ['absent(up{job="api"})', 'vector'],
    ['max_over_time(rate(x[1m])[1h:5m])', 'vector'],
    ['x[5m]', 'matrix'],
    ['x[5m] offset 1h', 'matrix'],
    ['rate(x[5m])[10m:]', 'matrix'],
    ['x @ start()', 'vector'],
    ['x @ 1609746000 offset -5m', 'vector'],
    ['1', 'scalar'],
    ['-Inf', 'scalar'],
    ['0x1F + 5.', 'scalar'],
    ['2 > bool 1', 'scalar'],
    ['time() - 3600', 'scalar'],
    ['scalar(up)', 'scalar'],
    ['pi()', 'scalar'],
    ['"a string"', 'string'],
    ['`raw\nstring`', 'string'],
    ['SUM BY (job) (x) AND ON(job) y', 'vector'],
    ['topk(5, x)', 'vector'],
    ['count_values("version", build_info)', 'vector'],
    ['quantile by (job) (0.5, up)', 'vector'],
    ['label_join(up, "both", ",", "a", "b", "c")', 'vector'],
    ['round(x, 0.5) + day_of_week()', 'vector'],
    ['holt_winters(x[1h], 0.5, 0.5)', 'vector'],
    ['{__name__=~"up|down"}', 'vector'],
    ['{job=~".+"}', 'vector'],
    ['x{job=~"(?i)api|\\\\d+|[[:alpha:]]\\\\z"}', 'vector'],
    ['sum by (on, bool, offset) (x)', 'vector'],
    ['offset', 'vector'],
    ['x # a comment\n + y', 'vector'],
    ['1 + on() 2', 'scalar'],
  ])('should accept %j as %s', (expr, type) => {
    expect(checkPromQL(expr)).toEqual({ type });
  });

  it.each<[string, string, string]>([
    [
      'rate(up)',
      'PROMQL_TYPE',
      'expected type range vector in call to function "rate", got instant vector',
    ],
    [
      'sum(up[5m])',
      'PROMQL_TYPE',
      'expected type instant vector in aggregation expression, got range vector',
    ],
    ['topk("3", x)', 'PROMQL_TYPE', 'expected type scalar in aggregation parameter, got string'],
    [
      'count_values(3, x)',
      'PROMQL_TYPE',
      'expected type string in aggregation parameter, got scalar',
    ],
    [
      'topk(3)',
      'PROMQL_TYPE',
      'wrong number of arguments for aggregate expression provided, expected 2, got 1',
    ],
    ['sum()', 'PROMQL_TYPE', 'no arguments for aggregate expression provided'],
    ['rate(x[5m], 1)', 'PROMQL_TYPE', 'expected 1 argument(s) in call to "rate", got 2'],
    ['round(x, 1, 2)', 'PROMQL_TYPE', 'expected at most 2 argument(s) in call to "round", got 3'],
    [
      'label_join(up, "a")',
      'PROMQL_TYPE',
      'expected at least 3 argument(s) in call to "label_join", got 2',
    ],
    ['x and bool y', 'PROMQL_TYPE', 'bool modifier can only be used on comparison operators'],
    ['2 > 1', 'PROMQL_TYPE', 'comparisons between scalars must use BOOL modifier'],
    ['1 and x', 'PROMQL_TYPE', 'set operator "and" not allowed in binary scalar expression'],
    ['x + on(job) 1', 'PROMQL_TYPE', 'vector matching only allowed between instant vectors'],
    ['x and on(job) group_left y', 'PROMQL_TYPE', 'no grouping allowed for "and" operation'],
    [
      'x * on(a) group_left(a) y',
      'PROMQL_TYPE',
      'label "a" must not occur in ON and GROUP clause at once',
    ],
    [
      'x[5m] + 1',
      'PROMQL_TYPE',
      'binary expression must contain only scalar and instant vector types',
    ],
    [
      'x + y[5m]',
      'PROMQL_TYPE',
      'binary expression must contain only scalar and instant vector types',
    ],
    ['1[5m:]', 'PROMQL_TYPE', 'subquery is only allowed on instant vector, got scalar instead'],
    [
      'x[5m][10m:]',
      'PROMQL_TYPE',
      'subquery is only allowed on instant vector, got matrix instead',
    ],
    [
      '-x[5m]',
      'PROMQL_TYPE',
      'unary expression only allowed on expressions of type scalar or instant vector, got "range vector"',
    ],
    ['(x)[5m]', 'PROMQL_SYNTAX', 'ranges only allowed for vector selectors'],
    ['rate(x[5m])[10m]', 'PROMQL_SYNTAX', 'ranges only allowed for vector selectors'],
    ['x offset 5m [5m]', 'PROMQL_SYNTAX', 'no offset modifiers allowed before range'],
    ['x @ 5 [5m]', 'PROMQL_SYNTAX', 'no @ modifiers allowed before range'],
    [
      'sum(x) offset 5m',
      'PROMQL_SYNTAX',
      'offset modifier must be preceded by an instant vector selector',
    ],
    ['(x) @ 5', 'PROMQL_SYNTAX', '@ modifier must be preceded by an instant vector selector'],
    ['x offset 1m offset 2m', 'PROMQL_SYNTAX', 'offset may not be set multiple times'],
    ['x @ 1 @ 2', 'PROMQL_SYNTAX', '@ <timestamp> may not be set multiple times'],
    ['x @ Inf', 'PROMQL_SYNTAX', 'timestamp out of bounds for @ modifier'],
    ['{job=~".*"}', 'PROMQL_SYNTAX', 'vector selector must contain at least one non-empty matcher'],
    ['{}', 'PROMQL_SYNTAX', 'vector selector must contain at least one non-empty matcher'],
    ['up{__name__="up"}', 'PROMQL_SYNTAX', 'metric name must not be set twice'],
    [
      'x{a=~"a**"}',
      'PROMQL_SYNTAX',
      'error parsing regexp: invalid nested repetition operator: `**`',
    ],
    [
      'x{a=~"(?<n>a)"}',
      'PROMQL_SYNTAX',
      'error parsing regexp: invalid or unsupported Perl syntax: `(?<`',
    ],
    [
      'x{a=~"[z-a]"}',
      'PROMQL_SYNTAX',
      'error parsing regexp: invalid character class range: `z-a`',
    ],
    ['x{a=~"(a"}', 'PROMQL_SYNTAX', 'error parsing regexp: missing closing ): `(a`'],
    ['x{a=~"\\\\1"}', 'PROMQL_SYNTAX', 'error parsing regexp: invalid escape sequence: `\\1`'],
    ['x{a="\\q"}', 'PROMQL_SYNTAX', "unknown escape sequence U+0071 'q'"],
    ['x{a="open}', 'PROMQL_SYNTAX', 'unterminated quoted string'],
    ['x{a="\\uD800"}', 'PROMQL_SYNTAX', 'escape sequence is an invalid Unicode code point'],
    ['x[5]', 'PROMQL_SYNTAX', 'missing unit character in duration'],
    ['x[0s]', 'PROMQL_SYNTAX', 'duration must be greater than 0'],
    ['x offset 30m1h', 'PROMQL_SYNTAX', 'not a valid duration string: "30m1h"'],
    ['1e400', 'PROMQL_SYNTAX', 'value out of range'],
    ['1_000', 'PROMQL_SYNTAX', 'bad number or duration syntax'],
    ['foo()', 'PROMQL_SYNTAX', 'unknown function with name "foo"'],
    ['RATE(x[5m])', 'PROMQL_SYNTAX', 'unknown function with name "RATE"'],
    ['sum(x', 'PROMQL_SYNTAX', 'unexpected'],
    ['rate(x[5m],)', 'PROMQL_SYNTAX', 'unexpected'],
    ['', 'PROMQL_SYNTAX', 'unexpected end of input'],
    ['# only a comment', 'PROMQL_SYNTAX', 'unexpected end of input'],
    ['atan2', 'PROMQL_SYNTAX', 'unexpected <op:atan2>'],
    ['x ｛', 'PROMQL_SYNTAX', 'unexpected character'],
  ])('should refuse %j with %s: %s', (expr, key, words) => {
    const error = errorOf(expr);
    expect(error.code).toBe(C[key as keyof typeof C]);
    expect(error.message).toContain(words);
  });

  it('should show the position, a caret line and what Prometheus says', () => {
    const { message } = errorOf('sum by (job) (\n  rate(http_requests_total)\n)');
    expect(message).toBe(
      'ERR_VIGIL_ALERTS_PROMQL_TYPE: PromQL type error at 2:8: expected type range vector in call to function "rate", got instant vector.\n' +
        '      rate(http_requests_total)\n' +
        '           ^\n' +
        'Prometheus 2.42 says: 2:8: parse error: expected type range vector in call to function "rate", got instant vector\n' +
        'Fix the expression where the caret points. See "ERR_VIGIL_ALERTS_PROMQL_TYPE" under "Error codes" in the @vigil/alerts README.',
    );
  });

  describe('target version and feature flags', () => {
    it.each<[string, string, string]>([
      [
        'limitk(2, x)',
        '2.42',
        'the aggregation limitk needs Prometheus 2.54 or later with --enable-feature=promql-experimental-functions, and the target is Prometheus 2.42',
      ],
      ['limit_ratio(0.5, x)', '2.53', 'needs Prometheus 2.54 or later'],
      [
        'limitk(2, x)',
        '3.0',
        'is experimental and needs the server flag --enable-feature=promql-experimental-functions',
      ],
      ['info(x)', '2.53', 'the function info() needs Prometheus 3.0 or later'],
      [
        'sort_by_label(x, "a")',
        '2.42',
        'the function sort_by_label() needs Prometheus 2.49 or later',
      ],
      ['double_exponential_smoothing(x[1h], 0.5, 0.5)', '2.53', 'needs Prometheus 3.0 or later'],
      ['holt_winters(x[1h], 0.5, 0.5)', '3.0', 'was removed after Prometheus 2.x'],
      ['histogram_avg(x)', '2.42', 'needs Prometheus 2.51 or later'],
      [
        'x[5m + 1m]',
        '2.42',
        'duration arithmetic needs Prometheus 3.4 or later with --enable-feature=promql-duration-expr',
      ],
      [
        'x[5m + 1m]',
        '3.5',
        'duration arithmetic is experimental and needs the server flag --enable-feature=promql-duration-expr',
      ],
      ['x[5m] anchored', '3.5', 'needs Prometheus 3.7 or later'],
      [
        '{"utf8.metric"}',
        '2.53',
        'quoted (UTF-8) metric and label names needs Prometheus 3.0 or later',
      ],
    ])('should refuse %j for %s', (expr, prometheusVersion, words) => {
      const error = errorOf(expr, { prometheusVersion });
      expect(error.code).toBe(C.PROMQL_UNSUPPORTED);
      expect(error.message).toContain(words);
    });

    it.each<[string, string, readonly string[]]>([
      ['limitk(2, x)', '3.0', ['promql-experimental-functions']],
      ['info(x, target_info)', '3.5', ['promql-experimental-functions']],
      ['histogram_avg(x)', '2.51', []],
      ['histogram_stddev(x)', '2.53.1', []],
      ['rate(x[5m + 1m] offset (1m * 2))', '3.4', ['promql-duration-expr']],
      ['{"utf8.metric", "label.name"="a"}', '3.0', []],
      ['rate(x[300])', '3.0', []],
      ['x{a=~"(?<n>a)"}', '3.0', []],
      ['first_over_time(x[5m])', '3.14', []],
      ['rate(x[5m * 2])', '3.14', []],
      ['rate(x[5m] anchored)', '3.16', []],
    ])('should accept %j for %s with %j', (expr, prometheusVersion, features) => {
      expect(checkPromQL(expr, { prometheusVersion, features: features as never })).toEqual({
        type: 'vector',
      });
    });
  });

  describe('options', () => {
    it.each<[string, unknown]>([
      ['prometheusVersion', { prometheusVersion: '2.4' }],
      ['prometheusVersion', { prometheusVersion: '4.0' }],
      ['prometheusVersion', { prometheusVersion: 'latest' }],
      ['prometheusVersion', { prometheusVersion: 3 }],
      ['features', { features: 'promql-experimental-functions' }],
      ['features', { features: ['promql-experimental'] }],
      ['prometheus', { prometheus: '2.42' }],
      ['options', 'v2.42'],
      ['options', null],
    ])('should name the option %s in an option error', (option, options) => {
      const error = errorOf('up', options);
      expect(error.code).toBe(C.PROMQL_INVALID_OPTION);
      expect(error.message).toContain(`checkPromQL(): option "${option}" must be`);
    });

    it('should refuse an expression that is not a string', () => {
      expect(errorOf(42).code).toBe(C.PROMQL_INVALID_OPTION);
    });

    it('should report options that throw when read as an option error', () => {
      const getter = Object.defineProperty({}, 'prometheusVersion', {
        enumerable: true,
        get: () => {
          throw new Error('boom');
        },
      });
      const proxy = new Proxy(
        {},
        {
          ownKeys: () => {
            throw new Error('boom');
          },
        },
      );
      for (const options of [getter, proxy]) {
        expect(errorOf('up', options).code).toBe(C.PROMQL_INVALID_OPTION);
      }
    });

    it('should not mutate the options', () => {
      const options = Object.freeze({ prometheusVersion: '3.5', features: Object.freeze([]) });
      expect(checkPromQL('up', options)).toEqual({ type: 'vector' });
    });
  });

  describe('hostile input', () => {
    const cases: [string, string][] = [
      ['over the length limit', 'x'.repeat(MAX_PROMQL_LENGTH + 1)],
      ['deep parentheses', `${'('.repeat(5000)}x${')'.repeat(5000)}`],
      ['unclosed parentheses', '('.repeat(MAX_PROMQL_LENGTH)],
      ['a long chain of operators', Array.from({ length: 2000 }, (_, i) => `m${i}`).join('+')],
      ['many unary signs', `${'-'.repeat(10_000)}x`],
      ['stacked subqueries', `x${'[5m:]'.repeat(3000)}`],
      [
        'printable garbage',
        Array.from({ length: MAX_PROMQL_LENGTH }, (_, i) =>
          String.fromCharCode(33 + ((i * 7919) % 94)),
        ).join(''),
      ],
      ['control and bidi characters', '\u202e\u0000x{a="\u0007"}\u2066'],
      ['lone surrogates', 'x{a="\ud800"} + \udc00'],
      ['astral characters', `x{a=~"${'🙂'.repeat(3000)}"}`],
      ['a deeply nested regex', `x{a=~"${'('.repeat(3000)}a${')*'.repeat(3000)}"}`],
      ['a huge regex repetition', 'x{a=~"(a{1000}){1000}"}'],
      ['unterminated strings', '"'.repeat(5000)],
      ['many matchers', `x{${Array.from({ length: 800 }, (_, i) => `l${i}=~".+"`).join(',')}}`],
    ];

    it.each(cases)(
      'should refuse or accept %s with a coded error, never a crash',
      (_name, expr) => {
        let outcome: string;
        try {
          outcome = checkPromQL(expr).type;
        } catch (e) {
          expect((e as Error).name).toBe('VigilError');
          outcome = (e as { code: string }).code;
          expect(Object.values(C)).toContain(outcome);
        }
        expect(outcome).toBeTypeOf('string');
      },
    );

    it('should answer random input with a type or a coded error, and report the figures', () => {
      let state = 7;
      const rnd = (n: number): number => {
        state = (Math.imul(state, 1103515245) + 12345) >>> 0;
        return Math.floor((state / 4294967296) * n);
      };
      const alphabet = [...'x{}()[]"\'`\\=~!,:+-*/^%@#5m.e \n\t'].concat([
        'sum',
        'by',
        'rate',
        'offset',
        '\u00a0',
        '\ud83d',
        '\u0000',
        'é',
      ]);
      const outcomes = new Map<string, number>();
      let crashes = 0;
      const variants = 3000;
      for (let i = 0; i < variants; i++) {
        const length = 1 + rnd(40);
        let expr = '';
        for (let k = 0; k < length; k++) expr += alphabet[rnd(alphabet.length)] as string;
        let outcome: string;
        try {
          outcome = checkPromQL(expr).type;
        } catch (e) {
          const code = (e as { code?: string }).code;
          if ((e as Error).name !== 'VigilError' || !Object.values(C).includes(code as never))
            crashes++;
          outcome = code ?? 'crash';
        }
        outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
      }
      console.log(
        `checkPromQL on ${variants} random inputs: ${crashes} crashes; ${[...outcomes].map(([k, n]) => `${k} ${n}`).join(', ')}`,
      );
      expect(crashes).toBe(0);
    });

    it('should refuse expressions over the documented length and depth with PROMQL_TOO_COMPLEX', () => {
      expect(errorOf('x'.repeat(MAX_PROMQL_LENGTH + 1)).code).toBe(C.PROMQL_TOO_COMPLEX);
      const deep = MAX_PROMQL_DEPTH + 10;
      expect(errorOf(`${'('.repeat(deep)}x${')'.repeat(deep)}`).code).toBe(C.PROMQL_TOO_COMPLEX);
      expect(checkPromQL(`${'('.repeat(200)}x${')'.repeat(200)}`)).toEqual({ type: 'vector' });
    });

    it('should keep messages on readable lines whatever the input', () => {
      const { message } = errorOf(`x{a="\u202e"} + ${'y'.repeat(200)}[5]`);
      for (const line of message.split('\n')) {
        const codes = [...line].map((c) => c.codePointAt(0) ?? 0);
        expect(codes.filter((c) => (c < 0x20 && c !== 0x09) || c === 0x202e)).toEqual([]);
      }
      expect(message.split('\n')[1]?.length).toBeLessThan(90);
    });
  });
});
