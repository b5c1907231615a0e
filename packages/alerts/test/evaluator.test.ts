// The embedded evaluator construct by construct, against values computed by hand from Prometheus
// 2.42's semantics (engine.go, functions.go, quantile.go).
import { describe, expect, it } from 'vitest';
import {
  ALERTS_ERROR_CODES,
  compileExpr,
  evaluate,
  MemoryStorage,
  unsupportedReason,
  type Value,
} from '@vigil/alerts';
import type { LabelSet } from '../src/model';

const S = 1000;

/** Evaluates `expr` at `t` seconds, failing the test on an evaluation error. */
function run(store: MemoryStorage, expr: string, t: number): Value {
  const v = evaluate(compileExpr(expr), t * S, store);
  if ('error' in v) throw new Error(v.error);
  return v;
}

/** The samples of a vector result as `labels-json => value`, sorted. */
function vec(store: MemoryStorage, expr: string, t: number): Record<string, number> {
  const v = run(store, expr, t);
  if (v.type !== 'vector') throw new Error(`not a vector: ${v.type}`);
  const out: Record<string, number> = {};
  for (const s of v.samples) {
    const names = Object.keys(s.labels).sort();
    out[names.map((n) => `${n}=${s.labels[n] ?? ''}`).join(',')] = s.value;
  }
  return out;
}

function scalar(store: MemoryStorage, expr: string, t: number): number {
  const v = run(store, expr, t);
  if (v.type !== 'scalar') throw new Error(`not a scalar: ${v.type}`);
  return v.value;
}

function store(series: [LabelSet, [number, number][]][]): MemoryStorage {
  const s = new MemoryStorage();
  for (const [labels, points] of series) for (const [t, v] of points) s.append(labels, t * S, v);
  return s;
}

describe('evaluate: selectors', () => {
  const s = store([
    [
      { __name__: 'x', job: 'a' },
      [
        [0, 1],
        [60, 2],
      ],
    ],
    [{ __name__: 'x', job: 'b' }, [[0, 10]]],
    [{ __name__: 'y', job: 'a' }, [[0, 5]]],
  ]);

  it('should take the last sample at or before t within the 5m lookback (inclusive)', () => {
    expect(vec(s, 'x', 30)).toEqual({ '__name__=x,job=a': 1, '__name__=x,job=b': 10 });
    expect(vec(s, 'x', 300)).toEqual({ '__name__=x,job=a': 2, '__name__=x,job=b': 10 });
    expect(vec(s, 'x', 300.001)).toEqual({ '__name__=x,job=a': 2 });
    expect(vec(s, 'x', 360)).toEqual({ '__name__=x,job=a': 2 });
    expect(vec(s, 'x', 360.001)).toEqual({});
  });

  it('should honour a configured lookback delta', () => {
    const v = evaluate(compileExpr('x', { lookbackDeltaMs: 60_000 }), 61 * S, s);
    expect(v).toEqual({
      type: 'vector',
      samples: [{ labels: { __name__: 'x', job: 'a' }, value: 2 }],
    });
    expect(compileExpr('x', { lookbackDeltaMs: 60_000 }).lookbackMs).toBe(60_000);
  });

  it('should match = != =~ !~ with fully anchored regular expressions', () => {
    expect(Object.keys(vec(s, 'x{job=~"a|b"}', 30))).toHaveLength(2);
    expect(Object.keys(vec(s, 'x{job=~"a.*"}', 30))).toEqual(['__name__=x,job=a']);
    expect(Object.keys(vec(s, 'x{job=~"."}', 30))).toHaveLength(2);
    expect(Object.keys(vec(s, 'x{job=~"b|"}', 30))).toEqual(['__name__=x,job=b']);
    expect(Object.keys(vec(s, 'x{job!~"a"}', 30))).toEqual(['__name__=x,job=b']);
    expect(Object.keys(vec(s, 'x{job!="a"}', 30))).toEqual(['__name__=x,job=b']);
    expect(Object.keys(vec(s, '{job="a"}', 30))).toHaveLength(2);
    expect(Object.keys(vec(s, '{__name__=~"x|y",job="a"}', 30))).toHaveLength(2);
    expect(Object.keys(vec(s, 'x{missing=""}', 30))).toHaveLength(2);
  });

  it('should apply offset', () => {
    expect(vec(s, 'x{job="a"} offset 1m', 60)).toEqual({ '__name__=x,job=a': 1 });
    expect(vec(s, 'x{job="a"} offset -1m', 0)).toEqual({ '__name__=x,job=a': 2 });
  });

  it('should end a series at a staleness marker and not count the marker in ranges', () => {
    const st = new MemoryStorage();
    st.append({ __name__: 'z' }, 0, 1);
    st.append({ __name__: 'z' }, 15 * S, 2);
    st.appendStale({ __name__: 'z' }, 30 * S);
    expect(vec(st, 'z', 29)).toEqual({ '__name__=z': 2 });
    expect(vec(st, 'z', 30)).toEqual({});
    expect(vec(st, 'z', 100)).toEqual({});
    expect(vec(st, 'count_over_time(z[1m])', 60)).toEqual({ '': 2 });
    expect(vec(st, 'absent(z)', 60)).toEqual({ '': 1 });
    st.append({ __name__: 'z' }, 45 * S, 3);
    expect(vec(st, 'z', 50)).toEqual({ '__name__=z': 3 });
  });
});

