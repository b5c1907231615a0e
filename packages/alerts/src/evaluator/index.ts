// The embedded PromQL evaluator: compile once, evaluate at any time over a sample store.
export {
  compileExpr,
  unsupportedReason,
  DEFAULT_LOOKBACK_DELTA_MS,
  DEFAULT_SUBQUERY_STEP_MS,
} from './compile';
export { evaluate, formatLabels } from './engine';
export { matchesAll, labelsKey, compareLabels } from './labels';
export { MemoryStorage, type MemoryStorageOptions, type RollupSpec } from './storage';
export type {
  CompiledExpr,
  CompileOptions,
  InstantSample,
  Matcher,
  Queryable,
  SeriesView,
  Value,
} from './types';
