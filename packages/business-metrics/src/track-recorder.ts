// The framework-free core of track(): a spec compiled once into a recorder, and how the recorder joins
// the request it is mounted on, to record when the request ends.
import type { ServerResponse } from 'node:http';
import { optionError, optionNames } from '@vigil/core';
import { isPlainObject } from './definitions';
import { context } from './errors';
import { type EndRecorder, type RequestScope, scopeFor } from './request';
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
import type { GaugeTrackSpec, TrackInfo } from './types';

type LabelsFn = (info: TrackInfo) => unknown;
type ValueFn = (info: TrackInfo) => unknown;

const scratch: unknown[] = [];

/** One track() spec, compiled once; records a finished request. */
export class TrackRecorder implements EndRecorder {
  constructor(
    readonly state: MetricState,
    private readonly op: Op,
    private readonly mask: number,
    private readonly labels: LabelObject,
    private readonly labelsFn: LabelsFn | undefined,
    private readonly value: number | ValueFn | 'duration',
    /** The series, resolved at mount time when no label depends on the request. */
    private readonly fixed: Series | undefined,
  ) {}

  record(scope: RequestScope): void {
    if ((this.mask & OUTCOME_BIT[scope.outcome!]) === 0) return;
    const state = this.state;
    try {
      let value: unknown;
      if (this.value === 'duration') value = scope.durationSeconds;
      else if (typeof this.value === 'number') value = this.value;
      else {
        value = safeCall(state, 'track() value function', this.value, scope.info());
        if (value === THREW) return;
      }
      let series = this.fixed;
      if (series === undefined) {
        let labels = this.labels;
        if (this.labelsFn !== undefined) {
          const given = safeCall(state, 'track() labels function', this.labelsFn, scope.info());
          if (given === THREW) return;
          labels = isPlainObject(given) ? given : NO_LABELS;
        }
        series = state.instrument.findValues(scope.fill(state, labels, scratch));
      }
      apply(state, this.op, series, value);
    } catch (err) {
      reportFailure(state, err);
    }
  }
}

// The gauge's spec has every key the others have, plus `op`.
const KNOWN = optionNames<GaugeTrackSpec<Record<never, never>>>({
  labels: true,
  value: true,
  when: true,
  op: true,
});

/** Checks the metric and spec of a track() call, once, and compiles them into its recorder. */
export function compileTrack(metric: unknown, raw: unknown): TrackRecorder {
  const ctx = context('track');
  const state = metricState(ctx, metric, ['counter', 'gauge', 'histogram'], 'the metric to record');
  const spec = checkSpecKeys(ctx, raw, KNOWN);

  let op: Op = state.type === 'histogram' ? 'observe' : 'inc';
  if (spec.op !== undefined) {
    if (state.type !== 'gauge') {
      throw optionError(
        ctx,
        'INVALID_SPEC',
        'op',
        `left out: ${state.name} is a ${state.type}, and only gauges take an op`,
        spec.op,
      );
    }
    if (spec.op !== 'inc' && spec.op !== 'dec' && spec.op !== 'set') {
      throw optionError(ctx, 'INVALID_SPEC', 'op', "'inc', 'dec' or 'set'", spec.op);
    }
    op = spec.op;
  }

  const given = valueOption(ctx, spec.value, state.type !== 'counter');
  let value: number | ValueFn | 'duration';
  if (given !== undefined) value = given as number | ValueFn;
  else if (state.type === 'histogram') {
    if (state.unit !== 'seconds') {
      throw optionError(
        ctx,
        'INVALID_SPEC',
        'value',
        `given: ${state.name} is in ${state.unit ?? 'no unit'}, so the request duration cannot be its default value`,
        undefined,
        'Pass `value: (info) => number`, or track a histogram in seconds.',
      );
    }
    value = 'duration';
  } else if (op === 'set') {
    throw optionError(ctx, 'INVALID_SPEC', 'value', "given when op is 'set'", undefined);
  } else value = 1;

  const mask = whenMask(ctx, state, spec.when);
  let labels: LabelObject = NO_LABELS;
  let labelsFn: LabelsFn | undefined;
  if (typeof spec.labels === 'function') labelsFn = spec.labels as LabelsFn;
  else if (spec.labels === undefined || isPlainObject(spec.labels)) {
    labels = staticLabels(ctx, state, spec.labels ?? {}, ['route', 'method', 'outcome']);
  } else {
    throw optionError(
      ctx,
      'INVALID_SPEC',
      'labels',
      'an object or a function of the finished request',
      spec.labels,
    );
  }
  // With static labels and no label filled per request, the series is known now.
  const perRequest = state.labels.some((l) => l.auto !== undefined && labels[l.name] === undefined);
  const fixed = labelsFn === undefined && !perRequest ? state.instrument.find(labels) : undefined;
  return new TrackRecorder(state, op, mask, labels, labelsFn, value, fixed);
}

/**
 * Adds the recorder to the scope of the request `target` is (Express's req, with `res` at hand) or
 * belongs to (Koa's ctx), and returns the scope; anything else is reported once. Never throws.
 */
export function startTrack(
  recorder: TrackRecorder,
  target: unknown,
  res?: ServerResponse,
): RequestScope | undefined {
  try {
    const scope = scopeFor(target, res);
    if (scope === undefined) {
      recorder.state.problems.report(
        `${recorder.state.name}: track() outside a request`,
        'track() was called with something that is neither Express (req, res, next) nor Koa (ctx, next); nothing was recorded',
      );
    }
    scope?.addRecorder(recorder);
    return scope;
  } catch (err) {
    reportFailure(recorder.state, err);
    return undefined;
  }
}
