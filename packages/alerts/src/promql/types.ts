// Public types of the PromQL checker.
import type { PromQLFeature } from './catalogue';

export type { PromQLFeature } from './catalogue';

/** The type of a PromQL expression, as Prometheus names it (`matrix` is a range vector). */
export type PromQLType = 'vector' | 'scalar' | 'matrix' | 'string';

/** Options of `checkPromQL()`. */
export interface CheckPromQLOptions {
  /**
   * The Prometheus version the expression must run on, `"major.minor"` (`"2.42"`, `"3.5"`; a patch
   * part such as `"2.53.1"` is accepted and ignored). Syntax and functions newer than it are refused
   * with `ERR_VIGIL_ALERTS_PROMQL_UNSUPPORTED`. Versions from 2.33 on are understood.
   * @default "2.42" (Debian 12's server)
   */
  readonly prometheusVersion?: string;
  /**
   * The PromQL feature flags the server runs with (its `--enable-feature=` values), which experimental
   * functions and syntax need: `promql-experimental-functions`, `promql-duration-expr`,
   * `promql-extended-range-selectors`, `promql-binop-fill-modifiers`.
   * @default []
   */
  readonly features?: readonly PromQLFeature[];
}

/** What `checkPromQL()` returns for an expression Prometheus accepts. */
export interface PromQLCheckResult {
  /** The expression's type: what a rule or query using it gets. */
  readonly type: PromQLType;
}
