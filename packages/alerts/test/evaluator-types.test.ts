// The public types of the embedded evaluator, as the rules engine codes against them.
import { describe, expectTypeOf, it } from 'vitest';
import {
  type CompiledExpr,
  type CompileOptions,
  type InstantSample,
  type Matcher,
  type Queryable,
  type SeriesView,
  type Value,
  compileExpr,
  evaluate,
  matchesAll,
  MemoryStorage,
  unsupportedReason,
} from '@vigil/alerts';
import type { LabelSet } from '../src/model';

describe('evaluator types', () => {
  it('should type compileExpr, unsupportedReason and matchesAll', () => {
    expectTypeOf(compileExpr).parameters.toEqualTypeOf<[string, CompileOptions?]>();
    expectTypeOf(compileExpr).returns.toEqualTypeOf<CompiledExpr>();
    expectTypeOf<CompiledExpr['selectors']>().toEqualTypeOf<readonly (readonly Matcher[])[]>();
    expectTypeOf<CompiledExpr['lookbackMs']>().toEqualTypeOf<number>();
    expectTypeOf(unsupportedReason).returns.toEqualTypeOf<string | undefined>();
    expectTypeOf(matchesAll).parameters.toEqualTypeOf<[readonly Matcher[], LabelSet]>();
    expectTypeOf<Matcher['type']>().toEqualTypeOf<'=' | '!=' | '=~' | '!~'>();
  });

  it('should type evaluate() as a value or an error, never undefined', () => {
    expectTypeOf(evaluate).parameters.toEqualTypeOf<[CompiledExpr, number, Queryable]>();
    expectTypeOf(evaluate).returns.toEqualTypeOf<Value | { readonly error: string }>();
    expectTypeOf<Extract<Value, { type: 'vector' }>['samples']>().toEqualTypeOf<
      readonly InstantSample[]
    >();
  });

  it('should make MemoryStorage a Queryable with the store API', () => {
    expectTypeOf<MemoryStorage>().toMatchTypeOf<Queryable>();
    expectTypeOf<MemoryStorage['append']>().toEqualTypeOf<
      (labels: LabelSet, t: number, v: number) => void
    >();
    expectTypeOf<MemoryStorage['appendStale']>().toEqualTypeOf<
      (labels: LabelSet, t: number) => void
    >();
    expectTypeOf<MemoryStorage['trim']>().toEqualTypeOf<
      (now: number, retentionOf: (labels: LabelSet) => number) => void
    >();
    expectTypeOf<MemoryStorage['seriesCount']>().toEqualTypeOf<number>();
    expectTypeOf<MemoryStorage['bytes']>().toEqualTypeOf<number>();
    expectTypeOf<ReturnType<Queryable['select']>>().toEqualTypeOf<readonly SeriesView[]>();
  });
});
