// The part of Go's text/template that Prometheus alert labels and annotations use: `{{ $labels.x }}`,
// `{{ $value }}`, pipelines into humanize functions and printf. Compiled once; anything else is
// rejected at compile time so a rule never renders differently here than in Prometheus.
import { formatE, formatF, formatG, humanize, humanize1024, humanizeDuration } from './go-format';
import { humanizePercentage, humanizeTimestamp } from './go-format';

/** What a template sees: Prometheus's `AlertTemplateData`. */
export interface TemplateData {
  readonly labels: Readonly<Record<string, string>>;
  readonly externalLabels: Readonly<Record<string, string>>;
  readonly externalURL: string;
  readonly value: number;
}

type Value = string | number | Readonly<Record<string, string>>;
type Node = (data: TemplateData, piped: Value[]) => Value;

/** A template that cannot be expanded here: `reason` says which construct. */
export class TemplateSyntaxError extends Error {}

function toNumber(v: Value): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string') {
    const n = Number(v.trim());
    if (v.trim() === '' || Number.isNaN(n)) throw new Error(`cannot convert "${v}" to a number`);
    return n;
  }
  throw new Error('cannot convert a map to a number');
}

/** Go's `%v` of a template value. */
export function printValue(v: Value): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return formatG(v);
  const keys = Object.keys(v).sort();
  return `map[${keys.map((k) => `${k}:${v[k]}`).join(' ')}]`;
}

