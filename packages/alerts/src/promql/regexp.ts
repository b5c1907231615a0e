// Go (RE2) regular-expression syntax, as Prometheus compiles label matchers: validity and whether the
// expression matches the empty string. JavaScript's RegExp accepts a different language (lookarounds,
// backreferences) and rejects parts of Go's ((?i), \z, [[:alpha:]]), so it cannot stand in.

/** Go's own limit on nesting (regexp/syntax, since Go 1.19.2). */
const MAX_NESTING = 1000;
const MAX_REPEAT = 1000;

const POSIX_CLASSES = new Set([
  'alnum',
  'alpha',
  'ascii',
  'blank',
  'cntrl',
  'digit',
  'graph',
  'lower',
  'print',
  'punct',
  'space',
  'upper',
  'word',
  'xdigit',
]);

/** Thrown inside the parser; turned into a result by `checkRegexp`. */
class RegexpSyntaxError extends Error {}

export interface RegexpCheck {
  /** Go's error (`error parsing regexp: ...`), when the expression is invalid. */
  readonly error?: string;
  /** Whether the (anchored) expression matches the empty string. */
  readonly matchesEmpty: boolean;
}

/** Checks `source` as Go's regexp.Compile would, with the Perl flags Prometheus uses. */
export function checkRegexp(source: string, allowAngleNames = false): RegexpCheck {
  try {
    const p = new Parser(source, allowAngleNames);
    const nullable = p.parseAll();
    return { matchesEmpty: nullable };
  } catch (e) {
    if (e instanceof RegexpSyntaxError)
      return { error: `error parsing regexp: ${e.message}`, matchesEmpty: false };
    throw e;
  }
}

const isAlnum = (c: string): boolean => /^[0-9A-Za-z]$/.test(c);

// Scripts whose long name has four letters; any other four-letter name is an ISO 15924 code (Grek),
// which JavaScript accepts as an alias and Go does not.
const FOUR_LETTER_SCRIPTS = new Set(['Cham', 'Lisu', 'Miao', 'Modi', 'Newa', 'Thai', 'Toto']);

/** Go knows Unicode general categories by their short names, scripts by long name, and `Any`. */
function isUnicodeClass(name: string): boolean {
  if (name === 'Any') return true;
  const probe = (source: string): boolean => {
    try {
      new RegExp(source, 'u');
      return true;
    } catch {
      return false;
    }
  };
  if (/^[A-Z][a-z]?$/.test(name)) return probe(`\\p{${name}}`);
  if (/^[A-Z][a-z]{3}$/.test(name) && !FOUR_LETTER_SCRIPTS.has(name)) return false;
  return probe(`\\p{Script=${name}}`);
}

// A recursive-descent reader of RE2 syntax. Each parse method returns whether what it read can match
// the empty string; the tree itself is not needed.
class Parser {
  private i = 0;
  private depth = 0;

  constructor(
    private readonly s: string,
    private readonly allowAngleNames: boolean,
  ) {}

  private fail(code: string, arg: string): never {
    throw new RegexpSyntaxError(`${code}: \`${arg}\``);
  }

  parseAll(): boolean {
    const nullable = this.alternation();
    if (this.i < this.s.length) this.fail('unexpected )', this.s);
    return nullable;
  }

  private alternation(): boolean {
    let nullable = this.concat();
    while (this.s[this.i] === '|') {
      this.i++;
      nullable = this.concat() || nullable;
    }
    return nullable;
  }

  private concat(): boolean {
    let nullable = true;
    while (this.i < this.s.length && this.s[this.i] !== '|' && this.s[this.i] !== ')') {
      nullable = this.repeat() && nullable;
    }
    return nullable;
  }

