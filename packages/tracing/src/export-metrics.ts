// tracing_spans_exported_total{exporter, outcome} and tracing_spans_dropped_total{exporter, reason}, on
// a prom-client registry, with @vigil/core's instruments (prom-client is an optional peer).
import {
  type OptionContext,
  type RegistryLike,
  type SharedCounter,
  FastCounter,
  codedError,
  registryOption,
  sharedCounter,
} from '@vigil/core';
import { TRACING_ERROR_CODES, context } from './errors';

export const EXPORTED_METRIC = 'tracing_spans_exported_total';
export const DROPPED_METRIC = 'tracing_spans_dropped_total';

/** How an export ended. */
export type ExportOutcome = 'success' | 'failure';
/** Why spans were dropped before reaching the exporter. */
export type DropReason = 'queue_full';

/** Where the exporters' figures go. */
export interface ExportCounts {
  exported(exporter: string, outcome: ExportOutcome, spans: number): void;
  dropped(exporter: string, reason: DropReason, spans: number): void;
}

/** Where the counters go: a registry, or none (`registry: false`, or no prom-client installed). */
export type MetricsTarget = RegistryLike;

/**
 * The `registry` option: `false` for no metrics, a registry, or (undefined) prom-client's global one
 * when prom-client is installed. Checks only; the counters are made by exportCounts().
 */
export function resolveRegistry(ctx: OptionContext, option: unknown): MetricsTarget | undefined {
  const registry = registryOption(ctx, option, { allowFalse: true, code: 'INVALID_OPTION' });
  return registry === false ? undefined : registry;
}

const HELP = {
  [EXPORTED_METRIC]:
    'Spans handed to a span exporter, by exporter and outcome (failure: the export failed and the spans were lost).',
  [DROPPED_METRIC]:
    'Spans dropped before reaching a span exporter, by exporter and reason (queue_full: the batch queue was full).',
} as const;

/** Get-or-create: a second setup (after shutdown(), or a hot reload) reuses the same counters. */
function counter(
  registry: RegistryLike,
  name: keyof typeof HELP,
  labels: readonly [string, string],
): SharedCounter {
  return sharedCounter(
    registry,
    new FastCounter(name, HELP[name], labels, '@vigil/tracing'),
    (found) =>
      codedError(
        context('startTracing'),
        TRACING_ERROR_CODES.METRIC_CONFLICT,
        `startTracing(): option "registry" already holds ${name} as ${found}; @vigil/tracing needs a counter with labels [${labels.join(', ')}].`,
        'Pass another Registry, or remove the other metric.',
      ),
  );
}

/**
 * The two counters on `target` (no-ops without one), each series of `exporters` created at zero so a
 * rate() over them works from the first scrape.
 */
export function exportCounts(
  target: MetricsTarget | undefined,
  exporters: readonly string[],
): ExportCounts {
  if (target === undefined) return { exported() {}, dropped() {} };
  const exported = counter(target, EXPORTED_METRIC, ['exporter', 'outcome']);
  const dropped = counter(target, DROPPED_METRIC, ['exporter', 'reason']);
  // Labels by name: a counter registered earlier may list them in another order.
  for (const exporter of exporters) {
    exported.cell({ exporter, outcome: 'success' }).inc(0);
    exported.cell({ exporter, outcome: 'failure' }).inc(0);
    dropped.cell({ exporter, reason: 'queue_full' }).inc(0);
  }
  return {
    exported(exporter, outcome, spans) {
      exported.cell({ exporter, outcome }).inc(spans);
    },
    dropped(exporter, reason, spans) {
      dropped.cell({ exporter, reason }).inc(spans);
    },
  };
}
