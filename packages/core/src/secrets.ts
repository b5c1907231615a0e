// The one secret policy of every Vigil package: which request and response headers, query parameters
// (`?token=...`) and metadata keys hold secrets, and replacing secret values in a URL. The request
// logger, the audit trail and any later package redact by these rules, so they redact the same things.

/** The value that replaces a redacted value. */
export const REDACTED = '[REDACTED]';

/**
 * Query parameters whose values are replaced by `[REDACTED]`. Names compare case-insensitively, `-`
 * as `_`, after percent-decoding, and also match inside brackets and dots (`user[password]`,
 * `auth.token`); any name with a secret suffix (SECRET_SUFFIXES: `refreshToken`,
 * `client_secret`) is redacted too.
 */
export const DEFAULT_REDACTED_QUERY_PARAMS: readonly string[] = Object.freeze([
  'token',
  'access_token',
  'refresh_token',
  'id_token',
  'api_key',
  'apikey',
  'key',
  'secret',
  'client_secret',
  'password',
  'passwd',
  'code',
  'signature',
  'sig',
  'x_amz_credential',
  'x_amz_security_token',
  'x_amz_signature',
]);

/**
 * Metadata keys (audit events) whose values are always redacted, at any depth: compared
 * case-insensitively with `-` read as `_`, so `Authorization`, `x-api-key` and `X_API_KEY` all match.
 * Any key with a secret suffix (SECRET_SUFFIXES: `resetToken`, `db_password`) is redacted too.
 */
export const DEFAULT_REDACTED_KEYS: readonly string[] = Object.freeze([
  'password',
  'passwd',
  'secret',
  'client_secret',
  'token',
  'access_token',
  'refresh_token',
  'id_token',
  'session_token',
  'api_key',
  'apikey',
  'private_key',
  'credentials',
  'authorization',
  'proxy_authorization',
  'cookie',
  'set_cookie',
  'x_api_key',
  'x_auth_token',
  'x_access_token',
  'x_csrf_token',
  'x_xsrf_token',
  'x_amz_security_token',
  'x_goog_api_key',
]);

/**
 * Request headers that carry credentials, API keys or session cookies. Any header whose name ends in a
 * secret suffix (`x-session-token`, `x-client-secret`) counts too (see isSecretHeader).
 */
export const SECRET_REQUEST_HEADERS: readonly string[] = Object.freeze([
  'authorization',
  'proxy-authorization',
  'cookie',
  'x-api-key',
  'api-key',
  'x-auth-token',
  'x-access-token',
  'x-csrf-token',
  'x-xsrf-token',
  'x-amz-security-token',
  'x-goog-api-key',
]);

/** Response headers that carry secrets: the cookies a response sets. */
export const SECRET_RESPONSE_HEADERS: readonly string[] = Object.freeze(['set-cookie']);

/** A name (header, parameter or key) ending in one of these, after normalisation, is secret. */
export const SECRET_SUFFIXES: readonly string[] = Object.freeze([
  'password',
  'passwd',
  'secret',
  'token',
  'signature',
  'api_key',
  'apikey',
]);

function normalizeName(name: string): string {
  return name.trim().toLowerCase().replace(/-/g, '_');
}

function hasSecretSuffix(normalized: string): boolean {
  for (const suffix of SECRET_SUFFIXES) if (normalized.endsWith(suffix)) return true;
  return false;
}

const SECRET_KEYS: ReadonlySet<string> = new Set(DEFAULT_REDACTED_KEYS);

/** True for a metadata key DEFAULT_REDACTED_KEYS or the suffix rule covers. */
export function isSecretKey(key: string): boolean {
  const k = normalizeName(key);
  return SECRET_KEYS.has(k) || hasSecretSuffix(k);
}

const SECRET_HEADERS: ReadonlySet<string> = new Set(SECRET_REQUEST_HEADERS);
// Header names repeat from request to request: each is judged once. Bounded, so a client sending
// random header names cannot grow it.
const headerVerdicts = new Map<string, boolean>();
const MAX_HEADER_VERDICTS = 1024;

/** True for a request header SECRET_REQUEST_HEADERS or the suffix rule covers (any case). */
export function isSecretHeader(name: string): boolean {
  const known = headerVerdicts.get(name);
  if (known !== undefined) return known;
  const lower = name.toLowerCase();
  const secret = SECRET_HEADERS.has(lower) || hasSecretSuffix(normalizeName(lower));
  if (headerVerdicts.size < MAX_HEADER_VERDICTS) headerVerdicts.set(name, secret);
  return secret;
}

/** The set redactUrlQuery() compares names with: the defaults plus `extra`. */
export function secretQueryNames(extra: readonly string[] = []): ReadonlySet<string> {
  return new Set([...DEFAULT_REDACTED_QUERY_PARAMS, ...extra].map(normalizeName));
}

const DEFAULT_NAMES = secretQueryNames();

function isSecretName(raw: string, names: ReadonlySet<string>): boolean {
  let name = raw.replace(/\+/g, ' ');
  try {
    name = decodeURIComponent(name);
  } catch {
    // A malformed escape: compare the name as sent.
  }
  // `user[password]`, `auth.token`: every segment counts.
  for (const segment of name.split(/[[\].]/)) {
    const n = normalizeName(segment);
    if (n === '') continue;
    if (names.has(n) || hasSecretSuffix(n)) return true;
  }
  return false;
}

/**
 * `url` with the values of secret query parameters replaced by `censor`. `&` and `;` both separate
 * parameters; a `#fragment` is kept as is. Anything without a query comes back unchanged.
 */
export function redactUrlQuery(
  url: string,
  names: ReadonlySet<string> = DEFAULT_NAMES,
  censor: string = REDACTED,
): string {
  const q = url.indexOf('?');
  if (q === -1 || q === url.length - 1) return url;
  const hash = url.indexOf('#', q);
  const end = hash === -1 ? url.length : hash;
  const parts = url.slice(q + 1, end).split(/([&;])/);
  let changed = false;
  for (let i = 0; i < parts.length; i += 2) {
    const part = parts[i] as string;
    const eq = part.indexOf('=');
    if (eq <= 0 || eq === part.length - 1) continue;
    if (isSecretName(part.slice(0, eq), names)) {
      parts[i] = `${part.slice(0, eq + 1)}${censor}`;
      changed = true;
    }
  }
  return changed ? `${url.slice(0, q + 1)}${parts.join('')}${url.slice(end)}` : url;
}
