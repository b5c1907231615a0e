// Checks shared by track() and the decorators: the metric, `when`, static labels and `value`.
import {
  METHOD_LABELS,
  type OptionContext,
  codedError,
  describeValue,
  optionError,
} from '@vigil/core';
import { isPlainObject } from './definitions';
import { BUSINESS_METRICS_ERROR_CODES } from './errors';
import { ClosedLabel, OUTCOMES } from './labels';
import { type MetricState, stateOf } from './state';
import type { AutoLabel, MetricType, Outcome } from './types';

export type LabelObject = Readonly<Record<string, unknown>>;
export const NO_LABELS: LabelObject = Object.freeze({});

/** Outcome bits, so `when` is one AND at recording time. */
export const OUTCOME_BIT: Readonly<Record<Outcome, number>> = {
  success: 1,
  failure: 2,
  aborted: 4,
};
const ALWAYS = 7;

/** The state of `metric`, checked to be one of `types`. */
export function metricState(
  ctx: OptionContext,
  metric: unknown,
  types: readonly MetricType[],
  what: string,
): MetricState {
  const state = stateOf(metric);
  if (state === undefined || !types.includes(state.type)) {
    const kinds =
      types.length === 1
        ? `a ${types[0]}`
        : `a ${types.slice(0, -1).join(', ')} or ${types.at(-1)}`;
    throw codedError(
      ctx,
      BUSINESS_METRICS_ERROR_CODES.INVALID_METRIC,
      `${ctx.factory}(): the metric must be ${kinds} handle from defineBusinessMetrics() (${what}), received ${
        state === undefined ? describeValue(metric) : `the ${state.type} ${state.name}`
      }.`,
      'Pass catalogue.metrics.<name>.',
    );
  }
  return state;
}

/** Checks spec keys; unknown ones are a typo caught at startup. */
export function checkSpecKeys(
  ctx: OptionContext,
  spec: unknown,
  known: readonly string[],
): Record<string, unknown> {
  if (spec === undefined) return {};
  if (!isPlainObject(spec)) {
    throw optionError(ctx, 'INVALID_SPEC', 'spec', 'an object or undefined', spec);
  }
  for (const key of Object.keys(spec)) {
    if (!known.includes(key)) {
      throw optionError(
        ctx,
        'UNKNOWN_OPTION',
        key,
        `one of ${known.join(', ')}`,
        key,
        'Check the spelling of the spec field.',
      );
    }
  }
  return spec;
}

/** `when` as outcome bits; the default is every outcome when the metric has an outcome label. */
export function whenMask(
  ctx: OptionContext,
  state: MetricState,
  when: unknown,
  fallback?: number,
): number {
  if (when === undefined)
    return fallback ?? (state.autoIndex.outcome >= 0 ? ALWAYS : OUTCOME_BIT.success);
  if (when === 'always') return ALWAYS;
  if (typeof when === 'string' && (OUTCOMES as readonly string[]).includes(when)) {
    return OUTCOME_BIT[when as Outcome];
  }
  if (
    Array.isArray(when) &&
    when.length > 0 &&
    when.every((w) => (OUTCOMES as readonly unknown[]).includes(w))
  ) {
    return (when as Outcome[]).reduce((mask, w) => mask | OUTCOME_BIT[w], 0);
  }
  throw optionError(
    ctx,
    'INVALID_SPEC',
    'when',
    "'success', 'failure', 'aborted', 'always' or a non-empty array of outcomes",
    when,
  );
}

/**
 * Checks static labels against the metric: every name known, every value allowed, every label given
 * unless Vigil fills it (`fillable`). Returns a frozen copy.
 */
export function staticLabels(
  ctx: OptionContext,
  state: MetricState,
  labels: Record<string, unknown>,
  fillable: readonly AutoLabel[],
): LabelObject {
  const fail = (expected: string, received: unknown, option: string, fix?: string) =>
    optionError(ctx, 'INVALID_LABELS', option, expected, received, fix);
  for (const key of Object.keys(labels)) {
    if (!state.instrument.labelNames.includes(key)) {
      throw fail(
        `a label of ${state.name} (${state.instrument.labelNames.join(', ') || 'it has none'})`,
        key,
        `labels.${key}`,
      );
    }
  }
  for (const def of state.labels) {
    const v = labels[def.name];
    if (v === undefined) {
      if (def.auto !== undefined && fillable.includes(def.auto)) continue;
      throw fail(
        `given: ${state.name} has the label "${def.name}"${def.auto ? ` (${def.auto}), which is not known here` : ''}`,
        v,
        `labels.${def.name}`,
        'Give it in `labels` (an object, or a function of the finished request or call).',
      );
    }
    let allowed: readonly string[] | undefined;
    if (def instanceof ClosedLabel) allowed = def.values;
    else if (def.auto === 'method') allowed = METHOD_LABELS;
    if (typeof v !== 'string' || (allowed !== undefined && !allowed.includes(v))) {
      const expected = allowed ? `one of ${allowed.join(', ')}` : 'a string';
      throw fail(`${expected} (label "${def.name}" of ${state.name})`, v, `labels.${def.name}`);
    }
  }
  return Object.freeze({ ...labels });
}

/** A numeric `value` checked for the metric (finite; not negative for counters), or a function. */
export function valueOption(
  ctx: OptionContext,
  value: unknown,
  negativeAllowed: boolean,
): number | ((info: never) => unknown) | undefined {
  if (value === undefined || typeof value === 'function') return value as never;
  if (typeof value !== 'number' || !Number.isFinite(value) || (!negativeAllowed && value < 0)) {
    throw optionError(
      ctx,
      'INVALID_SPEC',
      'value',
      `a ${negativeAllowed ? '' : 'non-negative '}finite number or a function returning one`,
      value,
    );
  }
  return value;
}

/** What safeCall() gives when the function threw. */
export const THREW: unique symbol = Symbol('threw');

/** Calls a user function; a throw is reported and gives THREW, never an exception. */
export function safeCall<I, R>(
  state: MetricState,
  what: string,
  fn: (info: I) => R,
  info: I,
): R | typeof THREW {
  try {
    return fn(info);
  } catch (err) {
    state.problems.report(`${state.name}: ${what} threw`, err);
    return THREW;
  }
}
