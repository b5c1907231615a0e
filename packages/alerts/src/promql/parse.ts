// Parsing with lezer-promql, adjusted to read what Prometheus's lexer reads, and the first syntax error
// worded as Prometheus words it.
import { parser } from '@prometheus-io/lezer-promql';
import { MAX_PROMQL_DEPTH } from './options';
import { type Problem, syntax, type SyntaxNode } from './problem';

/** A token as messages show it: quoted, at most 20 characters. */
export function describeToken(text: string): string {
  if (text === '') return 'end of input';
  const shown = [...text].slice(0, 20).join('');
  return `"${shown}"`;
}

/** Offset of the first error node of the lezer tree, or -1. */
function firstErrorAt(top: SyntaxNode): number {
  const cursor = top.cursor();
  do {
    if (cursor.type.isError) return cursor.from;
  } while (cursor.next());
  return -1;
}

/**
 * Parses `src` with lezer. Where no expression precedes it, `offset` is a metric name to Prometheus's
 * grammar (after `on(a)`, say); lezer reads it as the keyword and fails there, so the word is renamed
 * (same length) and parsed again, a bounded number of times.
 */
export function parseLezer(src: string): SyntaxNode {
  let source = lezerSource(src);
  let top = parser.parse(source).topNode;
  for (let retry = 0; retry < 8; retry++) {
    const at = firstErrorAt(top);
    const word = /^\s*offset(?![\w:])/i.exec(source.slice(at));
    if (at < 0 || word === null) break;
    const start = at + word[0].length - 'offset'.length;
    source = `${source.slice(0, start)}offse_${source.slice(start + 'offset'.length)}`;
    const again = parser.parse(source).topNode;
    const next = firstErrorAt(again);
    if (next >= 0 && next <= at) break;
    top = again;
  }
  return top;
}

/** The first parse error of the lezer tree, with the nearest message Prometheus would give. */
export function firstSyntaxError(src: string, top: SyntaxNode): Problem | undefined {
  const at = firstErrorAt(top);
  const lexical = firstLexicalProblem(src);
  if (lexical !== undefined && (at < 0 || lexical.at <= at)) {
    return syntax(lexical.at, lexical.message);
  }
  if (at < 0) return undefined;
  // A word of digits and letters is one token to Prometheus's lexer (`30m1h`), several to lezer's.
  const wordStart = /[\w.]*$/.exec(src.slice(0, at))?.index ?? at;
  const word = /^[\w.]+/.exec(src.slice(wordStart))?.[0] ?? '';
  if (wordStart < at && /^\d/.test(word)) {
    return syntax(
      wordStart,
      /^(?:\d+(?:ms|[smhdwy]))+$/.test(word)
        ? `not a valid duration string: "${word}"`
        : `bad number or duration syntax: "${word}"`,
    );
  }
  const rest = src.slice(at).replace(/^\s+/, '');
  const before = src.slice(0, at);
  const ident = /([A-Za-z_:][\w:]*)\s*$/.exec(before);
  if (rest.startsWith('(') && ident !== null && !/:/.test(ident[1] ?? '')) {
    return syntax(ident.index, `unknown function with name "${ident[1] ?? ''}"`);
  }
  const token = /^(?:[A-Za-z_:][\w:]*|\d[\w.]*|"[^"\n]*"?|'[^'\n]*'?|\S)/u.exec(rest);
  const where = src.length - rest.length;
  if (token === null) return syntax(src.length, 'unexpected end of input');
  const ch = token[0];
  if (/^[^\x20-\x7e]/u.test(ch)) {
    return syntax(where, `unexpected character: ${JSON.stringify(ch)}`);
  }
  return syntax(where, `unexpected ${describeToken(ch)}`);
}

/**
 * The source as lezer should see it: Prometheus also reads `5.`, `5.e3`, `0X1F`, holt_winters() and
 * a metric named `offset`, which lezer does not. Same length, so every offset still points into
 * `src`, where texts are read.
 */
function lezerSource(src: string): string {
  return (
    src
      .replace(/(?<![\w.])(\d+)\.(?![\w.])/g, '$1 ')
      // `5.e3`: the dot becomes a digit for lezer; the value is read from `src`.
      .replace(/(?<![\w.])(\d+)\.(?=[eE][+-]?\d)/g, (_m, digits: string) => `${digits}0`)
      .replace(/(?<![\w.])0X(?=[0-9a-fA-F])/g, '0x')
      // Not in lezer's grammar any more (renamed in 3.0): parsed as a function of the same length, and
      // checked under its own name, which the checker reads from `src`.
      .replace(/(?<![\w:])holt_winters(?=\s*\()/g, 'day_of_month')
      // `offset` where no expression precedes it is a metric name to Prometheus's grammar.
      .replace(
        /(^\s*|[(,+\-*/%^=<>!]\s*|\b(?:and|or|unless|atan2|bool|group_left|group_right)\s+)offset(?![\w:])/gi,
        '$1offse_',
      )
  );
}

/**
 * The first problem of Prometheus's lexer that lezer does not see where Prometheus does: a string left
 * open (lezer reports it where the input ends), and outside strings and comments any character but
 * printable ASCII, space, tab, CR and LF (lezer skips Unicode spaces such as U+00A0).
 */
function firstLexicalProblem(src: string): { at: number; message: string } | undefined {
  for (let i = 0; i < src.length; i++) {
    const c = src[i] as string;
    const code = c.charCodeAt(0);
    if (c === '#') {
      const end = src.indexOf('\n', i);
      if (end < 0) return undefined;
      i = end;
    } else if (c === '"' || c === "'" || c === '`') {
      let j = i + 1;
      while (j < src.length && src[j] !== c && (c === '`' || src[j] !== '\n')) {
        j += src[j] === '\\' && c !== '`' ? 2 : 1;
      }
      if (j >= src.length || src[j] !== c) {
        return {
          at: i,
          message: c === '`' ? 'unterminated raw string' : 'unterminated quoted string',
        };
      }
      i = j;
    } else if ((code < 0x20 || code > 0x7e) && c !== '\t' && c !== '\n' && c !== '\r') {
      const shown = String.fromCodePoint(src.codePointAt(i) ?? code);
      return { at: i, message: `unexpected character: ${JSON.stringify(shown)}` };
    }
  }
  return undefined;
}

/** Depth of the tree, walked without recursion so that hostile nesting cannot exhaust the stack. */
export function depthOf(top: SyntaxNode): number {
  let depth = 0;
  let max = 0;
  const cursor = top.cursor();
  for (;;) {
    if (cursor.firstChild()) {
      depth++;
      if (depth > max) max = depth;
      if (max > MAX_PROMQL_DEPTH) return max;
      continue;
    }
    while (!cursor.nextSibling()) {
      if (!cursor.parent()) return max;
      depth--;
    }
  }
}
