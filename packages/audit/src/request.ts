// audit(req) / audit(ctx): a recorder that fills in the request's ids and client address.
import { isIP } from 'node:net';
import type { IncomingMessage } from 'node:http';
import {
  type ActiveRequestIds,
  describeValue,
  findRequest,
  getActiveRequestIds,
  getActiveTraceContext,
  hasMethod,
} from '@vigil/core';
import { getDefaultAuditLogger } from './default-logger';
import { AUDIT_ERROR_CODES, auditError } from './errors';
import type { AuditEventInput, AuditRecorder, AuditSink } from './types';

const TRACE_ID = /^[0-9a-f]{32}$/;
const SPAN_ID = /^[0-9a-f]{16}$/;
const MAPPED_V4 = /^::ffff:(\d{1,3}(\.\d{1,3}){3})$/i;

/** The part of an Express request or a Koa context that audit() reads. */
interface RequestLike {
  ip?: unknown;
  socket?: { remoteAddress?: unknown };
  req?: { socket?: { remoteAddress?: unknown } };
}

/**
 * A recorder for the request being served: `audit(req).record({...})` in Express 4 and 5,
 * `audit(ctx).record({...})` in Koa 2 and 3. The event gets `request_id`, `correlation_id`,
 * `trace_id` and `span_id` from the request context (set by @vigil/tracing's middleware, or any
 * provider registered with @vigil/core) and `client_ip` from `req.ip` / `ctx.ip`, each only when the
 * event does not set it. Writes to `logger`, else to the default audit logger.
 * @throws VigilError `ERR_VIGIL_AUDIT_NO_LOGGER` without a logger, `ERR_VIGIL_AUDIT_INVALID_REQUEST`
 * for arguments of the wrong kind.
 */
export function audit(reqOrCtx: object, logger?: AuditSink): AuditRecorder {
  if (reqOrCtx === null || typeof reqOrCtx !== 'object') {
    throw auditError(
      AUDIT_ERROR_CODES.INVALID_REQUEST,
      `audit(): the first argument must be an Express request or a Koa context, received ${describeValue(reqOrCtx)}.`,
    );
  }
  if (logger !== undefined && !hasMethod(logger, 'record')) {
    throw auditError(
      AUDIT_ERROR_CODES.INVALID_REQUEST,
      `audit(): the second argument must be an audit logger (an object with record()), received ${describeValue(logger)}.`,
    );
  }
  const sink = logger ?? getDefaultAuditLogger();
  if (sink === undefined) {
    throw auditError(
      AUDIT_ERROR_CODES.NO_LOGGER,
      'audit(): there is no audit logger to write to. Create one with createAuditLogger() at startup (the first one becomes the default), or pass one: audit(req, logger).',
    );
  }
  const target = reqOrCtx as RequestLike;
  return {
    record(event: AuditEventInput): unknown {
      return sink.record(withRequestContext(event, target));
    },
  };
}

function usableId(value: unknown): value is string {
  return typeof value === 'string' && value !== '' && value.length <= 256;
}

/**
 * The request's ids: those of its @vigil/core record when a Vigil middleware saw it (the ids its
 * response header, log line and rate-limit events carry), else those of the async context.
 */
function requestIds(target: RequestLike): ActiveRequestIds | undefined {
  let req: unknown;
  try {
    req = (target as { req?: unknown }).req ?? target;
  } catch {
    return getActiveRequestIds();
  }
  const record =
    req !== null && typeof req === 'object' && 'headers' in req
      ? findRequest(req as IncomingMessage)
      : undefined;
  if (record === undefined) return getActiveRequestIds();
  return {
    requestId: record.requestId,
    correlationId: record.correlationId,
    traceId: record.traceId,
    spanId: record.spanId,
  };
}

/** A copy of `event` with what the request knows filled in where the event is silent. */
export function withRequestContext(event: AuditEventInput, target: RequestLike): AuditEventInput {
  // Anything that is not an object is passed on untouched, for record() to reject with its message.
  if (event === null || typeof event !== 'object') return event;
  const out: AuditEventInput = { ...event };
  const ids = requestIds(target);
  if (out.request_id === undefined && usableId(ids?.requestId)) out.request_id = ids.requestId;
  if (out.correlation_id === undefined && usableId(ids?.correlationId)) {
    out.correlation_id = ids.correlationId;
  }
  if (out.trace_id === undefined && out.span_id === undefined) {
    // The request's server span, as its log lines carry; else whatever span is active.
    const source = ids?.traceId !== undefined ? ids : getActiveTraceContext();
    if (
      source !== undefined &&
      typeof source.traceId === 'string' &&
      TRACE_ID.test(source.traceId) &&
      typeof source.spanId === 'string' &&
      SPAN_ID.test(source.spanId)
    ) {
      out.trace_id = source.traceId;
      out.span_id = source.spanId;
    }
  }
  if (out.client_ip === undefined) {
    const ip = clientIp(target);
    if (ip !== undefined) out.client_ip = ip;
  }
  return out;
}

/** `req.ip` / `ctx.ip` (which honour the app's proxy trust), else the socket's address. */
function clientIp(target: RequestLike): string | undefined {
  let ip: unknown;
  try {
    ip = target.ip;
    if (ip === undefined || ip === '') {
      ip = target.socket?.remoteAddress ?? target.req?.socket?.remoteAddress;
    }
  } catch {
    return undefined;
  }
  if (typeof ip !== 'string') return undefined;
  const mapped = MAPPED_V4.exec(ip);
  const address = mapped ? (mapped[1] as string) : ip;
  return isIP(address) !== 0 ? address : undefined;
}
