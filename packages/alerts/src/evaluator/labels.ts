// Label sets as the evaluator handles them: canonical keys, Prometheus's ordering, and matchers with
// RE2 regular expressions translated to JavaScript once.
import type { LabelSet } from '../model';
import type { Matcher } from './types';

/** The metric name label. */
export const METRIC_NAME = '__name__';

const SEP = '\xff';
const keys = new WeakMap<LabelSet, string>();

/** Label names of `labels` in byte order (ASCII label names sort the same in UTF-16). */
export function sortedNames(labels: LabelSet): string[] {
  return Object.keys(labels).sort();
}

/** A string unique to the label set, computed once per label-set object. */
export function labelsKey(labels: LabelSet): string {
  let key = keys.get(labels);
  if (key === undefined) {
    key = '';
    for (const name of sortedNames(labels)) {
      const value = labels[name] as string;
      if (value !== '') key += name + SEP + value + SEP;
    }
    keys.set(labels, key);
  }
  return key;
}

/** Prometheus's `labels.Compare`: label by label, names then values, a prefix first. */
export function compareLabels(a: LabelSet, b: LabelSet): number {
  const x = sortedNames(a);
  const y = sortedNames(b);
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) {
    const xn = x[i] as string;
    const yn = y[i] as string;
    if (xn !== yn) return xn < yn ? -1 : 1;
    const xv = a[xn] as string;
    const yv = b[yn] as string;
    if (xv !== yv) return xv < yv ? -1 : 1;
  }
  return x.length - y.length;
}

const withoutName = new WeakMap<LabelSet, LabelSet>();

/**
 * The label set without its metric name (the same object when it has none). Cached per label-set
 * object, so a stored series gives the same object at every evaluation and its key is computed once.
 */
export function dropMetricName(labels: LabelSet): LabelSet {
  if (!(METRIC_NAME in labels)) return labels;
  let out = withoutName.get(labels);
  if (out === undefined) {
    const copy: Record<string, string> = {};
    for (const name in labels) if (name !== METRIC_NAME) copy[name] = labels[name] as string;
    out = Object.freeze(copy);
    withoutName.set(labels, out);
  }
  return out;
}

/**
 * A per-expression cache of something derived from a label set (a grouping key, a matching
 * signature): label sets of stored series are the same objects at every evaluation.
 */
export class LabelCache<T> {
  #map = new WeakMap<LabelSet, T>();

  get(labels: LabelSet, derive: (labels: LabelSet) => T): T {
    let v = this.#map.get(labels);
    if (v === undefined) {
      v = derive(labels);
      this.#map.set(labels, v);
    }
    return v;
  }
}

/** Prometheus's label-name syntax. */
export const isLabelName = (name: string): boolean => /^[a-zA-Z_][a-zA-Z0-9_]*$/.test(name);

/** Thrown when a regular expression uses RE2 syntax the translation does not cover. */
export class UntranslatableRegexp extends Error {}

const POSIX: Readonly<Record<string, string>> = {
  alnum: '0-9A-Za-z',
  alpha: 'A-Za-z',
  ascii: '\\x00-\\x7f',
  blank: '\\t ',
  cntrl: '\\x00-\\x1f\\x7f',
  digit: '0-9',
  graph: '!-~',
  lower: 'a-z',
  print: ' -~',
  punct: '!-\\/:-@\\[-`{-~',
  space: '\\t\\n\\v\\f\\r ',
  upper: 'A-Z',
  word: '0-9A-Za-z_',
  xdigit: '0-9A-Fa-f',
};

const escapeLiteral = (s: string): string => s.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');

/**
 * The JavaScript source and flags of a Go (RE2) regular expression, for the constructs label
 * matchers use: Perl classes with Go's ASCII `\s`, POSIX classes, `\Q...\E`, `(?P<name>...)`,
 * `\A`/`\z`, and flags at the start. Anything else JavaScript reads differently is refused.
 */
