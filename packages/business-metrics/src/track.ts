// track(): a per-route middleware for Express and Koa that records one metric when the response ends.
import type { ServerResponse } from 'node:http';
import { notCalledError, optionError, optionNames } from '@vigil/core';
import { context } from './errors';
import { type EndRecorder, type RequestScope, scopeFor } from './request';
import {
  type LabelObject,
  NO_LABELS,
  OUTCOME_BIT,
  checkSpecKeys,
  isPlainObject,
  metricState,
  safeCall,
  THREW,
  staticLabels,
  valueOption,
  whenMask,
} from './spec';
import { type MetricState, type Op, type Series, apply, reportFailure } from './state';
import type {
  CounterMetric,
  CounterTrackSpec,
  GaugeMetric,
  GaugeTrackSpec,
  HistogramMetric,
  HistogramTrackSpec,
  LabelSpecs,
  SpecArg,
  TrackInfo,
  TrackMiddleware,
} from './types';

type LabelsFn = (info: TrackInfo) => unknown;
type ValueFn = (info: TrackInfo) => unknown;

const scratch: unknown[] = [];

/** One track() spec, compiled once; records a finished request. */
class TrackRecorder implements EndRecorder {
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

function compile(metric: unknown, raw: unknown): TrackRecorder {
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

/** What Express calls a middleware with, when track itself is mounted instead of track(...). */
function looksLikeRequest(value: unknown): boolean {
  if (value === null || typeof value !== 'object') return false;
  return ('socket' in value && 'headers' in value) || ('req' in value && 'res' in value);
}

/**
 * A per-route middleware recording `metric` once per request, when the response has finished (or
 * the client went away): `app.post('/api/videos', track(uploads_total, { labels }), handler)` on
 * Express 4/5, `router.post('/api/videos', track(...), handler)` on Koa 2/3. The route template,
 * method and outcome fill the metric's auto labels; `labels` and `value` may be functions of the
 * finished request. Mounting the same middleware twice on a request still records once.
 *
 * @throws VigilError with an `ERR_VIGIL_BUSINESS_METRICS_*` code on an invalid metric or spec.
 */
export function track<L extends LabelSpecs>(
  metric: CounterMetric<L>,
  ...spec: SpecArg<L, CounterTrackSpec<L>>
): TrackMiddleware;
export function track<L extends LabelSpecs>(
  metric: GaugeMetric<L>,
  ...spec: SpecArg<L, GaugeTrackSpec<L>>
): TrackMiddleware;
export function track<L extends LabelSpecs>(
  metric: HistogramMetric<L>,
  ...spec: SpecArg<L, HistogramTrackSpec<L>>
): TrackMiddleware;
export function track(metric: unknown, spec?: unknown): TrackMiddleware {
  if (looksLikeRequest(metric)) throw notCalledError(context('track'), metric);
  const recorder = compile(metric, spec);
  const { state } = recorder;

  function start(target: unknown, res?: ServerResponse): RequestScope | undefined {
    try {
      const scope = scopeFor(target, res);
      if (scope === undefined) {
        state.problems.report(
          `${state.name}: track() outside a request`,
          'track() was called with something that is neither Express (req, res, next) nor Koa (ctx, next); nothing was recorded',
        );
      }
      scope?.addRecorder(recorder);
      return scope;
    } catch (err) {
      reportFailure(state, err);
      return undefined;
    }
  }

  async function koaTrack(ctx: unknown, next: () => Promise<unknown>): Promise<void> {
    const scope = start(ctx);
    try {
      await next();
    } catch (err) {
      // Koa turns the error into a response later; the request failed whatever status it gets.
      if (scope !== undefined) scope.errored = true;
      throw err;
    }
  }

  function vigilTrack(a: unknown, b: unknown, c?: unknown): void | Promise<void> {
    if (typeof c === 'function') {
      start(a, b as ServerResponse);
      (c as () => void)();
      return;
    }
    return koaTrack(a, b as () => Promise<unknown>);
  }
  return vigilTrack as TrackMiddleware;
}
