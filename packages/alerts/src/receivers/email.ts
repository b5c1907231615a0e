// Email over SMTP with nodemailer, loaded the first time an email is sent: the subject is
// Alertmanager's `[FIRING:N] ...`, the body lists the alerts as text and as HTML.
import { createRequire } from 'node:module';
import type { WebhookAlert, WebhookMessage } from '../model';
import type { ResolvedEmail } from './config';
import type { Attempt } from './http';
import { alertmanagerUrl, firing, resolved, subject, textAlertList } from './templates';

/** The mail of a message. */
export interface EmailContent {
  readonly subject: string;
  readonly text: string;
  readonly html: string;
}

const ESCAPES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ESCAPES[c] as string);
}

function htmlList(title: string, alerts: readonly WebhookAlert[]): string {
  if (alerts.length === 0) return '';
  const items = alerts
    .map((a) => {
      const rows = (set: Readonly<Record<string, string>>) =>
        Object.keys(set)
          .sort()
          .map((k) => `<li>${escapeHtml(k)} = ${escapeHtml(set[k] as string)}</li>`)
          .join('');
      const source = a.generatorURL === '' ? '' : `<p>Source: ${escapeHtml(a.generatorURL)}</p>`;
      return `<li><p>Labels:</p><ul>${rows(a.labels)}</ul><p>Annotations:</p><ul>${rows(a.annotations)}</ul>${source}</li>`;
    })
    .join('');
  return `<h3>${escapeHtml(title)}</h3><ol>${items}</ol>`;
}

/** The subject, text and HTML body of a message. */
export function emailContent(m: WebhookMessage): EmailContent {
  const on = firing(m);
  const off = resolved(m);
  const title = subject(m);
  const link = alertmanagerUrl(m);
  let text = `${title}\n\nView in Alertmanager: ${link}\n`;
  if (on.length > 0) text += `\n[${on.length}] Firing\n${textAlertList(on)}`;
  if (off.length > 0) text += `\n[${off.length}] Resolved\n${textAlertList(off)}`;
  const html =
    `<!DOCTYPE html><html><body><h2>${escapeHtml(title)}</h2>` +
    `<p><a href="${escapeHtml(link)}">View in Alertmanager</a></p>` +
    htmlList(`[${on.length}] Firing`, on) +
    htmlList(`[${off.length}] Resolved`, off) +
    '</body></html>';
  return { subject: title, text, html };
}

interface Transport {
  sendMail(mail: Record<string, unknown>): Promise<unknown>;
  close(): void;
}

type Nodemailer = { createTransport(options: Record<string, unknown>): Transport };

let nodemailer: Nodemailer | undefined;

/** nodemailer, loaded once, on the first email (the package is CommonJS, as core loads prom-client). */
function loadNodemailer(): Nodemailer {
  nodemailer ??= createRequire(__filename)('nodemailer') as Nodemailer;
  return nodemailer;
}

// SMTP codes and nodemailer error codes after which a new attempt cannot succeed.
const PERMANENT_CODES = new Set(['EAUTH', 'EENVELOPE', 'EMESSAGE', 'ETLS', 'EPROTOCOL']);

/** The verdict of a nodemailer error: 4xx replies and connection errors are retried, 5xx not. */
export function smtpAttempt(e: unknown): Attempt {
  const err = e as { code?: unknown; responseCode?: unknown; name?: unknown };
  const code = typeof err.code === 'string' ? err.code : 'ERROR';
  const status = typeof err.responseCode === 'number' ? err.responseCode : undefined;
  const reason = status === undefined ? code : `SMTP ${status} (${code})`;
  if (status !== undefined) return { ok: false, retry: status < 500, reason };
  return { ok: false, retry: !PERMANENT_CODES.has(code), reason };
}

/** Sends one mail; a fresh connection each time, closed after, so nothing lingers between alerts. */
export async function sendEmail(
  config: ResolvedEmail,
  m: WebhookMessage,
  signal: AbortSignal,
  timeoutMs: number,
): Promise<Attempt> {
  let content: EmailContent;
  try {
    content = emailContent(m);
  } catch (e) {
    const reason = e instanceof Error ? e.name : 'error';
    return { ok: false, retry: false, reason: `message cannot be rendered (${reason})` };
  }
  let transport: Transport;
  try {
    const mailer = loadNodemailer();
    transport = mailer.createTransport({
      host: config.host,
      port: config.port,
      secure: config.port === 465,
      requireTLS: config.requireTls && config.port !== 465,
      ignoreTLS: !config.requireTls,
      ...(config.username === undefined
        ? {}
        : { auth: { user: config.username, pass: config.password } }),
      connectionTimeout: timeoutMs,
      greetingTimeout: timeoutMs,
      socketTimeout: timeoutMs,
      logger: false,
      debug: false,
    });
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    return {
      ok: false,
      retry: false,
      reason: `nodemailer unavailable (${typeof code === 'string' ? code : 'error'})`,
    };
  }
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<Attempt>((resolve) => {
    onAbort = () => {
      transport.close();
      const timedOut = signal.reason instanceof Error && signal.reason.name === 'TimeoutError';
      resolve({ ok: false, retry: timedOut, reason: timedOut ? 'timeout' : 'aborted' });
    };
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([
      transport
        .sendMail({
          from: config.from,
          to: config.to,
          subject: content.subject,
          text: content.text,
          html: content.html,
        })
        .then((): Attempt => ({ ok: true }), smtpAttempt),
      aborted,
    ]);
  } finally {
    if (onAbort !== undefined) signal.removeEventListener('abort', onAbort);
    transport.close();
  }
}