export function translateRegexp(re2: string): { source: string; flags: string } {
  let i = 0;
  let flags = '';
  const lead = /^\(\?([imsU]+)\)/.exec(re2);
  if (lead !== null) {
    const f = lead[1] as string;
    if (f.includes('U')) throw new UntranslatableRegexp('the U (ungreedy) flag');
    flags = [...new Set(f)].join('');
    i = lead[0].length;
  }
  let out = '';
  let inClass = false;
  let classStart = false;
  while (i < re2.length) {
    const c = re2[i] as string;
    if (c === '\\') {
      const n = re2[i + 1] ?? '';
      if (n === 'Q') {
        const end = re2.indexOf('\\E', i + 2);
        const lit = re2.slice(i + 2, end < 0 ? re2.length : end);
        out += escapeLiteral(lit);
        i = end < 0 ? re2.length : end + 2;
        continue;
      }
      if (n === 'z' && !inClass) out += '(?![\\s\\S])';
      else if (n === 'A' && !inClass) out += '(?<![\\s\\S])';
      else if (n === 's') out += inClass ? '\\t\\n\\f\\r ' : '[\\t\\n\\f\\r ]';
      else if (n === 'S' && !inClass) out += '[^\\t\\n\\f\\r ]';
      else if (n === 'p' || n === 'P' || n === 'C' || n === 'S' || n === 'x' || n === 'E') {
        if (n === 'x' && /^[0-9a-fA-F]{2}$/.test(re2.slice(i + 2, i + 4))) {
          out += re2.slice(i, i + 4);
          i += 4;
          classStart = false;
          continue;
        }
        throw new UntranslatableRegexp(`the escape \\${n}`);
      } else if (/[0-9]/.test(n) && n !== '0') {
        throw new UntranslatableRegexp(`the escape \\${n}`);
      } else out += c + n;
      i += 2;
      classStart = false;
      continue;
    }
    if (inClass) {
      if (c === '[' && re2[i + 1] === ':') {
        const m = /^\[:(\^?)([a-z]+):\]/.exec(re2.slice(i));
        const set = m === null ? undefined : POSIX[m[2] as string];
        if (m === null || set === undefined || m[1] === '^') {
          if (m !== null) throw new UntranslatableRegexp('a negated POSIX class');
          out += '\\[';
          i++;
          continue;
        }
        out += set;
        i += m[0].length;
        classStart = false;
        continue;
      }
      if (c === ']' && classStart) out += '\\]';
      else if (c === '[') out += '\\[';
      else if (c === ']') {
        inClass = false;
        out += c;
      } else out += c;
      classStart = false;
      i++;
      continue;
    }
    if (c === '[') {
      inClass = true;
      out += c;
      i++;
      if (re2[i] === '^') {
        out += '^';
        i++;
      }
      classStart = true;
      continue;
    }
    if (c === '(' && re2[i + 1] === '?') {
      if (re2.startsWith('(?P<', i)) {
        out += '(?<';
        i += 4;
        continue;
      }
      if (re2[i + 2] !== ':') throw new UntranslatableRegexp('flags inside the expression');
    }
    if (c === '{' && /^\{,/.test(re2.slice(i))) {
      out += '\\{';
      i++;
      continue;
    }
    out += c;
    i++;
  }
  return { source: out, flags };
}

const compiled = new Map<string, RegExp>();
const MAX_CACHED = 4096;

/** The anchored JavaScript RegExp of a label-matcher regex, cached; throws UntranslatableRegexp. */
export function anchoredRegexp(re2: string): RegExp {
  let re = compiled.get(re2);
  if (re === undefined) {
    const { source, flags } = translateRegexp(re2);
    re = new RegExp(`^(?:${source})$`, flags);
    if (compiled.size >= MAX_CACHED) compiled.clear();
    compiled.set(re2, re);
  }
  return re;
}

/** Whether one matcher matches a label value ("" for a missing label, as Prometheus reads it). */
export function matchesValue(m: Matcher, value: string): boolean {
  switch (m.type) {
    case '=':
      return value === m.value;
    case '!=':
      return value !== m.value;
    case '=~':
      return anchoredRegexp(m.value).test(value);
    case '!~':
      return !anchoredRegexp(m.value).test(value);
  }
}

/** Whether every matcher matches `labels` (a missing label has the value ""). */
export function matchesAll(matchers: readonly Matcher[], labels: LabelSet): boolean {
  for (const m of matchers) if (!matchesValue(m, labels[m.name] ?? '')) return false;
  return true;
}
