// tracing_spans_exported_total{exporter, outcome} and tracing_spans_dropped_total{exporter, reason}, on
// a prom-client registry: prom-client is an optional peer, loaded only when a metric is wanted.
import { createRequire } from 'node:module';
import { type OptionContext, VigilError, optionError } from '@vigil/core';
import type { Counter, Registry } from 'prom-client';
import { TRACING_ERROR_CODES } from './errors';

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

type PromClient = typeof import('prom-client');

let promClient: PromClient | null | undefined;
function loadPromClient(): PromClient | undefined {
  if (promClient === undefined) {
    try {
      promClient = createRequire(__filename)('prom-client') as PromClient;
    } catch {
      promClient = null;
    }
  }
  return promClient ?? undefined;
}

function isRegistryLike(value: unknown): value is Registry {
  if (value === null || typeof value !== 'object') return false;
  const r = value as Record<string, unknown>;
  return typeof r.registerMetric === 'function' && typeof r.getSingleMetric === 'function';
}

/** The resolved `registry` option: a registry and the prom-client that makes its counters, or none. */
export interface MetricsTarget {
  readonly registry: Registry;
  readonly prom: PromClient;
}

/**
 * The `registry` option: `false` for no metrics, a registry, or (undefined) prom-client's global one
 * when prom-client is installed. Checks only; the counters are made by exportCounts().
 */
export function resolveRegistry(ctx: OptionContext, option: unknown): MetricsTarget | undefined {
  if (option === false) return undefined;
  if (option !== undefined && !isRegistryLike(option)) {
    throw optionError(
      ctx,
      'INVALID_OPTION',
      'registry',
      'a prom-client Registry or false',
      option,
      'Pass `new Registry()` from prom-client, false for no metrics, or leave it out for the global registry.',
    );
  }
  const prom = loadPromClient();
  if (prom === undefined) {
    if (option === undefined) return undefined;
    throw optionError(
      ctx,
      'INVALID_OPTION',
      'registry',
      'usable with prom-client installed',
      option,
      'Install prom-client (npm install prom-client), or pass registry: false.',
    );
  }
  return { registry: option ?? prom.register, prom };
}

const HELP = {
  [EXPORTED_METRIC]:
    'Spans handed to a span exporter, by exporter and outcome (failure: the export failed and the spans were lost).',
  [DROPPED_METRIC]:
    'Spans dropped before reaching a span exporter, by exporter and reason (queue_full: the batch queue was full).',
} as const;

/** Get-or-create: a second setup (after shutdown(), or a hot reload) reuses the same counters. */
function counter(
  target: MetricsTarget,
  name: keyof typeof HELP,
  labels: readonly [string, string],
): Counter<string> {
  const existing = target.registry.getSingleMetric(name) as
    (Partial<Counter<string>> & { type?: unknown; labelNames?: unknown }) | undefined;
  if (existing !== undefined) {
    const found = Array.isArray(existing.labelNames) ? (existing.labelNames as string[]) : [];
    if (
      existing.type === 'counter' &&
      typeof existing.labels === 'function' &&
      found.length === labels.length &&
      labels.every((l) => found.includes(l))
    ) {
      return existing as Counter<string>;
    }
    const what = `${typeof existing.type === 'string' ? `a ${existing.type}` : 'a metric'} with labels [${found.join(', ')}]`;
    throw new VigilError(
      TRACING_ERROR_CODES.METRIC_CONFLICT,
      `startTracing(): option "registry" already holds ${name} as ${what}; @vigil/tracing needs a counter with labels [${labels.join(', ')}]. Pass another Registry, or remove the other metric. See "Error codes" in the @vigil/tracing README.`,
    );
  }
  return new target.prom.Counter({
    name,
    help: HELP[name],
    labelNames: labels,
    registers: [target.registry],
  });
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
    exported.labels({ exporter, outcome: 'success' }).inc(0);
    exported.labels({ exporter, outcome: 'failure' }).inc(0);
    dropped.labels({ exporter, reason: 'queue_full' }).inc(0);
  }
  return {
    exported(exporter, outcome, spans) {
      exported.labels({ exporter, outcome }).inc(spans);
    },
    dropped(exporter, reason, spans) {
      dropped.labels({ exporter, reason }).inc(spans);
    },
  };
}
