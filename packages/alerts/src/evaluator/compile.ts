// compileExpr(): checks PromQL with part 1's checker, then builds the evaluator's tree from the same
// lezer parse, refusing with a coded error what the evaluator does not compute.
import { codedError, optionError, VigilError } from '@vigil/core';
import { ALERTS_ERROR_CODES, context, PACKAGE } from '../errors';
import type { LabelSet } from '../model';
import { checkPromQL } from '../promql/check';
import { LiteralError, parseDuration, parseNumber, unquoteString } from '../promql/literals';
import { parseLezer } from '../promql/parse';
import type { SyntaxNode } from '../promql/problem';
import type {
  AggregateNode,
  BinaryNode,
  CallNode,
  Node,
  SelectorNode,
  UnaryNode,
  VectorMatching,
} from './ast';
import { SUMMABLE } from './functions';
import { anchoredRegexp, METRIC_NAME, UntranslatableRegexp } from './labels';
import type { CompiledExpr, CompileOptions, Matcher } from './types';

/** Prometheus's default `--query.lookback-delta`. */
export const DEFAULT_LOOKBACK_DELTA_MS = 300_000;

/** Prometheus's default `evaluation_interval`, the step of subqueries written without one. */
export const DEFAULT_SUBQUERY_STEP_MS = 60_000;

/** Functions whose argument is a range vector. */
export const MATRIX_FUNCTIONS = new Set([
  'rate',
  'increase',
  'irate',
  'delta',
  'idelta',
  'resets',
  'changes',
  'avg_over_time',
  'sum_over_time',
  'min_over_time',
  'max_over_time',
  'count_over_time',
  'last_over_time',
  'present_over_time',
  'quantile_over_time',
  'stddev_over_time',
  'stdvar_over_time',
  'absent_over_time',
  'deriv',
  'predict_linear',
  'holt_winters',
]);

/** Functions of instant vectors and scalars the evaluator computes. */
export const VECTOR_FUNCTIONS = new Set([
  'abs',
  'sgn',
  'acos',
  'acosh',
  'asin',
  'asinh',
  'atan',
  'atanh',
  'cos',
  'cosh',
  'sin',
  'sinh',
  'tan',
  'tanh',
  'deg',
  'rad',
  'pi',
  'days_in_month',
  'day_of_month',
  'day_of_week',
  'day_of_year',
  'hour',
  'minute',
  'month',
  'year',
  'ceil',
  'floor',
  'round',
  'sqrt',
  'exp',
  'ln',
  'log2',
  'log10',
  'clamp',
  'clamp_min',
  'clamp_max',
  'histogram_quantile',
  'label_replace',
  'label_join',
  'sort',
  'sort_desc',
  'absent',
  'timestamp',
  'vector',
  'scalar',
  'time',
]);

/** Aggregations the evaluator computes. */
export const AGGREGATIONS = new Set([
  'sum',
  'avg',
  'min',
  'max',
  'count',
  'stddev',
  'stdvar',
  'quantile',
  'topk',
  'bottomk',
  'count_values',
  'group',
]);

const OPERATORS: Readonly<Record<string, string>> = {
  Add: '+',
  Sub: '-',
  Mul: '*',
  Div: '/',
  Atan2: 'atan2',
  Mod: '%',
  Pow: '^',
  Eql: '==',
  Neq: '!=',
  Gtr: '>',
  Lss: '<',
  Gte: '>=',
  Lte: '<=',
  And: 'and',
  Or: 'or',
  Unless: 'unless',
};

/** Valid PromQL the evaluator does not compute: turned into PROMQL_NOT_EVALUATED. */
class NotEvaluated extends Error {}

/** An evaluated expression's tree and settings, behind the public CompiledExpr. */
export interface Compiled extends CompiledExpr {
  readonly root: Node;
  readonly lookbackDeltaMs: number;
  /** How each selector is read, for a store that keeps only what the rules need. */
  readonly reads: readonly SelectorRead[];
}

