// The evaluator's syntax tree: Prometheus's AST for the subset evaluated, built once by compileExpr.
import type { LabelSet } from '../model';
import type { Matcher } from './types';

/** A compiled vector selector. */
export interface SelectorNode {
  readonly kind: 'selector';
  readonly matchers: readonly Matcher[];
  /** ms; negative for `offset -5m`. */
  offset: number;
}
/** A range selector, `selector[range]`. */
export interface MatrixNode {
  readonly kind: 'matrix';
  readonly selector: SelectorNode;
  readonly range: number;
}
/** A subquery, `expr[range:step] offset d`. */
export interface SubqueryNode {
  readonly kind: 'subquery';
  readonly expr: Node;
  readonly range: number;
  /** ms; the default step when the expression gives none. */
  readonly step: number;
  offset: number;
}
/** A number literal. */
export interface NumberNode {
  readonly kind: 'number';
  readonly value: number;
}
/** A string literal. */
export interface StringNode {
  readonly kind: 'string';
  readonly value: string;
}
/** Unary minus or plus. */
export interface UnaryNode {
  readonly kind: 'unary';
  readonly negate: boolean;
  expr: Node;
}
/** A function call. */
export interface CallNode {
  readonly kind: 'call';
  readonly name: string;
  readonly args: readonly Node[];
  /** label_replace's compiled regex. */
  readonly regex?: RegExp;
  /** absent() and absent_over_time(): the labels of the result, from the selector's matchers. */
  readonly absentLabels?: LabelSet;
}
/** An aggregation. */
export interface AggregateNode {
  readonly kind: 'aggregate';
  readonly op: string;
  readonly param: Node | undefined;
  readonly expr: Node;
  readonly without: boolean;
  readonly grouping: readonly string[];
}
/** How the sides of a vector-vector operation match (Prometheus's VectorMatching). */
export interface VectorMatching {
  readonly card: 'one-to-one' | 'many-to-one' | 'one-to-many' | 'many-to-many';
  readonly on: boolean;
  readonly labels: readonly string[];
  readonly include: readonly string[];
}
/** A binary operation. */
export interface BinaryNode {
  readonly kind: 'binary';
  readonly op: string;
  readonly lhs: Node;
  rhs: Node;
  readonly returnBool: boolean;
  readonly matching: VectorMatching;
}

/** Any node. Parentheses are not kept: they change nothing the evaluator computes. */
export type Node =
  | SelectorNode
  | MatrixNode
  | SubqueryNode
  | NumberNode
  | StringNode
  | UnaryNode
  | CallNode
  | AggregateNode
  | BinaryNode;
