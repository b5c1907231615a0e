// Reference rules for W3C Trace Context, W3C Baggage and request ids, written from the specs (not from
// OpenTelemetry's code) so the tests check Vigil against the standard; plus a seeded PRNG for fuzzing.

/** A traceparent as the W3C Trace Context spec parses it. */
export interface Traceparent {
  version: string;
  traceId: string;
  parentId: string;
  flags: string;
}

const LOWER_HEX = /^[0-9a-f]+$/;

/**
 * Parses a traceparent value as received by a Node server (repeated headers already joined with
 * ", "), following Trace Context §3.2 and its versioning rules: HTTP optional whitespace (SP / HTAB)
 * around the value is ignored, nothing else is; version `ff` is invalid; version `00` is exactly 55
 * characters; a future version may carry more fields after a `-`, and only the first four are read.
 */
export function parseTraceparent(value: string | undefined): Traceparent | undefined {
  if (value === undefined) return undefined;
  const v = value.replace(/^[ \t]+|[ \t]+$/g, '');
  if (v.length < 55) return undefined;
  if (v[2] !== '-' || v[35] !== '-' || v[52] !== '-') return undefined;
  const version = v.slice(0, 2);
  const traceId = v.slice(3, 35);
  const parentId = v.slice(36, 52);
  const flags = v.slice(53, 55);
  for (const part of [version, traceId, parentId, flags])
    if (!LOWER_HEX.test(part)) return undefined;
  if (version === 'ff') return undefined;
  if (version === '00' && v.length !== 55) return undefined;
  if (v.length > 55 && v[55] !== '-') return undefined;
  if (/^0+$/.test(traceId) || /^0+$/.test(parentId)) return undefined;
  return { version, traceId, parentId, flags };
}

/** A valid lower-case hex id of `bytes` bytes, never all zeros. */
export function hexId(random: () => number, bytes: number): string {
  let s = '';
  for (let i = 0; i < bytes * 2; i++) s += Math.floor(random() * 16).toString(16);
  return /^0+$/.test(s) ? `1${s.slice(1)}` : s;
}

// Trace Context §3.3.1.3: simple keys, or tenant@system multi-tenant keys; values of printable ASCII
// without `,` and `=`, at most 256 characters, not ending in a space.
const TS_SIMPLE_KEY = /^[a-z][a-z0-9_\-*/]{0,255}$/;
const TS_TENANT_KEY = /^[a-z0-9][a-z0-9_\-*/]{0,240}@[a-z][a-z0-9_\-*/]{0,13}$/;
const TS_VALUE = /^[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]$/;

/** Whether `member` (already trimmed) is a valid tracestate list member. */
export function isValidTracestateMember(member: string): boolean {
  const eq = member.indexOf('=');
  if (eq <= 0) return false;
  const key = member.slice(0, eq);
  const value = member.slice(eq + 1);
  return (TS_SIMPLE_KEY.test(key) || TS_TENANT_KEY.test(key)) && TS_VALUE.test(value);
}

/**
 * A tracestate as Level 2 reads it (§3.3.1): the members in order, or `invalid` when any member is not
 * a valid `key=value`, a key repeats, or there are more than 32 members — then the whole header is
 * dropped. Empty and whitespace-only members are allowed. Undefined when there is no member at all.
 */
export function tracestateLevel2(value: string | undefined): string[] | 'invalid' | undefined {
  const members = tracestateMembers(value);
  if (members.length === 0) return undefined;
  if (members.length > 32) return 'invalid';
  const keys = new Set<string>();
  for (const m of members) {
    if (!isValidTracestateMember(m)) return 'invalid';
    const key = m.slice(0, m.indexOf('='));
    if (keys.has(key)) return 'invalid';
    keys.add(key);
  }
  return members;
}

