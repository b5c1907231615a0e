// PagerDuty's Events API v2: trigger, acknowledge and resolve of one incident per alert group.
import { createHash } from 'node:crypto';
import type { Delivery, WebhookMessage } from '../model';
import { PAGERDUTY_SEVERITIES, type ResolvedPagerDuty } from './config';
import { alertmanagerUrl, firing, resolved, subject, textAlertList, truncate } from './templates';

/** An Events API v2 event. */
export interface PagerDutyEvent {
  readonly routing_key: string;
  readonly event_action: 'trigger' | 'acknowledge' | 'resolve';
  readonly dedup_key: string;
  readonly client?: string;
  readonly client_url?: string;
  readonly payload?: {
    readonly summary: string;
    readonly source: string;
    readonly severity: (typeof PAGERDUTY_SEVERITIES)[number];
    readonly custom_details: Readonly<Record<string, string>>;
  };
}

/** PagerDuty truncates summaries past 1024 characters; Alertmanager does first. */
const MAX_SUMMARY = 1024;

/** The dedup key of a group, as Alertmanager's `key.Hash()`: SHA-256 of the group key, in hex. */
export function dedupKey(groupKey: string): string {
  return createHash('sha256').update(groupKey).digest('hex');
}

type Severity = (typeof PAGERDUTY_SEVERITIES)[number];

function severityOf(m: WebhookMessage, configured: Severity | undefined): Severity {
  if (configured !== undefined) return configured;
  const label = m.commonLabels.severity;
  return (PAGERDUTY_SEVERITIES as readonly string[]).includes(label ?? '')
    ? (label as Severity)
    : 'error';
}

/** The event of a delivery: acknowledge when acknowledged, resolve when the group resolved, else trigger. */
export function pagerDutyEvent(
  d: Pick<Delivery, 'kind'>,
  m: WebhookMessage,
  config: Pick<ResolvedPagerDuty, 'routingKey' | 'severity'>,
): PagerDutyEvent {
  const dedup_key = dedupKey(m.groupKey);
  if (d.kind === 'acknowledge') {
    return { routing_key: config.routingKey, event_action: 'acknowledge', dedup_key };
  }
  const on = firing(m);
  const off = resolved(m);
  return {
    routing_key: config.routingKey,
    event_action: m.status === 'resolved' ? 'resolve' : 'trigger',
    dedup_key,
    client: 'Alertmanager',
    client_url: alertmanagerUrl(m),
    payload: {
      summary: truncate(subject(m), MAX_SUMMARY),
      source: 'Alertmanager',
      severity: severityOf(m, config.severity),
      custom_details: {
        firing: textAlertList(on),
        resolved: textAlertList(off),
        num_firing: String(on.length),
        num_resolved: String(off.length),
      },
    },
  };
}
