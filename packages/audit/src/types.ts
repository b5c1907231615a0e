// Public types of @vigil/audit: logger options, the event schema, sinks and recorders, verifier results.
import type { MinimalLogger } from '@vigil/core';
import type { DestinationStream } from 'pino';
import type { Registry } from 'prom-client';

/** What happened to the attempted action. */
export type AuditOutcome = 'success' | 'failure' | 'denied' | 'error' | 'unknown';

/** A JSON value, as metadata holds and as it is written. */
export type AuditJsonValue =
  | string
  | number
  | boolean
  | null
  | readonly AuditJsonValue[]
  | { readonly [key: string]: AuditJsonValue };

/**
 * An event as given to `record()`. Field names are the ones written (snake_case, like every Vigil log
 * field). Unknown keys are rejected; `undefined` counts as absent.
 */
export interface AuditEventInput {
  /** Dotted lower-case name, `area.what`: `auth.login`, `rate_limit.exceeded`. At most 64 characters. */
  type: string;
  /** What happened: `success`, `failure`, `denied`, `error` or `unknown`. */
  outcome: AuditOutcome;
  /** Who did it: a user id, a service name, an API key id (never the key). */
  actor?: string;
  /** What was attempted, in the app's words: `login`, `delete`, `acknowledge`. */
  action?: string;
  /** What it was done to: `user:42`, `/api/videos/7`. A query string's secret parameters are redacted. */
  resource?: string;
  /** Why the outcome is what it is: `bad password`, `limit 5/min`. */
  reason?: string;
  /** The client's IP address (IPv4 or IPv6). */
  client_ip?: string;
  /** The request's id (x-request-id). */
  request_id?: string;
  /** The correlation id (x-correlation-id). */
  correlation_id?: string;
  /** W3C trace id, 32 lower-case hex digits. */
  trace_id?: string;
  /** W3C span id, 16 lower-case hex digits. */
  span_id?: string;
  /** Free JSON object: plain objects, arrays, strings, finite numbers, booleans, null. At most 8 KiB. */
  metadata?: Readonly<Record<string, unknown>>;
}

/**
 * An event as written: one JSON line. The hash covers every field but `hash` itself. Events returned
 * by the logger are frozen.
 */
export interface AuditEvent {
  /** Always 30 (pino's `info`): pino writes a level on every line, so it is part of the schema. */
  readonly level: 30;
  /** When the event was recorded, ISO 8601 in UTC (`2026-01-31T12:00:00.000Z`). */
  readonly time: string;
  readonly type: string;
  readonly outcome: AuditOutcome;
  readonly actor?: string;
  readonly action?: string;
  readonly resource?: string;
  readonly reason?: string;
  readonly client_ip?: string;
  readonly request_id?: string;
  readonly correlation_id?: string;
  readonly trace_id?: string;
  readonly span_id?: string;
  /** The logger's `service` option. */
  readonly service?: string;
  readonly metadata?: { readonly [key: string]: AuditJsonValue };
  /** Chain id: random, one per chain. */
  readonly chain: string;
  /** Position in the chain, from 1. */
  readonly seq: number;
  /** `hash` of the previous event of the chain; 64 zeros for the first. */
  readonly prev_hash: string;
  /** SHA-256, hex, of `prev_hash` followed by the canonical JSON of the event without `hash`. */
  readonly hash: string;
}

/**
 * Anything that records audit events: an audit logger, or a stand-in. `@vigil/rate-limit` and other
 * packages accept any object of this shape.
 */
export interface AuditSink {
  record(event: AuditEventInput): unknown;
}

/** Where an audit logger's chain stands: what an external anchor should keep. */
export interface AuditChainHead {
  readonly chain: string;
  readonly seq: number;
  readonly hash: string;
}

/** An audit logger: writes events as hash-chained JSON lines through pino. */
export interface AuditLogger extends AuditSink {
  /**
   * Validates, redacts, chains and writes `event`; returns the event as written (frozen).
   * @throws VigilError `ERR_VIGIL_AUDIT_INVALID_EVENT` for an invalid event (nothing is written),
   * `ERR_VIGIL_AUDIT_REDACTION_FAILED`, `ERR_VIGIL_AUDIT_WRITE_FAILED`, `ERR_VIGIL_AUDIT_CLOSED`.
   */
  record(event: AuditEventInput): AuditEvent;
  /** The last `limit` events written, oldest first (frozen). Default limit: the whole tail. */
  recent(limit?: number): readonly AuditEvent[];
  /** The chain id, seq and hash of the last event written, or of the event resumed from. */
  head(): AuditChainHead | undefined;
  /** Resolves once every event recorded so far has reached the destination. */
  flush(): Promise<void>;
  /** Flushes, stops the signal handlers, and ends the destination if the logger opened it. */
  close(): Promise<void>;
  /** True after close(). */
  readonly closed: boolean;
}

