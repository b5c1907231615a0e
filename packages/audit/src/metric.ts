// audit_events_total{type, outcome}: get-or-create on the chosen prom-client registry.
import { createRequire } from 'node:module';
import { type OptionContext, optionError } from '@vigil/core';
import type { Counter, Registry } from 'prom-client';
import { AUDIT_ERROR_CODES, auditError } from './errors';

export const METRIC_NAME = 'audit_events_total';
const HELP = 'Audit events written, by event type and outcome.';
const LABELS = ['type', 'outcome'] as const;

/** The counter's inc(), the only part the logger uses. */
export type EventCounter = Pick<Counter<'type' | 'outcome'>, 'inc'>;

type PromClient = typeof import('prom-client');

// prom-client is an optional peer: loaded only when a metric is wanted.
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

/**
 * The counter in `option`'s registry (the global one when undefined), reusing one that an earlier
 * logger registered there. Undefined when metrics are off, or prom-client is absent and no registry
 * was given.
 */
export function resolveCounter(ctx: OptionContext, option: unknown): EventCounter | undefined {
  if (option === false) return undefined;
  if (option !== undefined && !isRegistryLike(option)) {
    throw optionError(
      ctx,
      'INVALID_REGISTRY',
      'registry',
      'a prom-client Registry or false',
      option,
      'Pass `new Registry()` from prom-client, false for no metric, or leave it out for the global registry.',
    );
  }
  const prom = loadPromClient();
  if (prom === undefined) {
    if (option === undefined) return undefined;
    throw optionError(
      ctx,
      'INVALID_REGISTRY',
      'registry',
      'usable with prom-client installed',
      option,
      'Install prom-client (npm install prom-client), or pass registry: false.',
    );
  }
  const registry = option ?? prom.register;
  const existing = registry.getSingleMetric(METRIC_NAME) as
    (Partial<Counter<string>> & { type?: unknown; labelNames?: unknown }) | undefined;
  if (existing !== undefined) {
    const labels = Array.isArray(existing.labelNames) ? [...(existing.labelNames as string[])] : [];
    const compatible =
      existing.type === 'counter' &&
      typeof existing.inc === 'function' &&
      labels.length === LABELS.length &&
      LABELS.every((l) => labels.includes(l));
    if (!compatible) {
      const found = `${typeof existing.type === 'string' ? `a ${existing.type}` : 'a metric'} with labels [${labels.join(', ')}]`;
      throw auditError(
        AUDIT_ERROR_CODES.METRIC_CONFLICT,
        `${ctx.factory}(): option "registry" already holds ${METRIC_NAME} as ${found}; the audit logger needs a counter with labels [type, outcome]. Use a separate Registry, or remove the other metric.`,
      );
    }
    return existing as EventCounter;
  }
  return new prom.Counter({
    name: METRIC_NAME,
    help: HELP,
    labelNames: LABELS,
    registers: [registry],
  });
}
