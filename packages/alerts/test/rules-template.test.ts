// Go template expansion and number formatting as Prometheus prints them, and promtool's series
// notation as the runner reads it.
import { describe, expect, it } from 'vitest';
import {
  formatG,
  humanize,
  humanize1024,
  humanizeDuration,
  humanizePercentage,
  humanizeTimestamp,
} from '../src/rules/go-format';
import { compileTemplate, sprintf, TemplateSyntaxError } from '../src/rules/template';
import { expandSeriesValues, parseSeriesLabels } from '../src/rules/promtool';

const data = {
  labels: { instance: 'host:9100', job: 'api' },
  externalLabels: { cluster: 'eu' },
  externalURL: 'http://prom.example',
  value: 0.123456,
};

describe('formatG (Go %v / %g of a float64)', () => {
  it.each([
    [0, -1, '0'],
    [1, -1, '1'],
    [0.1, -1, '0.1'],
    [123456, -1, '123456'],
    [1234567, -1, '1.234567e+06'],
    [1e21, -1, '1e+21'],
    [0.0001, -1, '0.0001'],
    [0.00001, -1, '1e-05'],
    [-2.5, -1, '-2.5'],
    [NaN, -1, 'NaN'],
    [Infinity, -1, '+Inf'],
    [-Infinity, -1, '-Inf'],
    [1234.5678, 4, '1235'],
    [12345, 4, '1.234e+04'],
    [0.5, 4, '0.5'],
    [100, 4, '100'],
    [0.000012345, 4, '1.234e-05'],
  ])('should print %d with precision %d as %s', (v, prec, text) => {
    expect(formatG(v, prec)).toBe(text);
  });
});

describe('humanize functions', () => {
  it.each([
    [humanize, 0, '0'],
    [humanize, 1234567, '1.235M'],
    [humanize, 0.00012, '120u'],
    [humanize, 999, '999'],
    [humanize1024, 1048576, '1Mi'],
    [humanize1024, 512, '512'],
    [humanizePercentage, 0.123456, '12.35%'],
    [humanizePercentage, 1, '100%'],
    [humanizeDuration, 0, '0s'],
    [humanizeDuration, 1.5, '1.5s'],
    [humanizeDuration, 0.25, '250ms'],
    [humanizeDuration, 61, '1m 1s'],
    [humanizeDuration, 3661, '1h 1m 1s'],
    [humanizeDuration, 90061, '1d 1h 1m 1s'],
    [humanizeTimestamp, 1767225600, '2026-01-01 00:00:00 +0000 UTC'],
  ] as const)('should render %o of %d as %s', (fn, v, text) => {
    expect(fn(v)).toBe(text);
  });
});

describe('compileTemplate', () => {
  it.each([
    ['plain text', 'plain text'],
    ['{{ $labels.instance }} of {{ $labels.job }}', 'host:9100 of api'],
    ['{{$labels.missing}}|', '|'],
    ['{{ .Labels.job }} {{ .Value }}', 'api 0.123456'],
    ['{{ $value }}', '0.123456'],
    ['{{ $value | humanizePercentage }}', '12.35%'],
    ['{{ humanize $value }}', '123.5m'],
    ['{{ printf "%.2f" $value }}', '0.12'],
    ['{{ printf "%s=%d" "a" 3 }}', 'a=3'],
    ['{{ $externalLabels.cluster }} {{ $externalURL }}', 'eu http://prom.example'],
    ['a {{- " b" }}', 'a b'],
    ['{{ "x" -}}   y', 'xy'],
    ['{{/* a comment */}}z', 'z'],
    ['{{ $labels.instance | toUpper }}', 'HOST:9100'],
    ['{{ $labels.instance | stripPort }}', 'host'],
    ['{{ index $labels "job" }}', 'api'],
    ['{{ "abc" | humanize }}', '<error expanding template: cannot convert "abc" to a number>'],
  ])('should expand %j to %j', (text, out) => {
    expect(compileTemplate(text)(data)).toBe(out);
  });

  it.each([
    '{{ if $value }}x{{ end }}',
    '{{ range $labels }}{{ end }}',
    '{{ query "up" }}',
    '{{ nosuchfunc $value }}',
    '{{ $x := 1 }}',
    '{{ $other }}',
    '{{ $labels.a.b }}',
    '{{ unclosed',
  ])('should refuse %j at compile time', (text) => {
    expect(() => compileTemplate(text)).toThrow(TemplateSyntaxError);
  });

  it('should format printf verbs as Go does', () => {
    expect(sprintf('%v %g %e %5.1f|%-4s|%q %%', [1e6, 0.5, 1234.5, 3.14159, 'ab', 'q'])).toBe(
      '1e+06 0.5 1.234500e+03   3.1|ab  |"q" %',
    );
    expect(sprintf('%d', [1.5])).toBe('%!d(float64=1.5)');
    expect(sprintf('%s', [])).toBe('%!s(MISSING)');
  });
});

describe('promtool series notation', () => {
  it.each([
    ['1 2 3', [1, 2, 3]],
    ['0+10x3', [0, 10, 20, 30]],
    ['100-1x2', [100, 99, 98]],
    ['5x2', [5, 5, 5]],
    ['1 _ 3', [1, null, 3]],
    ['_x3 1', [null, null, null, 1]],
    ['1 stale 2', [1, 'stale', 2]],
    ['-2+1x2', [-2, -1, 0]],
    ['Inf -Inf', [Infinity, -Infinity]],
    ['1e3 0.5', [1000, 0.5]],
  ])('should expand %j', (text, values) => {
    expect(expandSeriesValues(text)).toEqual(values);
  });

  it('should parse series descriptions as promql ParseMetric does', () => {
    expect(parseSeriesLabels('http_requests_total{job="a", le="+Inf", x="q\\"uote"}')).toEqual({
      __name__: 'http_requests_total',
      job: 'a',
      le: '+Inf',
      x: 'q"uote',
    });
    expect(parseSeriesLabels('{__name__="up",job="b"}')).toEqual({ __name__: 'up', job: 'b' });
    expect(() => parseSeriesLabels('x{a=}')).toThrow(/not a series description/);
  });
});
