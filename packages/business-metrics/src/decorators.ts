// @Counted, @Timed and @Observed: method decorators for both TypeScript decorator modes.
//
// Each factory checks the metric and spec when it is called, that is when the class is defined, and
// returns one function that accepts both call shapes: standard decorators `(method, context)` and
// legacy `experimentalDecorators` `(prototype, name, descriptor)`. The wrapper records after the
// method returns, throws, resolves or rejects, and gives back exactly what the method gave.
import { type OptionContext, frameworkOf, notCalledError, usageFix } from '@vigil/core';
import { isPlainObject } from './definitions';
import { context, usageError } from './errors';
import {
  type LabelObject,
  NO_LABELS,
  OUTCOME_BIT,
  checkSpecKeys,
  metricState,
  safeCall,
  THREW,
  staticLabels,
  valueOption,
  whenMask,
} from './spec';
import { type MetricState, type Op, type Series, apply, reportFailure } from './state';
import { secondsSince } from './handles';
import type {
  CallInfo,
  CallSpecArg,
  CountedSpec,
  CounterMetric,
  GaugeMetric,
  HistogramMetric,
  LabelSpecs,
  MethodDecorator,
  ObservedSpec,
  TimedSpec,
} from './types';

type AnyFunction = (this: unknown, ...args: unknown[]) => unknown;
type LabelsFn = (info: CallInfo) => unknown;
type ValueFn = (info: CallInfo) => unknown;

const scratch: unknown[] = [];

/** One decorated method's recording, compiled when the class is defined. */
class CallRecorder {
  constructor(
    private readonly state: MetricState,
    private readonly op: Op,
    private readonly mask: number,
    private readonly labels: LabelObject,
    private readonly labelsFn: LabelsFn | undefined,
    private readonly value: number | ValueFn | 'duration' | 'result',
    private readonly method: string,
    private readonly fixed: Series | undefined,
  ) {}

  record(
    instance: unknown,
    args: readonly unknown[],
    outcome: 'success' | 'failure',
    result: unknown,
    error: unknown,
    start: number,
  ): void {
    if ((this.mask & OUTCOME_BIT[outcome]) === 0) return;
    const state = this.state;
    try {
      const durationSeconds = secondsSince(start);
      let built: CallInfo | undefined;
      const info = (): CallInfo =>
        (built ??= {
          instance,
          method: this.method,
          args,
          outcome,
          result,
          error,
          durationSeconds,
        });
      let value: unknown;
      if (this.value === 'duration') value = durationSeconds;
      else if (this.value === 'result') value = result;
      else if (typeof this.value === 'number') value = this.value;
      else {
        value = safeCall(state, 'decorator value function', this.value, info());
        if (value === THREW) return;
      }
      let series = this.fixed;
      if (series === undefined) {
        let labels = this.labels;
        if (this.labelsFn !== undefined) {
          const given = safeCall(state, 'decorator labels function', this.labelsFn, info());
          if (given === THREW) return;
          labels = isPlainObject(given) ? given : NO_LABELS;
        }
        const defs = state.labels;
        for (let i = 0; i < defs.length; i++) {
          const def = defs[i]!;
          const v = labels[def.name];
          scratch[i] = v === undefined && def.auto === 'outcome' ? outcome : v;
        }
        series = state.instrument.findValues(scratch);
      }
      apply(state, this.op, series, value);
    } catch (err) {
      reportFailure(state, err);
    }
  }
}

interface Compiled {
  state: MetricState;
  op: Op;
  mask: number;
  labels: LabelObject;
  labelsFn: LabelsFn | undefined;
  value: number | ValueFn | 'duration' | 'result';
  fixed: Series | undefined;
}

function compileLabels(
  ctx: OptionContext,
  state: MetricState,
  raw: unknown,
): Pick<Compiled, 'labels' | 'labelsFn' | 'fixed'> {
  let labels: LabelObject = NO_LABELS;
  let labelsFn: LabelsFn | undefined;
  if (typeof raw === 'function') labelsFn = raw as LabelsFn;
  else if (raw === undefined || isPlainObject(raw)) {
    labels = staticLabels(ctx, state, raw ?? {}, ['outcome']);
  } else {
    throw usageError(
      'INVALID_SPEC',
      ctx.factory,
      'option "labels" must be an object or a function of the finished call',
      raw,
      'Pass static labels, or (info) => labels.',
    );
  }
  const perCall =
    state.autoIndex.outcome >= 0 &&
    labels[state.labels[state.autoIndex.outcome]!.name] === undefined;
  const fixed = labelsFn === undefined && !perCall ? state.instrument.find(labels) : undefined;
  return { labels, labelsFn, fixed };
}

