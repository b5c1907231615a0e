// The event schema: field order, bounds, and validation of record()'s input into a fresh, clean copy.
import { isIP } from 'node:net';
import { eventError } from './errors';
import type { AuditOutcome } from './types';

/** The outcomes an event may have. */
export const AUDIT_OUTCOMES: readonly AuditOutcome[] = Object.freeze([
  'success',
  'failure',
  'denied',
  'error',
  'unknown',
]);

/** Event type rule: at least two dotted lower-case segments, `auth.login`, `rate_limit.exceeded`. */
export const AUDIT_TYPE_PATTERN = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/;

/** Bounds enforced by record(). */
export const AUDIT_LIMITS = Object.freeze({
  /** Characters in `type`. */
  typeLength: 64,
  /** UTF-8 bytes in each free-text field (`actor`, `action`, `resource`, `reason`, ids, `service`). */
  stringBytes: 1024,
  /** UTF-8 bytes of `metadata` serialised as JSON. */
  metadataBytes: 8192,
  /** Nesting depth of `metadata` (the object itself is depth 1). */
  metadataDepth: 16,
});

/** Free-text fields, in the order they are written. */
const TEXT_FIELDS = ['actor', 'action', 'resource', 'reason'] as const;
const ID_FIELDS = ['request_id', 'correlation_id'] as const;

/** Every key record() accepts. */
export const INPUT_FIELDS: readonly string[] = Object.freeze([
  'type',
  'outcome',
  ...TEXT_FIELDS,
  'client_ip',
  ...ID_FIELDS,
  'trace_id',
  'span_id',
  'metadata',
]);

const TRACE_ID = /^[0-9a-f]{32}$/;
const SPAN_ID = /^[0-9a-f]{16}$/;
const ZERO_ID = /^0+$/;
const OUTCOMES: ReadonlySet<string> = new Set(AUDIT_OUTCOMES);

/** A validated event body, without `level`, `time`, `service` and the chain fields. */
export type EventBody = Record<string, unknown> & { type: string; outcome: AuditOutcome };

function kind(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') {
    const name = (Object.getPrototypeOf(value) as { constructor?: { name?: string } } | null)
      ?.constructor?.name;
    return name && name !== 'Object' ? `a ${name}` : 'an object';
  }
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  return `a ${typeof value}`;
}

/** A description of a free-text value that never repeats the text. */
function textShape(value: unknown): string {
  if (typeof value !== 'string') return kind(value);
  return value === '' ? 'an empty string' : `a string of ${Buffer.byteLength(value)} bytes`;
}

function checkText(field: string, value: unknown): string {
  if (
    typeof value !== 'string' ||
    value === '' ||
    Buffer.byteLength(value) > AUDIT_LIMITS.stringBytes
  ) {
    throw eventError(
      field,
      `a non-empty string of at most ${AUDIT_LIMITS.stringBytes} UTF-8 bytes`,
      textShape(value),
    );
  }
  return value;
}

/**
 * Checks `input` and returns a fresh object with the fields in schema order and a deep copy of the
 * metadata, so that nothing the caller does later changes what was hashed and written.
 */
export function validateEvent(input: unknown): EventBody {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw eventError('(event)', 'an object with at least type and outcome', kind(input));
  }
  const source = input as Record<string, unknown>;
  for (const key of Object.keys(source)) {
    if (!INPUT_FIELDS.includes(key) && source[key] !== undefined) {
      throw eventError(
        key,
        `absent: the fields an event may set are ${INPUT_FIELDS.join(', ')}`,
        'an unknown field',
      );
    }
  }

  const type = source.type;
  if (
    typeof type !== 'string' ||
    type.length > AUDIT_LIMITS.typeLength ||
    !AUDIT_TYPE_PATTERN.test(type)
  ) {
    throw eventError(
      'type',
      `dotted lower-case words such as "auth.login" (${AUDIT_TYPE_PATTERN.source}), at most ${AUDIT_LIMITS.typeLength} characters`,
      typeof type === 'string' && type.length <= 100 ? JSON.stringify(type) : textShape(type),
    );
  }
  const outcome = source.outcome;
  if (typeof outcome !== 'string' || !OUTCOMES.has(outcome)) {
    throw eventError(
      'outcome',
      `one of ${AUDIT_OUTCOMES.join(', ')}`,
      typeof outcome === 'string' && outcome.length <= 100
        ? JSON.stringify(outcome)
        : kind(outcome),
    );
  }

  const body: EventBody = { type, outcome: outcome as AuditOutcome };
  for (const field of TEXT_FIELDS) {
    if (source[field] !== undefined) body[field] = checkText(field, source[field]);
  }
  const ip = source.client_ip;
  if (ip !== undefined) {
    if (typeof ip !== 'string' || ip.length > 64 || isIP(ip) === 0) {
      throw eventError('client_ip', 'an IPv4 or IPv6 address', textShape(ip));
    }
    body.client_ip = ip;
  }
  for (const field of ID_FIELDS) {
    if (source[field] !== undefined) body[field] = checkText(field, source[field]);
  }
  const traceId = source.trace_id;
  if (traceId !== undefined) {
    if (typeof traceId !== 'string' || !TRACE_ID.test(traceId) || ZERO_ID.test(traceId)) {
      throw eventError('trace_id', '32 lower-case hex digits, not all zero', textShape(traceId));
    }
    body.trace_id = traceId;
  }
  const spanId = source.span_id;
  if (spanId !== undefined) {
    if (typeof spanId !== 'string' || !SPAN_ID.test(spanId) || ZERO_ID.test(spanId)) {
      throw eventError('span_id', '16 lower-case hex digits, not all zero', textShape(spanId));
    }
    body.span_id = spanId;
  }
  if (source.metadata !== undefined) body.metadata = copyMetadata(source.metadata);
  return body;
}

