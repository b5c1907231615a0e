// audit_events_total{type, outcome}: get-or-create on the chosen registry, with @vigil/core's registry
// option and instruments (prom-client stays an optional peer: nothing here imports it).
import { type OptionContext, FastCounter, registryOption, sharedCounter } from '@vigil/core';
import { AUDIT_ERROR_CODES, PKG, auditError } from './errors';

export const METRIC_NAME = 'audit_events_total';
const HELP = 'Audit events written, by event type and outcome.';
const LABELS = ['type', 'outcome'] as const;

/** The counter's inc(), the only part the logger uses (prom-client's Counter has the same). */
export interface EventCounter {
  inc(labels: { type: string; outcome: string }): void;
}

/**
 * The counter in `option`'s registry (the global one when undefined), reusing one that an earlier
 * logger, or the app, registered there. Undefined when metrics are off, or prom-client is absent and
 * no registry was given.
 */
export function resolveCounter(ctx: OptionContext, option: unknown): EventCounter | undefined {
  const registry = registryOption(ctx, option, { allowFalse: true });
  if (registry === false || registry === undefined) return undefined;
  const counter = sharedCounter(
    registry,
    new FastCounter(METRIC_NAME, HELP, LABELS, PKG),
    (found) =>
      auditError(
        AUDIT_ERROR_CODES.METRIC_CONFLICT,
        `${ctx.factory}(): option "registry" already holds ${METRIC_NAME} as ${found}; the audit logger needs a counter with labels [type, outcome]. Use a separate Registry, or remove the other metric.`,
      ),
  );
  return { inc: (labels) => counter.cell(labels).inc() };
}
