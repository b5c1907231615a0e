// checkPromQL(): parses PromQL with @prometheus-io/lezer-promql and applies the checks of Prometheus's
// own parser (promql/parser: its grammar actions and checkAST), gated by the target version.
import { codedError, VigilError } from '@vigil/core';
import { ALERTS_ERROR_CODES, PACKAGE } from '../errors';
import {
  AGGREGATIONS,
  type Availability,
  atLeast,
  formatVersion,
  FUNCTIONS,
  SYNTAX,
  type ValueType,
} from './catalogue';
import {
  isDurationText,
  LiteralError,
  parseDuration,
  parseNumber,
  unquoteString,
} from './literals';
import {
  MAX_PROMQL_DEPTH,
  MAX_PROMQL_LENGTH,
  optionFail,
  type ResolvedPromQLOptions as Resolved,
  resolvePromQLOptions,
} from './options';
import { depthOf, describeToken, firstSyntaxError, parseLezer } from './parse';
import { Problem, syntax, type SyntaxNode, typeError } from './problem';
import { checkRegexp } from './regexp';
import { KIND, toError } from './report';
import type { CheckPromQLOptions, PromQLCheckResult } from './types';

// The AST, shaped as Prometheus's: postfix modifiers bind to the selector before them.
interface Base {
  readonly from: number;
}
interface NumberExpr extends Base {
  kind: 'number';
  value: number;
}
interface StringExpr extends Base {
  kind: 'string';
}
interface VectorExpr extends Base {
  kind: 'vector';
  offset: boolean;
  at: 'none' | 'timestamp' | 'preprocessor';
}
interface MatrixExpr extends Base {
  kind: 'matrix';
  selector: Expr;
}
interface SubqueryExpr extends Base {
  kind: 'subquery';
  expr: Expr;
  offset: boolean;
  at: 'none' | 'timestamp' | 'preprocessor';
}
interface WrapExpr extends Base {
  kind: 'paren' | 'unary' | 'modified';
  expr: Expr;
}
interface CallExpr extends Base {
  kind: 'call';
  name: string;
  args: Expr[];
}
interface AggregateExpr extends Base {
  kind: 'aggregate';
  op: string;
  args: Expr[];
}
interface BinaryExpr extends Base {
  kind: 'binary';
  op: string;
  opAt: number;
  lhs: Expr;
  rhs: Expr;
  bool: boolean;
  on: boolean;
  matching: string[] | undefined;
  group: 'left' | 'right' | undefined;
  include: string[];
}
type Expr =
  | NumberExpr
  | StringExpr
  | VectorExpr
  | MatrixExpr
  | SubqueryExpr
  | WrapExpr
  | CallExpr
  | AggregateExpr
  | BinaryExpr;

const children = (node: SyntaxNode): SyntaxNode[] => {
  const out: SyntaxNode[] = [];
  for (let c = node.firstChild; c !== null; c = c.nextSibling) out.push(c);
  return out;
};
const isExpr = (node: SyntaxNode): boolean => node.type.is('Expr');

const COMPARISONS = new Set(['==', '!=', '>', '<', '>=', '<=']);
const SET_OPERATORS = new Set(['and', 'or', 'unless']);
const DOCUMENTED: Readonly<Record<ValueType, string>> = {
  vector: 'instant vector',
  matrix: 'range vector',
  scalar: 'scalar',
  string: 'string',
};

class Checker {
  constructor(
    private readonly src: string,
    private readonly options: Resolved,
  ) {}

  private text(node: SyntaxNode): string {
    return this.src.slice(node.from, node.to);
  }

