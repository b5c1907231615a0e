// Receiver configuration in Alertmanager's shape: validated once, secrets resolved (value, environment
// variable or file), frozen. Messages name the field and never show a secret's value.
import { readFileSync } from 'node:fs';
import { codedError, describeValue } from '@vigil/core';
import { ALERTS_ERROR_CODES, PACKAGE } from '../errors';

/** PagerDuty's Events API v2 endpoint, Alertmanager's default. */
export const PAGERDUTY_EVENTS_URL = 'https://events.pagerduty.com/v2/enqueue';

/** PagerDuty's severities. */
export const PAGERDUTY_SEVERITIES = ['critical', 'error', 'warning', 'info'] as const;

/** The integration kinds, as the `integration` metric label names them. */
export type IntegrationKind = 'webhook' | 'slack' | 'pagerduty' | 'email';

/** A webhook integration, resolved: its URL read, its defaults applied. */
export interface ResolvedWebhook {
  readonly kind: 'webhook';
  readonly url: string;
  readonly sendResolved: boolean;
  readonly maxAlerts: number;
}

/** A Slack integration, resolved. */
export interface ResolvedSlack {
  readonly kind: 'slack';
  readonly url: string;
  readonly channel: string | undefined;
  readonly username: string;
  readonly title: string | undefined;
  readonly text: string;
  readonly sendResolved: boolean;
}

/** A PagerDuty integration, resolved. */
export interface ResolvedPagerDuty {
  readonly kind: 'pagerduty';
  readonly routingKey: string;
  readonly url: string;
  readonly severity: (typeof PAGERDUTY_SEVERITIES)[number] | undefined;
  readonly sendResolved: boolean;
}

/** An email integration, resolved: the smarthost split into host and port. */
export interface ResolvedEmail {
  readonly kind: 'email';
  readonly to: string;
  readonly from: string;
  readonly host: string;
  readonly port: number;
  readonly username: string | undefined;
  readonly password: string | undefined;
  readonly requireTls: boolean;
  readonly sendResolved: boolean;
}

/** Any resolved integration, told apart by `kind`. */
export type ResolvedIntegration =
  ResolvedWebhook | ResolvedSlack | ResolvedPagerDuty | ResolvedEmail;

/** A receiver, resolved and frozen. */
export interface ResolvedReceiver {
  readonly name: string;
  readonly integrations: readonly ResolvedIntegration[];
  /** Every secret value of the receiver, to redact from anything logged. */
  readonly secrets: readonly string[];
}

const C = ALERTS_ERROR_CODES;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

type Fields = Record<string, unknown>;

function fail(code: string, message: string, fix: string): never {
  throw codedError({ pkg: PACKAGE }, code, message, fix);
}

/** What a value is, without its content: for fields that may hold secrets. */
function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  return `a ${typeof value}`;
}

function invalid(path: string, expected: string, received: string, fix = ''): never {
  fail(
    C.RECEIVER_INVALID_CONFIG,
    `createNotifier(): ${path} must be ${expected}, received ${received}.`,
    fix || 'Fix the receiver configuration.',
  );
}

function objectAt(value: unknown, path: string, known: readonly string[]): Fields {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    invalid(path, 'an object', kindOf(value));
  }
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) {
      invalid(
        `${path}.${key}`,
        `one of the supported fields (${known.join(', ')})`,
        'an unknown field',
        'Check the spelling; fields Vigil does not support are for a real Alertmanager to handle.',
      );
    }
  }
  return value as Fields;
}

function stringAt(
  fields: Fields,
  key: string,
  path: string,
  required: boolean,
): string | undefined {
  const value = fields[key];
  if (value === undefined && !required) return undefined;
  if (typeof value !== 'string' || value.trim() === '') {
    invalid(`${path}.${key}`, 'a non-empty string', describeValue(value));
  }
  return value;
}