function isDecoratorContext(value: unknown): value is DecoratorContext {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { kind?: unknown }).kind === 'string' &&
    'addInitializer' in value
  );
}

/**
 * `@Counted` instead of `@Counted(metric)`: the factory receives the decorator's own arguments. Or
 * handed to a framework as middleware: it receives a request.
 */
function checkCalled(factory: string, args: readonly unknown[]): void {
  const [first, second] = args;
  const ctx = context(factory);
  // Express calls (req, res, next) and Koa (ctx, next): the last is a function, where a decorator
  // gets a context object or a property descriptor.
  if (typeof args[args.length - 1] === 'function' && frameworkOf(first) !== undefined) {
    throw notCalledError(ctx, first);
  }
  const standard = typeof first === 'function' && isDecoratorContext(second);
  const legacy = args.length === 3 && (typeof second === 'string' || typeof second === 'symbol');
  if (standard || legacy) {
    throw usageError(
      'NOT_CALLED',
      factory,
      `@${factory} is a decorator factory and was applied without its call`,
      first,
      ctx.usage ? usageFix(factory, ctx.usage) : `Write @${factory}(metric), with the parentheses.`,
    );
  }
}

function methodName(name: unknown): string {
  return typeof name === 'symbol' ? (name.description ?? 'symbol') : String(name);
}

// reflect-metadata (used by NestJS) keeps route and parameter metadata on the method function
// itself; the wrapper takes it over so frameworks still find it. Nothing is needed when it is absent.
interface MetadataReflect {
  getOwnMetadataKeys?: (target: object) => unknown[];
  getOwnMetadata?: (key: unknown, target: object) => unknown;
  defineMetadata?: (key: unknown, value: unknown, target: object) => void;
}

function copyMetadata(from: object, to: object): void {
  const r = Reflect as unknown as MetadataReflect;
  if (
    typeof r.getOwnMetadataKeys !== 'function' ||
    typeof r.getOwnMetadata !== 'function' ||
    typeof r.defineMetadata !== 'function'
  ) {
    return;
  }
  for (const key of r.getOwnMetadataKeys(from))
    r.defineMetadata(key, r.getOwnMetadata(key, from), to);
}

function wrap(original: AnyFunction, recorder: CallRecorder): AnyFunction {
  const wrapped = function (this: unknown, ...args: unknown[]): unknown {
    const start = performance.now();
    let result: unknown;
    try {
      result = original.apply(this, args);
    } catch (err) {
      recorder.record(this, args, 'failure', undefined, err, start);
      throw err;
    }
    if (
      result !== null &&
      (typeof result === 'object' || typeof result === 'function') &&
      typeof (result as PromiseLike<unknown>).then === 'function'
    ) {
      // The method's own promise type is kept: its then() builds the promise returned.
      return (result as PromiseLike<unknown>).then(
        (value) => {
          recorder.record(this, args, 'success', value, undefined, start);
          return value;
        },
        (err: unknown) => {
          recorder.record(this, args, 'failure', undefined, err, start);
          throw err;
        },
      );
    }
    recorder.record(this, args, 'success', result, undefined, start);
    return result;
  };
  Object.defineProperty(wrapped, 'name', { value: original.name, configurable: true });
  copyMetadata(original, wrapped);
  return wrapped;
}

function decorator(factory: string, compiled: Compiled): MethodDecorator {
  const make = (name: string) =>
    new CallRecorder(
      compiled.state,
      compiled.op,
      compiled.mask,
      compiled.labels,
      compiled.labelsFn,
      compiled.value,
      name,
      compiled.fixed,
    );
  const badTarget = (received: unknown, what: string) =>
    usageError(
      'INVALID_DECORATOR_TARGET',
      factory,
      `@${factory} decorates methods, and was applied to ${what}`,
      received,
      `Put @${factory}(...) on a class method (not a field, accessor or class).`,
    );
  return function vigilDecorator(target: unknown, key: unknown, descriptor?: unknown): unknown {
    if (isDecoratorContext(key)) {
      // Standard decorators: (method, context).
      if (key.kind !== 'method' || typeof target !== 'function') {
        throw badTarget(target, `a ${key.kind}`);
      }
      return wrap(target as AnyFunction, make(methodName(key.name)));
    }
    // Legacy decorators: (prototype or constructor, name, descriptor).
    const d = descriptor as PropertyDescriptor | undefined;
    if (d === undefined || typeof d !== 'object' || typeof d.value !== 'function') {
      throw badTarget(
        key === undefined ? target : key,
        key === undefined ? 'a class' : d === undefined ? 'a property' : 'an accessor',
      );
    }
    d.value = wrap(d.value as AnyFunction, make(methodName(key)));
    return d;
  } as MethodDecorator;
}