  /** Throws UNSUPPORTED when `what` is not in the target version, or needs a flag not enabled. */
  private require(at: number, what: string, availability: Availability): void {
    const { version, features } = this.options;
    const target = `Prometheus ${formatVersion(version)}`;
    if (!atLeast(version, availability.since)) {
      throw new Problem(
        ALERTS_ERROR_CODES.PROMQL_UNSUPPORTED,
        at,
        `${what} needs Prometheus ${formatVersion(availability.since)} or later${availability.flag ? ` with --enable-feature=${availability.flag}` : ''}, and the target is ${target}`,
        `Rewrite it for ${target}, or raise the "prometheusVersion" option if the server is newer.`,
      );
    }
    if (availability.until !== undefined && !atLeast(availability.until, version)) {
      throw new Problem(
        ALERTS_ERROR_CODES.PROMQL_UNSUPPORTED,
        at,
        `${what} was removed after Prometheus ${availability.until[0]}.x, and the target is ${target}`,
        availability.replacedBy ? `Use ${availability.replacedBy} instead.` : undefined,
      );
    }
    const stable = availability.stable !== undefined && atLeast(version, availability.stable);
    if (availability.flag !== undefined && !stable && !features.has(availability.flag)) {
      throw new Problem(
        ALERTS_ERROR_CODES.PROMQL_UNSUPPORTED,
        at,
        `${what} is experimental and needs the server flag --enable-feature=${availability.flag}`,
        `Add "${availability.flag}" to the "features" option if the server runs with that flag, or avoid it.`,
      );
    }
  }

  private syntaxFeature(at: number, what: keyof typeof SYNTAX): void {
    this.require(at, what, SYNTAX[what] as Availability);
  }

  build(node: SyntaxNode): Expr {
    switch (node.name) {
      case 'ParenExpr':
        return { kind: 'paren', from: node.from, expr: this.build(this.exprChild(node)) };
      case 'NumberDurationLiteral':
        return { kind: 'number', from: node.from, value: this.number(node) };
      case 'StringLiteral':
        this.string(node);
        return { kind: 'string', from: node.from };
      case 'VectorSelector':
        return this.vectorSelector(node);
      case 'UnaryExpr': {
        const operand = this.build(this.exprChild(node));
        const negative = this.text(node).trimStart().startsWith('-');
        // Prometheus folds a sign into a number literal.
        if (operand.kind === 'number') {
          return {
            kind: 'number',
            from: node.from,
            value: negative ? -operand.value : operand.value,
          };
        }
        return { kind: 'unary', from: node.from, expr: operand };
      }
      case 'MatrixSelector':
      case 'SubqueryExpr':
      case 'OffsetExpr':
      case 'StepInvariantExpr':
        return this.postfix(node, this.build(this.exprChild(node)));
      case 'AnchoredExpr':
      case 'SmoothedExpr':
        this.syntaxFeature(node.from, 'the anchored and smoothed modifiers');
        return { kind: 'modified', from: node.from, expr: this.build(this.exprChild(node)) };
      case 'BinaryExpr':
        return this.binary(node);
      case 'FunctionCall':
        return this.call(node);
      case 'AggregateExpr':
        return this.aggregate(node);
      default:
        throw syntax(node.from, `unexpected ${describeToken(this.text(node))}`);
    }
  }

  private exprChild(node: SyntaxNode): SyntaxNode {
    const child = children(node).find(isExpr);
    if (child === undefined) throw syntax(node.to, 'unexpected end of input');
    return child;
  }

  private number(node: SyntaxNode): number {
    const raw = this.text(node);
    const sign = raw[0] === '-' ? -1 : 1;
    const body = raw.replace(/^[+-]\s*/, '');
    if (isDurationText(body)) {
      this.syntaxFeature(node.from, 'a number as a duration, or a duration as a number');
      const ms = parseDuration(body);
      if (ms instanceof LiteralError) throw syntax(node.from, ms.message);
      return (sign * ms) / 1000;
    }
    const value = parseNumber(body);
    if (value instanceof LiteralError) throw syntax(node.from, value.message);
    return sign * value;
  }

  private string(node: SyntaxNode): string {
    const value = unquoteString(this.text(node));
    if (value instanceof LiteralError) throw syntax(node.from + value.at, value.message);
    return value;
  }