function literalAt(fields: Fields, key: string, path: string): string | undefined {
  const value = stringAt(fields, key, path, false);
  if (value?.includes('{{')) {
    invalid(
      `${path}.${key}`,
      'literal text',
      'a Go template',
      'Vigil does not render Alertmanager templates: write the text itself, or leave the field out for the default.',
    );
  }
  return value;
}

function booleanAt(fields: Fields, key: string, path: string, fallback: boolean): boolean {
  const value = fields[key];
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') invalid(`${path}.${key}`, 'true or false', describeValue(value));
  return value;
}

/** A secret from `key` (a value or `{ env }`) or `key_file`; undefined when neither is given. */
function secretAt(fields: Fields, key: string, path: string): string | undefined {
  const value = fields[key];
  const file = fields[`${key}_file`];
  if (value !== undefined && file !== undefined) {
    invalid(
      path,
      `given either "${key}" or "${key}_file"`,
      'both',
      `Remove one of ${key} and ${key}_file.`,
    );
  }
  if (file !== undefined) {
    if (typeof file !== 'string' || file === '') {
      invalid(`${path}.${key}_file`, 'a file path', describeValue(file));
    }
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      const code = (e as { code?: unknown }).code;
      return fail(
        C.RECEIVER_MISSING_SECRET,
        `createNotifier(): ${path}.${key}_file names ${JSON.stringify(file)}, which cannot be read (${typeof code === 'string' ? code : 'error'}).`,
        'Check that the file exists and the process may read it.',
      );
    }
    const secret = text.trim();
    if (secret === '') {
      fail(
        C.RECEIVER_MISSING_SECRET,
        `createNotifier(): ${path}.${key}_file names ${JSON.stringify(file)}, which is empty.`,
        'Write the secret into the file.',
      );
    }
    return secret;
  }
  if (value === undefined) return undefined;
  if (typeof value === 'string') {
    if (value.trim() === '') invalid(`${path}.${key}`, 'a non-empty secret', 'an empty string');
    return value.trim();
  }
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const ref = value as Fields;
    const env = ref.env;
    if (Object.keys(ref).length !== 1 || typeof env !== 'string' || !ENV_NAME.test(env)) {
      invalid(
        `${path}.${key}`,
        'a string or { env: "VARIABLE_NAME" }',
        'an object of another shape',
      );
    }
    const secret = process.env[env]?.trim();
    if (secret === undefined || secret === '') {
      fail(
        C.RECEIVER_MISSING_SECRET,
        `createNotifier(): ${path}.${key} reads the environment variable ${env}, which is not set or empty.`,
        `Set ${env} in the process environment before the notifier is created.`,
      );
    }
    return secret;
  }
  return invalid(`${path}.${key}`, 'a string or { env: "VARIABLE_NAME" }', kindOf(value));
}

function requiredSecret(fields: Fields, key: string, path: string): string {
  const secret = secretAt(fields, key, path);
  if (secret === undefined) {
    fail(
      C.RECEIVER_MISSING_SECRET,
      `createNotifier(): ${path} needs "${key}" or "${key}_file", and has neither.`,
      `Give ${key} as a value, as { env: "VARIABLE_NAME" }, or as a file with ${key}_file.`,
    );
  }
  return secret;
}

/** Checks an http(s) URL; the message shows at most its scheme, never the value. */
function checkUrl(url: string, path: string): string {
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    parsed = undefined;
  }
  if (parsed === undefined || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) {
    // Any URL may carry a token (PagerDuty's `url` too, behind a proxy): none is shown.
    const shown =
      parsed === undefined
        ? 'a value that is not a URL'
        : `a URL with the scheme ${parsed.protocol}`;
    fail(
      C.RECEIVER_INVALID_URL,
      `createNotifier(): ${path} must be an absolute http:// or https:// URL, received ${shown}.`,
      'Check the URL (the value is a secret and is not shown).',
    );
  }
  return url;
}

