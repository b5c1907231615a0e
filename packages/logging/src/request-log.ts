// The request logger's per-request state on @vigil/core's request record, and `req.log`.
//
// Express swaps the prototype of every req and res (Object.setPrototypeOf), and V8 then adds each new
// property to them slowly: microseconds a property, measured. So nothing is stored on req or res: a
// request's log state lives in a slot of its record, which also tells the logger when the request
// ended. `req.log` is an accessor defined once on the request prototype that finds the request's
// record, so a request that never reads it pays for no logger.
import type { IncomingMessage } from 'node:http';
import {
  type RequestRecord,
  type RequestSink,
  allocateSlot,
  defineRequestAccessor,
  findRequest,
  requestPrototypeOf,
} from '@vigil/core';
import type { Logger } from 'pino';

/** A request logger: told when its requests end, and the maker of `req.log`. */
export interface LogSink extends RequestSink {
  /** The logger `req.log` returns, made on first use. */
  requestLogger(log: RequestLog): Logger;
}

/** The ids a request's lines carry; only defined values are written. */
export interface RequestIds {
  trace_id?: string;
  span_id?: string;
  request_id: string;
  correlation_id: string;
}

/** What `req.log` needs: the request logger that saw the request first, and the logger once made. */
export class RequestLog {
  /** `req.log`, once asked for. */
  logger: Logger | undefined = undefined;
  constructor(
    readonly sink: LogSink,
    readonly record: RequestRecord,
  ) {}
}

/** A request as the `req` serializer writes it: its record (URL, headers, client address). */
export class LoggedRequest {
  constructor(readonly record: RequestRecord) {}
}

const kLog = allocateSlot();

/** Registers `log` for `req.log`: pino-http's rule, the first logger mounted is the one it returns. */
export function attachLog(log: RequestLog): void {
  const slots = log.record.slots;
  if (slots[kLog] === undefined) slots[kLog] = log;
}

/** The ids of `record` as its lines carry them. */
export function idsOf(record: RequestRecord): RequestIds {
  // trace_id and span_id first, as the lines have always had them.
  return record.traceId === undefined
    ? { request_id: record.requestId, correlation_id: record.correlationId }
    : {
        trace_id: record.traceId,
        span_id: record.spanId,
        request_id: record.requestId,
        correlation_id: record.correlationId,
      };
}

/** The logger `req.log` returns for `req`, if a request logger saw it. */
export function requestLoggerOf(req: unknown): Logger | undefined {
  if (req === null || typeof req !== 'object') return undefined;
  const record = findRequest(req as IncomingMessage);
  const log = record?.slots[kLog] as RequestLog | undefined;
  return log === undefined ? undefined : log.sink.requestLogger(log);
}

/**
 * Defines `log` once on `target` (a prototype): a getter that returns the logger of the request its
 * receiver leads to through `requestOf`, else what `log` was before (another copy of Vigil's accessor,
 * or a default someone put there). Assigning `log` on an instance makes it that instance's own value,
 * as if the accessor were not there.
 */
export function defineLogAccessor(target: object, requestOf: (self: object) => unknown): void {
  defineRequestAccessor(target, 'log', (self) => requestLoggerOf(requestOf(self)));
}

/** Where `req.log` goes for `req` (@vigil/core's requestPrototypeOf). */
export { requestPrototypeOf };