  private vectorSelector(node: SyntaxNode): VectorExpr {
    let name: string | undefined;
    const insideNames: string[] = [];
    let nonEmpty = false;
    for (const part of children(node)) {
      if (part.name === 'Identifier') {
        name = this.text(part);
        // atan2 is an operator to Prometheus's lexer, never a metric name.
        if (name.toLowerCase() === 'atan2') throw syntax(part.from, 'unexpected <op:atan2>');
        continue;
      }
      for (const matcher of children(part)) {
        if (matcher.name === 'QuotedLabelName') {
          this.syntaxFeature(matcher.from, 'quoted (UTF-8) metric and label names');
          insideNames.push('__name__');
          if (this.string(matcher.firstChild ?? matcher) !== '') nonEmpty = true;
          continue;
        }
        if (matcher.name !== 'UnquotedLabelMatcher' && matcher.name !== 'QuotedLabelMatcher') {
          continue;
        }
        const [labelNode, opNode, valueNode] = children(matcher);
        if (labelNode === undefined || opNode === undefined || valueNode === undefined) {
          throw syntax(matcher.from, 'unexpected end of label matcher');
        }
        let label = this.text(labelNode);
        if (matcher.name === 'QuotedLabelMatcher') {
          this.syntaxFeature(matcher.from, 'quoted (UTF-8) metric and label names');
          label = this.string(labelNode.firstChild ?? labelNode);
        }
        insideNames.push(label);
        const op = this.text(opNode);
        const value = this.string(valueNode);
        let matchesEmpty: boolean;
        if (op === '=~' || op === '!~') {
          const angleNames = this.options.version[0] >= 3;
          const re = checkRegexp(value, angleNames);
          // Prometheus compiles the value alone and then anchored, where an open \Q swallows `)$`.
          const error = re.error ?? checkRegexp(`^(?:${value})$`, angleNames).error;
          if (error !== undefined) throw syntax(valueNode.from, error);
          matchesEmpty = op === '=~' ? re.matchesEmpty : !re.matchesEmpty;
        } else {
          matchesEmpty = op === '=' ? value === '' : value !== '';
        }
        if (!matchesEmpty) nonEmpty = true;
      }
    }
    if (name !== undefined) {
      const other = insideNames.includes('__name__');
      if (other) throw syntax(node.from, `metric name must not be set twice: "${name}"`);
    } else if (!nonEmpty) {
      throw syntax(node.from, 'vector selector must contain at least one non-empty matcher');
    }
    return { kind: 'vector', from: node.from, offset: false, at: 'none' };
  }

  /** A duration in milliseconds (undefined for duration arithmetic, which is not evaluated). */
  private duration(node: SyntaxNode, signedOffset: boolean): number | undefined {
    const parts = children(node);
    const only = parts.length === 1 ? parts[0] : undefined;
    if (only?.name === 'NumberDurationLiteralInDurationContext') {
      const text = this.text(only);
      if (!isDurationText(text)) {
        if (!atLeast(this.options.version, [3, 0])) {
          throw syntax(only.from, 'missing unit character in duration');
        }
        const seconds = parseNumber(text);
        if (seconds instanceof LiteralError) throw syntax(only.from, seconds.message);
        if (!(seconds > 0)) throw syntax(only.from, 'duration must be greater than 0');
        return seconds * 1000;
      }
      const ms = parseDuration(text);
      if (ms instanceof LiteralError) throw syntax(only.from, ms.message);
      return ms;
    }
    // `offset -5m` is plain syntax; any other sign or operator is a duration expression.
    const [sign, inner] = parts;
    if (
      signedOffset &&
      parts.length === 2 &&
      sign !== undefined &&
      inner !== undefined &&
      this.text(sign) === '-' &&
      inner.name === 'OffsetDurationExpr' &&
      children(inner).length === 1
    ) {
      const ms = this.duration(inner, false);
      return ms === undefined ? undefined : -ms;
    }
    this.syntaxFeature(node.from, 'duration arithmetic');
    return undefined;
  }

