// The parts of Alertmanager's default notification template (default.tmpl) the receivers render:
// the `[FIRING:N] ...` subject, the alert list, and the message with resolved alerts filtered out.
import { type LabelSet, type WebhookAlert, type WebhookMessage, compareBytes } from '../model';

function sortedNames(labels: LabelSet): string[] {
  return Object.keys(labels).sort(compareBytes);
}

/** A label set's values in the order of its sorted names (`.SortedPairs.Values`). */
export function sortedValues(labels: LabelSet): string[] {
  return sortedNames(labels).map((n) => labels[n] as string);
}

/** Alerts firing. */
export function firing(m: WebhookMessage): readonly WebhookAlert[] {
  return m.alerts.filter((a) => a.status === 'firing');
}

/** Alerts resolved. */
export function resolved(m: WebhookMessage): readonly WebhookAlert[] {
  return m.alerts.filter((a) => a.status === 'resolved');
}

/**
 * Alertmanager's `__subject`: `[FIRING:2] GroupValues (CommonValues)` or `[RESOLVED] GroupValues `;
 * the trailing space is Alertmanager's too.
 */
export function subject(m: WebhookMessage): string {
  const status = m.status.toUpperCase();
  const count = m.status === 'firing' ? `:${firing(m).length}` : '';
  const group = sortedValues(m.groupLabels).join(' ');
  let extra = '';
  if (Object.keys(m.commonLabels).length > Object.keys(m.groupLabels).length) {
    const rest = sortedNames(m.commonLabels)
      .filter((n) => !(n in m.groupLabels))
      .map((n) => m.commonLabels[n] as string);
    extra = `(${rest.join(' ')})`;
  }
  return `[${status}${count}] ${group} ${extra}`;
}

/** Alertmanager's `__alertmanagerURL`: the alerts page of the receiver. */
export function alertmanagerUrl(m: WebhookMessage): string {
  return `${m.externalURL}/#/alerts?receiver=${queryEscape(m.receiver)}`;
}

/** Go's url.QueryEscape: everything but letters, digits and `-_.~` escaped, space as `+`. */
export function queryEscape(s: string): string {
  return encodeURIComponent(s)
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%20/g, '+');
}

/** Alertmanager's `__text_alert_list`: each alert's labels, annotations and source. */
export function textAlertList(alerts: readonly WebhookAlert[]): string {
  let out = '';
  for (const a of alerts) {
    out += 'Labels:\n';
    for (const n of sortedNames(a.labels)) out += ` - ${n} = ${a.labels[n] as string}\n`;
    out += 'Annotations:\n';
    for (const n of sortedNames(a.annotations)) out += ` - ${n} = ${a.annotations[n] as string}\n`;
    out += `Source: ${a.generatorURL}\n`;
  }
  return out;
}

/** Truncates to `max` characters (code points), ending with `…` as Alertmanager does. */
export function truncate(s: string, max: number): string {
  const chars = Array.from(s);
  return chars.length <= max ? s : `${chars.slice(0, max - 1).join('')}…`;
}

function common(alerts: readonly WebhookAlert[], pick: (a: WebhookAlert) => LabelSet): LabelSet {
  const first = alerts[0];
  if (first === undefined) return {};
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(pick(first))) {
    if (alerts.every((a) => pick(a)[k] === v)) out[k] = v;
  }
  return out;
}

/**
 * The message an integration without send_resolved is given, as Alertmanager builds it: resolved
 * alerts left out, status and common labels computed again; undefined when nothing fires.
 */
export function withoutResolved(m: WebhookMessage): WebhookMessage | undefined {
  const alerts = firing(m);
  if (alerts.length === 0) return undefined;
  if (alerts.length === m.alerts.length) return m;
  return {
    ...m,
    status: 'firing',
    alerts,
    commonLabels: common(alerts, (a) => a.labels),
    commonAnnotations: common(alerts, (a) => a.annotations),
  };
}