/** One read of a vector selector by an expression. */
export interface SelectorRead {
  readonly matchers: readonly Matcher[];
  /** How far back from the evaluation time it reads, in ms. */
  readonly lookbackMs: number;
  /**
   * Set when the selector is the range of sum, count, avg or present over time outside any
   * subquery: a store may answer it from per-interval sums (`SeriesView.sumOver`).
   */
  readonly summable?: { readonly rangeMs: number; readonly offsetMs: number };
}

const children = (node: SyntaxNode): SyntaxNode[] => {
  const out: SyntaxNode[] = [];
  for (let c = node.firstChild; c !== null; c = c.nextSibling) out.push(c);
  return out;
};
const isExpr = (node: SyntaxNode): boolean => node.type.is('Expr');

function literal<T>(value: T | LiteralError): T {
  // checkPromQL accepted the expression, so literals parse; this guards against a divergence.
  if (value instanceof LiteralError) throw new NotEvaluated(`a literal (${value.message})`);
  return value;
}

class Builder {
  readonly selectors: Matcher[][] = [];
  readonly reads: SelectorRead[] = [];
  lookbackMs = 0;

  constructor(
    private readonly src: string,
    private readonly lookbackDeltaMs: number,
    private readonly subqueryStepMs: number,
  ) {}

  private text(node: SyntaxNode): string {
    return this.src.slice(node.from, node.to);
  }

  private exprChild(node: SyntaxNode): SyntaxNode {
    const child = children(node).find(isExpr);
    if (child === undefined) throw new NotEvaluated(`an incomplete ${node.name}`);
    return child;
  }

  build(node: SyntaxNode): Node {
    switch (node.name) {
      case 'ParenExpr':
        return this.build(this.exprChild(node));
      case 'NumberDurationLiteral':
        return { kind: 'number', value: this.number(this.text(node)) };
      case 'StringLiteral':
        return { kind: 'string', value: literal(unquoteString(this.text(node))) };
      case 'VectorSelector':
        return this.selector(node);
      case 'UnaryExpr': {
        const operand = this.build(this.exprChild(node));
        const negate = this.text(node).trimStart().startsWith('-');
        if (operand.kind === 'number') {
          return { kind: 'number', value: negate ? -operand.value : operand.value };
        }
        return { kind: 'unary', negate, expr: operand };
      }
      case 'MatrixSelector':
      case 'OffsetExpr':
        return this.postfix(node, this.build(this.exprChild(node)));
      case 'SubqueryExpr': {
        const inner = this.build(this.exprChild(node));
        const durations = children(node).filter((p) => p.name === 'DurationExpr');
        const range = this.duration(durations[0]);
        const step = durations[1] === undefined ? this.subqueryStepMs : this.duration(durations[1]);
        return { kind: 'subquery', expr: inner, range, step, offset: 0 };
      }
      case 'StepInvariantExpr':
        throw new NotEvaluated('the @ modifier');
      case 'BinaryExpr':
        return this.binary(node);
      case 'FunctionCall':
        return this.call(node);
      case 'AggregateExpr':
        return this.aggregate(node);
      default:
        throw new NotEvaluated(`the construct ${node.name}`);
    }
  }

  private number(raw: string): number {
    const sign = raw.trimStart().startsWith('-') ? -1 : 1;
    return sign * literal(parseNumber(raw.replace(/^\s*[+-]\s*/, '')));
  }

  private selector(node: SyntaxNode): SelectorNode {
    const matchers: Matcher[] = [];
    for (const part of children(node)) {
      if (part.name === 'Identifier') {
        matchers.push({ name: METRIC_NAME, type: '=', value: this.text(part) });
        continue;
      }
      for (const m of children(part)) {
        if (m.name !== 'UnquotedLabelMatcher') {
          if (m.name === 'QuotedLabelMatcher' || m.name === 'QuotedLabelName') {
            throw new NotEvaluated('quoted label names');
          }
          continue;
        }
        const [label, op, value] = children(m);
        if (label === undefined || op === undefined || value === undefined) {
          throw new NotEvaluated('an incomplete label matcher');
        }
        const type = this.text(op) as Matcher['type'];
        const matcher: Matcher = {
          name: this.text(label),
          type,
          value: literal(unquoteString(this.text(value))),
        };
        if (type === '=~' || type === '!~') this.regexp(matcher.value);
        matchers.push(matcher);
      }
    }
    this.selectors.push(matchers);
    return { kind: 'selector', matchers, offset: 0 };
  }