  /** Applies a range, subquery, offset or @ to `base`, binding it as Prometheus's grammar does. */
  private postfix(node: SyntaxNode, base: Expr): Expr {
    // The lezer grammar binds these modifiers looser than operators (`a + b[5m]` becomes `(a + b)[5m]`);
    // Prometheus binds them to the operand right before them.
    if (base.kind === 'binary') {
      base.rhs = this.postfix(node, base.rhs);
      return base;
    }
    if (base.kind === 'unary') {
      base.expr = this.postfix(node, base.expr);
      return base;
    }
    const parts = children(node);
    const durations = parts.filter(
      (p) => p.name === 'DurationExpr' || p.name === 'OffsetDurationExpr',
    );
    switch (node.name) {
      case 'MatrixSelector': {
        const at = durations[0]?.from ?? node.from;
        this.duration(durations[0] as SyntaxNode, false);
        if (base.kind !== 'vector') throw syntax(at, 'ranges only allowed for vector selectors');
        if (base.offset) throw syntax(at, 'no offset modifiers allowed before range');
        if (base.at === 'timestamp') throw syntax(at, 'no @ modifiers allowed before range');
        return { kind: 'matrix', from: base.from, selector: base };
      }
      case 'SubqueryExpr':
        for (const d of durations) this.duration(d, false);
        return { kind: 'subquery', from: base.from, expr: base, offset: false, at: 'none' };
      case 'OffsetExpr': {
        const d = durations[0] as SyntaxNode;
        const ms = this.duration(d, true);
        if (ms === 0) throw syntax(d.from, 'duration must be greater than 0');
        const target = this.modifiable(base, 'offset modifier');
        if (target.offset) throw syntax(base.from, 'offset may not be set multiple times');
        target.offset = true;
        return base;
      }
      default: {
        const stamp = parts.find((p) => p.name === 'NumberDurationLiteral');
        let kind: 'timestamp' | 'preprocessor' = 'preprocessor';
        if (stamp !== undefined) {
          const ts = this.number(stamp);
          if (!Number.isFinite(ts) || Math.abs(ts) >= 9.223372036854776e18) {
            throw syntax(base.from, `timestamp out of bounds for @ modifier: ${ts}`);
          }
          kind = 'timestamp';
        }
        const target = this.modifiable(base, '@ modifier');
        if (target.at !== 'none') {
          throw syntax(base.from, '@ <timestamp> may not be set multiple times');
        }
        target.at = kind;
        return base;
      }
    }
  }

  private modifiable(base: Expr, what: string): VectorExpr | SubqueryExpr {
    if (base.kind === 'vector' || base.kind === 'subquery') return base;
    if (base.kind === 'matrix' && base.selector.kind === 'vector') return base.selector;
    throw syntax(
      base.from,
      `${what} must be preceded by an instant vector selector or range vector selector or a subquery`,
    );
  }

  private labels(node: SyntaxNode | undefined): string[] {
    if (node === undefined) return [];
    return children(node).map((label) => {
      if (label.name === 'QuotedLabelName') {
        this.syntaxFeature(label.from, 'quoted (UTF-8) metric and label names');
        return this.string(label.firstChild ?? label);
      }
      const name = this.text(label);
      // Prometheus's lexer reads these as numbers, even in a label list.
      if (/^(?:inf|nan)$/i.test(name)) {
        throw syntax(label.from, `unexpected number "${name}" in grouping opts, expected label`);
      }
      return name;
    });
  }

  private binary(node: SyntaxNode): BinaryExpr {
    const parts = children(node);
    const operands = parts.filter(isExpr);
    const opNode = parts.find((p) => !isExpr(p)) as SyntaxNode;
    const op = this.text(opNode).toLowerCase();
    if (op === '</' || op === '>/') {
      this.syntaxFeature(opNode.from, 'the histogram trim operators </ and >/');
    }
    const expr: BinaryExpr = {
      kind: 'binary',
      from: node.from,
      op,
      opAt: opNode.from,
      lhs: this.build(operands[0] as SyntaxNode),
      rhs: this.build(operands[1] as SyntaxNode),
      bool: parts.some((p) => p.name === 'BoolModifier'),
      on: false,
      matching: undefined,
      group: undefined,
      include: [],
    };
    const matching = parts.find((p) => p.name === 'MatchingModifierClause');
    if (matching !== undefined) {
      const clause = children(matching);
      const lists = clause.filter((p) => p.name === 'GroupingLabels');
      expr.on = clause.some((p) => p.name === 'On');
      expr.matching = this.labels(lists[0]);
      if (clause.some((p) => p.name === 'GroupLeft')) expr.group = 'left';
      if (clause.some((p) => p.name === 'GroupRight')) expr.group = 'right';
      expr.include = this.labels(lists[1]);
    }
    const fill = parts.find((p) => p.name === 'FillModifier');
    if (fill !== undefined) this.syntaxFeature(fill.from, 'fill modifiers of binary operators');
    return expr;
  }

