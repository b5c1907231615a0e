// Public types of the embedded PromQL evaluator: matchers, compiled expressions, values and the store
// interface the evaluator reads series through.
import type { LabelSet } from '../model';

/** A label matcher of a vector selector, as PromQL writes it (`name="v"`, `name=~"re"`). */
export interface Matcher {
  readonly name: string;
  readonly type: '=' | '!=' | '=~' | '!~';
  readonly value: string;
}

/** An expression checked and compiled once, evaluated many times with `evaluate()`. */
export interface CompiledExpr {
  /** The expression as given. */
  readonly text: string;
  /** Every vector selector's matchers (with __name__ as a matcher), so a store can keep only series some rule reads. */
  readonly selectors: readonly (readonly Matcher[])[];
  /** How far back from the evaluation time the expression reads, in ms (max over selectors of range + offset, plus the lookback delta for instant selectors). */
  readonly lookbackMs: number;
}

/** Options of `compileExpr()`. */
export interface CompileOptions {
  /**
   * How far back an instant vector selector looks for a sample, in milliseconds (Prometheus's
   * `--query.lookback-delta`).
   * @default 300000 (5 minutes)
   */
  readonly lookbackDeltaMs?: number;
  /**
   * The step of a subquery written without one (`x[1h:]`), in milliseconds: Prometheus uses its
   * global `evaluation_interval`.
   * @default 60000 (1 minute, Prometheus's default)
   */
  readonly subqueryStepMs?: number;
}

/** One element of an instant vector. */
export type InstantSample = { readonly labels: LabelSet; readonly value: number };

/** The result of an evaluation: an instant vector, a scalar or a string. */
export type Value =
  | { readonly type: 'vector'; readonly samples: readonly InstantSample[] }
  | { readonly type: 'scalar'; readonly value: number }
  | { readonly type: 'string'; readonly value: string };

/**
 * One series as a store hands it to the evaluator: its samples in time order in typed arrays. Only
 * the first `length` entries of `timestamps` and `values` are samples.
 */
export interface SeriesView {
  readonly labels: LabelSet;
  /** A key unique to the label set (`labelsKey(labels)`). */
  readonly key: string;
  readonly length: number;
  /** Milliseconds, non-decreasing. */
  readonly timestamps: Float64Array;
  readonly values: Float64Array;
  /** 1 where the sample is a staleness marker; undefined when the series has none. */
  readonly stale: Uint8Array | undefined;
  /** The labels without `__name__`, when the store keeps them (saves the evaluator deriving them). */
  readonly unnamed?: LabelSet;
  /**
   * For a store that keeps per-interval sums of samples older than its raw samples: the sum and
   * count of the non-stale samples in `[start, end]`, written to `out`. Returns false when the raw
   * samples cover the range, and the evaluator reads them instead.
   */
  sumOver?(start: number, end: number, out: { sum: number; count: number }): boolean;
}

/** What the evaluator reads samples from. */
export interface Queryable {
  /**
   * The series whose labels match every matcher and which may have samples in `[minT, maxT]`
   * (returning more is allowed: the evaluator selects samples by time itself). Series should come in
   * Prometheus's label order (`compareLabels`), which decides ties of topk and bottomk.
   */
  select(matchers: readonly Matcher[], minT: number, maxT: number): readonly SeriesView[];
}