describe('evaluate: rate, increase, delta (extrapolatedRate)', () => {
  // 10s, 25s, 40s, 55s: 0, 15, 30, 45. Range [0s, 60s]: 10s to the start, 5s to the end,
  // 45s sampled, 15s average, threshold 16.5s. A counter starting at 0 extrapolates to its zero
  // point (0s before the first sample): 45 + 0 + 5 = 50s of 45s sampled.
  const s = store([
    [
      { __name__: 'c' },
      [
        [10, 0],
        [25, 15],
        [40, 30],
        [55, 45],
      ],
    ],
    [
      { __name__: 'r' },
      [
        [10, 10],
        [25, 20],
        [40, 5],
        [55, 15],
      ],
    ],
  ]);

  it('should extrapolate to the counter zero point', () => {
    expect(vec(s, 'increase(c[1m])', 60)['']).toBeCloseTo(50, 12);
    expect(vec(s, 'rate(c[1m])', 60)['']).toBeCloseTo(50 / 60, 12);
  });

  it('should extrapolate a gauge delta to both range ends when within 1.1 average intervals', () => {
    expect(vec(s, 'delta(c[1m])', 60)['']).toBeCloseTo(60, 12);
  });

  it('should extrapolate only half an interval when a range end is far', () => {
    // At 80s: range [20s, 80s] holds 25s..55s: 30 sampled, 15 average; 5s to start (<16.5), 25s to
    // end (>16.5 -> 7.5). Counter: zero point 30*(15/30)=15 > 5. 30 + 5 + 7.5 = 42.5.
    expect(vec(s, 'increase(c[1m])', 80)['']).toBeCloseTo(30 * (42.5 / 30), 12);
  });

  it('should add the value before a counter reset', () => {
    // 15 - 10 + 20 = 25 over 45s; zero point 45 * 10/25 = 18 > 10: 45 + 10 + 5 = 60.
    expect(vec(s, 'increase(r[1m])', 60)['']).toBeCloseTo(25 * (60 / 45), 12);
    expect(vec(s, 'resets(r[1m])', 60)).toEqual({ '': 1 });
    expect(vec(s, 'changes(r[1m])', 60)).toEqual({ '': 3 });
  });

  it('should compute irate and idelta from the last two samples', () => {
    expect(vec(s, 'irate(c[1m])', 60)['']).toBeCloseTo(1, 12);
    expect(vec(s, 'irate(r[1m])', 60)['']).toBeCloseTo(10 / 15, 12);
    expect(vec(s, 'idelta(r[1m])', 60)['']).toBeCloseTo(10, 12);
  });

  it('should drop series with fewer than two samples and drop the metric name', () => {
    expect(vec(s, 'rate(c[10s])', 60)).toEqual({});
    expect(Object.keys(vec(s, 'rate(c[1m])', 60))).toEqual(['']);
  });
});

