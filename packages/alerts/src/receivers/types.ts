// Public types of the receivers: their configuration in Alertmanager's shape, the notifier and the
// Alertmanager hand-over client.
import type { MinimalLogger, RegistryLike } from '@vigil/core';
import type { Clock, Delivery, PostableAlert } from '../model';

/**
 * A secret: the value itself, or `{ env: 'NAME' }` to read it from an environment variable when the
 * notifier is created. Alertmanager's `*_file` fields (`url_file`, `api_url_file`, ...) are the third
 * way. Secret values never appear in error messages or logs.
 */
export type SecretValue = string | { readonly env: string };

/** A generic webhook (`webhook_configs`): the Alertmanager webhook v4 JSON, posted as is. */
export interface WebhookConfig {
  /** The URL to post to; a secret (it often carries a token). One of `url` and `url_file`. */
  readonly url?: SecretValue;
  /** A file holding the URL. */
  readonly url_file?: string;
  /** Whether resolved alerts are notified. Default true. */
  readonly send_resolved?: boolean;
  /** At most this many alerts per message, the rest counted in `truncatedAlerts`; 0 (default) for all. */
  readonly max_alerts?: number;
}

/** A Slack incoming webhook (`slack_configs`). */
export interface SlackConfig {
  /** The incoming-webhook URL; a secret. One of `api_url` and `api_url_file`. */
  readonly api_url?: SecretValue;
  /** A file holding the URL. */
  readonly api_url_file?: string;
  /** The channel to post to, when the webhook allows overriding it. */
  readonly channel?: string;
  /** The name shown as the sender. Default `Alertmanager`. */
  readonly username?: string;
  /** The attachment's title, literal text. Default: Alertmanager's `[FIRING:N] ...` subject. */
  readonly title?: string;
  /** The attachment's text, literal text. Default empty, as Alertmanager's default template. */
  readonly text?: string;
  /** Whether resolved alerts are notified. Default false. */
  readonly send_resolved?: boolean;
}

/** PagerDuty's Events API v2 (`pagerduty_configs`). */
export interface PagerDutyConfig {
  /** The integration's routing key; a secret. One of `routing_key` and `routing_key_file`. */
  readonly routing_key?: SecretValue;
  /** A file holding the routing key. */
  readonly routing_key_file?: string;
  /** The Events API endpoint. Default `https://events.pagerduty.com/v2/enqueue`. */
  readonly url?: string;
  /**
   * The event's severity. Default: the group's common `severity` label when it is one of PagerDuty's
   * four, else `error` (Alertmanager's default).
   */
  readonly severity?: 'critical' | 'error' | 'warning' | 'info';
  /** Whether resolved groups resolve the incident. Default true. */
  readonly send_resolved?: boolean;
}

/** An email over SMTP (`email_configs`), sent with nodemailer. */
export interface EmailConfig {
  /** Recipients, comma-separated. */
  readonly to: string;
  /** The sender address. */
  readonly from: string;
  /** The SMTP server, `host:port` (`[::1]:25` for IPv6). Port 465 speaks TLS from the start. */
  readonly smarthost: string;
  /** The user to authenticate as; without it no authentication is attempted. */
  readonly auth_username?: string;
  /** The password; a secret. One of `auth_password` and `auth_password_file`, with `auth_username`. */
  readonly auth_password?: SecretValue;
  /** A file holding the password. */
  readonly auth_password_file?: string;
  /** Whether STARTTLS is required (Alertmanager's default, true); false sends in clear text. */
  readonly require_tls?: boolean;
  /** Whether resolved alerts are notified. Default false. */
  readonly send_resolved?: boolean;
}

/** A receiver: a name and its integrations, as in alertmanager.yml's `receivers`. */
export interface ReceiverConfig {
  /** Unique among the receivers; the name Delivery.receiver refers to. */
  readonly name: string;
  readonly webhook_configs?: readonly WebhookConfig[];
  readonly slack_configs?: readonly SlackConfig[];
  readonly pagerduty_configs?: readonly PagerDutyConfig[];
  readonly email_configs?: readonly EmailConfig[];
}

/** The delivery queue of every receiver. */
export interface NotifierQueueOptions {
  /** Notifications waiting per receiver; when full the oldest is dropped and counted. Default 1000. */
  readonly maxLength?: number;
  /** Attempts per notification, the first included. Default 5. */
  readonly maxAttempts?: number;
  /** Timeout of one attempt, in milliseconds. Default 10000. */
  readonly timeoutMs?: number;
  /** Attempts in flight at once per receiver. Default 4. */
  readonly concurrency?: number;
}

/** Options of createNotifier(). */
export interface NotifierOptions {
  /** The receivers, validated when the notifier is created. */
  readonly receivers: readonly ReceiverConfig[];
  /** Where the notification metrics go; false for none. Default: prom-client's global registry. */
  readonly registry?: RegistryLike | false;
  /** Times the backoff between attempts. Default: the system clock. */
  readonly clock?: Clock;
  /** Receives one warning per distinct delivery problem. Default: process warnings. */
  readonly logger?: MinimalLogger;
  readonly queue?: NotifierQueueOptions;
}

/** Delivers notifications to receivers in the background. */
export interface Notifier {
  /**
   * Queues `d` for its receiver's integrations. Never blocks, never throws. The message is read when
   * it is sent, later: do not change it afterwards.
   */
  deliver(d: Delivery): void;
  /** Resolves when every queued notification was delivered or given up on. */
  flush(): Promise<void>;
  /**
   * Stops: later deliveries are ignored, queued ones dropped (counted), retries abandoned and requests
   * in flight aborted. Call flush() first to deliver what is queued.
   */
  close(): Promise<void>;
  /** The names of the configured receivers. */
  receiverNames(): readonly string[];
}

/** Options of createAlertmanagerClient(). */
export interface AlertmanagerClientOptions {
  /** Alertmanager base URLs (`http://alertmanager:9093`), an array or a comma-separated string. */
  readonly url: string | readonly string[];
  /** Where the hand-over metrics go; false for none. Default: prom-client's global registry. */
  readonly registry?: RegistryLike | false;
  /** Times the backoff between attempts. Default: the system clock. */
  readonly clock?: Clock;
  /** Receives one warning per distinct problem. Default: process warnings. */
  readonly logger?: MinimalLogger;
  /** Timeout of one POST, in milliseconds. Default 10000, as Prometheus. */
  readonly timeoutMs?: number;
  /** Alerts waiting per Alertmanager; the oldest are dropped beyond it. Default 10000, as Prometheus. */
  readonly maxQueue?: number;
  /** Attempts per batch, the first included. Default 3. */
  readonly maxAttempts?: number;
}

/** Hands alerts over to one or more Alertmanagers, as Prometheus's notifier does. */
export interface AlertmanagerClient {
  /** Queues `alerts` for every Alertmanager. Never blocks, never throws. */
  send(alerts: readonly PostableAlert[]): void;
  /** Resolves when every queued alert was posted or given up on. */
  flush(): Promise<void>;
  /** Stops: later alerts are ignored, queued ones dropped (counted), requests in flight aborted. */
  close(): Promise<void>;
}
