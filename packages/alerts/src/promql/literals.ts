// PromQL literals as Prometheus's lexer and parser read them: strings (Go escapes), numbers, durations.

/** A literal that Prometheus would refuse, with Prometheus's own wording. */
export class LiteralError {
  constructor(
    /** Prometheus's message. */
    readonly message: string,
    /** Offset of the problem inside the literal's text. */
    readonly at = 0,
  ) {}
}

const SIMPLE_ESCAPES: Readonly<Record<string, string>> = {
  a: '\x07',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
  v: '\v',
  '\\': '\\',
};

const hexValue = (c: string): number => {
  const code = c.charCodeAt(0);
  if (code >= 48 && code <= 57) return code - 48;
  if (code >= 97 && code <= 102) return code - 87;
  if (code >= 65 && code <= 70) return code - 55;
  return 99;
};

const runeName = (c: string): string =>
  `U+${(c.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')} '${c}'`;

/**
 * The value of a string literal (its text with the quotes), or a LiteralError. Follows Prometheus's
 * lexer: Go escapes in '...' and "..." (the other quote cannot be escaped), none in `...`; a newline
 * ends a quoted string unterminated; U+FFFD and lone surrogates are "invalid UTF-8" (Go decodes both
 * to the replacement rune).
 */
export function unquoteString(text: string): string | LiteralError {
  const quote = text[0] ?? '';
  if (text.length < 2 || text[text.length - 1] !== quote) {
    return new LiteralError(
      quote === '`' ? 'unterminated raw string' : 'unterminated quoted string',
      text.length,
    );
  }
  const body = text.slice(1, -1);
  let out = '';
  for (let i = 0; i < body.length; i++) {
    const c = body[i] as string;
    const code = c.charCodeAt(0);
    if (code === 0xfffd || (code >= 0xd800 && code <= 0xdfff && !validPair(body, i))) {
      return new LiteralError('invalid UTF-8 rune', i + 1);
    }
    if (code >= 0xd800 && code <= 0xdbff) {
      out += body.slice(i, i + 2);
      i++;
      continue;
    }
    if (quote === '`' || c !== '\\') {
      if (c === '\n' && quote !== '`') return new LiteralError('unterminated quoted string', i + 1);
      out += c;
      continue;
    }
    const e = body[i + 1];
    if (e === undefined) return new LiteralError('escape sequence not terminated', i + 1);
    if (e in SIMPLE_ESCAPES) {
      out += SIMPLE_ESCAPES[e];
      i++;
      continue;
    }
    if (e === quote) {
      out += e;
      i++;
      continue;
    }
    let digits: number;
    let base: number;
    let max: number;
    let start = i + 2;
    if (e >= '0' && e <= '7') {
      [digits, base, max, start] = [3, 8, 255, i + 1];
    } else if (e === 'x') [digits, base, max] = [2, 16, 255];
    else if (e === 'u') [digits, base, max] = [4, 16, 0x10ffff];
    else if (e === 'U') [digits, base, max] = [8, 16, 0x10ffff];
    else return new LiteralError(`unknown escape sequence ${runeName(e)}`, i + 1);
    let value = 0;
    for (let k = 0; k < digits; k++) {
      const d = body[start + k];
      if (d === undefined) return new LiteralError('escape sequence not terminated', i + 1);
      const v = hexValue(d);
      if (v >= base)
        return new LiteralError(`illegal character ${runeName(d)} in escape sequence`, i + 1);
      value = value * base + v;
    }
    if (value > max || (value >= 0xd800 && value < 0xe000)) {
      return new LiteralError('escape sequence is an invalid Unicode code point', i + 1);
    }
    out += String.fromCodePoint(value);
    i = start + digits - 1;
  }
  return out;
}

function validPair(s: string, i: number): boolean {
  const hi = s.charCodeAt(i);
  const lo = s.charCodeAt(i + 1);
  return hi >= 0xd800 && hi <= 0xdbff && lo >= 0xdc00 && lo <= 0xdfff;
}

const DECIMAL = /^(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const HEX = /^0[xX][0-9a-fA-F]+$/;
const MAX_INT64 = (1n << 63n) - 1n;

/**
 * The value of an unsigned number literal, or a LiteralError. Prometheus reads a number with Go's
 * ParseInt (base prefixes) and then ParseFloat: a hexadecimal literal beyond int64 and a decimal one
 * beyond float64 are errors, not infinities.
 */
export function parseNumber(text: string): number | LiteralError {
  const lower = text.toLowerCase();
  if (lower === 'inf') return Infinity;
  if (lower === 'nan') return NaN;
  if (HEX.test(text)) {
    const big = BigInt(text.toLowerCase());
    if (big > MAX_INT64) {
      return new LiteralError(
        `error parsing number: strconv.ParseFloat: parsing "${text}": invalid syntax`,
      );
    }
    return Number(big);
  }
  if (!DECIMAL.test(text)) {
    return new LiteralError(`bad number or duration syntax: "${text}"`);
  }
  const value = Number(text);
  if (!Number.isFinite(value)) {
    return new LiteralError(
      `error parsing number: strconv.ParseFloat: parsing "${text}": value out of range`,
    );
  }
  return value;
}

const DURATION = /^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$/;
const UNIT_MS = [31_536_000_000, 604_800_000, 86_400_000, 3_600_000, 60_000, 1000, 1] as const;

/** True when `text` has a unit (`5m`), as opposed to a plain number. */
export const isDurationText = (text: string): boolean =>
  /^\d+(?:y|w|d|h|ms|m|s)/.test(text) && !HEX.test(text);

/** Milliseconds of a duration literal (`1h30m`), or a LiteralError as model.ParseDuration words it. */
export function parseDuration(text: string): number | LiteralError {
  const m = DURATION.exec(text);
  if (text === '' || m === null) return new LiteralError(`not a valid duration string: "${text}"`);
  let ms = 0;
  m.slice(1).forEach((v, i) => {
    if (v !== undefined) ms += Number(v) * (UNIT_MS[i] ?? 0);
  });
  if (ms === 0) return new LiteralError('duration must be greater than 0');
  if (!Number.isSafeInteger(ms)) return new LiteralError(`not a valid duration string: "${text}"`);
  return ms;
}