describe('evaluate: *_over_time', () => {
  const s = store([
    [
      { __name__: 'g', a: '1' },
      [
        [0, 3],
        [15, 1],
        [30, 4],
        [45, 1],
        [60, 5],
      ],
    ],
  ]);
  it.each([
    ['sum_over_time(g[1m])', 14],
    ['avg_over_time(g[1m])', 14 / 5],
    ['min_over_time(g[1m])', 1],
    ['max_over_time(g[1m])', 5],
    ['count_over_time(g[1m])', 5],
    ['present_over_time(g[1m])', 1],
    ['quantile_over_time(0.5, g[1m])', 3],
    ['quantile_over_time(0.9, g[1m])', 4.6],
    ['stdvar_over_time(g[1m])', 2.56],
    ['stddev_over_time(g[1m])', 1.6],
    // Least squares over x = 0, 15, 30, 45, 60 s: cov 60, var 2250; at t=60 the fit is 3.6.
    ['deriv(g[1m])', 60 / 2250],
    ['predict_linear(g[1m], 60)', 3.6 + (60 / 2250) * 60],
  ])('should compute %s', (expr, want) => {
    expect(vec(s, expr, 60)['a=1']).toBeCloseTo(want, 12);
  });

  it('should keep the metric name in last_over_time only', () => {
    expect(vec(s, 'last_over_time(g[1m])', 60)).toEqual({ '__name__=g,a=1': 5 });
  });

  it('should read the closed interval [t - range, t]', () => {
    expect(vec(s, 'count_over_time(g[30s])', 45)).toEqual({ 'a=1': 3 });
  });

  it('should say absent_over_time with the equality matchers as labels', () => {
    expect(vec(s, 'absent_over_time(nothing{job="x",a=~"y"}[1m])', 60)).toEqual({ 'job=x': 1 });
    expect(vec(s, 'absent_over_time(g[1m])', 60)).toEqual({});
  });
});

describe('evaluate: subqueries', () => {
  const s = store([
    [
      { __name__: 'x' },
      [
        [0, 1],
        [60, 5],
        [120, 3],
      ],
    ],
  ]);

  it('should evaluate the inner expression at multiples of the step inside the range', () => {
    // [30s, 150s]: steps 60s and 120s.
    expect(vec(s, 'count_over_time(x[2m:1m])', 150)).toEqual({ '': 2 });
    // [0s, 120s]: steps 0s, 60s and 120s (both ends included).
    expect(vec(s, 'count_over_time(x[2m:1m])', 120)).toEqual({ '': 3 });
    expect(vec(s, 'max_over_time(x[2m:1m])', 150)).toEqual({ '': 5 });
    expect(vec(s, 'last_over_time(x[2m:1m] offset 1m)', 150)).toEqual({ '__name__=x': 5 });
  });

  it('should use the default step, 1m unless subqueryStepMs says otherwise', () => {
    expect(vec(s, 'count_over_time(x[2m:])', 120)).toEqual({ '': 3 });
    const c = compileExpr('count_over_time(x[2m:])', { subqueryStepMs: 30_000 });
    expect(evaluate(c, 120 * S, s)).toEqual({
      type: 'vector',
      samples: [{ labels: {}, value: 5 }],
    });
  });

  it('should add the subquery range and offset to how far back the expression reads', () => {
    expect(compileExpr('max_over_time(rate(x[5m])[1h:1m] offset 10m)').lookbackMs).toBe(4_500_000);
  });
});

describe('evaluate: histogram_quantile', () => {
  const h = (le: string, v: number, extra: LabelSet = {}): [LabelSet, [number, number][]] => [
    { __name__: 'h_bucket', le, ...extra },
    [[0, v]],
  ];
  const s = store([
    h('0.1', 10),
    h('0.5', 20),
    h('+Inf', 20),
    h('0.1', 10, { k: 'nm' }),
    h('0.5', 8, { k: 'nm' }),
    h('+Inf', 20, { k: 'nm' }),
    h('0.1', 5, { k: 'noinf' }),
    h('0.1', 0, { k: 'zero' }),
    h('+Inf', 0, { k: 'zero' }),
    h('+Inf', 7, { k: 'only' }),
    h('-1', 2, { k: 'neg' }),
    h('+Inf', 4, { k: 'neg' }),
  ]);
  const q = (x: number): Record<string, number> => vec(s, `histogram_quantile(${x}, h_bucket)`, 1);

  it('should interpolate linearly inside the bucket', () => {
    expect(q(0.5)['']).toBeCloseTo(0.1, 12);
    expect(q(0.75)['']).toBeCloseTo(0.3, 12);
  });

  it('should return the upper bound of the last finite bucket when the rank is in +Inf', () => {
    expect(q(0.9)['k=nm']).toBe(0.5);
  });

  it('should fix non-monotonic buckets', () => {
    expect(q(0.5)['k=nm']).toBeCloseTo(0.1, 12);
  });

  it('should return NaN without +Inf, without observations, or with only one bucket', () => {
    expect(q(0.5)['k=noinf']).toBeNaN();
    expect(q(0.5)['k=zero']).toBeNaN();
    expect(q(0.5)['k=only']).toBeNaN();
  });

  it('should return the first bound when it is not positive', () => {
    expect(q(0.25)['k=neg']).toBe(-1);
  });

  it('should return -Inf and +Inf for q out of [0, 1]', () => {
    expect(q(-1)['']).toBe(-Infinity);
    expect(q(2)['']).toBe(Infinity);
  });
});