  private regexp(source: string): RegExp {
    try {
      return anchoredRegexp(source);
    } catch (e) {
      if (e instanceof UntranslatableRegexp || e instanceof SyntaxError) {
        throw new NotEvaluated(`the regular expression "${source}" (${e.message})`);
      }
      throw e;
    }
  }

  private duration(node: SyntaxNode | undefined): number {
    if (node === undefined) throw new NotEvaluated('a range or offset without a duration');
    const text = this.text(node).replace(/\s+/g, '');
    const negative = text.startsWith('-');
    const body = text.replace(/^[+-]/, '');
    if (!/^\d/.test(body) || /[^\dyhwdms]/.test(body)) {
      throw new NotEvaluated('duration arithmetic');
    }
    const ms = literal(parseDuration(body));
    return negative ? -ms : ms;
  }

  /** Binds a range or offset to the operand right before it, as Prometheus's grammar does. */
  private postfix(node: SyntaxNode, base: Node): Node {
    if (base.kind === 'binary') {
      base.rhs = this.postfix(node, base.rhs);
      return base;
    }
    if (base.kind === 'unary') {
      base.expr = this.postfix(node, base.expr);
      return base;
    }
    const d = children(node).find(
      (p) => p.name === 'DurationExpr' || p.name === 'OffsetDurationExpr',
    );
    const ms = this.duration(d);
    if (node.name === 'MatrixSelector') {
      if (base.kind !== 'selector') throw new NotEvaluated('a range of a non-selector');
      return { kind: 'matrix', selector: base, range: ms };
    }
    const target =
      base.kind === 'selector' || base.kind === 'subquery'
        ? base
        : base.kind === 'matrix'
          ? base.selector
          : undefined;
    if (target === undefined) throw new NotEvaluated('an offset of a non-selector');
    target.offset = ms;
    return base;
  }

  private labelList(node: SyntaxNode | null | undefined): string[] {
    if (node === null || node === undefined) return [];
    return children(node).map((l) => {
      if (l.name !== 'LabelName') throw new NotEvaluated('quoted label names');
      return this.text(l);
    });
  }

  private binary(node: SyntaxNode): BinaryNode | UnaryNode {
    const parts = children(node);
    const operands = parts.filter(isExpr);
    const opNode = parts.find((p) => !isExpr(p)) as SyntaxNode;
    const op = OPERATORS[opNode.name];
    if (op === undefined) throw new NotEvaluated(`the operator ${this.text(opNode)}`);
    const lhs = this.build(operands[0] as SyntaxNode);
    const rhs = this.build(operands[1] as SyntaxNode);
    const clause = parts.find((p) => p.name === 'MatchingModifierClause');
    const setOp = op === 'and' || op === 'or' || op === 'unless';
    let matching: VectorMatching = {
      card: setOp ? 'many-to-many' : 'one-to-one',
      on: false,
      labels: [],
      include: [],
    };
    if (clause !== undefined) {
      const c = children(clause);
      const lists = c.filter((p) => p.name === 'GroupingLabels');
      const left = c.some((p) => p.name === 'GroupLeft');
      const right = c.some((p) => p.name === 'GroupRight');
      matching = {
        card: setOp ? 'many-to-many' : left ? 'many-to-one' : right ? 'one-to-many' : 'one-to-one',
        on: c.some((p) => p.name === 'On'),
        labels: this.labelList(lists[0]),
        include: this.labelList(lists[1]),
      };
    }
    const first = operands[0] as SyntaxNode;
    // lezer reads `-2 ^ 2` as (-2) ^ 2; Prometheus's lexer has no signed numbers and its unary minus
    // binds looser than ^: -(2 ^ 2).
    if (op === '^' && first.name === 'NumberDurationLiteral' && lhs.kind === 'number') {
      const sign = this.text(first).trimStart()[0];
      if (sign === '-' || sign === '+') {
        const inner: BinaryNode = {
          kind: 'binary',
          op,
          lhs: { kind: 'number', value: Math.abs(lhs.value) },
          rhs,
          returnBool: false,
          matching,
        };
        return { kind: 'unary', negate: sign === '-', expr: inner };
      }
    }
    return {
      kind: 'binary',
      op,
      lhs,
      rhs,
      returnBool: parts.some((p) => p.name === 'BoolModifier'),
      matching,
    };
  }

