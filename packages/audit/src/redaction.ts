// Redaction before hashing: secret metadata keys at any depth, secret query parameters in `resource`,
// and the app's own paths in pino's `redact` shape (compiled once with @pinojs/redact).
import redactFactory from '@pinojs/redact';
import {
  REDACTED,
  type OptionContext,
  isSecretKey,
  optionError,
  redactUrlQuery,
} from '@vigil/core';

// REDACTED (the value that replaces a redacted value unless `redact.censor` says otherwise), the secret
// metadata keys and the secret query parameters are @vigil/core's secret policy, shared with the
// request logger.
export {
  REDACTED,
  DEFAULT_REDACTED_KEYS,
  DEFAULT_REDACTED_QUERY_PARAMS,
  isSecretKey,
} from '@vigil/core';

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