describe('evaluate: aggregations', () => {
  const s = store([
    [{ __name__: 'm', a: 'x', b: '1' }, [[0, 1]]],
    [{ __name__: 'm', a: 'x', b: '2' }, [[0, 4]]],
    [{ __name__: 'm', a: 'y', b: '1' }, [[0, 10]]],
  ]);
  it.each([
    ['sum by (a) (m)', { 'a=x': 5, 'a=y': 10 }],
    ['sum without (b) (m)', { 'a=x': 5, 'a=y': 10 }],
    ['sum(m)', { '': 15 }],
    ['avg by (a) (m)', { 'a=x': 2.5, 'a=y': 10 }],
    ['min by (b) (m)', { 'b=1': 1, 'b=2': 4 }],
    ['max(m)', { '': 10 }],
    ['count by (b) (m)', { 'b=1': 2, 'b=2': 1 }],
    ['group by (a) (m)', { 'a=x': 1, 'a=y': 1 }],
    ['stdvar(m)', { '': 14 }],
    ['quantile(0.5, m)', { '': 4 }],
    ['topk(1, m)', { '__name__=m,a=y,b=1': 10 }],
    ['bottomk by (a) (1, m)', { '__name__=m,a=x,b=1': 1, '__name__=m,a=y,b=1': 10 }],
    ['count_values("v", m)', { 'v=1': 1, 'v=4': 1, 'v=10': 1 }],
    ['topk(0, m)', {}],
  ])('should compute %s', (expr, want) => {
    expect(vec(s, expr, 1)).toEqual(want);
  });
});