  private call(node: SyntaxNode): CallNode {
    const name = this.text(node.getChild('FunctionIdentifier') ?? node);
    if (!MATRIX_FUNCTIONS.has(name) && !VECTOR_FUNCTIONS.has(name)) {
      throw new NotEvaluated(`the function ${name}()`);
    }
    const body = node.getChild('FunctionCallBody');
    const argNodes = body === null ? [] : children(body).filter(isExpr);
    const args = argNodes.map((a) => this.build(a));
    let regex: RegExp | undefined;
    if (name === 'label_replace') {
      const src = args[4];
      if (src?.kind === 'string') regex = this.regexp(src.value);
    }
    let absentLabels: LabelSet | undefined;
    if (name === 'absent' || name === 'absent_over_time') {
      absentLabels = absentLabelsOf(argNodes[0]?.name === 'ParenExpr' ? undefined : args[0]);
    }
    return {
      kind: 'call',
      name,
      args,
      ...(regex !== undefined ? { regex } : {}),
      ...(absentLabels !== undefined ? { absentLabels } : {}),
    };
  }

  private aggregate(node: SyntaxNode): AggregateNode {
    const op = this.text(node.getChild('AggregateOp') ?? node).toLowerCase();
    if (!AGGREGATIONS.has(op)) throw new NotEvaluated(`the aggregation ${op}`);
    const modifier = node.getChild('AggregateModifier');
    const body = node.getChild('FunctionCallBody');
    const args = (body === null ? [] : children(body).filter(isExpr)).map((a) => this.build(a));
    const expr = args[args.length - 1] as Node;
    return {
      kind: 'aggregate',
      op,
      param: args.length > 1 ? args[0] : undefined,
      expr,
      without: modifier?.getChild('Without') !== null && modifier !== null,
      grouping: this.labelList(modifier?.getChild('GroupingLabels')),
    };
  }

  /**
   * How far back each selector reads, and the furthest of them; `before` is what enclosing subqueries
   * add, `fn` the function whose argument `node` is.
   */
  lookback(node: Node, before = 0, fn?: string): void {
    switch (node.kind) {
      case 'selector':
        this.read(node.matchers, before + node.offset + this.lookbackDeltaMs);
        return;
      case 'matrix': {
        const { offset, matchers } = node.selector;
        const summable =
          before === 0 && fn !== undefined && SUMMABLE.has(fn)
            ? { rangeMs: node.range, offsetMs: offset }
            : undefined;
        this.read(matchers, before + offset + node.range, summable);
        return;
      }
      case 'subquery':
        this.lookback(node.expr, before + node.offset + node.range);
        return;
      case 'unary':
        this.lookback(node.expr, before);
        return;
      case 'call':
        node.args.forEach((a) => this.lookback(a, before, node.name));
        return;
      case 'aggregate':
        if (node.param !== undefined) this.lookback(node.param, before);
        this.lookback(node.expr, before);
        return;
      case 'binary':
        this.lookback(node.lhs, before);
        this.lookback(node.rhs, before);
        return;
      default:
        return;
    }
  }

  private read(
    matchers: readonly Matcher[],
    lookbackMs: number,
    summable?: SelectorRead['summable'],
  ): void {
    this.lookbackMs = Math.max(this.lookbackMs, lookbackMs);
    this.reads.push(
      Object.freeze(
        summable === undefined ? { matchers, lookbackMs } : { matchers, lookbackMs, summable },
      ),
    );
  }
}

/** Prometheus's labels for absent(): the `=` matchers' labels, minus any named twice or otherwise. */
function absentLabelsOf(arg: Node | undefined): LabelSet {
  const selector =
    arg?.kind === 'selector' ? arg : arg?.kind === 'matrix' ? arg.selector : undefined;
  const out: Record<string, string> = {};
  if (selector === undefined) return out;
  const dropped: string[] = [];
  for (const m of selector.matchers) {
    if (m.name === METRIC_NAME) continue;
    if (m.type === '=' && !(m.name in out)) out[m.name] = m.value;
    else dropped.push(m.name);
  }
  for (const name of dropped) delete out[name];
  for (const name of Object.keys(out)) if (out[name] === '') delete out[name];
  return out;
}

