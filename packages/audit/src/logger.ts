// createAuditLogger(): validate, redact, chain and write audit events through pino; tail and metric.
import { randomUUID } from 'node:crypto';
import { fstatSync } from 'node:fs';
import {
  type LabelGuard,
  type ProblemReporter,
  OVERFLOW_LABEL_VALUE,
  createLabelGuard,
  createProblemReporter,
  optionError,
} from '@vigil/core';
import { type Logger, pino } from 'pino';
import { ZERO_HASH, chainHash } from './chain';
import { getDefaultAuditLogger, setDefaultAuditLogger } from './default-logger';
import {
  type OpenedDestination,
  drain,
  endStream,
  flushQueued,
  openFd,
  openFile,
  writeSynchronously,
} from './destination';
import { AUDIT_ERROR_CODES, PKG, auditError, context } from './errors';
import { validateEvent } from './event';
import { METRIC_NAME } from './metric';
import { type ResolvedOptions, resolveOptions } from './options';
import { flushOnSignals } from './signals';
import type {
  AuditChainHead,
  AuditEvent,
  AuditEventInput,
  AuditLogger,
  AuditLoggerOptions,
} from './types';

/** How long flush() and close() wait for the destination. */
const FLUSH_TIMEOUT_MS = 10_000;
/** How long a signal waits for the destination before the process goes on exiting. */
const SIGNAL_FLUSH_TIMEOUT_MS = 5_000;

/**
 * Creates an audit logger: each `record()` validates the event, redacts it, chains it to the previous
 * event with a SHA-256 hash and writes it as one JSON line through pino. The first logger created
 * becomes the default of `audit(req)` unless `default: false`.
 * @throws VigilError with an `ERR_VIGIL_AUDIT_*` code on invalid options or an unusable destination.
 */
export function createAuditLogger(options?: AuditLoggerOptions): AuditLogger {
  const ctx = context('createAuditLogger');
  const o = resolveOptions(ctx, options, arguments.length);
  const opened = openDestination(o);
  return new ChainedAuditLogger(o, opened);
}

function openDestination(o: ResolvedOptions): OpenedDestination {
  const d = o.destination;
  if (d.kind === 'stream') return { stream: d.stream, owned: false, tail: undefined };
  if (d.kind === 'fd') {
    try {
      fstatSync(d.fd);
    } catch (err) {
      throw destinationError(`file descriptor ${d.fd}`, err);
    }
    return openFd(d.fd);
  }
  try {
    return openFile(d.path, o.resume);
  } catch (err) {
    throw destinationError(JSON.stringify(d.path), err);
  }
}