/** pino's `redact` option shape, as @vigil/audit takes it. */
export type AuditRedactOption =
  | readonly string[]
  | {
      /** Paths in pino's syntax, relative to the event: `metadata.card`, `metadata.*.pin`. */
      readonly paths: readonly string[];
      /** What replaces a redacted value: a string, or a function of (value, path segments). Default `[REDACTED]`. */
      readonly censor?: string | ((value: unknown, path: string[]) => unknown);
      /** Remove redacted keys instead of replacing their values. Default `false`. */
      readonly remove?: boolean;
    };

/** Options of createAuditLogger(). */
export interface AuditLoggerOptions {
  /**
   * Where lines go: a file path (opened for appending, directories created, written asynchronously),
   * a file descriptor, or a pino destination stream (`pino.destination()`, `pino.transport()`).
   * Default: standard output (fd 1), written asynchronously.
   */
  destination?: string | number | DestinationStream;
  /**
   * Continue the chain of the file's last event instead of starting a new chain. Only for a file path.
   * Default: `true` with a file path.
   */
  resume?: boolean;
  /**
   * Extra redaction paths in pino's `redact` shape (relative to the event: `metadata.card`, `actor`).
   * The default secret keys (DEFAULT_REDACTED_KEYS, at any depth of metadata) always apply; `censor`
   * and `remove` apply to them too. Applied before hashing. Default: none.
   */
  redact?: AuditRedactOption;
  /** Written as `service` on every event. Default: none. */
  service?: string;
  /**
   * Registry for `audit_events_total`, or `false` for no metric. Default: prom-client's global
   * registry (no metric when prom-client is not installed).
   */
  registry?: Registry | false;
  /** Most distinct `type` label values; later types are counted as `__overflow__`. Default 100. */
  maxTypes?: number;
  /** How many recent events recent() keeps; 0 keeps none. Default 100. */
  tailSize?: number;
  /** Flush on SIGTERM and SIGINT (then let the signal end the process). Default `true`. */
  signals?: boolean;
  /** Become the default logger of audit(req) when there is none yet. Default `true`. */
  default?: boolean;
  /** Where problems are reported (write errors, type overflow), each once. Default: process warnings. */
  logger?: MinimalLogger;
}

/** What audit(req) returns: a recorder that fills in the request's context. */
export interface AuditRecorder extends AuditSink {
  /**
   * Records `event` with `request_id`, `correlation_id`, `trace_id`, `span_id` and `client_ip` taken
   * from the request when the event does not set them.
   */
  record(event: AuditEventInput): unknown;
}

/** The kinds of tampering the verifier tells apart. */
export type AuditTamperKind = 'modified' | 'inserted' | 'deleted' | 'reordered';

/** The first problem found in a log. */
export interface AuditProblem {
  readonly kind: AuditTamperKind;
  /** 1-based line number where the problem shows. */
  readonly line: number;
  /** Another line involved (the event re-hashed, the line an out-of-order event really is at). */
  readonly relatedLine?: number;
  /** The seq the chain expected at `line`, when it had one. */
  readonly expectedSeq?: number;
  /** The seq found at `line`, when the line has one. */
  readonly foundSeq?: number;
  /** One sentence: what is wrong at `line`. */
  readonly message: string;
}

/** A chain found in a log. */
export interface AuditChainInfo {
  readonly chain: string;
  /** Line of its first event in the log. */
  readonly line: number;
  readonly firstSeq: number;
  readonly lastSeq: number;
  readonly events: number;
}

/** What verifyAuditLog() found. */
export interface AuditVerifyResult {
  /** True when every event is intact and in place. */
  readonly ok: boolean;
  /** Audit events checked (up to the problem, when there is one). */
  readonly events: number;
  readonly chains: readonly AuditChainInfo[];
  /** Lines that are not audit events, skipped with `allowForeign`. */
  readonly skipped: number;
  readonly problem: AuditProblem | undefined;
  /** The one-line summary the CLI prints. */
  readonly summary: string;
}

/** Options of verifyAuditLog(). */
export interface AuditVerifyOptions {
  /**
   * Skip lines that are not audit events (not JSON, or JSON without any chain field), such as other
   * logs sharing standard output. Default `false`: such a line is reported.
   */
  allowForeign?: boolean;
  /**
   * Accept a log whose first event continues a chain (a rotated file). Default `false`: the first
   * event must start a chain, else the events before it count as deleted.
   */
  partial?: boolean;
}