function listAt(fields: Fields, key: string, path: string): readonly unknown[] {
  const value = fields[key];
  if (value === undefined) return [];
  if (!Array.isArray(value)) invalid(`${path}.${key}`, 'an array', kindOf(value));
  return value as unknown[];
}

function webhook(value: unknown, path: string): ResolvedWebhook {
  const f = objectAt(value, path, ['url', 'url_file', 'send_resolved', 'max_alerts']);
  const url = checkUrl(requiredSecret(f, 'url', path), `${path}.url`);
  const max = f.max_alerts;
  if (max !== undefined && (typeof max !== 'number' || !Number.isInteger(max) || max < 0)) {
    invalid(`${path}.max_alerts`, 'a whole number, 0 or more (0: all alerts)', describeValue(max));
  }
  return {
    kind: 'webhook',
    url,
    sendResolved: booleanAt(f, 'send_resolved', path, true),
    maxAlerts: max ?? 0,
  };
}

function slack(value: unknown, path: string): ResolvedSlack {
  const f = objectAt(value, path, [
    'api_url',
    'api_url_file',
    'channel',
    'username',
    'title',
    'text',
    'send_resolved',
  ]);
  return {
    kind: 'slack',
    url: checkUrl(requiredSecret(f, 'api_url', path), `${path}.api_url`),
    channel: literalAt(f, 'channel', path),
    username: literalAt(f, 'username', path) ?? 'Alertmanager',
    title: literalAt(f, 'title', path),
    text: literalAt(f, 'text', path) ?? '',
    sendResolved: booleanAt(f, 'send_resolved', path, false),
  };
}

function pagerduty(value: unknown, path: string): ResolvedPagerDuty {
  const f = objectAt(value, path, [
    'routing_key',
    'routing_key_file',
    'url',
    'severity',
    'send_resolved',
  ]);
  const routingKey = requiredSecret(f, 'routing_key', path);
  const url = checkUrl(stringAt(f, 'url', path, false) ?? PAGERDUTY_EVENTS_URL, `${path}.url`);
  const severity = f.severity;
  if (severity !== undefined && !(PAGERDUTY_SEVERITIES as readonly unknown[]).includes(severity)) {
    invalid(
      `${path}.severity`,
      `one of ${PAGERDUTY_SEVERITIES.join(', ')}`,
      describeValue(severity),
      "PagerDuty accepts these four only; leave it out to follow the alerts' severity label.",
    );
  }
  return {
    kind: 'pagerduty',
    routingKey,
    url,
    severity: severity as ResolvedPagerDuty['severity'],
    sendResolved: booleanAt(f, 'send_resolved', path, true),
  };
}

/** Splits `host:port` (`[v6]:port` too); undefined when it is not one. */
export function parseSmarthost(text: string): { host: string; port: number } | undefined {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s]+)):(\d{1,5})$/.exec(text);
  if (m === null) return undefined;
  const port = Number(m[3]);
  if (port < 1 || port > 65535) return undefined;
  return { host: (m[1] ?? m[2]) as string, port };
}

function email(value: unknown, path: string): ResolvedEmail {
  const f = objectAt(value, path, [
    'to',
    'from',
    'smarthost',
    'auth_username',
    'auth_password',
    'auth_password_file',
    'require_tls',
    'send_resolved',
  ]);
  const to = stringAt(f, 'to', path, true) as string;
  const from = stringAt(f, 'from', path, true) as string;
  const smarthost = stringAt(f, 'smarthost', path, true) as string;
  const hostPort = parseSmarthost(smarthost);
  if (hostPort === undefined) {
    invalid(
      `${path}.smarthost`,
      'host:port, such as smtp.example.com:587 or [::1]:25',
      describeValue(smarthost),
    );
  }
  const username = stringAt(f, 'auth_username', path, false);
  const password = secretAt(f, 'auth_password', path);
  if (password !== undefined && username === undefined) {
    invalid(
      `${path}.auth_username`,
      'given when a password is',
      'nothing',
      'Add auth_username, or remove the password.',
    );
  }
  if (username !== undefined && password === undefined) {
    fail(
      C.RECEIVER_MISSING_SECRET,
      `createNotifier(): ${path} has auth_username and neither "auth_password" nor "auth_password_file".`,
      'Give the password as a value, as { env: "VARIABLE_NAME" }, or as a file with auth_password_file.',
    );
  }
  return {
    kind: 'email',
    to,
    from,
    host: hostPort.host,
    port: hostPort.port,
    username,
    password,
    requireTls: booleanAt(f, 'require_tls', path, true),
    sendResolved: booleanAt(f, 'send_resolved', path, false),
  };
}

