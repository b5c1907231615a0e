// Redaction before hashing: secret metadata keys at any depth, secret query parameters in `resource`,
// and the app's own paths in pino's `redact` shape (compiled once with @pinojs/redact).
import redactFactory from '@pinojs/redact';
import { REDACTED, type OptionContext, optionError, redactUrlQuery } from '@vigil/core';

// REDACTED, the value that replaces a redacted value unless `redact.censor` says otherwise, and the
// secret query parameters are @vigil/core's, shared with the request logger.
export { REDACTED, DEFAULT_REDACTED_QUERY_PARAMS } from '@vigil/core';

/**
 * Metadata keys whose values are always redacted, at any depth: compared case-insensitively with `-`
 * read as `_`, so `Authorization`, `x-api-key` and `X_API_KEY` all match. Any key ending in
 * `password`, `passwd`, `secret`, `token` or `api_key` / `apikey` (`resetToken`, `db_password`) is
 * redacted too.
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
const SECRET_KEYS: ReadonlySet<string> = new Set(DEFAULT_REDACTED_KEYS);
const SECRET_KEY_SUFFIXES = ['password', 'passwd', 'secret', 'token', 'api_key', 'apikey'];

/** True for a metadata key DEFAULT_REDACTED_KEYS or the suffix rule covers. */
export function isSecretKey(key: string): boolean {
  const k = key.toLowerCase().replace(/-/g, '_');
  return SECRET_KEYS.has(k) || SECRET_KEY_SUFFIXES.some((s) => k.endsWith(s));
}

// Top-level fields a redaction path may not touch: the schema and the chain depend on them.
const PROTECTED = new Set([
  'level',
  'time',
  'type',
  'outcome',
  'chain',
  'seq',
  'prev_hash',
  'hash',
]);

/** Redacts an event body (a fresh object the caller owns), returning the redacted object. */
export type Redactor = (body: Record<string, unknown>) => Record<string, unknown>;

function firstSegment(path: string): string {
  const m = /^\[\s*(["'])(.*?)\1\s*\]/.exec(path);
  if (m) return m[2] as string;
  return path.split(/[.[]/, 1)[0] as string;
}

/** Compiles the defaults and the `redact` option into one redactor. */
export function createRedactor(ctx: OptionContext, option: unknown): Redactor {
  let extra: readonly unknown[] = [];
  let censor: unknown = REDACTED;
  let remove = false;
  if (Array.isArray(option)) {
    extra = option;
  } else if (option !== undefined) {
    if (
      option === null ||
      typeof option !== 'object' ||
      !Array.isArray((option as { paths?: unknown }).paths)
    ) {
      throw optionError(
        ctx,
        'INVALID_REDACT',
        'redact',
        "an array of paths or { paths, censor?, remove? } (pino's redact shape)",
        option,
      );
    }
    const o = option as { paths: unknown[]; censor?: unknown; remove?: unknown } & Record<
      string,
      unknown
    >;
    for (const key of Object.keys(o)) {
      if (!['paths', 'censor', 'remove'].includes(key)) {
        throw optionError(
          ctx,
          'INVALID_REDACT',
          `redact.${key}`,
          'absent (known keys: paths, censor, remove)',
          key,
        );
      }
    }
    extra = o.paths;
    if (o.censor !== undefined) {
      if (typeof o.censor !== 'string' && typeof o.censor !== 'function') {
        throw optionError(
          ctx,
          'INVALID_REDACT',
          'redact.censor',
          'a string or a function',
          o.censor,
        );
      }
      censor = o.censor;
    }
    if (o.remove !== undefined) {
      if (typeof o.remove !== 'boolean') {
        throw optionError(ctx, 'INVALID_REDACT', 'redact.remove', 'a boolean', o.remove);
      }
      remove = o.remove;
    }
  }
  for (const path of extra) {
    if (typeof path !== 'string' || path === '') {
      throw optionError(ctx, 'INVALID_REDACT', 'redact.paths', 'non-empty strings', path);
    }
    const first = firstSegment(path);
    if (PROTECTED.has(first) || path === '*') {
      throw optionError(
        ctx,
        'INVALID_REDACT',
        'redact.paths',
        `paths that leave ${[...PROTECTED].join(', ')} alone`,
        path,
        'Redact metadata or free-text fields (actor, resource, ...) instead.',
      );
    }
  }
  // The default keys are redacted by a walk of metadata (a fresh copy record() made); @pinojs/redact
  // runs only for the app's own paths, as its cost grows with the number of paths.
  let redactPaths: ((obj: object) => unknown) | undefined;
  if (extra.length > 0) {
    try {
      redactPaths = redactFactory({
        paths: [...new Set(extra as string[])],
        censor: censor as string | ((v: unknown) => unknown),
        remove,
        serialize: false,
        strict: false,
      });
    } catch (err) {
      throw optionError(
        ctx,
        'INVALID_REDACT',
        'redact.paths',
        'paths in pino\'s redact syntax (a.b, a["x-y"], a.*.b)',
        extra,
        err instanceof Error ? err.message : undefined,
      );
    }
  }
  const queryCensor = typeof censor === 'string' ? censor : REDACTED;
  return (body) => {
    if (typeof body.resource === 'string')
      body.resource = redactUrlQuery(body.resource, undefined, queryCensor);
    if (body.metadata !== undefined) redactKeys(body.metadata, ['metadata'], censor, remove);
    if (redactPaths === undefined) return body;
    const out = redactPaths(body) as Record<string, unknown>;
    // With serialize: false, @pinojs/redact adds an enumerable restore() to its result.
    delete out.restore;
    return out;
  };
}

/** Redacts secret keys in place, at any depth. */
function redactKeys(value: unknown, path: string[], censor: unknown, remove: boolean): void {
  if (value === null || typeof value !== 'object') return;
  if (Array.isArray(value)) {
    value.forEach((item, i) => redactKeys(item, [...path, String(i)], censor, remove));
    return;
  }
  const obj = value as Record<string, unknown>;
  for (const key of Object.keys(obj)) {
    if (isSecretKey(key)) {
      if (remove) delete obj[key];
      else {
        obj[key] =
          typeof censor === 'function'
            ? (censor as (v: unknown, p: string[]) => unknown)(obj[key], [...path, key])
            : censor;
      }
    } else {
      redactKeys(obj[key], [...path, key], censor, remove);
    }
  }
}
