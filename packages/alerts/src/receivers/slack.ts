// Slack incoming webhooks: one attachment, as Alertmanager's slack notifier renders its defaults.
import type { WebhookMessage } from '../model';
import type { ResolvedSlack } from './config';
import { alertmanagerUrl, subject, truncate } from './templates';

/** Slack's attachment, the fields Alertmanager's defaults fill. */
export interface SlackAttachment {
  readonly title: string;
  readonly title_link: string;
  readonly text: string;
  readonly fallback: string;
  readonly color: 'danger' | 'good';
  readonly mrkdwn_in: readonly string[];
}

/** The body posted to Slack. */
export interface SlackPayload {
  readonly channel?: string;
  readonly username: string;
  readonly attachments: readonly SlackAttachment[];
}

/** Alertmanager truncates Slack titles to this many characters. */
const MAX_TITLE = 1024;

/** The Slack message of `m`: title `[FIRING:N] ...`, linked to Alertmanager, danger red or good green. */
export function slackPayload(
  m: WebhookMessage,
  config: Pick<ResolvedSlack, 'channel' | 'username' | 'title' | 'text'>,
): SlackPayload {
  const title = truncate(config.title ?? subject(m), MAX_TITLE);
  const link = alertmanagerUrl(m);
  return {
    ...(config.channel === undefined ? {} : { channel: config.channel }),
    username: config.username,
    attachments: [
      {
        title,
        title_link: link,
        text: config.text,
        fallback: `${title} | ${link}`,
        color: m.status === 'firing' ? 'danger' : 'good',
        mrkdwn_in: ['fallback', 'pretext', 'text'],
      },
    ],
  };
}
