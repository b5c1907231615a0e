// MemoryStorage and label matching: appends, replacement, staleness, retention, selection and the
// translation of Prometheus's RE2 regular expressions.
import { describe, expect, it } from 'vitest';
import { compileExpr, evaluate, matchesAll, type Matcher, MemoryStorage } from '@vigil/alerts';

const m = (name: string, type: Matcher['type'], value: string): Matcher => ({ name, type, value });

describe('MemoryStorage', () => {
  it('should append in time order, replace a sample of the same time and ignore older ones', () => {
    const s = new MemoryStorage();
    const labels = { __name__: 'x', a: '1' };
    s.append(labels, 1000, 1);
    s.append(labels, 2000, 2);
    s.append(labels, 2000, 3);
    s.append(labels, 1500, 9);
    expect(s.seriesCount).toBe(1);
    expect(s.sampleCount).toBe(2);
    const [series] = s.select([m('__name__', '=', 'x')], 0, 3000);
    expect(Array.from(series?.values.subarray(0, series.length) ?? [])).toEqual([1, 3]);
  });

  it('should treat an empty label value as a missing label', () => {
    const s = new MemoryStorage();
    s.append({ __name__: 'x', a: '' }, 1000, 1);
    s.append({ __name__: 'x' }, 2000, 2);
    expect(s.seriesCount).toBe(1);
  });

  it('should grow to many samples and keep them in typed arrays', () => {
    const s = new MemoryStorage();
    for (let i = 0; i < 8640; i++) s.append({ __name__: 'slo' }, i * 300_000, i);
    expect(s.sampleCount).toBe(8640);
    // Float64 timestamps and values: 16 bytes a sample, with at most half again as spare capacity.
    expect(s.bytes).toBeGreaterThanOrEqual(8640 * 16);
    expect(s.bytes).toBeLessThan(8640 * 16 * 1.5 + 1000);
  });

  it('should trim by retention and drop series left empty', () => {
    const s = new MemoryStorage();
    for (let i = 0; i < 100; i++) {
      s.append({ __name__: 'short' }, i * 1000, i);
      s.append({ __name__: 'long' }, i * 1000, i);
    }
    s.trim(100_000, (labels) => (labels.__name__ === 'short' ? 10_000 : 1_000_000));
    expect(s.sampleCount).toBe(10 + 100);
    const [short] = s.select([m('__name__', '=', 'short')], 0, 1e9);
    expect(short?.timestamps[0]).toBe(90_000);
    s.trim(1e9, () => 1000);
    expect(s.seriesCount).toBe(0);
    expect(s.sampleCount).toBe(0);
    expect(s.select([m('__name__', '=', 'short')], 0, 1e9)).toEqual([]);
  });

  it('should keep staleness markers apart from NaN values', () => {
    const s = new MemoryStorage();
    s.append({ __name__: 'n' }, 1000, NaN);
    s.appendStale({ __name__: 's' }, 1000);
    const v = evaluate(compileExpr('{__name__=~"n|s"}'), 2000, s);
    expect(v).toEqual({
      type: 'vector',
      samples: [{ labels: { __name__: 'n' }, value: NaN }],
    });
  });

  it('should see series created after a selection was remembered', () => {
    const s = new MemoryStorage();
    s.append({ __name__: 'x', a: '1' }, 1000, 1);
    const c = compileExpr('sum(x)');
    expect(evaluate(c, 1000, s)).toEqual({ type: 'vector', samples: [{ labels: {}, value: 1 }] });
    s.append({ __name__: 'x', a: '2' }, 1000, 2);
    expect(evaluate(c, 1000, s)).toEqual({ type: 'vector', samples: [{ labels: {}, value: 3 }] });
  });

  it('should select in Prometheus label order across metric names', () => {
    const s = new MemoryStorage();
    for (const [name, a] of [
      ['b', '2'],
      ['a', '2'],
      ['b', '1'],
      ['a', '10'],
    ] as const) {
      s.append({ __name__: name, a }, 0, 1);
    }
    const order = s
      .select([m('a', '=~', '.+')], 0, 0)
      .map((x) => `${x.labels.__name__}${x.labels.a}`);
    expect(order).toEqual(['a10', 'a2', 'b1', 'b2']);
  });
});

describe('matchesAll', () => {
  const labels = { __name__: 'http_requests_total', route: '/api/videos/:id', code: '503' };
  it.each([
    [m('code', '=', '503'), true],
    [m('code', '!=', '503'), false],
    [m('code', '=~', '5..'), true],
    [m('code', '=~', '5'), false],
    [m('code', '=~', '50'), false],
    [m('code', '!~', '4..'), true],
    [m('missing', '=', ''), true],
    [m('missing', '=~', '.*'), true],
    [m('missing', '=~', '.+'), false],
    [m('route', '=~', '/api/videos|/api/videos/:id'), true],
    [m('route', '=~', '(?i)/API/.*'), true],
    [m('route', '=~', '\\Q/api/videos/:id\\E'), true],
    [m('route', '=~', '/api/[[:alpha:]]+/:id'), true],
    [m('route', '=~', '/api/(?P<what>[a-z]+)/.*'), true],
    [m('code', '=~', '\\d{3}'), true],
    [m('code', '=~', '[]5]03'), true],
    [m('code', '=~', '50\\z'), false],
    [m('code', '=~', '503\\z'), true],
    [m('route', '=~', '/api/videos/\\S+'), true],
    [m('route', '=~', '/api\\s+'), false],
  ])('should evaluate %o as %s', (matcher, want) => {
    expect(matchesAll([matcher], labels)).toBe(want);
  });

  it('should anchor alternatives as Prometheus does: ^(?:a|b)$', () => {
    expect(matchesAll([m('code', '=~', '5|503')], labels)).toBe(true);
    expect(matchesAll([m('code', '=~', '50|3')], labels)).toBe(false);
  });
});