  private repeat(): boolean {
    const start = this.i;
    const c = this.s[this.i] as string;
    if (c === '*' || c === '+' || c === '?' || (c === '{' && this.repeatSuffix() !== undefined)) {
      const op = c === '{' ? this.s.slice(start, this.i + (this.repeatSuffix() ?? 0)) : c;
      this.fail('missing argument to repetition operator', op);
    }
    let nullable = this.atom();
    let last = '';
    for (;;) {
      const opStart = this.i;
      const ch = this.s[this.i];
      let min: number;
      if (ch === '*' || ch === '?') {
        min = 0;
        this.i++;
      } else if (ch === '+') {
        min = 1;
        this.i++;
      } else if (ch === '{') {
        const len = this.repeatSuffix();
        if (len === undefined) break;
        const [lo, hi] = this.s
          .slice(this.i + 1, this.i + len - 1)
          .split(',')
          .map((n) => (n === '' ? -1 : Number(n)));
        const op = this.s.slice(this.i, this.i + len);
        if (
          (lo ?? 0) > MAX_REPEAT ||
          (hi ?? 0) > MAX_REPEAT ||
          (hi !== undefined && hi >= 0 && hi < (lo ?? 0))
        ) {
          this.fail('invalid repeat count', op);
        }
        min = lo ?? 0;
        this.i += len;
      } else break;
      if (this.s[this.i] === '?') this.i++;
      const op = this.s.slice(opStart, this.i);
      // Perl (and Go) refuse stacked repetitions: a** is an error, not a doubled star.
      if (last !== '') this.fail('invalid nested repetition operator', last + op);
      last = op;
      if (min === 0) nullable = true;
    }
    return nullable;
  }

  /** Length of a `{n}`, `{n,}` or `{n,m}` at the cursor, or undefined when it is a literal brace. */
  private repeatSuffix(): number | undefined {
    const m = /^\{(\d+)(,(\d*))?\}/.exec(this.s.slice(this.i, this.i + 24));
    return m ? m[0].length : undefined;
  }

  private atom(): boolean {
    const c = this.s[this.i] as string;
    switch (c) {
      case '(':
        return this.group();
      case '[':
        this.charClass();
        return false;
      case '\\':
        return this.escape();
      case '^':
      case '$':
        this.i++;
        return true;
      default:
        this.i += (c.codePointAt(0) ?? 0) > 0xffff ? 2 : 1;
        return false;
    }
  }

  private group(): boolean {
    const start = this.i;
    this.i++;
    if (++this.depth > MAX_NESTING) throw new RegexpSyntaxError('expression nests too deeply');
    if (this.s[this.i] === '?') {
      const rest = this.s.slice(this.i);
      const named = /^\?P?<([^>]*)>/.exec(rest);
      if (named && (rest[1] === 'P' || this.allowAngleNames)) {
        const name = named[1] ?? '';
        const end = rest.indexOf('>');
        if (name === '' || !/^\w+$/.test(name)) {
          this.fail('invalid named capture', this.s.slice(start, this.i + end + 1));
        }
        this.i += named[0].length;
      } else {
        // Flags: (?imsU-imsU) or (?flags:re); a '-' must be followed by at least one flag.
        let j = this.i + 1;
        let negated = false;
        let sawFlag = false;
        for (;;) {
          const f = this.s[j];
          if (f === undefined) this.fail('missing closing )', this.s.slice(start));
          if ('imsU'.includes(f)) {
            sawFlag = true;
          } else if (f === '-' && !negated) {
            negated = true;
            sawFlag = false;
          } else if ((f === ':' || f === ')') && (!negated || sawFlag)) {
            this.i = j + 1;
            if (f === ')') {
              this.depth--;
              return true;
            }
            break;
          } else {
            this.fail('invalid or unsupported Perl syntax', this.s.slice(start, j + 1));
          }
          j++;
        }
      }
    }
    const nullable = this.alternation();
    if (this.s[this.i] !== ')') this.fail('missing closing )', this.s.slice(start));
    this.i++;
    this.depth--;
    return nullable;
  }

  private charClass(): void {
    const start = this.i;
    this.i++;
    if (this.s[this.i] === '^') this.i++;
    let first = true;
    while (this.i < this.s.length && (this.s[this.i] !== ']' || first)) {
      first = false;
      if (this.s.startsWith('[:', this.i)) {
        const end = this.s.indexOf(':]', this.i + 2);
        if (end >= 0) {
          const name = this.s.slice(this.i + 2, end).replace(/^\^/, '');
          if (!POSIX_CLASSES.has(name))
            this.fail('invalid character class range', this.s.slice(this.i, end + 2));
          this.i = end + 2;
          continue;
        }
      }
      const lo = this.classChar();
      // After a class escape (\d) a '-' is a literal, as in Go.
      if (
        lo.code >= 0 &&
        this.s[this.i] === '-' &&
        this.s[this.i + 1] !== ']' &&
        this.i + 1 < this.s.length
      ) {
        const rangeStart = this.i - lo.text.length;
        this.i++;
        const hi = this.classChar();
        if (hi.code < 0 || hi.code < lo.code) {
          this.fail('invalid character class range', this.s.slice(rangeStart, this.i));
        }
      }
    }
    if (this.s[this.i] !== ']') this.fail('missing closing ]', this.s.slice(start));
    this.i++;
  }