const PRINTF_VERB = /%([-+# 0]*)(\d+)?(?:\.(\d+))?([a-zA-Z%])/g;

/** Go's fmt.Sprintf for the verbs annotations use: %s %v %d %f %g %e %q %x %%. */
export function sprintf(format: string, args: readonly Value[]): string {
  let i = 0;
  const out = format.replace(
    PRINTF_VERB,
    (_m, flags: string, width: string | undefined, prec: string | undefined, verb: string) => {
      if (verb === '%') return '%';
      if (i >= args.length) return `%!${verb}(MISSING)`;
      const arg = args[i++] as Value;
      const p = prec === undefined ? undefined : Number(prec);
      let text: string;
      switch (verb) {
        case 's':
        case 'v':
          text = printValue(arg);
          if (verb === 's' && p !== undefined) text = text.slice(0, p);
          if (verb === 'v' && typeof arg === 'number' && p !== undefined) text = formatG(arg, p);
          break;
        case 'q':
          text = JSON.stringify(printValue(arg));
          break;
        case 'd':
          if (typeof arg === 'number' && Number.isInteger(arg)) text = String(arg);
          else text = `%!d(${typeof arg === 'number' ? 'float64' : 'string'}=${printValue(arg)})`;
          break;
        case 'f':
        case 'F':
          text = typeof arg === 'number' ? formatF(arg, p ?? 6) : `%!f(string=${printValue(arg)})`;
          break;
        case 'g':
          text = typeof arg === 'number' ? formatG(arg, p ?? -1) : `%!g(string=${printValue(arg)})`;
          break;
        case 'e':
          text = typeof arg === 'number' ? formatE(arg, p ?? 6) : `%!e(string=${printValue(arg)})`;
          break;
        default:
          text = `%!${verb}(${typeof arg === 'number' ? 'float64' : 'string'}=${printValue(arg)})`;
      }
      if (flags.includes('+') && typeof arg === 'number' && arg >= 0 && verb !== 's')
        text = `+${text}`;
      const w = width === undefined ? 0 : Number(width);
      if (text.length < w) {
        if (flags.includes('-')) text = text.padEnd(w, ' ');
        else if (flags.includes('0') && typeof arg === 'number')
          text =
            (text.startsWith('-') ? '-' : '') +
            text.replace(/^-/, '').padStart(w - (text.startsWith('-') ? 1 : 0), '0');
        else text = text.padStart(w, ' ');
      }
      return text;
    },
  );
  return i < args.length
    ? `${out}%!(EXTRA ${args
        .slice(i)
        .map((a) => `${typeof a === 'number' ? 'float64' : 'string'}=${printValue(a)}`)
        .join(', ')})`
    : out;
}

type Fn = (args: Value[]) => Value;

const num1 =
  (f: (v: number) => string): Fn =>
  (args) => {
    if (args.length !== 1) throw new Error(`wrong number of args: want 1 got ${args.length}`);
    return f(toNumber(args[0] as Value));
  };
const str1 =
  (f: (v: string) => string): Fn =>
  (args) => {
    if (args.length !== 1) throw new Error(`wrong number of args: want 1 got ${args.length}`);
    return f(printValue(args[0] as Value));
  };

/** The template functions Prometheus provides that expand here. */
export const TEMPLATE_FUNCTIONS: Readonly<Record<string, Fn>> = {
  humanize: num1(humanize),
  humanize1024: num1(humanize1024),
  humanizePercentage: num1(humanizePercentage),
  humanizeDuration: num1(humanizeDuration),
  humanizeTimestamp: num1(humanizeTimestamp),
  printf: (args) => {
    const [format, ...rest] = args;
    if (typeof format !== 'string') throw new Error('printf: the format must be a string');
    return sprintf(format, rest);
  },
  toUpper: str1((s) => s.toUpperCase()),
  toLower: str1((s) => s.toLowerCase()),
  title: str1((s) =>
    s.replace(/(^|[^\p{L}\p{N}_'])(\p{L})/gu, (_m, a: string, b: string) => a + b.toUpperCase()),
  ),
  stripPort: str1((s) => {
    const m = /^\[(.*)\]:\d+$/.exec(s) ?? /^([^:]*):\d+$/.exec(s);
    return m?.[1] ?? s;
  }),
  reReplaceAll: (args) => {
    const [pattern, repl, text] = args.map(printValue);
    // Go's $1 and ${1} are JavaScript's $1 and $<...> differs; plain $n is the common case.
    return (text ?? '').replace(
      new RegExp(pattern ?? '', 'g'),
      (repl ?? '').replace(/\$\{(\d+)\}/g, '$$$1'),
    );
  },
  match: (args) => {
    const [pattern, text] = args.map(printValue);
    return new RegExp(pattern ?? '').test(text ?? '') ? 'true' : 'false';
  },
  index: (args) => {
    const [map, key] = args;
    if (map === undefined || typeof map !== 'object') throw new Error('index of a non-map');
    return map[printValue(key ?? '')] ?? '';
  },
};

const KEYWORDS = new Set([
  'if',
  'else',
  'end',
  'range',
  'with',
  'define',
  'template',
  'block',
  'break',
  'continue',
  'and',
  'or',
  'not',
  'len',
  'eq',
  'ne',
  'lt',
  'le',
  'gt',
  'ge',
  'query',
  'first',
  'label',
  'value',
  'sortByLabel',
  'args',
  'tmpl',
  'safeHtml',
  'graphLink',
  'tableLink',
  'externalURL',
  'pathPrefix',
  'parseDuration',
  'toTime',
  'strvalue',
  'call',
  'html',
  'js',
  'print',
  'println',
  'slice',
  'urlquery',
]);

const TOKEN =
  /\s*(?:("(?:[^"\\]|\\.)*")|(`[^`]*`)|([-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)|(\$[a-zA-Z_][a-zA-Z0-9_]*(?:\.[a-zA-Z_][a-zA-Z0-9_]*)*|\$)|(\.[a-zA-Z_][a-zA-Z0-9_]*(?:\.[a-zA-Z_][a-zA-Z0-9_]*)*|\.)|([a-zA-Z_][a-zA-Z0-9_]*)|(\|)|(\()|(\)))/y;

interface Token {
  kind: 'string' | 'number' | 'var' | 'field' | 'ident' | 'pipe' | 'open' | 'close';
  text: string;
}

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  TOKEN.lastIndex = 0;
  let pos = 0;
  while (pos < source.length) {
    if (/^\s*$/.test(source.slice(pos))) break;
    TOKEN.lastIndex = pos;
    const m = TOKEN.exec(source);
    if (m === null) throw new TemplateSyntaxError(`unexpected "${source.slice(pos).trim()}"`);
    pos = TOKEN.lastIndex;
    if (m[1] !== undefined) tokens.push({ kind: 'string', text: JSON.parse(m[1]) as string });
    else if (m[2] !== undefined) tokens.push({ kind: 'string', text: m[2].slice(1, -1) });
    else if (m[3] !== undefined) tokens.push({ kind: 'number', text: m[3] });
    else if (m[4] !== undefined) tokens.push({ kind: 'var', text: m[4] });
    else if (m[5] !== undefined) tokens.push({ kind: 'field', text: m[5] });
    else if (m[6] !== undefined) tokens.push({ kind: 'ident', text: m[6] });
    else if (m[7] !== undefined) tokens.push({ kind: 'pipe', text: '|' });
    else if (m[8] !== undefined) tokens.push({ kind: 'open', text: '(' });
    else tokens.push({ kind: 'close', text: ')' });
  }
  return tokens;
}

function variable(path: string): Node {
  const [head, ...rest] = path.split('.');
  const root = (data: TemplateData): Value => {
    switch (head) {
      case '$labels':
      case 'Labels':
        return data.labels;
      case '$externalLabels':
      case 'ExternalLabels':
        return data.externalLabels;
      case '$externalURL':
      case 'ExternalURL':
        return data.externalURL;
      case '$value':
      case 'Value':
        return data.value;
      default:
        throw new TemplateSyntaxError(`undefined variable "${head ?? ''}"`);
    }
  };
  if (
    ![
      '$labels',
      'Labels',
      '$externalLabels',
      'ExternalLabels',
      '$externalURL',
      'ExternalURL',
      '$value',
      'Value',
    ].includes(head ?? '')
  ) {
    throw new TemplateSyntaxError(`undefined variable or field "${path}"`);
  }
  if (rest.length > 1) throw new TemplateSyntaxError(`"${path}" reaches below a label value`);
  const key = rest[0];
  if (key === undefined) return (data) => root(data);
  if (!['$labels', 'Labels', '$externalLabels', 'ExternalLabels'].includes(head ?? '')) {
    throw new TemplateSyntaxError(`"${path}": only label maps have fields`);
  }
  // missingkey=zero, as Prometheus sets it: a missing label is the empty string.
  return (data) => (root(data) as Readonly<Record<string, string>>)[key] ?? '';
}

function parsePipeline(tokens: Token[], at: { i: number }): Node {
  const commands: Node[] = [];
  for (;;) {
    commands.push(parseCommand(tokens, at));
    if (tokens[at.i]?.kind !== 'pipe') break;
    at.i++;
  }
  return (data) => {
    let piped: Value[] = [];
    let result: Value = '';
    for (const c of commands) {
      result = c(data, piped);
      piped = [result];
    }
    return result;
  };
}

function parseOperand(tokens: Token[], at: { i: number }): Node {
  const t = tokens[at.i];
  if (t === undefined) throw new TemplateSyntaxError('missing value');
  at.i++;
  switch (t.kind) {
    case 'string':
      return () => t.text;
    case 'number': {
      const n = Number(t.text);
      return () => n;
    }
    case 'var':
      return variable(t.text);
    case 'field':
      if (t.text === '.') throw new TemplateSyntaxError('"." (the whole data) is not supported');
      return variable(t.text.slice(1));
    case 'open': {
      const inner = parsePipeline(tokens, at);
      if (tokens[at.i]?.kind !== 'close') throw new TemplateSyntaxError('unclosed "("');
      at.i++;
      return (data) => inner(data, []);
    }
    default:
      throw new TemplateSyntaxError(`unexpected "${t.text}"`);
  }
}

function parseCommand(tokens: Token[], at: { i: number }): Node {
  const first = tokens[at.i];
  if (first === undefined || first.kind === 'pipe' || first.kind === 'close')
    throw new TemplateSyntaxError('missing command');
  if (first.kind === 'ident') {
    at.i++;
    const fn = TEMPLATE_FUNCTIONS[first.text];
    if (fn === undefined) {
      throw new TemplateSyntaxError(
        KEYWORDS.has(first.text)
          ? `"${first.text}" is not supported by the embedded evaluator`
          : `function "${first.text}" not defined`,
      );
    }
    const args: Node[] = [];
    while (
      at.i < tokens.length &&
      tokens[at.i]?.kind !== 'pipe' &&
      tokens[at.i]?.kind !== 'close'
    ) {
      args.push(parseOperand(tokens, at));
    }
    return (data, piped) => fn([...args.map((a) => a(data, [])), ...piped]);
  }
  const operand = parseOperand(tokens, at);
  if (at.i < tokens.length && tokens[at.i]?.kind !== 'pipe' && tokens[at.i]?.kind !== 'close') {
    throw new TemplateSyntaxError(`"${tokens[at.i]?.text ?? ''}": a value cannot take arguments`);
  }
  return (data, piped) => {
    if (piped.length > 0) throw new TemplateSyntaxError('a value cannot take a piped argument');
    return operand(data, []);
  };
}

/** A compiled template: expands against data; expansion errors render as Prometheus renders them. */
export type CompiledTemplate = (data: TemplateData) => string;

/**
 * Compiles a Prometheus alert template. Throws TemplateSyntaxError for constructs the embedded
 * evaluator does not expand (control structures, query functions, unknown functions).
 */
export function compileTemplate(text: string): CompiledTemplate {
  if (!text.includes('{{')) return () => text;
  const parts: (string | Node)[] = [];
  let rest = text;
  while (rest.length > 0) {
    const open = rest.indexOf('{{');
    if (open < 0) {
      parts.push(rest);
      break;
    }
    let literal = rest.slice(0, open);
    let body = rest.slice(open + 2);
    if (body.startsWith('- ') || body.startsWith('-\t') || body.startsWith('-\n')) {
      literal = literal.replace(/\s+$/, '');
      body = body.slice(1);
    }
    const close = body.indexOf('}}');
    if (close < 0) throw new TemplateSyntaxError('unclosed action');
    let action = body.slice(0, close);
    rest = body.slice(close + 2);
    if (/\s-$/.test(action)) {
      action = action.slice(0, -1);
      rest = rest.replace(/^\s+/, '');
    }
    if (literal !== '') parts.push(literal);
    const trimmed = action.trim();
    if (trimmed.startsWith('/*')) {
      if (!trimmed.endsWith('*/')) throw new TemplateSyntaxError('unclosed comment');
      continue;
    }
    if (/^\$[a-zA-Z_][a-zA-Z0-9_]*\s*:?=/.test(trimmed))
      throw new TemplateSyntaxError('variable declarations are not supported');
    const tokens = tokenize(trimmed);
    if (tokens.length === 0) throw new TemplateSyntaxError('missing value for command');
    const at = { i: 0 };
    const node = parsePipeline(tokens, at);
    if (at.i !== tokens.length)
      throw new TemplateSyntaxError(`unexpected "${tokens[at.i]?.text ?? ''}"`);
    parts.push(node);
  }
  return (data) => {
    let out = '';
    try {
      for (const p of parts) out += typeof p === 'string' ? p : printValue(p(data, []));
    } catch (e) {
      // Prometheus renders a failed expansion into the text instead of dropping the alert.
      return `<error expanding template: ${e instanceof Error ? e.message : String(e)}>`;
    }
    return out;
  };
}
