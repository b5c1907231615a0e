// The alert state machine of one alerting rule, as Prometheus 2.42's AlertingRule.Eval and
// sendAlerts implement it: inactive -> pending -> firing, `for`, `keep_firing_for`, resolved alerts
// kept 15 minutes, and which alerts are due to be sent.
import { fingerprint, type LabelSet } from '../model';
import type { CompiledTemplate } from './template';
import { labelsKey, sortedLabels, withoutName } from './labels';

/** Prometheus's `resolvedRetention`: a resolved alert is kept (and re-sent) this long. */
export const RESOLVED_RETENTION_MS = 15 * 60_000;

/** Alert states, as Prometheus names them. */
export type AlertState = 'inactive' | 'pending' | 'firing';

/** One alert of a rule: Prometheus's `rules.Alert`. Times in ms since the epoch. */
export interface ActiveAlert {
  readonly key: string;
  fingerprint: string;
  readonly labels: LabelSet;
  annotations: LabelSet;
  state: AlertState;
  activeAt: number;
  firedAt?: number;
  resolvedAt?: number;
  lastSentAt?: number;
  validUntil?: number;
  keepFiringSince?: number;
  value: number;
}

/** A sample of the rule expression's result. */
export interface RuleSample {
  readonly labels: LabelSet;
  readonly value: number;
}

/** An alerting rule's definition, compiled. */
export interface AlertingDefinition {
  readonly name: string;
  readonly forMs: number;
  readonly keepFiringForMs: number;
  readonly labels: readonly (readonly [string, CompiledTemplate])[];
  readonly annotations: readonly (readonly [string, CompiledTemplate])[];
  readonly externalLabels: LabelSet;
  readonly externalURL: string;
}

/** A duplicate label set after applying the rule's labels: Prometheus fails the evaluation. */
export class DuplicateAlertError extends Error {}

/**
 * Applies one evaluation result at `ts` to `active` (mutated), exactly as AlertingRule.Eval does.
 * Returns the alerts that are pending or firing after it (those ALERTS series are written for).
 */
export function applyEvaluation(
  def: AlertingDefinition,
  active: Map<string, ActiveAlert>,
  samples: readonly RuleSample[],
  ts: number,
): ActiveAlert[] {
  const fresh = new Map<string, ActiveAlert>();
  for (const s of samples) {
    const data = {
      labels: s.labels,
      externalLabels: def.externalLabels,
      externalURL: def.externalURL,
      value: s.value,
    };
    const lb = withoutName(s.labels);
    for (const [name, tmpl] of def.labels) {
      const v = tmpl(data);
      // labels.Builder.Set with an empty value deletes the label.
      if (v === '') delete lb[name];
      else lb[name] = v;
    }
    lb.alertname = def.name;
    const annotations: Record<string, string> = {};
    for (const [name, tmpl] of def.annotations) annotations[name] = tmpl(data);
    const labels = sortedLabels(lb);
    const key = labelsKey(labels);
    if (fresh.has(key)) {
      throw new DuplicateAlertError(
        'vector contains metrics with the same labelset after applying alert labels',
      );
    }
    fresh.set(key, {
      key,
      // Computed below only for alerts that are new: most evaluations update existing ones.
      fingerprint: '',
      labels,
      annotations,
      state: 'pending',
      activeAt: ts,
      value: s.value,
    });
  }
  for (const [key, a] of fresh) {
    const existing = active.get(key);
    if (existing !== undefined && existing.state !== 'inactive') {
      existing.value = a.value;
      existing.annotations = a.annotations;
      continue;
    }
    a.fingerprint = fingerprint(a.labels);
    active.set(key, a);
  }
  const out: ActiveAlert[] = [];
  for (const [key, a] of active) {
    if (!fresh.has(key)) {
      let keepFiring = false;
      if (a.state === 'firing' && def.keepFiringForMs > 0) {
        a.keepFiringSince ??= ts;
        if (ts - a.keepFiringSince < def.keepFiringForMs) keepFiring = true;
      }
      // A resolved alert stays for resolvedRetention so that it is sent as resolved.
      if (
        a.state === 'pending' ||
        (a.resolvedAt !== undefined && ts - a.resolvedAt > RESOLVED_RETENTION_MS)
      ) {
        active.delete(key);
      }
      if (a.state !== 'inactive' && !keepFiring) {
        a.state = 'inactive';
        a.resolvedAt = ts;
      }
      if (!keepFiring) continue;
    } else {
      delete a.keepFiringSince;
    }
    if (a.state === 'pending' && ts - a.activeAt >= def.forMs) {
      a.state = 'firing';
      a.firedAt = ts;
    }
    out.push(a);
  }
  return out;
}

/** Prometheus's `Alert.needsSending`. */
function needsSending(a: ActiveAlert, ts: number, resendDelayMs: number): boolean {
  if (a.state === 'pending') return false;
  if (a.resolvedAt !== undefined && (a.lastSentAt === undefined || a.resolvedAt > a.lastSentAt))
    return true;
  return a.lastSentAt === undefined || a.lastSentAt + resendDelayMs < ts;
}

/**
 * The alerts to send after an evaluation at `ts` (AlertingRule.sendAlerts): marks them sent and sets
 * their `validUntil` to ts + 4 x max(resendDelay, group interval).
 */
export function dueAlerts(
  active: Map<string, ActiveAlert>,
  ts: number,
  resendDelayMs: number,
  intervalMs: number,
): ActiveAlert[] {
  const out: ActiveAlert[] = [];
  for (const a of active.values()) {
    if (!needsSending(a, ts, resendDelayMs)) continue;
    a.lastSentAt = ts;
    a.validUntil = ts + 4 * Math.max(resendDelayMs, intervalMs);
    out.push({ ...a });
  }
  return out;
}
