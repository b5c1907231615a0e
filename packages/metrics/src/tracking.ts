// Where a request's recording state lives between its start and its end, and how the end is seen.
//
// Express swaps the prototype of every req and res (Object.setPrototypeOf), and V8 then adds each new
// property to them slowly: about 2 µs a property, measured, which is more than the whole per-request
// budget. So nothing is stored on req or res. A request's state lives in a small array on its socket
// (one per connection, reused by every keep-alive request on it); completion comes from Node's
// `http.server.response.finish` diagnostics channel, and an abort from the socket's 'close'.
import { subscribe } from 'node:diagnostics_channel';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { onOperational } from '@vigil/core';

/** Receives the end of the requests it started. */
export interface RequestSink {
  /** The response finished (`aborted` false) or the connection closed before it did (true). */
  finish(request: PendingRequest, aborted: boolean): void;
  /** An operational endpoint claimed the request: forget it without recording. */
  untrack(request: PendingRequest): void;
}

/** One request between start and end. */
export interface PendingRequest {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly sink: RequestSink;
  /** The socket's bytesWritten when the request started. */
  readonly bytesOutAtStart: number;
  /** Body bytes counted as a chunked request body was read; -1 when Content-Length applies. */
  bytesIn: number;
}

const kPending = Symbol('vigil.metrics.pending');
type TrackedSocket = Socket & { [kPending]?: PendingRequest[] };

let subscribed = false;

/**
 * Starts tracking `request`. Returns false when the response is already tracked (a second metrics
 * middleware on the same request), so it is never counted twice.
 */
export function track(request: PendingRequest, recordOperational: boolean): boolean {
  const socket = request.req.socket as TrackedSocket | null;
  if (socket === null) return false;
  if (!subscribed) {
    subscribed = true;
    subscribe('http.server.response.finish', onResponseFinish);
  }
  let pending = socket[kPending];
  if (pending === undefined) {
    pending = socket[kPending] = [];
    socket.once('close', onSocketClose);
  } else {
    for (const p of pending) if (p.res === request.res) return false;
  }
  pending.push(request);
  if (!recordOperational) onOperational(socket, untrackOperational);
  return true;
}

function take(socket: TrackedSocket | null | undefined, res: unknown): PendingRequest | undefined {
  const pending = socket?.[kPending];
  if (pending === undefined) return undefined;
  // Almost always one entry; HTTP/1.1 pipelining can queue a few.
  for (let i = 0; i < pending.length; i++) {
    const p = pending[i]!;
    if (p.res === res) {
      pending.splice(i, 1);
      return p;
    }
  }
  return undefined;
}

function onResponseFinish(message: unknown): void {
  const { response, socket } = message as { response?: ServerResponse; socket?: TrackedSocket };
  const p = take(socket ?? response?.socket, response);
  p?.sink.finish(p, false);
}

function onSocketClose(this: TrackedSocket): void {
  const pending = this[kPending];
  if (pending === undefined || pending.length === 0) return;
  this[kPending] = [];
  for (const p of pending) p.sink.finish(p, true);
}

function untrackOperational(req: IncomingMessage): void {
  const pending = (req.socket as TrackedSocket | null)?.[kPending];
  const i = pending === undefined ? -1 : pending.findIndex((p) => p.req === req);
  if (i === -1) return;
  const [p] = pending!.splice(i, 1);
  p!.sink.untrack(p!);
}
