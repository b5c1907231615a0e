// The generic webhook: Alertmanager's webhook v4 JSON, with max_alerts truncation.
import type { WebhookMessage } from '../model';
import type { ResolvedWebhook } from './config';

/** The body posted: the message itself, its alerts cut to `max_alerts` and the rest counted. */
export function webhookPayload(
  m: WebhookMessage,
  config: Pick<ResolvedWebhook, 'maxAlerts'>,
): WebhookMessage {
  if (config.maxAlerts === 0 || m.alerts.length <= config.maxAlerts) return m;
  return {
    ...m,
    alerts: m.alerts.slice(0, config.maxAlerts),
    truncatedAlerts: m.truncatedAlerts + m.alerts.length - config.maxAlerts,
  };
}
