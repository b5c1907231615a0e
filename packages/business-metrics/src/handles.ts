// Metric handles: what `catalogue.metrics.<name>` is. Recording through them never throws.
import type { BusinessHistogram, HistogramSeries } from './instruments';
import { type MetricState, type Op, type Series, apply, kState, reportFailure } from './state';
import type { BoundCounter, BoundGauge, BoundHistogram, LabelSpecs } from './types';

type LabelObject = Readonly<Record<string, unknown>>;

const NO_LABELS: LabelObject = Object.freeze({});

const isLabelObject = (v: unknown): v is LabelObject => typeof v === 'object' && v !== null;
// `null` where labels go means "no labels" (every label then records as missing), not a value.
const isLabelsArg = (v: unknown): v is LabelObject | null => typeof v === 'object';

/** Records `value` under `labels`, catching anything unexpected. */
function record(state: MetricState, op: Op, labels: LabelObject, value: unknown): void {
  try {
    apply(state, op, state.instrument.find(labels), value);
  } catch (err) {
    reportFailure(state, err);
  }
}

/** The series for `labels`, resolved once for a bound child; never throws. */
function bind<S>(state: MetricState, labels: unknown): S {
  const given = isLabelObject(labels) ? labels : NO_LABELS;
  try {
    return state.instrument.find(given) as S;
  } catch (err) {
    reportFailure(state, err);
    return state.instrument.find(NO_LABELS) as S;
  }
}

/** Seconds elapsed since `start` (a performance.now() reading). */
export const secondsSince = (start: number): number => (performance.now() - start) / 1000;

abstract class Handle {
  readonly [kState]: MetricState;
  readonly name: string;
  readonly key: string;
  readonly help: string;
  readonly unit: string | null;
  readonly labelNames: readonly string[];
  readonly labelSpecs: LabelSpecs;

  constructor(state: MetricState, specs: LabelSpecs) {
    this[kState] = state;
    this.name = state.name;
    this.key = state.key;
    this.help = state.help;
    this.unit = state.unit;
    this.labelNames = state.instrument.labelNames;
    this.labelSpecs = specs;
  }

  /** Handles print as their metric name. */
  toString(): string {
    return this.name;
  }
}

export class CounterHandle extends Handle {
  readonly type = 'counter';

  inc(a?: unknown, b?: unknown): void {
    if (isLabelsArg(a)) record(this[kState], 'inc', a ?? NO_LABELS, b === undefined ? 1 : b);
    else record(this[kState], 'inc', NO_LABELS, a === undefined ? 1 : a);
  }

  labels(labels: LabelObject): BoundCounter {
    const state = this[kState];
    const series = bind<Series>(state, labels);
    return {
      inc: (value: unknown = 1) => apply(state, 'inc', series, value),
    };
  }
}

export class GaugeHandle extends Handle {
  readonly type = 'gauge';

  set(a: unknown, b?: unknown): void {
    if (isLabelsArg(a)) record(this[kState], 'set', a ?? NO_LABELS, b);
    else record(this[kState], 'set', NO_LABELS, a);
  }

  inc(a?: unknown, b?: unknown): void {
    if (isLabelsArg(a)) record(this[kState], 'inc', a ?? NO_LABELS, b === undefined ? 1 : b);
    else record(this[kState], 'inc', NO_LABELS, a === undefined ? 1 : a);
  }

  dec(a?: unknown, b?: unknown): void {
    if (isLabelsArg(a)) record(this[kState], 'dec', a ?? NO_LABELS, b === undefined ? 1 : b);
    else record(this[kState], 'dec', NO_LABELS, a === undefined ? 1 : a);
  }

  labels(labels: LabelObject): BoundGauge {
    const state = this[kState];
    const series = bind<Series>(state, labels);
    return {
      set: (value: unknown) => apply(state, 'set', series, value),
      inc: (value: unknown = 1) => apply(state, 'inc', series, value),
      dec: (value: unknown = 1) => apply(state, 'dec', series, value),
    };
  }
}

export class HistogramHandle extends Handle {
  readonly type = 'histogram';
  readonly buckets: readonly number[];

  constructor(state: MetricState, specs: LabelSpecs) {
    super(state, specs);
    this.buckets = (state.instrument as BusinessHistogram).buckets;
  }

  observe(a: unknown, b?: unknown): void {
    if (isLabelsArg(a)) record(this[kState], 'observe', a ?? NO_LABELS, b);
    else record(this[kState], 'observe', NO_LABELS, a);
  }

  startTimer(labels?: unknown): () => number {
    const state = this[kState];
    const start = performance.now();
    const given = isLabelObject(labels) ? labels : NO_LABELS;
    if (!timesSeconds(state)) return () => secondsSince(start);
    return () => {
      const seconds = secondsSince(start);
      record(state, 'observe', given, seconds);
      return seconds;
    };
  }

  labels(labels: LabelObject): BoundHistogram {
    const state = this[kState];
    const series = bind<HistogramSeries>(state, labels);
    return {
      observe: (value: unknown) => apply(state, 'observe', series, value),
      startTimer: () => {
        const start = performance.now();
        if (!timesSeconds(state)) return () => secondsSince(start);
        return () => {
          const seconds = secondsSince(start);
          apply(state, 'observe', series, seconds);
          return seconds;
        };
      },
    };
  }
}

/** True when durations may be recorded into `state`; reports once when they may not. */
export function timesSeconds(state: MetricState): boolean {
  if (state.unit === 'seconds') return true;
  state.problems.report(
    `${state.name}: timer on a histogram not in seconds`,
    `the histogram is in ${state.unit ?? 'no unit'}, so startTimer() durations are not recorded into it; declare unit: 'seconds'`,
  );
  return false;
}

export type AnyHandle = CounterHandle | GaugeHandle | HistogramHandle;
