// Label-set helpers of the rules engine: a canonical key per series, in Prometheus's label order.
import type { LabelSet } from '../model';

// Label names are ASCII ([a-zA-Z_][a-zA-Z0-9_]*): UTF-16 order is byte order, without encoding.
const byName = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** A key unique to a label set, whatever the key order of the object. */
export function labelsKey(labels: LabelSet): string {
  const names = Object.keys(labels).sort(byName);
  let key = '';
  for (const n of names) key += `${n}\xfe${labels[n] as string}\xff`;
  return key;
}

/** The label set with names in byte order (how Prometheus holds and prints labels). */
export function sortedLabels(labels: LabelSet): LabelSet {
  const out: Record<string, string> = {};
  for (const n of Object.keys(labels).sort(byName)) out[n] = labels[n] as string;
  return out;
}

/** `labels` without `__name__`. */
export function withoutName(labels: LabelSet): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k in labels) if (k !== '__name__') out[k] = labels[k] as string;
  return out;
}