/** Deep-copies metadata, accepting JSON values only, within the depth and size bounds. */
function copyMetadata(value: unknown): Record<string, unknown> {
  if (!isPlainObject(value)) {
    throw eventError('metadata', 'a plain object of JSON values', kind(value));
  }
  // A running lower bound of the serialised size stops a huge object before it is all copied.
  const budget = { bytes: 0 };
  const copy = copyValue(value, 'metadata', 1, new Set(), budget) as Record<string, unknown>;
  const bytes = Buffer.byteLength(JSON.stringify(copy));
  if (bytes > AUDIT_LIMITS.metadataBytes) {
    throw eventError(
      'metadata',
      `at most ${AUDIT_LIMITS.metadataBytes} bytes once serialised as JSON`,
      `${bytes} bytes`,
    );
  }
  return copy;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

function tooBig(budget: { bytes: number }, path: string): void {
  if (budget.bytes > AUDIT_LIMITS.metadataBytes) {
    throw eventError(
      'metadata',
      `at most ${AUDIT_LIMITS.metadataBytes} bytes once serialised as JSON`,
      `more than that (stopped at ${path})`,
    );
  }
}

function copyValue(
  value: unknown,
  path: string,
  depth: number,
  ancestors: Set<object>,
  budget: { bytes: number },
): unknown {
  switch (typeof value) {
    case 'string':
      budget.bytes += value.length + 2;
      tooBig(budget, path);
      return value;
    case 'boolean':
      budget.bytes += 4;
      return value;
    case 'number':
      if (!Number.isFinite(value)) {
        throw eventError(path, 'a JSON value (a finite number)', String(value));
      }
      budget.bytes += 1;
      // JSON has no negative zero: the line will say 0, so the returned event says 0 too.
      return Object.is(value, -0) ? 0 : value;
    case 'object':
      break;
    default:
      throw eventError(path, 'a JSON value', kind(value));
  }
  if (value === null) {
    budget.bytes += 4;
    return null;
  }
  if (ancestors.has(value)) throw eventError(path, 'a JSON value', 'a circular reference');
  if (depth > AUDIT_LIMITS.metadataDepth) {
    throw eventError(path, `nested at most ${AUDIT_LIMITS.metadataDepth} levels deep`, 'deeper');
  }
  ancestors.add(value);
  try {
    if (Array.isArray(value)) {
      const out: unknown[] = [];
      for (let i = 0; i < value.length; i++) {
        if (!(i in value))
          throw eventError(`${path}[${i}]`, 'a JSON value', 'a hole in a sparse array');
        budget.bytes += 1;
        out.push(
          copyValue(readProperty(value, i, path), `${path}[${i}]`, depth + 1, ancestors, budget),
        );
      }
      return out;
    }
    if (!isPlainObject(value)) {
      throw eventError(
        path,
        'a JSON value (plain objects only; convert dates with toISOString())',
        kind(value),
      );
    }
    if (Object.getOwnPropertySymbols(value).length > 0) {
      throw eventError(path, 'an object with string keys only', 'an object with symbol keys');
    }
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value)) {
      const child = `${path}.${key}`;
      if (key === '__proto__') throw eventError(child, 'absent (a reserved key)', 'a value');
      const item = readProperty(value, key, path);
      // JSON.stringify leaves out undefined properties; so does the copy, so hash and line agree.
      if (item === undefined) continue;
      budget.bytes += key.length + 4;
      tooBig(budget, child);
      out[key] = copyValue(item, child, depth + 1, ancestors, budget);
    }
    return out;
  } finally {
    ancestors.delete(value);
  }
}

function readProperty(target: object, key: string | number, path: string): unknown {
  try {
    return (target as Record<string | number, unknown>)[key];
  } catch {
    throw eventError(`${path}.${key}`, 'a readable value', 'a getter that throws');
  }
}
