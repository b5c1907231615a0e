// A checker problem as the VigilError users see: position, the line with a caret, Prometheus's words.
import { codedError, type VigilError } from '@vigil/core';
import { ALERTS_ERROR_CODES, PACKAGE } from '../errors';
import { formatVersion, type Version } from './catalogue';
import type { Problem } from './problem';

/** Line and column (1-based, in characters) of offset `at` of `src`. */
function position(src: string, at: number): { line: number; column: number; text: string } {
  const head = src.slice(0, at);
  const line = (head.match(/\n/g) ?? []).length + 1;
  const lineStart = head.lastIndexOf('\n') + 1;
  const lineEnd = src.indexOf('\n', at) < 0 ? src.length : src.indexOf('\n', at);
  return {
    line,
    column: [...src.slice(lineStart, at)].length + 1,
    text: src.slice(lineStart, lineEnd),
  };
}

function isUnsafeForDisplay(c: string): boolean {
  const code = c.codePointAt(0) ?? 0;
  return (
    (code < 0x20 && code !== 0x09) ||
    code === 0x7f ||
    code === 0x2028 ||
    code === 0x2029 ||
    (code >= 0x202a && code <= 0x202e) ||
    (code >= 0x2066 && code <= 0x2069)
  );
}

/** The expression's line with a caret under the column, cut to a readable window. */
function excerpt(lineText: string, column: number): string {
  // Control and bidirectional-override characters would garble the message where it is shown.
  const chars = [...lineText].map((c) => (isUnsafeForDisplay(c) ? '?' : c));
  const width = 72;
  let start = 0;
  if (chars.length > width)
    start = Math.max(0, Math.min(column - 1 - width / 2, chars.length - width));
  const shown = chars.slice(start, start + width);
  const prefix = start > 0 ? '...' : '';
  const suffix = start + width < chars.length ? '...' : '';
  const pad = shown
    .slice(0, column - 1 - start)
    .map((c) => (c === '\t' ? '\t' : ' '))
    .join('');
  return `    ${prefix}${shown.join('')}${suffix}\n    ${' '.repeat(prefix.length)}${pad}^`;
}

/** What each code is called at the start of its message. */
export const KIND: Readonly<Record<string, string>> = {
  [ALERTS_ERROR_CODES.PROMQL_SYNTAX]: 'PromQL syntax error',
  [ALERTS_ERROR_CODES.PROMQL_TYPE]: 'PromQL type error',
  [ALERTS_ERROR_CODES.PROMQL_UNSUPPORTED]: 'PromQL not supported by the target Prometheus',
  [ALERTS_ERROR_CODES.PROMQL_TOO_COMPLEX]: 'PromQL expression too large to check',
};

/** The VigilError for `problem` found in `src`. */
export function toError(src: string, problem: Problem, version: Version): VigilError {
  const at = Math.max(0, Math.min(problem.at, src.length));
  const { line, column, text } = position(src, at);
  const where = `${line}:${column}`;
  const prometheus =
    problem.code === ALERTS_ERROR_CODES.PROMQL_UNSUPPORTED ||
    problem.code === ALERTS_ERROR_CODES.PROMQL_TOO_COMPLEX
      ? ''
      : `Prometheus ${formatVersion(version)} says: ${where}: parse error: ${problem.message}\n`;
  const fix = problem.fix ?? 'Fix the expression where the caret points.';
  return codedError(
    { pkg: PACKAGE },
    problem.code,
    `${KIND[problem.code] ?? 'PromQL error'} at ${where}: ${problem.message}.\n${excerpt(text, column)}\n${prometheus}${fix}`,
  );
}
