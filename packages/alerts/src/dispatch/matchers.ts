// Alertmanager's label matchers (pkg/labels, 0.25): parsing `name="value"` lists as ParseMatchers does,
// matching a label set, and writing them back as Go's `%q` prints them in route and group keys.
import type { LabelSet } from '../model';
import { anchoredRegexp } from '../evaluator/labels';

/** A matcher's operator, as Alertmanager writes it. */
export type MatchType = '=' | '!=' | '=~' | '!~';

/** One label matcher: `name`, operator and value (a regular expression for `=~` and `!~`). */
export interface Matcher {
  readonly name: string;
  readonly type: MatchType;
  readonly value: string;
}

/** A matcher ready to run: the regular expression compiled once. */
export interface CompiledMatcher extends Matcher {
  readonly re?: RegExp;
}

const MATCHER_PATTERN = /^\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(=~|=|!=|!~)\s*([\s\S]*?)\s*$/;

/** Label names Alertmanager accepts (model.LabelName.IsValid). */
export const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/**
 * Compiles a Go RE2 expression anchored as Alertmanager anchors it (`^(?:re)$`), with the evaluator's
 * RE2 translation and cache (Go's classes, flags and escapes), so routes, silences and inhibit rules read a
 * regex as rule selectors do. Returns an error text when the expression does not compile or uses RE2
 * syntax JavaScript cannot express.
 */
export function compileRegex(source: string): RegExp | string {
  try {
    return anchoredRegexp(source);
  } catch (e) {
    return (e as Error).message;
  }
}

/** A compiled matcher, or an error text. */
export function newMatcher(name: string, type: MatchType, value: string): CompiledMatcher | string {
  if (type === '=~' || type === '!~') {
    const re = compileRegex(value);
    if (typeof re === 'string') return `invalid regular expression ${JSON.stringify(value)}: ${re}`;
    return { name, type, value, re };
  }
  return { name, type, value };
}

/** Parses one matcher (`labels.ParseMatcher`): an error text when it is not one. */
export function parseMatcher(text: string): CompiledMatcher | string {
  const m = MATCHER_PATTERN.exec(text);
  if (m === null) return `bad matcher format: ${text}`;
  const name = m[1] ?? '';
  const type = (m[2] ?? '=') as MatchType;
  let raw = m[3] ?? '';
  let expectTrailingQuote = false;
  if (raw.startsWith('"')) {
    raw = raw.slice(1);
    expectTrailingQuote = true;
  }
  let value = '';
  let escaped = false;
  const chars = Array.from(raw);
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i] ?? '';
    if (escaped) {
      escaped = false;
      if (c === 'n') value += '\n';
      else if (c === '"' || c === '\\') value += c;
      else value += `\\${c}`;
      continue;
    }
    if (c === '\\') {
      if (i < chars.length - 1) {
        escaped = true;
        continue;
      }
      value += '\\';
    } else if (c === '"') {
      if (!expectTrailingQuote || i < chars.length - 1) {
        return `matcher value contains unescaped double quote: ${m[3] ?? ''}`;
      }
      expectTrailingQuote = false;
    } else {
      value += c;
    }
  }
  if (expectTrailingQuote) return `matcher value contains unescaped double quote: ${m[3] ?? ''}`;
  return newMatcher(name, type, value);
}

/**
 * Parses a matcher list (`labels.ParseMatchers`): optional braces, commas outside quotes between
 * matchers. An error text when any part is not a matcher.
 */
export function parseMatchers(text: string): CompiledMatcher[] | string {
  let s = text.startsWith('{') ? text.slice(1) : text;
  if (s.endsWith('}')) s = s.slice(0, -1);
  const tokens: string[] = [];
  let insideQuotes = false;
  let escaped = false;
  let token = '';
  for (const c of s) {
    if (c === ',') {
      if (!insideQuotes) {
        tokens.push(token);
        token = '';
        continue;
      }
    } else if (c === '"') {
      if (!escaped) insideQuotes = !insideQuotes;
      else escaped = false;
    } else if (c === '\\') {
      escaped = !escaped;
    } else {
      escaped = false;
    }
    token += c;
  }
  if (token.trim() !== '') tokens.push(token.trim());
  const out: CompiledMatcher[] = [];
  for (const t of tokens) {
    const m = parseMatcher(t);
    if (typeof m === 'string') return m;
    out.push(m);
  }
  return out;
}

/** True when the matcher accepts `value` (a missing label is the empty string). */
export function matchValue(m: CompiledMatcher, value: string): boolean {
  switch (m.type) {
    case '=':
      return value === m.value;
    case '!=':
      return value !== m.value;
    case '=~':
      return m.re?.test(value) ?? false;
    case '!~':
      return !(m.re?.test(value) ?? false);
  }
}

/** True when every matcher accepts the label set. */
export function matchesAll(matchers: readonly CompiledMatcher[], labels: LabelSet): boolean {
  for (const m of matchers) if (!matchValue(m, labels[m.name] ?? '')) return false;
  return true;
}

const TYPE_ORDER: Record<MatchType, number> = { '=': 0, '!=': 1, '=~': 2, '!~': 3 };

/** Alertmanager's matcher order (labels.Matchers.Less): name, then operator, then value. */
export function compareMatchers(a: Matcher, b: Matcher): number {
  if (a.name !== b.name) return a.name < b.name ? -1 : 1;
  if (a.type !== b.type) return TYPE_ORDER[a.type] - TYPE_ORDER[b.type];
  if (a.value !== b.value) return a.value < b.value ? -1 : 1;
  return 0;
}

/** A string quoted as Go's `strconv.Quote` (`%q`) writes it. */
export function goQuote(text: string): string {
  let out = '"';
  for (const c of text) {
    const cp = c.codePointAt(0) ?? 0;
    if (c === '"' || c === '\\') out += `\\${c}`;
    else if (c === '\n') out += '\\n';
    else if (c === '\t') out += '\\t';
    else if (c === '\r') out += '\\r';
    else if (c === '\x07') out += '\\a';
    else if (c === '\b') out += '\\b';
    else if (c === '\f') out += '\\f';
    else if (c === '\v') out += '\\v';
    else if (cp < 0x20 || cp === 0x7f) out += `\\x${cp.toString(16).padStart(2, '0')}`;
    else if ((cp >= 0x80 && cp < 0xa1) || cp === 0xad)
      out += `\\u${cp.toString(16).padStart(4, '0')}`;
    else out += c;
  }
  return `${out}"`;
}

/** `{a="b",c=~"d"}`, as labels.Matchers.String() writes a route's matchers. */
export function formatMatchers(matchers: readonly Matcher[]): string {
  return `{${matchers.map((m) => `${m.name}${m.type}${goQuote(m.value)}`).join(',')}}`;
}

/** `{a="b", c="d"}`, as model.LabelSet.String() writes group labels. */
export function formatLabelSet(labels: LabelSet): string {
  return `{${Object.keys(labels)
    .sort()
    .map((n) => `${n}=${goQuote(labels[n] ?? '')}`)
    .join(', ')}}`;
}
