// W3C Trace Context Level 2 `tracestate`: the header parsed exactly as the spec's grammar and limits
// say, and the TraceState that carries it through OpenTelemetry spans.
//
// OpenTelemetry's own parser drops invalid members one by one and truncates at 512 characters; Level
// 2 says a header that breaks a rule is invalid as a whole, so Vigil parses it itself.
import type { TraceState } from '@opentelemetry/api';

/** At most this many list members; a 33rd makes the header invalid (§3.3.1.1). */
export const MAX_TRACESTATE_MEMBERS = 32;

/**
 * Longest tracestate Vigil propagates, in characters, commas included. The spec asks for at least
 * 512 (§3.3.1.5); 32 members of the largest size would make 16 KiB, more than many proxies accept in
 * one header. Beyond it, whole entries are removed: first those longer than 128 characters, then from
 * the end, as §3.3.1.5 recommends.
 */
export const MAX_TRACESTATE_LENGTH = 4096;

const LARGE_ENTRY = 128;

// §3.3.1.3.1: key = simple-key / multi-tenant-key.
//   simple-key       = lcalpha 0*255( lcalpha / DIGIT / "_" / "-" / "*" / "/" )
//   multi-tenant-key = tenant-id "@" system-id
//   tenant-id        = ( lcalpha / DIGIT ) 0*240( lcalpha / DIGIT / "_" / "-" / "*" / "/" )
//   system-id        = lcalpha 0*13( lcalpha / DIGIT / "_" / "-" / "*" / "/" )
const KEY = /^(?:[a-z][a-z0-9_\-*/]{0,255}|[a-z0-9][a-z0-9_\-*/]{0,240}@[a-z][a-z0-9_\-*/]{0,13})$/;
// §3.3.1.3.2: value = 0*255(chr) nblk-chr; chr = %x20 / nblk-chr;
//   nblk-chr = %x21-2B / %x2D-3C / %x3E-7E (printable ASCII but "," and "=").
const VALUE = /^[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]$/;
// Optional whitespace around list members is space and horizontal tab only (RFC 7230 OWS).
const OWS_EDGES = /^[ \t]+|[ \t]+$/g;

/** True for a tracestate key of the Level 2 grammar. */
export function isTracestateKey(key: string): boolean {
  return KEY.test(key);
}

/** True for a tracestate value of the Level 2 grammar. */
export function isTracestateValue(value: string): boolean {
  return VALUE.test(value);
}

/**
 * Parses the tracestate header lines of a request (a string, repeated lines joined with ","; or an
 * array of lines), combined in order. Returns the members in order, or undefined when there is no
 * member or the header breaks a rule: a member that is not `key=value` with a valid key and value, a
 * key given twice, more than 32 members. Empty and whitespace-only members are allowed and skipped.
 */
export function parseTracestate(
  lines: string | readonly string[] | undefined,
): [key: string, value: string][] | undefined {
  if (lines === undefined) return undefined;
  const combined = typeof lines === 'string' ? lines : lines.join(',');
  const members: [string, string][] = [];
  const keys = new Set<string>();
  for (const part of combined.split(',')) {
    const member = part.replace(OWS_EDGES, '');
    if (member === '') continue;
    const eq = member.indexOf('=');
    if (eq <= 0) return undefined;
    const key = member.slice(0, eq);
    const value = member.slice(eq + 1);
    if (!KEY.test(key) || !VALUE.test(value) || keys.has(key)) return undefined;
    keys.add(key);
    members.push([key, value]);
    if (members.length > MAX_TRACESTATE_MEMBERS) return undefined;
  }
  return members.length === 0 ? undefined : truncate(members);
}

function serializedLength(members: readonly [string, string][]): number {
  let n = members.length - 1;
  for (const [k, v] of members) n += k.length + 1 + v.length;
  return n;
}

/** Whole entries removed past MAX_TRACESTATE_LENGTH: large ones from the end first, then from the end. */
function truncate(members: [string, string][]): [string, string][] {
  let length = serializedLength(members);
  if (length <= MAX_TRACESTATE_LENGTH) return members;
  const out = [...members];
  for (let i = out.length - 1; i >= 0 && length > MAX_TRACESTATE_LENGTH; i--) {
    const [k, v] = out[i]!;
    const size = k.length + 1 + v.length;
    if (size > LARGE_ENTRY) {
      out.splice(i, 1);
      length -= size + 1;
    }
  }
  while (out.length > 0 && length > MAX_TRACESTATE_LENGTH) {
    const [k, v] = out.pop()!;
    length -= k.length + 2 + v.length;
  }
  return out;
}

/**
 * A tracestate as OpenTelemetry spans carry it: immutable, in order, serialised as received. `set`
 * moves (or adds) a key to the left, as §3.5 asks of a vendor updating its entry; at 32 members the
 * right-most is removed to make room.
 */
export class VigilTraceState implements TraceState {
  constructor(private readonly members: readonly (readonly [string, string])[]) {}

  set(key: string, value: string): TraceState {
    if (!KEY.test(key) || !VALUE.test(value)) return this;
    const rest = this.members.filter(([k]) => k !== key);
    if (rest.length >= MAX_TRACESTATE_MEMBERS) rest.length = MAX_TRACESTATE_MEMBERS - 1;
    return new VigilTraceState([[key, value], ...rest]);
  }

  unset(key: string): TraceState {
    const rest = this.members.filter(([k]) => k !== key);
    return rest.length === this.members.length ? this : new VigilTraceState(rest);
  }

  get(key: string): string | undefined {
    for (const [k, v] of this.members) if (k === key) return v;
    return undefined;
  }

  serialize(): string {
    return this.members.map(([k, v]) => `${k}=${v}`).join(',');
  }
}