/** The list members of a tracestate value: split on `,`, trimmed of OWS, empty members skipped. */
export function tracestateMembers(value: string | undefined): string[] {
  if (value === undefined) return [];
  return value
    .split(',')
    .map((m) => m.replace(/^[ \t]+|[ \t]+$/g, ''))
    .filter((m) => m.length > 0);
}

/** One baggage list member as sent on the wire. */
export interface BaggageMember {
  /** The member as it appears in the header, trimmed. */
  raw: string;
  rawKey: string;
  rawValue: string;
  /** Everything after the first `;`, untouched. */
  properties: string | undefined;
  /** Percent-decoded key and value, or undefined when either does not decode. */
  key: string | undefined;
  value: string | undefined;
}

function decode(s: string): string | undefined {
  try {
    return decodeURIComponent(s);
  } catch {
    return undefined;
  }
}

/** The list members of a baggage value (W3C Baggage §3.3): `key=value;properties`, OWS trimmed. */
export function baggageMembers(value: string | undefined): BaggageMember[] {
  if (value === undefined) return [];
  const out: BaggageMember[] = [];
  for (const part of value.split(',')) {
    const raw = part.replace(/^[ \t]+|[ \t]+$/g, '');
    if (raw === '') continue;
    const semi = raw.indexOf(';');
    const pair = semi === -1 ? raw : raw.slice(0, semi);
    const eq = pair.indexOf('=');
    const rawKey = (eq === -1 ? pair : pair.slice(0, eq)).trim();
    const rawValue = eq === -1 ? '' : pair.slice(eq + 1).trim();
    out.push({
      raw,
      rawKey,
      rawValue,
      properties: semi === -1 ? undefined : raw.slice(semi + 1),
      key: eq === -1 ? undefined : decode(rawKey),
      value: eq === -1 ? undefined : decode(rawValue),
    });
  }
  return out;
}

/** Every decoded `key=value` pair a baggage header carries whole (what a receiver may keep). */
export function decodablePairs(value: string | undefined): Set<string> {
  const pairs = new Set<string>();
  for (const m of baggageMembers(value)) {
    if (m.key !== undefined && m.value !== undefined) pairs.add(`${m.key}\u0000${m.value}`);
  }
  return pairs;
}

/**
 * Problems with a baggage header a service sends downstream: characters outside a header line,
 * members whose key or value is not in its canonical percent-encoded form (a decoded value copied
 * raw), or members that do not decode.
 */
export function outgoingBaggageProblems(value: string): string[] {
  const problems: string[] = [];
  if (/[\r\n\0]/.test(value)) problems.push('raw CR, LF or NUL in the header');
  if (!isHeaderLegal(value)) problems.push('characters a header line cannot carry');
  for (const m of baggageMembers(value)) {
    if (m.key === undefined || m.value === undefined) {
      problems.push(`member does not decode: ${JSON.stringify(m.raw).slice(0, 80)}`);
      continue;
    }
    if (encodeURIComponent(m.key) !== m.rawKey || encodeURIComponent(m.value) !== m.rawValue) {
      problems.push(`member not re-encoded: ${JSON.stringify(m.raw).slice(0, 80)}`);
    }
  }
  return problems;
}

/** Characters Node accepts in a header value (its checkInvalidHeaderChar): HTAB, SP-~, 0x80-0xFF. */
export function isHeaderLegal(value: string): boolean {
  return /^[\t\x20-\x7e\x80-\xff]*$/.test(value);
}

// RELIABILITY.md: ids accepted from callers only when short and of a safe alphabet.
const SAFE_ID = /^[A-Za-z0-9._:-]{1,128}$/;
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** Whether a request-id value, as the server's Node parser hands it over, should be kept. */
export function isSafeId(value: string | undefined): value is string {
  return value !== undefined && SAFE_ID.test(value);
}

/** mulberry32: small, fast, seeded; good enough to pick fuzz cases reproducibly. */
export { seededRandom as prng } from '@vigil/test-utils';