function notEvaluated(text: string, what: string): VigilError {
  return codedError(
    { pkg: PACKAGE },
    ALERTS_ERROR_CODES.PROMQL_NOT_EVALUATED,
    `the embedded evaluator does not compute ${what}, in "${text.length > 200 ? `${text.slice(0, 200)}...` : text}".`,
    'Rewrite the expression with what the evaluator supports (see "Embedded evaluator: supported PromQL"), or mark the rule prometheusOnly so that only Prometheus evaluates it.',
  );
}

/**
 * Checks and compiles a PromQL expression for `evaluate()`. Throws part 1's coded errors
 * (`ERR_VIGIL_ALERTS_PROMQL_SYNTAX`, `_TYPE`, `_UNSUPPORTED`, `_TOO_COMPLEX`) for PromQL that
 * Prometheus 2.42 refuses, and `ERR_VIGIL_ALERTS_PROMQL_NOT_EVALUATED` for valid PromQL outside the
 * evaluator's subset.
 */
export function compileExpr(text: string, options?: CompileOptions): CompiledExpr {
  return compile(text, options);
}

const trees = new WeakMap<CompiledExpr, Compiled>();

/** The internal tree of an expression compileExpr returned. */
export const treeOf = (expr: CompiledExpr): Compiled | undefined => trees.get(expr);

/** compileExpr with the internal tree exposed to the engine. */
export function compile(text: string, options?: CompileOptions): Compiled {
  const ctx = context('compileExpr');
  if (options !== undefined && (typeof options !== 'object' || options === null)) {
    throw optionError(ctx, 'PROMQL_INVALID_OPTION', 'options', 'an object or undefined', options);
  }
  const lookbackDeltaMs = options?.lookbackDeltaMs ?? DEFAULT_LOOKBACK_DELTA_MS;
  if (
    typeof lookbackDeltaMs !== 'number' ||
    !(lookbackDeltaMs > 0) ||
    !Number.isFinite(lookbackDeltaMs)
  ) {
    throw optionError(
      ctx,
      'PROMQL_INVALID_OPTION',
      'lookbackDeltaMs',
      'a positive number of milliseconds',
      lookbackDeltaMs,
    );
  }
  const subqueryStepMs = options?.subqueryStepMs ?? DEFAULT_SUBQUERY_STEP_MS;
  if (
    typeof subqueryStepMs !== 'number' ||
    !Number.isSafeInteger(subqueryStepMs) ||
    !(subqueryStepMs > 0)
  ) {
    throw optionError(
      ctx,
      'PROMQL_INVALID_OPTION',
      'subqueryStepMs',
      'a positive whole number of milliseconds',
      subqueryStepMs,
    );
  }
  const { type } = checkPromQL(text);
  if (type === 'matrix') throw notEvaluated(text, 'a range vector as the result');
  try {
    const builder = new Builder(text, lookbackDeltaMs, subqueryStepMs);
    const root = builder.build(parseLezer(text).firstChild as SyntaxNode);
    builder.lookback(root);
    const compiled: Compiled = Object.freeze({
      text,
      selectors: Object.freeze(builder.selectors.map((s) => Object.freeze(s))),
      lookbackMs: builder.lookbackMs,
      root,
      reads: Object.freeze(builder.reads),
      lookbackDeltaMs,
    });
    trees.set(compiled, compiled);
    return compiled;
  } catch (e) {
    if (e instanceof NotEvaluated) throw notEvaluated(text, e.message);
    if (e instanceof VigilError) throw e;
    throw notEvaluated(text, `this expression (${e instanceof Error ? e.message : 'error'})`);
  }
}

/** Undefined when the expression is valid PromQL the evaluator supports, else the reason. */
export function unsupportedReason(text: string): string | undefined {
  try {
    compileExpr(text);
    return undefined;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}