  private call(node: SyntaxNode): CallExpr {
    const ident = node.getChild('FunctionIdentifier') ?? node;
    const name = this.text(ident);
    const signature = FUNCTIONS[name];
    if (signature === undefined) throw syntax(node.from, `unknown function with name "${name}"`);
    this.require(node.from, `the function ${name}()`, signature);
    const body = node.getChild('FunctionCallBody');
    const args = body === null ? [] : children(body).filter(isExpr);
    return { kind: 'call', from: node.from, name, args: args.map((a) => this.build(a)) };
  }

  private aggregate(node: SyntaxNode): AggregateExpr {
    const opNode = node.getChild('AggregateOp') ?? node;
    const op = this.text(opNode).toLowerCase();
    const signature = AGGREGATIONS[op];
    if (signature === undefined) throw syntax(node.from, `unknown aggregation "${op}"`);
    this.require(node.from, `the aggregation ${op}`, signature);
    const modifier = node.getChild('AggregateModifier');
    if (modifier !== null) this.labels(modifier.getChild('GroupingLabels') ?? undefined);
    const body = node.getChild('FunctionCallBody');
    const args = body === null ? [] : children(body).filter(isExpr);
    return { kind: 'aggregate', from: node.from, op, args: args.map((a) => this.build(a)) };
  }

  /** Prometheus's checkAST: the type of `expr`, or a type error. */
  check(expr: Expr): ValueType {
    switch (expr.kind) {
      case 'number':
        return 'scalar';
      case 'string':
        return 'string';
      case 'vector':
        return 'vector';
      case 'matrix':
        return 'matrix';
      case 'paren':
      case 'modified':
        return this.check(expr.expr);
      case 'subquery': {
        const t = this.check(expr.expr);
        if (t !== 'vector') {
          throw typeError(
            expr.from,
            `subquery is only allowed on instant vector, got ${t} instead`,
          );
        }
        return 'matrix';
      }
      case 'unary': {
        const t = this.check(expr.expr);
        if (t !== 'scalar' && t !== 'vector') {
          throw typeError(
            expr.from,
            `unary expression only allowed on expressions of type scalar or instant vector, got "${DOCUMENTED[t]}"`,
          );
        }
        return t;
      }
      case 'call':
        return this.checkCall(expr);
      case 'aggregate':
        return this.checkAggregate(expr);
      case 'binary':
        return this.checkBinary(expr);
    }
  }

  private expect(expr: Expr, want: ValueType, where: string): void {
    const got = this.check(expr);
    if (got !== want) {
      throw typeError(
        expr.from,
        `expected type ${DOCUMENTED[want]} in ${where}, got ${DOCUMENTED[got]}`,
      );
    }
  }

  private checkCall(expr: CallExpr): ValueType {
    const fn = FUNCTIONS[expr.name];
    if (fn === undefined) return 'vector';
    const n = expr.args.length;
    const declared = fn.args.length;
    if (fn.variadic === 0) {
      if (n !== declared) {
        throw typeError(
          expr.from,
          `expected ${declared} argument(s) in call to "${expr.name}", got ${n}`,
        );
      }
    } else {
      const min = declared - 1;
      if (n < min) {
        throw typeError(
          expr.from,
          `expected at least ${min} argument(s) in call to "${expr.name}", got ${n}`,
        );
      }
      if (fn.variadic > 0 && n > min + fn.variadic) {
        throw typeError(
          expr.from,
          `expected at most ${min + fn.variadic} argument(s) in call to "${expr.name}", got ${n}`,
        );
      }
    }
    expr.args.forEach((arg, i) => {
      const want = fn.args[Math.min(i, declared - 1)] as ValueType;
      this.expect(arg, want, `call to function "${expr.name}"`);
    });
    return fn.returns;
  }

  private checkAggregate(expr: AggregateExpr): ValueType {
    const { param } = AGGREGATIONS[expr.op] ?? {};
    const n = expr.args.length;
    if (n === 0) throw typeError(expr.from, 'no arguments for aggregate expression provided');
    const wanted = param === undefined ? 1 : 2;
    if (n !== wanted) {
      throw typeError(
        expr.from,
        `wrong number of arguments for aggregate expression provided, expected ${wanted}, got ${n}`,
      );
    }
    this.expect(expr.args[n - 1] as Expr, 'vector', 'aggregation expression');
    if (param !== undefined) this.expect(expr.args[0] as Expr, param, 'aggregation parameter');
    return 'vector';
  }