describe('evaluate: operators', () => {
  const s = store([
    [{ __name__: 'a', j: '1', i: 'p' }, [[0, 6]]],
    [{ __name__: 'a', j: '2', i: 'p' }, [[0, 2]]],
    [{ __name__: 'b', j: '1', i: 'q' }, [[0, 3]]],
    [{ __name__: 'b', j: '2', i: 'q' }, [[0, 4]]],
    [{ __name__: 'one', i: 'p', team: 't' }, [[0, 10]]],
  ]);

  it('should do scalar arithmetic and require bool for scalar comparisons', () => {
    expect(scalar(s, '1 + 2 * 3 ^ 2 % 5', 1)).toBe(1 + ((2 * 9) % 5));
    expect(scalar(s, '2 ^ 3 ^ 2', 1)).toBe(512);
    expect(scalar(s, '-2 ^ 2', 1)).toBe(-4);
    expect(scalar(s, '1 > bool 2', 1)).toBe(0);
    expect(scalar(s, '1 / 0', 1)).toBe(Infinity);
  });

  it('should drop the name on arithmetic and keep it on filtering comparisons', () => {
    expect(vec(s, 'a * 2', 1)).toEqual({ 'i=p,j=1': 12, 'i=p,j=2': 4 });
    expect(vec(s, 'a > 3', 1)).toEqual({ '__name__=a,i=p,j=1': 6 });
    expect(vec(s, '3 < a', 1)).toEqual({ '__name__=a,i=p,j=1': 6 });
    expect(vec(s, 'a > bool 3', 1)).toEqual({ 'i=p,j=1': 1, 'i=p,j=2': 0 });
  });

  it('should match one-to-one on labels, with on() and ignoring()', () => {
    expect(vec(s, 'a / on(j) b', 1)).toEqual({ 'j=1': 2, 'j=2': 0.5 });
    expect(vec(s, 'a / ignoring(i) b', 1)).toEqual({ 'j=1': 2, 'j=2': 0.5 });
    expect(vec(s, 'a / b', 1)).toEqual({});
    expect(vec(s, 'a > ignoring(i) b', 1)).toEqual({ '__name__=a,j=1': 6 });
  });

  it('should match many-to-one with group_left and copy included labels', () => {
    expect(vec(s, 'a * on(i) group_left(team) one', 1)).toEqual({
      'i=p,j=1,team=t': 60,
      'i=p,j=2,team=t': 20,
    });
    expect(vec(s, 'one * on(i) group_right(team) a', 1)).toEqual({
      'i=p,j=1,team=t': 60,
      'i=p,j=2,team=t': 20,
    });
  });

  it('should return many-to-many matching as an evaluation error, not a throw', () => {
    const v = evaluate(compileExpr('one * on(i) a'), S, s);
    expect(v).toEqual({
      error: expect.stringMatching(
        /found duplicate series for the match group \{i="p"\} on the right hand-side.*many-to-many matching not allowed/,
      ),
    });
    expect(evaluate(compileExpr('a * on(i) one'), S, s)).toEqual({
      error: expect.stringMatching(/many-to-one matching must be explicit/),
    });
    expect(
      evaluate(compileExpr('rate(a[5m]) or rate(b[5m]) + {__name__=~"a|b"}'), S, s),
    ).not.toHaveProperty('error', undefined);
  });

  it('should apply and, or, unless on label sets without the name', () => {
    expect(vec(s, 'a and on(j) b', 1)).toEqual({
      '__name__=a,i=p,j=1': 6,
      '__name__=a,i=p,j=2': 2,
    });
    expect(vec(s, 'a and b', 1)).toEqual({});
    expect(Object.keys(vec(s, 'a or b', 1))).toHaveLength(4);
    expect(vec(s, 'a unless on(j) b{j="1"}', 1)).toEqual({ '__name__=a,i=p,j=2': 2 });
    expect(vec(s, 'sum(nothing) or vector(0)', 1)).toEqual({ '': 0 });
  });

  it('should refuse a vector with duplicate label sets', () => {
    expect(evaluate(compileExpr('a{j="1"} * 1 or ignoring(i) b{j="1"} * 1'), S, s)).toEqual({
      type: 'vector',
      samples: [{ labels: { i: 'p', j: '1' }, value: 6 }],
    });
    expect(
      evaluate(compileExpr('abs({j="1",i=~"p|q"} - on() group_left vector(0))'), S, s),
    ).toEqual({
      type: 'vector',
      samples: expect.any(Array),
    });
    expect(evaluate(compileExpr('-{j="1"}'), S, s)).toEqual({
      type: 'vector',
      samples: expect.any(Array),
    });
  });
});

describe('evaluate: functions', () => {
  const s = store([
    [{ __name__: 'f', k: 'a-1' }, [[0, -2.5]]],
    [{ __name__: 'f', k: 'b-2' }, [[0, 7.25]]],
  ]);
  it.each([
    ['abs(f)', { 'k=a-1': 2.5, 'k=b-2': 7.25 }],
    ['ceil(f)', { 'k=a-1': -2, 'k=b-2': 8 }],
    ['floor(f)', { 'k=a-1': -3, 'k=b-2': 7 }],
    ['round(f)', { 'k=a-1': -2, 'k=b-2': 7 }],
    ['round(f, 0.5)', { 'k=a-1': -2.5, 'k=b-2': 7.5 }],
    ['clamp(f, 0, 5)', { 'k=a-1': 0, 'k=b-2': 5 }],
    ['clamp(f, 5, 0)', {}],
    ['clamp_min(f, 0)', { 'k=a-1': 0, 'k=b-2': 7.25 }],
    ['clamp_max(f, 0)', { 'k=a-1': -2.5, 'k=b-2': 0 }],
    ['timestamp(f)', { 'k=a-1': 0, 'k=b-2': 0 }],
    ['vector(time())', { '': 10 }],
    [
      'label_replace(f, "x", "$2/$1", "k", "(.*)-(.*)")',
      { '__name__=f,k=a-1,x=1/a': -2.5, '__name__=f,k=b-2,x=2/b': 7.25 },
    ],
    ['label_replace(f, "k", "", "k", "a.*")', { '__name__=f': -2.5, '__name__=f,k=b-2': 7.25 }],
    [
      'label_join(f, "y", ":", "k", "__name__")',
      { '__name__=f,k=a-1,y=a-1:f': -2.5, '__name__=f,k=b-2,y=b-2:f': 7.25 },
    ],
    ['absent(f)', {}],
    ['absent(nope{a="1",b=~"x"})', { 'a=1': 1 }],
  ])('should compute %s', (expr, want) => {
    expect(vec(s, expr, 10)).toEqual(want);
  });

  it('should sort', () => {
    const v = run(s, 'sort_desc(f)', 10);
    expect(v.type === 'vector' && v.samples.map((x) => x.value)).toEqual([7.25, -2.5]);
    expect(scalar(s, 'scalar(f{k="a-1"})', 10)).toBe(-2.5);
    expect(scalar(s, 'scalar(f)', 10)).toBeNaN();
  });
});

