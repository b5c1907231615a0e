// Secret query parameters (`?token=...`): which names count, and replacing their values in a URL.
// Shared by the request logger and the audit trail, so both redact the same parameters.

/** The value that replaces a redacted value. */
export const REDACTED = '[REDACTED]';

/**
 * Query parameters whose values are replaced by `[REDACTED]`. Names compare case-insensitively, `-`
 * as `_`, after percent-decoding, and also match inside brackets and dots (`user[password]`,
 * `auth.token`); any name ending in `token`, `secret`, `password` or `signature` (`refreshToken`,
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

const SECRET_SUFFIXES = ['token', 'secret', 'password', 'signature'];

function normalizeName(name: string): string {
  return name.trim().toLowerCase().replace(/-/g, '_');
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
    if (names.has(n)) return true;
    for (const suffix of SECRET_SUFFIXES) if (n.endsWith(suffix)) return true;
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