/**
 * Counts calls of a method: `@Counted(orders_created_total, { labels: { plan: 'pro' } })`. The
 * `outcome` label, when the metric has one, is `success` when the method returned or resolved and
 * `failure` when it threw or rejected; the error is rethrown unchanged.
 *
 * @throws VigilError with an `ERR_VIGIL_BUSINESS_METRICS_*` code, when the class is defined.
 */
export function Counted<L extends LabelSpecs>(
  metric: CounterMetric<L>,
  ...spec: CallSpecArg<L, CountedSpec<L>>
): MethodDecorator;
export function Counted(...args: unknown[]): MethodDecorator {
  checkCalled('Counted', args);
  const [metric, spec] = args;
  const ctx = context('Counted');
  const state = metricState(ctx, metric, ['counter'], '@Counted counts into a counter');
  const s = checkSpecKeys(ctx, spec, ['labels', 'value', 'when']);
  const given = valueOption(ctx, s.value, false) as number | ValueFn | undefined;
  return decorator('Counted', {
    state,
    op: 'inc',
    mask: whenMask(ctx, state, s.when),
    value: given ?? 1,
    ...compileLabels(ctx, state, s.labels),
  });
}

/**
 * Times a method into a histogram in seconds: `@Timed(generation_duration_seconds, { labels })`.
 * Sync and async methods alike; the time runs until the returned promise settles.
 *
 * @throws VigilError with an `ERR_VIGIL_BUSINESS_METRICS_*` code, when the class is defined.
 */
export function Timed<L extends LabelSpecs>(
  metric: HistogramMetric<L>,
  ...spec: CallSpecArg<L, TimedSpec<L>>
): MethodDecorator;
export function Timed(...args: unknown[]): MethodDecorator {
  checkCalled('Timed', args);
  const [metric, spec] = args;
  const ctx = context('Timed');
  const state = metricState(ctx, metric, ['histogram'], '@Timed observes durations in seconds');
  if (state.unit !== 'seconds') {
    throw usageError(
      'INVALID_METRIC',
      'Timed',
      `@Timed needs a histogram in seconds, and ${state.name} is in ${state.unit ?? 'no unit'}`,
      state.name,
      "Declare the histogram with unit: 'seconds' (and a name ending in _seconds), or use @Observed.",
    );
  }
  const s = checkSpecKeys(ctx, spec, ['labels', 'when']);
  return decorator('Timed', {
    state,
    op: 'observe',
    mask: whenMask(ctx, state, s.when),
    value: 'duration',
    ...compileLabels(ctx, state, s.labels),
  });
}

/**
 * Records the value a method returns (or resolves to): observed by a histogram, set on a gauge, added
 * to a counter. `value` maps the call to the number; by default the result itself must be a number.
 * Records successful calls unless `when` says otherwise.
 *
 * @throws VigilError with an `ERR_VIGIL_BUSINESS_METRICS_*` code, when the class is defined.
 */
export function Observed<L extends LabelSpecs>(
  metric: HistogramMetric<L> | GaugeMetric<L> | CounterMetric<L>,
  ...spec: CallSpecArg<L, ObservedSpec<L>>
): MethodDecorator;
export function Observed(...args: unknown[]): MethodDecorator {
  checkCalled('Observed', args);
  const [metric, spec] = args;
  const ctx = context('Observed');
  const state = metricState(
    ctx,
    metric,
    ['histogram', 'gauge', 'counter'],
    '@Observed records the returned value',
  );
  const s = checkSpecKeys(ctx, spec, ['labels', 'value', 'when']);
  if (s.value !== undefined && typeof s.value !== 'function') {
    throw usageError(
      'INVALID_SPEC',
      'Observed',
      'option "value" must be a function of the finished call returning a number',
      s.value,
      'Pass value: (info) => number, or leave it out to record the returned number.',
    );
  }
  const op: Op = state.type === 'histogram' ? 'observe' : state.type === 'gauge' ? 'set' : 'inc';
  return decorator('Observed', {
    state,
    op,
    mask: whenMask(ctx, state, s.when, OUTCOME_BIT.success),
    value: (s.value as ValueFn | undefined) ?? 'result',
    ...compileLabels(ctx, state, s.labels),
  });
}