function destinationError(what: string, err: unknown): Error {
  const reason = err instanceof Error ? err.message : String(err);
  return auditError(
    AUDIT_ERROR_CODES.DESTINATION,
    `createAuditLogger(): cannot write audit events to ${what}: ${reason}. Check that the path is a file the process may append to (its directory is created if missing).`,
  );
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

class ChainedAuditLogger implements AuditLogger {
  readonly #o: ResolvedOptions;
  readonly #stream: OpenedDestination['stream'];
  readonly #owned: boolean;
  readonly #pino: Logger;
  readonly #problems: ProblemReporter;
  readonly #guard: LabelGuard;
  readonly #tail: (AuditEvent | undefined)[];
  #tailNext = 0;
  #tailCount = 0;
  #chain: string;
  #seq: number;
  #hash: string;
  #closing: Promise<void> | undefined;
  #unlisten: (() => void) | undefined;

  constructor(o: ResolvedOptions, opened: OpenedDestination) {
    this.#o = o;
    this.#stream = opened.stream;
    this.#owned = opened.owned;
    this.#problems = createProblemReporter(PKG, o.logger);
    this.#guard = createLabelGuard({
      metric: METRIC_NAME,
      limit: o.maxTypes,
      onOverflow: (info) =>
        this.#problems.report(
          'type-overflow',
          `${info.metric}: more than ${info.limit} event types (maxTypes); further types are counted as ${OVERFLOW_LABEL_VALUE}`,
        ),
    });
    this.#tail = new Array<AuditEvent | undefined>(o.tailSize);
    const last = opened.tail?.last;
    if (last !== undefined) {
      this.#chain = last.chain;
      this.#seq = last.seq;
      this.#hash = last.hash;
    } else {
      this.#chain = randomUUID();
      this.#seq = 0;
      this.#hash = ZERO_HASH;
      if (opened.tail?.reason !== undefined) {
        this.#problems.report('resume', `not resuming: ${opened.tail.reason}; a new chain starts`);
      }
    }
    const emitter = this.#stream as { on?: (event: string, fn: (err: unknown) => void) => unknown };
    // Without a listener, a write error (disk full, closed pipe) would be an uncaught 'error' event.
    emitter.on?.('error', (err) => this.#problems.report('write-error', err));
    // No base fields, no pino timestamp, no pino redaction: the line is exactly the hashed object plus
    // pino's level (a fixed 30), which the hash covers too.
    this.#pino = pino({ base: null, timestamp: false, level: 'info' }, this.#stream);
    if (o.signals)
      this.#unlisten = flushOnSignals({ flushForSignal: () => this.#flushForSignal() });
    if (o.isDefault && getDefaultAuditLogger() === undefined) setDefaultAuditLogger(this);
  }

  get closed(): boolean {
    return this.#closing !== undefined;
  }

  record(input: AuditEventInput): AuditEvent {
    if (this.#closing !== undefined) {
      throw auditError(
        AUDIT_ERROR_CODES.CLOSED,
        'record(): this audit logger is closed; the event was not written.',
      );
    }
    const body = validateEvent(input);
    const { metadata, ...fields } = body;
    let event: Record<string, unknown> = { time: new Date().toISOString(), ...fields };
    if (this.#o.service !== undefined) event.service = this.#o.service;
    if (metadata !== undefined) event.metadata = metadata;

    const seq = this.#seq + 1;
    const prevHash = this.#hash;
    let hash: string;
    try {
      event = this.#o.redactor(event);
      hash = chainHash(prevHash, {
        level: 30,
        ...event,
        chain: this.#chain,
        seq,
        prev_hash: prevHash,
      });
    } catch (err) {
      throw auditError(
        AUDIT_ERROR_CODES.REDACTION_FAILED,
        `record(): redaction failed (${err instanceof Error ? err.message : String(err)}); the event was not written. Check the redact.censor function: it must not throw and must return a JSON value.`,
      );
    }
    const line = { ...event, chain: this.#chain, seq, prev_hash: prevHash, hash };
    try {
      this.#pino.info(line);
    } catch (err) {
      throw auditError(
        AUDIT_ERROR_CODES.WRITE_FAILED,
        `record(): the destination refused the event (${err instanceof Error ? err.message : String(err)}); it was not written.`,
      );
    }
    this.#seq = seq;
    this.#hash = hash;
    const written = deepFreeze({ level: 30, ...line }) as unknown as AuditEvent;
    if (this.#tail.length > 0) {
      this.#tail[this.#tailNext] = written;
      this.#tailNext = (this.#tailNext + 1) % this.#tail.length;
      this.#tailCount = Math.min(this.#tailCount + 1, this.#tail.length);
    }
    this.#count(written);
    return written;
  }

  #count(event: AuditEvent): void {
    const counter = this.#o.counter;
    if (counter === undefined) return;
    try {
      const type = this.#guard.admit(event.type) ? event.type : OVERFLOW_LABEL_VALUE;
      counter.inc({ type, outcome: event.outcome });
    } catch (err) {
      // The event is written; a metric failure must not turn that into an error.
      this.#problems.report('metric', err);
    }
  }

  recent(limit?: number): readonly AuditEvent[] {
    if (
      limit !== undefined &&
      (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 0)
    ) {
      throw optionError(
        context('recent'),
        'INVALID_OPTION',
        'limit',
        'a non-negative integer',
        limit,
      );
    }
    const size = this.#tail.length;
    const n = Math.min(limit ?? this.#tailCount, this.#tailCount);
    const out: AuditEvent[] = [];
    for (let i = n; i > 0; i--) {
      out.push(this.#tail[(this.#tailNext - i + size) % size] as AuditEvent);
    }
    return Object.freeze(out);
  }

  head(): AuditChainHead | undefined {
    if (this.#seq === 0) return undefined;
    return Object.freeze({ chain: this.#chain, seq: this.#seq, hash: this.#hash });
  }

  async flush(): Promise<void> {
    if (!(await drain(this.#stream, FLUSH_TIMEOUT_MS))) {
      this.#problems.report(
        'flush-timeout',
        `flush(): the destination did not drain within ${FLUSH_TIMEOUT_MS} ms`,
      );
    }
  }

  /** Called by the signal hub: synchronous writes from now on, then everything queued written. */
  async #flushForSignal(): Promise<void> {
    writeSynchronously(this.#stream);
    await drain(this.#stream, SIGNAL_FLUSH_TIMEOUT_MS);
    flushQueued(this.#stream);
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#unlisten?.();
    this.#unlisten = undefined;
    if (getDefaultAuditLogger() === this) setDefaultAuditLogger(undefined);
    await this.flush();
    if (this.#owned) await endStream(this.#stream, FLUSH_TIMEOUT_MS);
  }
}
