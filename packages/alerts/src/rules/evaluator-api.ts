// The evaluator as the rules engine uses it (one import site, so the engine's needs are listed here).
export { compileExpr, evaluate, matchesAll, MemoryStorage, unsupportedReason } from '../evaluator';
export type { CompiledExpr, RollupSpec } from '../evaluator';
export { compile, type Compiled, type SelectorRead } from '../evaluator/compile';
