// A small strict reader of the Prometheus text and OpenMetrics formats, for assertions on scrapes.
//
// promtool 2.42 only reads the Prometheus text format, so the OpenMetrics rules that matter to a
// scraper (https://github.com/OpenObservability/OpenMetrics/blob/main/specification/OpenMetrics.md)
// are checked here: family grouping, sample suffixes per type, exemplar placement and syntax, `# EOF`.

export interface Exemplar {
  labels: Record<string, string>;
  value: number;
  timestamp: number | undefined;
}

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
  exemplar: Exemplar | undefined;
  /** 1-based line number in the exposition. */
  line: number;
}

export interface Family {
  name: string;
  type: string;
  help: string | undefined;
  samples: Sample[];
}

export interface Exposition {
  families: Map<string, Family>;
  samples: Sample[];
  /** Lines in the text (the trailing newline does not start a line). */
  lineCount: number;
  /** Everything that does not follow the format; empty for a valid exposition. */
  problems: string[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/;
// Go's strconv.ParseFloat spellings Prometheus accepts, plus the special values.
const NUMBER = /^(?:[+-]?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)|[+-]?Inf|NaN)$/;

class Cursor {
  i = 0;
  constructor(readonly s: string) {}
  get rest(): string {
    return this.s.slice(this.i);
  }
  eat(ch: string): boolean {
    if (this.s[this.i] !== ch) return false;
    this.i++;
    return true;
  }
  expect(ch: string): void {
    if (!this.eat(ch)) throw new Error(`expected '${ch}' at column ${this.i + 1}`);
  }
  match(re: RegExp): string {
    const m = re.exec(this.rest);
    if (!m) throw new Error(`unexpected '${this.rest.slice(0, 20)}' at column ${this.i + 1}`);
    this.i += m[0].length;
    return m[0];
  }
  until(ch: string): string {
    const j = this.s.indexOf(ch, this.i);
    const end = j === -1 ? this.s.length : j;
    const out = this.s.slice(this.i, end);
    this.i = end;
    return out;
  }
}

function parseNumber(text: string): number {
  if (!NUMBER.test(text)) throw new Error(`not a number: '${text}'`);
  if (text.endsWith('Inf')) return text.startsWith('-') ? -Infinity : Infinity;
  return Number(text);
}

/** `{a="x",b="y"}` with the escapes both formats define (`\\`, `\"`, `\n`); anything else is an error. */
function parseLabels(c: Cursor): Record<string, string> {
  const labels: Record<string, string> = {};
  c.expect('{');
  while (!c.eat('}')) {
    const name = c.match(LABEL_NAME);
    c.expect('=');
    c.expect('"');
    let value = '';
    for (;;) {
      const ch = c.s[c.i++];
      if (ch === undefined) throw new Error(`unterminated value of label ${name}`);
      if (ch === '"') break;
      if (ch === '\n') throw new Error(`raw newline in label ${name}`);
      if (ch !== '\\') {
        value += ch;
        continue;
      }
      const esc = c.s[c.i++];
      if (esc === '\\') value += '\\';
      else if (esc === '"') value += '"';
      else if (esc === 'n') value += '\n';
      else throw new Error(`invalid escape '\\${esc ?? ''}' in label ${name}`);
    }
    if (Object.hasOwn(labels, name)) throw new Error(`duplicate label ${name}`);
    labels[name] = value;
    if (!c.eat(',')) {
      c.expect('}');
      break;
    }
  }
  return labels;
}

function parseSample(text: string, line: number, openMetrics: boolean): Sample {
  const c = new Cursor(text);
  const name = c.match(NAME);
  const labels = c.s[c.i] === '{' ? parseLabels(c) : {};
  c.expect(' ');
  const value = parseNumber(c.until(' '));
  let exemplar: Exemplar | undefined;
  if (c.eat(' ')) {
    if (c.rest.startsWith('# ')) {
      if (!openMetrics) throw new Error('exemplar in the Prometheus text format');
      c.i += 2;
      const exLabels = parseLabels(c);
      c.expect(' ');
      const exValue = parseNumber(c.until(' '));
      const timestamp = c.eat(' ') ? parseNumber(c.until(' ')) : undefined;
      exemplar = { labels: exLabels, value: exValue, timestamp };
    } else {
      parseNumber(c.until(' ')); // sample timestamp
    }
  }
  if (c.i !== text.length) throw new Error(`trailing text '${c.rest.slice(0, 20)}'`);
  return { name, labels, value, exemplar, line };
}

const SUFFIXES: Record<string, readonly string[]> = {
  counter: ['_total', '_created'],
  gauge: [''],
  histogram: ['_bucket', '_sum', '_count', '_created'],
  summary: ['', '_sum', '_count', '_created'],
  untyped: [''],
  unknown: [''],
};

/**
 * Parses an exposition. With `openMetrics`, also checks the OpenMetrics rules; without, the
 * Prometheus text format's (where counters keep their `_total` in the family name).
 */
export function parseExposition(text: string, openMetrics: boolean): Exposition {
  const problems: string[] = [];
  const families = new Map<string, Family>();
  const samples: Sample[] = [];
  const lines = text.split('\n');
  if (lines.at(-1) !== '') problems.push('the exposition does not end with a newline');
  else lines.pop();
  let current: Family | undefined;
  let eofAt: number | undefined;
  const familyOf = (name: string, line: number): Family => {
    let family = families.get(name);
    if (family === undefined) {
      family = { name, type: 'untyped', help: undefined, samples: [] };
      families.set(name, family);
    } else if (openMetrics && current !== family) {
      problems.push(`line ${line}: family ${name} is not contiguous`);
    }
    return family;
  };
  lines.forEach((text, index) => {
    const line = index + 1;
    if (eofAt !== undefined) {
      problems.push(`line ${line}: content after # EOF`);
      return;
    }
    if (text === '') {
      if (openMetrics) problems.push(`line ${line}: empty line`);
      return;
    }
    if (text.startsWith('#')) {
      if (text === '# EOF') {
        if (!openMetrics) problems.push(`line ${line}: # EOF in the Prometheus text format`);
        eofAt = line;
        return;
      }
      const m = /^# (HELP|TYPE|UNIT) ([a-zA-Z_:][a-zA-Z0-9_:]*) ?(.*)$/.exec(text);
      if (!m) {
        if (openMetrics) problems.push(`line ${line}: comment '${text.slice(0, 40)}'`);
        return;
      }
      const [, kind, name = '', rest = ''] = m;
      const family = familyOf(name, line);
      current = family;
      if (kind === 'TYPE') {
        if (!Object.hasOwn(SUFFIXES, rest)) problems.push(`line ${line}: unknown type ${rest}`);
        if (family.samples.length > 0)
          problems.push(`line ${line}: TYPE of ${name} after its samples`);
        family.type = rest;
        if (openMetrics && rest === 'counter' && name.endsWith('_total')) {
          problems.push(`line ${line}: OpenMetrics counter family ${name} ends with _total`);
        }
      } else if (kind === 'HELP') {
        if (/\\(?![\\n"])/.test(rest) || (!openMetrics && /\\"/.test(rest))) {
          problems.push(`line ${line}: invalid escape in HELP of ${name}`);
        }
        family.help = rest;
      }
      return;
    }
    let sample: Sample;
    try {
      sample = parseSample(text, line, openMetrics);
    } catch (err) {
      problems.push(`line ${line}: ${(err as Error).message}`);
      return;
    }
    samples.push(sample);
    // The family is the one whose name plus an allowed suffix gives the sample name.
    // The Prometheus text format names counter families with their `_total`.
    const suffixes = (f: Family) =>
      f.type === 'counter' && !openMetrics ? [''] : (SUFFIXES[f.type] ?? ['']);
    const family =
      current && suffixes(current).some((s) => current!.name + s === sample.name)
        ? current
        : undefined;
    if (family === undefined) {
      problems.push(
        `line ${line}: sample ${sample.name} does not belong to family ${current?.name ?? '(none)'} (${current?.type ?? '-'})`,
      );
      return;
    }
    family.samples.push(sample);
    if (sample.exemplar) {
      const okPlace =
        (family.type === 'histogram' && sample.name.endsWith('_bucket')) ||
        (family.type === 'counter' && sample.name.endsWith('_total'));
      if (!okPlace) problems.push(`line ${line}: exemplar on ${sample.name} (${family.type})`);
      const chars = Object.entries(sample.exemplar.labels).reduce(
        (n, [k, v]) => n + [...k].length + [...v].length,
        0,
      );
      if (chars > 128) problems.push(`line ${line}: exemplar label set of ${chars} characters`);
    }
  });
  if (openMetrics && eofAt === undefined) problems.push('no # EOF line');
  for (const family of families.values()) problems.push(...histogramProblems(family));
  return { families, samples, lineCount: lines.length, problems };
}

/** Buckets in increasing `le` order ending with +Inf, cumulative counts, _count equal to +Inf. */
function histogramProblems(family: Family): string[] {
  if (family.type !== 'histogram') return [];
  const problems: string[] = [];
  const bySeries = new Map<string, { le: number[]; counts: number[]; count?: number }>();
  for (const s of family.samples) {
    const { le, ...rest } = s.labels;
    const key = JSON.stringify(Object.entries(rest).sort());
    let series = bySeries.get(key);
    if (series === undefined) bySeries.set(key, (series = { le: [], counts: [] }));
    if (s.name.endsWith('_bucket')) {
      if (le === undefined) {
        problems.push(`line ${s.line}: bucket without le`);
        continue;
      }
      series.le.push(parseNumber(le));
      series.counts.push(s.value);
    } else if (s.name.endsWith('_count')) {
      series.count = s.value;
    }
  }
  for (const [key, series] of bySeries) {
    const where = `${family.name}${key}`;
    if (series.le.at(-1) !== Infinity) problems.push(`${where}: no +Inf bucket`);
    for (let i = 1; i < series.le.length; i++) {
      if (!(series.le[i]! > series.le[i - 1]!)) problems.push(`${where}: le not increasing`);
      if (series.counts[i]! < series.counts[i - 1]!)
        problems.push(`${where}: buckets not cumulative`);
    }
    if (series.count !== series.counts.at(-1)) problems.push(`${where}: _count differs from +Inf`);
  }
  return problems;
}

/** Samples of `name` (exact sample name), e.g. `http_requests_total`. */
export function samplesOf(exposition: Exposition, name: string): Sample[] {
  return exposition.samples.filter((s) => s.name === name);
}

/** Sum of the values of every sample named `name`. */
export function sumOf(exposition: Exposition, name: string): number {
  return samplesOf(exposition, name).reduce((n, s) => n + s.value, 0);
}
