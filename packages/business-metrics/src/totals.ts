// What a catalogue tells about itself: describe() (the catalogue as data) and totals() (for
// /metrics/summary), read from its instruments' series.
import { BusinessHistogram } from './instruments';
import { resolveTotalsOptions } from './options';
import type { MetricState } from './state';
import type { BusinessTotals, MetricDescription, MetricTotals } from './types';

/** One metric of the catalogue as data. */
export function describeMetric(state: MetricState): MetricDescription {
  const d: MetricDescription = {
    name: state.name,
    type: state.type,
    unit: state.unit,
    help: state.help,
    labels: state.labels.map((l) => l.describe()),
    maxSeries: state.labels.reduce((n, l) => n * l.bound, 1),
  };
  if (state.instrument instanceof BusinessHistogram) d.buckets = [...state.instrument.buckets];
  return d;
}

/** Totals of every metric, by label value (busiest first, at most `maxValuesPerLabel` each). */
export function totals(states: readonly MetricState[], raw: unknown): BusinessTotals {
  const limit = resolveTotalsOptions(raw).maxValuesPerLabel;
  const out: BusinessTotals = {};
  for (const state of states) out[state.name] = metricTotals(state, limit);
  return out;
}

function metricTotals(state: MetricState, limit: number): MetricTotals {
  const instrument = state.instrument;
  const histogram = instrument instanceof BusinessHistogram;
  let total = 0;
  let sum = 0;
  const byLabel = new Map<string, Map<string, number>>(
    instrument.labelNames.map((n) => [n, new Map<string, number>()]),
  );
  for (const s of instrument.series as {
    labels: Record<string, string>;
    value?: number;
    count?: number;
    sum?: number;
  }[]) {
    const figure = histogram ? s.count! : s.value!;
    total += figure;
    if (histogram) sum += s.sum!;
    for (const [label, values] of byLabel) {
      const v = s.labels[label]!;
      values.set(v, (values.get(v) ?? 0) + figure);
    }
  }
  const result: MetricTotals = { type: state.type, unit: state.unit, total, byLabel: {} };
  if (histogram) result.sum = sum;
  for (const [label, values] of byLabel) {
    const sorted = [...values].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
    result.byLabel[label] = Object.fromEntries(sorted.slice(0, limit));
    if (sorted.length > limit) (result.omitted ??= {})[label] = sorted.length - limit;
  }
  return result;
}
