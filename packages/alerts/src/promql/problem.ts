// The internal error of the PromQL checker: a problem at an offset of the expression, with its code.
import type { parser } from '@prometheus-io/lezer-promql';
import { ALERTS_ERROR_CODES } from '../errors';

/** A node of lezer's syntax tree. */
export type SyntaxNode = ReturnType<typeof parser.parse>['topNode'];

/**
 * A problem found in the expression: internal, always caught by `checkPromQL` and turned into a
 * VigilError with the position shown.
 */
export class Problem extends Error {
  constructor(
    readonly code: string,
    readonly at: number,
    message: string,
    readonly fix?: string,
  ) {
    super(message);
  }
}

/** A problem Prometheus's grammar, lexer or parse actions report. */
export const syntax = (at: number, message: string): Problem =>
  new Problem(ALERTS_ERROR_CODES.PROMQL_SYNTAX, at, message);
/** A problem Prometheus's checkAST reports: types, signatures, operator rules. */
export const typeError = (at: number, message: string): Problem =>
  new Problem(ALERTS_ERROR_CODES.PROMQL_TYPE, at, message);