  /** One character of a class; code -1 for a class escape (\d), which cannot bound a range. */
  private classChar(): { code: number; text: string } {
    const start = this.i;
    if (this.s[this.i] === '\\') {
      const code = this.escapeValue(true);
      return { code, text: this.s.slice(start, this.i) };
    }
    const code = this.s.codePointAt(this.i) ?? 0;
    this.i += code > 0xffff ? 2 : 1;
    return { code, text: this.s.slice(start, this.i) };
  }

  /** An escape outside a class; returns whether it can match the empty string (assertions). */
  private escape(): boolean {
    const c = this.s[this.i + 1];
    if (c === 'A' || c === 'z' || c === 'B') {
      this.i += 2;
      return true;
    }
    if (c === 'b') {
      this.i += 2;
      return false;
    }
    if (c === 'Q') {
      const end = this.s.indexOf('\\E', this.i + 2);
      const literal = end < 0 ? this.s.slice(this.i + 2) : this.s.slice(this.i + 2, end);
      this.i = end < 0 ? this.s.length : end + 2;
      return literal === '';
    }
    this.escapeValue(false);
    return false;
  }

  /** Reads an escape; returns its code point, or -1 for a class (\d, \pL). */
  private escapeValue(inClass: boolean): number {
    const start = this.i;
    this.i++;
    const c = this.s[this.i];
    if (c === undefined) throw new RegexpSyntaxError('trailing backslash at end of expression');
    this.i++;
    const simple: Record<string, number> = { a: 7, f: 12, t: 9, n: 10, r: 13, v: 11 };
    if (c in simple) return simple[c] ?? 0;
    if ('dDsSwW'.includes(c)) return -1;
    if (c === 'p' || c === 'P') {
      const m = /^(?:\{\^?([A-Za-z_]+)\}|([A-Za-z]))/.exec(this.s.slice(this.i));
      if (!m || !isUnicodeClass(m[1] ?? m[2] ?? '')) {
        const close = this.s.indexOf('}', this.i);
        const end = this.s[this.i] === '{' && close >= 0 ? close + 1 : this.i + 1;
        this.fail('invalid character class range', this.s.slice(start, end));
      }
      this.i += m[0].length;
      return -1;
    }
    if (c >= '0' && c <= '7') {
      // A lone non-zero digit would be a backreference, which RE2 does not have.
      if (c !== '0' && !/[0-7]/.test(this.s[this.i] ?? ''))
        this.fail('invalid escape sequence', this.s.slice(start, this.i));
      let n = 1;
      while (n < 3 && /[0-7]/.test(this.s[this.i] ?? '')) {
        this.i++;
        n++;
      }
      return parseInt(this.s.slice(start + 1, this.i), 8);
    }
    if (c === 'x') {
      if (this.s[this.i] === '{') {
        const m = /^\{([0-9A-Fa-f]+)\}/.exec(this.s.slice(this.i));
        const v = m ? parseInt(m[1] ?? '', 16) : NaN;
        if (!m || !(v <= 0x10ffff))
          this.fail('invalid escape sequence', this.s.slice(start, this.i + (m ? m[0].length : 1)));
        this.i += m[0].length;
        return v;
      }
      const m = /^[0-9A-Fa-f]{2}/.exec(this.s.slice(this.i));
      if (!m)
        this.fail(
          'invalid escape sequence',
          this.s.slice(start, Math.min(this.s.length, this.i + 2)),
        );
      this.i += 2;
      return parseInt(m[0], 16);
    }
    if (!inClass && 'bBAzQ'.includes(c)) return -1;
    const code = c.charCodeAt(0);
    // Punctuation may always be escaped; letters and digits only when they mean something.
    if (code < 0x80 && !isAlnum(c)) return code;
    this.fail('invalid escape sequence', this.s.slice(start, this.i));
  }
}
