// Every decision observable: rate_limit_requests_total{policy, result}, and audit events for the first
// excess of a key in a window and for store failures and recoveries.
import { isIP } from 'node:net';
import {
  type ProblemReporter,
  type RegistryLike,
  type RequestRecord,
  type SharedCounter,
  FastCounter,
  codedError,
  createProblemReporter,
  getActiveTraceContext,
  sharedCounter,
} from '@vigil/core';
import { RATE_LIMIT_ERROR_CODES, context } from './errors';
import { ipKey } from './keys';
import type { ParsedOptions, Policy } from './options';
import type { AuditSink, LimitInfo } from './types';
import { type StoreEvents, messageOf } from './store';

export const METRIC_NAME = 'rate_limit_requests_total';
export type Result = 'allowed' | 'limited' | 'store_error';

/** Most keys remembered per policy for "audited once per window"; expired ones are swept first. */
export const MAX_AUDITED_KEYS = 10_000;

interface PolicyCounters {
  allowed: { inc(): void };
  limited: { inc(): void };
  store_error: { inc(): void };
}

const noop = { inc() {} };

export class Decisions implements StoreEvents {
  readonly problems: ProblemReporter;
  private readonly counters: PolicyCounters[];
  private readonly audit: AuditSink | undefined;
  private readonly audited: Map<string, number>[];

  constructor(
    private readonly opts: ParsedOptions,
    factory: string,
  ) {
    this.problems = createProblemReporter(`@vigil/rate-limit ${factory}`, opts.logger);
    this.audit = opts.audit;
    const counter = opts.registry === false ? undefined : rateLimitCounter(opts.registry, factory);
    this.counters = opts.policies.map((p) =>
      counter === undefined
        ? { allowed: noop, limited: noop, store_error: noop }
        : {
            allowed: counter.cell({ policy: p.name, result: 'allowed' }),
            limited: counter.cell({ policy: p.name, result: 'limited' }),
            store_error: counter.cell({ policy: p.name, result: 'store_error' }),
          },
    );
    this.audited = opts.policies.map(() => new Map<string, number>());
  }

  count(index: number, result: Result): void {
    (this.counters[index] as PolicyCounters)[result].inc();
  }

  /** A request over the limit: counted, and audited the first time its key exceeds in this window. */
  limited(
    index: number,
    key: string,
    info: LimitInfo,
    clientIp: string | undefined,
    path: string,
    record: RequestRecord | undefined,
  ): void {
    this.count(index, 'limited');
    if (this.audit === undefined) return;
    const seen = this.audited[index] as Map<string, number>;
    const now = Date.now();
    const until = seen.get(key);
    if (until !== undefined && until > now) return;
    remember(
      seen,
      key,
      info.resetTime?.getTime() ?? now + (this.opts.policies[index] as Policy).windowMs,
      now,
    );
    this.record(
      {
        type: 'rate_limit.exceeded',
        outcome: 'denied',
        action: 'request',
        actor: key,
        resource: path,
        reason: `more than ${info.limit} requests in ${Math.ceil((this.opts.policies[index] as Policy).windowMs / 1000)} s`,
        client_ip: clientAddress(clientIp),
        metadata: {
          policy: info.policy,
          limit: info.limit,
          window_ms: (this.opts.policies[index] as Policy).windowMs,
          reset_at: info.resetTime?.toISOString(),
        },
      },
      record,
    );
  }

  down(policy: Policy, error: unknown): void {
    this.problems.report(
      `store-down:${policy.name}`,
      `rate-limit store failed for policy "${policy.name}" (${policy.onStoreError}): ${messageOf(error)}`,
    );
    this.record({
      type: 'rate_limit.store_failed',
      outcome: 'failure',
      action: policy.onStoreError,
      resource: policy.name,
      reason: messageOf(error),
      metadata: { policy: policy.name, behaviour: policy.onStoreError },
    });
  }

  up(policy: Policy, downMs: number): void {
    this.record({
      type: 'rate_limit.store_recovered',
      outcome: 'success',
      action: 'resume',
      resource: policy.name,
      metadata: { policy: policy.name, behaviour: policy.onStoreError, down_ms: downMs },
    });
  }

  problem(policy: Policy, what: string, error: unknown): void {
    this.problems.report(
      `store-${what}:${policy.name}`,
      `rate-limit store ${what} failed for policy "${policy.name}": ${messageOf(error)}`,
    );
  }

  /**
   * Writes an audit event; a request's event carries the ids audit(req) gives an event of the same
   * request: request and correlation ids, and the server span's trace and span ids.
   */
  private record(event: Parameters<AuditSink['record']>[0], request?: RequestRecord): void {
    if (this.audit === undefined) return;
    try {
      this.audit.record(request === undefined ? event : { ...event, ...idsOf(request) });
    } catch (error) {
      this.problems.report(`audit:${event.type}`, error);
    }
  }
}

/**
 * The ids of a request for its audit event: the record's, and its server span's; without a tracing
 * middleware on the request, the span active where the limiter runs (the app's own tracer).
 */
function idsOf(record: RequestRecord): {
  request_id: string;
  correlation_id: string;
  trace_id?: string;
  span_id?: string;
} {
  const ids = { request_id: record.requestId, correlation_id: record.correlationId };
  const trace =
    record.traceId !== undefined
      ? { traceId: record.traceId, spanId: record.spanId }
      : getActiveTraceContext();
  if (trace?.traceId === undefined || trace.spanId === undefined) return ids;
  return { ...ids, trace_id: trace.traceId, span_id: trace.spanId };
}

/** The client address for an audit event: a valid IP (IPv4-mapped shown as IPv4), else left out. */
function clientAddress(ip: string | undefined): string | undefined {
  if (ip === undefined) return undefined;
  const key = ipKey(ip, false);
  return isIP(key) === 0 ? undefined : key;
}

function remember(seen: Map<string, number>, key: string, until: number, now: number): void {
  if (!seen.has(key) && seen.size >= MAX_AUDITED_KEYS) {
    for (const [k, t] of seen) if (t <= now) seen.delete(k);
    // Still full: forget the oldest entry (Map keeps insertion order).
    if (seen.size >= MAX_AUDITED_KEYS) {
      const oldest = seen.keys().next().value;
      if (oldest !== undefined) seen.delete(oldest);
    }
  }
  seen.set(key, until);
}

const HELP =
  'Rate-limit decisions by policy: allowed, limited, or store_error when the store failed';

/** The counter, shared by every limiter on one registry (and with the app's own, when compatible). */
function rateLimitCounter(registry: RegistryLike, factory: string): SharedCounter {
  return sharedCounter(
    registry,
    new FastCounter(METRIC_NAME, HELP, ['policy', 'result'], '@vigil/rate-limit'),
    (found) =>
      codedError(
        context(factory),
        RATE_LIMIT_ERROR_CODES.METRIC_CONFLICT,
        `${factory}(): option "registry" already holds ${METRIC_NAME} as ${found}; @vigil/rate-limit needs a counter with labels [policy, result].`,
        'Give @vigil/rate-limit its own registry, or remove the other metric.',
      ),
  );
}
