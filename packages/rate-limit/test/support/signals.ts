// What the limiter emits, captured for assertions: audit events, logger warnings, counter values.
import { createHash } from 'node:crypto';
import { Writable } from 'node:stream';
import type { Registry } from 'prom-client';
import { type AuditSink, METRIC_NAME } from '@vigil/rate-limit';

export type AuditEvent = Parameters<AuditSink['record']>[0];

/** An audit sink keeping every event it is given. */
export class AuditCapture implements AuditSink {
  readonly events: AuditEvent[] = [];

  record(event: AuditEvent): void {
    this.events.push(event);
  }

  ofType(type: string): AuditEvent[] {
    return this.events.filter((e) => e.type === type);
  }

  /** Events of `type` for `policy` (exceeded events name it in metadata, store events in resource). */
  forPolicy(type: string, policy: string): AuditEvent[] {
    return this.ofType(type).filter((e) => e.resource === policy || e.metadata?.policy === policy);
  }
}

export interface Warning {
  obj: Record<string, unknown>;
  msg: string | undefined;
}

/** A logger with warn(obj, msg) keeping what it is given. */
export class LoggerCapture {
  readonly warnings: Warning[] = [];

  warn(obj: object, msg?: string): void {
    this.warnings.push({ obj: obj as Record<string, unknown>, msg });
  }

  /** The `problem` keys reported, in order. */
  get problems(): string[] {
    return this.warnings.map((w) => String(w.obj.problem));
  }
}

/** A destination stream for pino that parses each JSON line it writes. */
export function jsonLines(): { stream: Writable; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line.trim() !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
      }
      callback();
    },
  });
  return { stream, lines };
}

export interface DecisionCounts {
  allowed: number;
  limited: number;
  store_error: number;
}

/** `rate_limit_requests_total{policy}` by result, read from the registry. */
export async function decisionCounts(registry: Registry, policy: string): Promise<DecisionCounts> {
  const counts: DecisionCounts = { allowed: 0, limited: 0, store_error: 0 };
  const metric = registry.getSingleMetric(METRIC_NAME);
  if (metric === undefined) return counts;
  const { values } = await metric.get();
  for (const v of values) {
    if (v.labels.policy !== policy) continue;
    const result = v.labels.result as keyof DecisionCounts;
    counts[result] += v.value;
  }
  return counts;
}

/** express-rate-limit's draft-8 partition key of a rate-limit key: which bucket a response is in. */
export function partitionKey(key: string): string {
  const hex = createHash('sha256').update(key).digest('hex').slice(0, 12);
  return Buffer.from(hex).toString('base64');
}

/** The `pk` of the RateLimit-Policy entry of `policy` in a header value, or undefined. */
export function partitionOf(policyHeader: string | undefined, policy: string): string | undefined {
  if (policyHeader === undefined) return undefined;
  const re = new RegExp(`"${policy}"; q=\\d+; w=\\d+; pk=:([^:]*):`);
  return re.exec(policyHeader)?.[1];
}

/** The `r` of the RateLimit entry of `policy` in a header value, or undefined. */
export function remainingOf(limitHeader: string | undefined, policy: string): number | undefined {
  if (limitHeader === undefined) return undefined;
  const m = new RegExp(`"${policy}"; r=(\\d+); t=\\d+`).exec(limitHeader);
  return m === null ? undefined : Number(m[1]);
}

/** The Vigil key of an API key: `key:` and the first 32 hex digits of its SHA-256. */
export function apiKeyBucket(raw: string): string {
  return `key:${createHash('sha256').update(raw).digest('hex').slice(0, 32)}`;
}

/** A fixed-width text table for the figures the suites print. */
export function formatTable(rows: readonly object[]): string {
  if (rows.length === 0) return '(no rows)';
  const columns = Object.keys(rows[0] as object);
  const cell = (row: object, c: string) =>
    String((row as Record<string, string | number | boolean | undefined>)[c] ?? '');
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => cell(r, c).length)));
  const line = (values: string[]) =>
    values
      .map((v, i) => v.padEnd(widths[i] as number))
      .join('  ')
      .trimEnd();
  return [
    line(columns),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.map((r) => line(columns.map((c) => cell(r, c)))),
  ].join('\n');
}