  private checkBinary(expr: BinaryExpr): ValueType {
    const lt = this.check(expr.lhs);
    const rt = this.check(expr.rhs);
    const comparison = COMPARISONS.has(expr.op);
    const setOp = SET_OPERATORS.has(expr.op);
    if (expr.bool && !comparison) {
      throw typeError(expr.opAt, 'bool modifier can only be used on comparison operators');
    }
    if (comparison && !expr.bool && lt === 'scalar' && rt === 'scalar') {
      throw typeError(expr.opAt, 'comparisons between scalars must use BOOL modifier');
    }
    if (expr.on && expr.group !== undefined) {
      const both = (expr.matching ?? []).find((l) => expr.include.includes(l));
      if (both !== undefined) {
        throw typeError(expr.opAt, `label "${both}" must not occur in ON and GROUP clause at once`);
      }
    }
    for (const [t, side] of [
      [lt, expr.lhs],
      [rt, expr.rhs],
    ] as const) {
      if (t !== 'scalar' && t !== 'vector') {
        throw typeError(
          side.from,
          'binary expression must contain only scalar and instant vector types',
        );
      }
    }
    if (lt !== 'vector' || rt !== 'vector') {
      if ((expr.matching ?? []).length > 0) {
        throw typeError(expr.from, 'vector matching only allowed between instant vectors');
      }
      if (setOp) {
        throw typeError(
          expr.from,
          `set operator "${expr.op}" not allowed in binary scalar expression`,
        );
      }
    } else if (setOp && expr.group !== undefined) {
      throw typeError(expr.from, `no grouping allowed for "${expr.op}" operation`);
    }
    return lt === 'scalar' && rt === 'scalar' ? 'scalar' : 'vector';
  }
}

/**
 * Checks a PromQL expression as the target Prometheus would when loading a rule or running a query:
 * syntax, the types of functions, aggregations and operators, selectors, modifiers, and the version
 * and feature flags each construct needs. Returns the expression's type, or throws a VigilError:
 * `ERR_VIGIL_ALERTS_PROMQL_SYNTAX`, `_PROMQL_TYPE`, `_PROMQL_UNSUPPORTED`, `_PROMQL_TOO_COMPLEX`, or
 * `_PROMQL_INVALID_OPTION` for bad options.
 */
export function checkPromQL(expr: string, options?: CheckPromQLOptions): PromQLCheckResult {
  const resolved = resolvePromQLOptions(options);
  if (typeof expr !== 'string') {
    throw optionFail('expr (first argument)', 'a PromQL expression as a string', expr);
  }
  const fail = (problem: Problem): VigilError => toError(expr, problem, resolved.version);
  if (expr.length > MAX_PROMQL_LENGTH) {
    throw codedError(
      { pkg: PACKAGE },
      ALERTS_ERROR_CODES.PROMQL_TOO_COMPLEX,
      `${KIND[ALERTS_ERROR_CODES.PROMQL_TOO_COMPLEX]}: it has ${expr.length} characters, more than the ${MAX_PROMQL_LENGTH} checked.`,
      'Split it into recording rules.',
    );
  }
  try {
    const top = parseLezer(expr);
    if (depthOf(top) > MAX_PROMQL_DEPTH) {
      throw new Problem(
        ALERTS_ERROR_CODES.PROMQL_TOO_COMPLEX,
        0,
        `it nests more than ${MAX_PROMQL_DEPTH} levels deep`,
        'Split it into recording rules.',
      );
    }
    const error = firstSyntaxError(expr, top);
    if (error !== undefined) throw error;
    const root = top.firstChild;
    if (root === null) throw syntax(0, 'no expression found in input');
    const checker = new Checker(expr, resolved);
    return { type: checker.check(checker.build(root)) };
  } catch (e) {
    if (e instanceof Problem) throw fail(e);
    if (e instanceof VigilError) throw e;
    // A bug here must not surface as a TypeError or RangeError in the caller's rule definitions.
    throw codedError(
      { pkg: PACKAGE },
      ALERTS_ERROR_CODES.PROMQL_TOO_COMPLEX,
      `the PromQL checker could not finish on this expression (${e instanceof Error ? e.name : 'error'}).`,
      'Simplify the expression; if it is valid PromQL, report it with the expression.',
    );
  }
}
