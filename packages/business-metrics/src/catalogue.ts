// defineBusinessMetrics(): validates a catalogue once, registers its instruments (get-or-create), and
// returns the handles, the catalogue as data, and its totals.
import {
  createProblemReporter,
  getOrRegister,
  registryState,
  looksLikeFrameworkCall,
  notCalledError,
  optionError,
} from '@vigil/core';
import { PACKAGE, context } from './errors';
import { resolveOptions } from './options';
import { checkDefinition, instrumentFor, isPlainObject } from './definitions';
import { describeMetric, totals } from './totals';
import { CounterHandle, GaugeHandle, HistogramHandle, type AnyHandle } from './handles';
import type { MetricState } from './state';
import type {
  AutoLabel,
  Catalogue,
  CatalogueOptions,
  MetricDefinitions,
  TotalsOptions,
} from './types';

/**
 * Declares business metrics once: counters, gauges and histograms with help, unit and bounded labels.
 * TypeScript infers each metric's label names and allowed values, so a wrong label is a compile error.
 *
 * @throws VigilError with an `ERR_VIGIL_BUSINESS_METRICS_*` code on an invalid definition or option.
 */
export function defineBusinessMetrics<const D extends MetricDefinitions>(
  definitions: D,
  options?: CatalogueOptions,
): Catalogue<D> {
  const ctx = context('defineBusinessMetrics');
  // Mounted as middleware: the request arrives where the definitions belong.
  if (looksLikeFrameworkCall(definitions, 1)) throw notCalledError(ctx, definitions);
  if (!isPlainObject(definitions)) {
    throw optionError(
      ctx,
      'INVALID_DEFINITION',
      'definitions',
      "an object mapping metric names to definitions, e.g. { uploads_total: { type: 'counter', help: '...' } }",
      definitions,
    );
  }
  const { registry, prefix, logger, maxRoutes } = resolveOptions(ctx, options);

  const checked = Object.entries(definitions).map(([key, def]) =>
    checkDefinition(ctx, key, def, prefix, maxRoutes),
  );
  const candidates = checked.map(instrumentFor);
  // Every name is checked before any is registered, so a conflict leaves the registry untouched.
  for (const candidate of candidates) {
    const state = registryState(registry, candidate);
    if (state === 'foreign' || state === 'different') {
      throw optionError(
        ctx,
        'METRIC_CONFLICT',
        'registry',
        `a registry where "${candidate.name}" is free or holds the identical business metric`,
        candidate.name,
        state === 'foreign'
          ? `The registry already holds another metric named "${candidate.name}". Rename the business metric, use the "prefix" option or a separate Registry.`
          : `The registry holds "${candidate.name}" from another catalogue with a different definition (type, help, unit, labels or buckets). Define it identically everywhere, or rename one.`,
      );
    }
  }

  const problems = createProblemReporter(PACKAGE, logger);
  const states: MetricState[] = [];
  const metrics: Record<string, AnyHandle> = {};
  checked.forEach((c, i) => {
    const instrument = getOrRegister(registry, candidates[i]!);
    // The latest catalogue's logger wins (a hot reload replaces the previous one).
    instrument.reporter = problems;
    const autoIndex: Record<AutoLabel, number> = { route: -1, outcome: -1, method: -1 };
    const autoNames = new Set<string>();
    instrument.labels.forEach((l, j) => {
      if (l.auto !== undefined) {
        autoIndex[l.auto] = j;
        autoNames.add(l.name);
      }
    });
    const state: MetricState = {
      key: c.key,
      name: c.name,
      type: c.type,
      help: c.help,
      unit: c.unit,
      instrument,
      labels: instrument.labels,
      autoIndex,
      autoNames,
      problems,
    };
    states.push(state);
    const specs = Object.freeze(Object.fromEntries(c.labels.map((l) => [l.name, l.spec])));
    metrics[c.key] =
      c.type === 'counter'
        ? new CounterHandle(state, specs as never)
        : c.type === 'gauge'
          ? new GaugeHandle(state, specs as never)
          : new HistogramHandle(state, specs as never);
  });
  Object.freeze(metrics);

  return {
    metrics: metrics as unknown as Catalogue<D>['metrics'],
    registry,
    describe: () => states.map(describeMetric),
    totals: (totalsOptions?: TotalsOptions) => totals(states, totalsOptions),
  };
}
