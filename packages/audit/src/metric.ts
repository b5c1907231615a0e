// audit_events_total{type, outcome}: get-or-create on the chosen registry, with @vigil/core's registry
// option and instruments (prom-client stays an optional peer: nothing here imports it).
import {
  type OptionContext,
  type RegistryLike,
  FastCounter,
  getOrRegister,
  registryOption,
  registryState,
} from '@vigil/core';
import { AUDIT_ERROR_CODES, PKG, auditError } from './errors';

export const METRIC_NAME = 'audit_events_total';
const HELP = 'Audit events written, by event type and outcome.';
const LABELS = ['type', 'outcome'] as const;

/** The counter's inc(), the only part the logger uses (prom-client's Counter has the same). */
export interface EventCounter {
  inc(labels: { type: string; outcome: string }): void;
}

/** A counter the app registered itself under the name, reused when it has the right shape. */
interface ForeignCounter {
  type?: unknown;
  labelNames?: unknown;
  inc?: unknown;
}

/**
 * The counter in `option`'s registry (the global one when undefined), reusing one that an earlier
 * logger, or the app, registered there. Undefined when metrics are off, or prom-client is absent and
 * no registry was given.
 */
export function resolveCounter(ctx: OptionContext, option: unknown): EventCounter | undefined {
  const registry = registryOption(ctx, option, { allowFalse: true });
  if (registry === false || registry === undefined) return undefined;
  const candidate = new FastCounter(METRIC_NAME, HELP, LABELS, PKG);
  const state = registryState(registry, candidate);
  if (state === 'free' || state === 'same') return counterOf(getOrRegister(registry, candidate));
  return appCounter(ctx, registry);
}

function counterOf(fast: FastCounter): EventCounter {
  return {
    inc({ type, outcome }) {
      fast.child(`${type}\u0000${outcome}`, { type, outcome }).value++;
    },
  };
}

/** A prom-client counter with the labels type and outcome, else the conflict error. */
function appCounter(ctx: OptionContext, registry: RegistryLike): EventCounter {
  const existing = registry.getSingleMetric(METRIC_NAME) as ForeignCounter;
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