describe('evaluate: value formatting and templates as Go writes them', () => {
  const s = store([
    [{ __name__: 'v', k: 'big' }, [[0, 1e21]]],
    [{ __name__: 'v', k: 'small' }, [[0, 1e-7]]],
    [{ __name__: 'v', k: 'neg' }, [[0, -2.5]]],
    [{ __name__: 'v', k: 'inf' }, [[0, Infinity]]],
    [{ __name__: 'v', k: 'nan' }, [[0, NaN]]],
  ]);

  it('should label count_values with strconv.FormatFloat(v, f, -1, 64)', () => {
    expect(Object.keys(vec(s, 'count_values("x", v)', 1)).sort()).toEqual([
      'x=+Inf',
      'x=-2.5',
      'x=0.0000001',
      'x=1000000000000000000000',
      'x=NaN',
    ]);
  });

  it.each([
    ['$1', 'big'],
    ['${1}x', 'bigx'],
    ['$1x', ''],
    ['$$1', '$1'],
    ['$name', 'big'],
    ['a$', 'a$'],
    ['$2', ''],
  ])('should expand %s as Go regexp.Expand does', (template, want) => {
    const out = vec(s, `label_replace(v{k="big"}, "t", "${template}", "k", "(?P<name>.*)")`, 1);
    const key = Object.keys(out)[0] ?? '';
    expect(/t=([^,]*)/.exec(key)?.[1] ?? '').toBe(want);
  });
});

describe('compileExpr', () => {
  it('should list selectors and how far back the expression reads', () => {
    const c = compileExpr('sum(rate(a{x="1"}[5m] offset 1m)) / b');
    expect(c.selectors).toEqual([
      [
        { name: '__name__', type: '=', value: 'a' },
        { name: 'x', type: '=', value: '1' },
      ],
      [{ name: '__name__', type: '=', value: 'b' }],
    ]);
    expect(c.lookbackMs).toBe(360_000);
  });

  it.each([
    ['x[5m:1m]', /range vector as the result/],
    ['x @ 100', /@ modifier/],
    ['histogram_count(x)', /function histogram_count\(\)/],
    ['limitk(1, x)', undefined],
    ['x[5m]', /range vector as the result/],
  ])('should refuse %s with a coded error', (expr, message) => {
    try {
      compileExpr(expr);
      expect.fail('no error');
    } catch (e) {
      const err = e as { code: string; message: string };
      if (message === undefined) {
        expect(err.code).toBe(ALERTS_ERROR_CODES.PROMQL_UNSUPPORTED);
      } else {
        expect(err.code).toBe(ALERTS_ERROR_CODES.PROMQL_NOT_EVALUATED);
        expect(err.message).toMatch(message);
        expect(err.message).toMatch(/prometheusOnly/);
      }
    }
    expect(unsupportedReason(expr)).toEqual(expect.any(String));
  });

  it('should refuse invalid PromQL with the checker codes', () => {
    expect(() => compileExpr('sum(rate(x[5m])')).toThrow(
      expect.objectContaining({ code: ALERTS_ERROR_CODES.PROMQL_SYNTAX }),
    );
    expect(() => compileExpr('rate(x)')).toThrow(
      expect.objectContaining({ code: ALERTS_ERROR_CODES.PROMQL_TYPE }),
    );
    expect(unsupportedReason('sum(rate(x[5m]))')).toBeUndefined();
  });
});
