// The documented hashing rule, re-implemented independently of the package, and line surgery helpers.
import { createHash } from 'node:crypto';

/** Canonical JSON as the README defines it: keys sorted by UTF-16 code units, no whitespace. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const keys = Object.keys(value).sort();
    return `{${keys
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

/** hex(sha256(prev_hash + canonical(line without hash))) */
export function expectedHash(line: Record<string, unknown>): string {
  const rest = { ...line };
  delete rest.hash;
  return createHash('sha256')
    .update(`${String(rest.prev_hash)}${canonicalJson(rest)}`, 'utf8')
    .digest('hex');
}

/** Parses a line, applies `change`, and recomputes its hash as a tamperer who knows the rule would. */
export function rehash(
  line: string,
  change: (event: Record<string, unknown>) => void = () => {},
): string {
  const event = JSON.parse(line) as Record<string, unknown>;
  change(event);
  event.hash = expectedHash(event);
  return JSON.stringify(event);
}

/** Applies `change` without fixing the hash. */
export function edit(line: string, change: (event: Record<string, unknown>) => void): string {
  const event = JSON.parse(line) as Record<string, unknown>;
  change(event);
  return JSON.stringify(event);
}