const RECEIVER_FIELDS = [
  'name',
  'webhook_configs',
  'slack_configs',
  'pagerduty_configs',
  'email_configs',
] as const;

/** Shortest part of a URL worth redacting on its own: shorter path segments are words (`services`). */
const MIN_SECRET_PART = 12;

/**
 * The parts of a URL that may be its secret, to redact from what a server answers: the URL, its path
 * and query, credentials, and long path segments and query values (Slack's token is the last segment).
 */
export function urlSecrets(url: string): string[] {
  const out = [url];
  try {
    const u = new URL(url);
    if (u.password !== '') out.push(u.password, decodeURIComponent(u.password));
    if (u.pathname.length > 1) out.push(`${u.pathname}${u.search}`, u.pathname);
    if (u.search !== '') out.push(u.search);
    for (const part of u.pathname.split('/')) if (part.length >= MIN_SECRET_PART) out.push(part);
    for (const value of u.searchParams.values())
      if (value.length >= MIN_SECRET_PART) out.push(value);
  } catch {
    // Checked to be a URL before.
  }
  return [...new Set(out)];
}

/** Validates `receivers` and resolves their secrets; throws a coded error at the first problem. */
export function resolveReceivers(receivers: unknown): readonly ResolvedReceiver[] {
  if (!Array.isArray(receivers)) {
    invalid('receivers', 'an array of receivers', kindOf(receivers));
  }
  const out: ResolvedReceiver[] = [];
  const names = new Set<string>();
  (receivers as unknown[]).forEach((value, i) => {
    const path = `receivers[${i}]`;
    const f = objectAt(value, path, RECEIVER_FIELDS);
    const name = stringAt(f, 'name', path, true) as string;
    if (names.has(name)) {
      fail(
        C.RECEIVER_DUPLICATE_NAME,
        `createNotifier(): ${path}.name ${JSON.stringify(name)} is the name of an earlier receiver.`,
        'Give each receiver its own name.',
      );
    }
    names.add(name);
    const integrations: ResolvedIntegration[] = [
      ...listAt(f, 'webhook_configs', path).map((c, j) =>
        webhook(c, `${path}.webhook_configs[${j}]`),
      ),
      ...listAt(f, 'slack_configs', path).map((c, j) => slack(c, `${path}.slack_configs[${j}]`)),
      ...listAt(f, 'pagerduty_configs', path).map((c, j) =>
        pagerduty(c, `${path}.pagerduty_configs[${j}]`),
      ),
      ...listAt(f, 'email_configs', path).map((c, j) => email(c, `${path}.email_configs[${j}]`)),
    ];
    const secrets: string[] = [];
    for (const it of integrations) {
      if (it.kind === 'webhook' || it.kind === 'slack') secrets.push(...urlSecrets(it.url));
      else if (it.kind === 'pagerduty') secrets.push(it.routingKey, ...urlSecrets(it.url));
      else if (it.password !== undefined) secrets.push(it.password);
    }
    // Longest first, so a URL is redacted whole before its parts.
    secrets.sort((a, b) => b.length - a.length);
    out.push(Object.freeze({ name, integrations: Object.freeze(integrations), secrets }));
  });
  return Object.freeze(out);
}
