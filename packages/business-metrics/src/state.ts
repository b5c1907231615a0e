// The internal record behind each metric handle, and the one place values are checked and applied.
import type { ProblemReporter } from '@vigil/core';
import type {
  AnyInstrument,
  BusinessHistogram,
  HistogramSeries,
  ScalarSeries,
} from './instruments';
import type { LabelResolver } from './labels';
import type { AutoLabel, MetricType } from './types';

/** How a value is applied to a series. */
export type Op = 'inc' | 'dec' | 'set' | 'observe';

export type Series = ScalarSeries | HistogramSeries;

/** Everything recording needs about one metric of one catalogue. */
export interface MetricState {
  /** The name it was declared under. */
  readonly key: string;
  /** The exposed name (prefix included). */
  readonly name: string;
  readonly type: MetricType;
  readonly help: string;
  readonly unit: string | null;
  readonly instrument: AnyInstrument;
  readonly labels: readonly LabelResolver[];
  /** Position of each auto label, -1 when the metric has none. */
  readonly autoIndex: Readonly<Record<AutoLabel, number>>;
  /** Names of the labels Vigil fills. */
  readonly autoNames: ReadonlySet<string>;
  readonly problems: ProblemReporter;
}

export const kState = Symbol('vigil.business-metrics.state');

/** The state behind a handle, or undefined for anything that is not a handle of this package. */
export function stateOf(metric: unknown): MetricState | undefined {
  if (metric === null || typeof metric !== 'object') return undefined;
  return (metric as { [kState]?: MetricState })[kState];
}

/**
 * Applies `value` to `series`. Values that are not finite numbers, and negative counter increments,
 * are dropped and reported once per metric and kind of problem. Never throws.
 */
export function apply(state: MetricState, op: Op, series: Series, value: unknown): void {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    state.problems.report(
      `${state.name}: value not a finite number`,
      `received ${typeof value === 'number' ? String(value) : typeof value}; the recording was dropped`,
    );
    return;
  }
  switch (op) {
    case 'inc':
      if (value < 0 && state.type === 'counter') {
        state.problems.report(
          `${state.name}: negative increment`,
          `a counter only goes up, received ${value}; the recording was dropped`,
        );
        return;
      }
      (series as ScalarSeries).value += value;
      return;
    case 'dec':
      (series as ScalarSeries).value -= value;
      return;
    case 'set':
      (series as ScalarSeries).value = value;
      return;
    case 'observe':
      (state.instrument as BusinessHistogram).observe(series as HistogramSeries, value);
      return;
  }
}

/** Reports a recording that failed in an unexpected way: recording never throws into the app. */
export function reportFailure(state: MetricState, err: unknown): void {
  state.problems.report(`${state.name}: recording failed`, err);
}
