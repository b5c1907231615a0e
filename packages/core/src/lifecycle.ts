// The request lifecycle every Vigil package shares: one record per request, created by the first Vigil
// code that sees it (a middleware, or @vigil/health's drain on the server's 'request' event) and ended
// once, when its response finishes or its connection closes first.
//
// Express swaps the prototype of every req and res (Object.setPrototypeOf), and V8 then adds each new
// property to them slowly: about 2 µs a property, measured, which is more than a package's whole
// per-request budget. So nothing is stored on req or res. A request's record waits in a small list on
// its connection (one per socket, reused by every keep-alive request on it); the end of a response
// comes from Node's `http.server.response.finish` diagnostics channel (one subscriber for the
// process), an abort from the socket's 'close' (one listener per connection). HTTP/2 compatibility
// requests publish no diagnostics message and share one session socket: they take a slower path with
// listeners on the response, and a WeakMap instead of the connection list. The properties Express
// itself adds after its swap are given to the next requests before it (request-shapes.ts), so that
// its own work, and every package's, runs on hidden classes that stay the same between requests.
import { subscribe } from 'node:diagnostics_channel';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { METHOD_LABELS, methodIndex } from './methods';
import { acceptId, generateId } from './request-id';
import { requestRouteTemplate } from './request-route';
import { installRequestShapes, learnRequestShapes } from './request-shapes';
import { targetPath } from './request-path';

/** Something that wants to know when requests end (a middleware instance of a Vigil package). */
export interface RequestSink {
  /** The request ended: its response finished, or its connection closed first (`record.aborted`). */
  requestEnded(record: RequestRecord): void;
  /** An operational endpoint claimed the request (markOperational): it is not the app's traffic. */
  requestClaimed?(record: RequestRecord): void;
  /**
   * Sinks that share this key see a request once: the first one subscribed wins (two metrics
   * middleware on one request count it once). Sinks without a key are each told.
   */
  readonly exclusive?: string | symbol;
}

// Registered symbols, so that two copies of @vigil/core in one process share the connection slot.
const kConnection = Symbol.for('vigil.core.connection');
const kWatchedApp = Symbol.for('vigil.core.koaErrorsWatched');

// `server`: the server that accepted the connection (set by node:net, not in its types).
type TrackedSocket = Socket & { [kConnection]?: Connection; server?: unknown };

/** One connection's requests between their start and their end, and its client's address. */
export class Connection {
  readonly pending: RequestRecord[] = [];
  /** The request that ended last, still found by a lookup made after its end (a 'finish' handler). */
  last: RequestRecord | undefined = undefined;
  // Read while the socket is open: once it is closed, an address not read before is gone.
  readonly remoteAddress: string | undefined;
  readonly remotePort: number | undefined;
  constructor(socket: Socket) {
    this.remoteAddress = socket.remoteAddress;
    this.remotePort = socket.remotePort;
  }
}

let nextSlot = 0;

/**
 * A private place on every record for one package's per-request state: `const kState = slot()`, then
 * `record.slots[kState]`. Cheaper than a Map per request, and never a property of req or res.
 */
export function allocateSlot(): number {
  return nextSlot++;
}

/** One request, from the first Vigil middleware to its end. */
export class RequestRecord {
  /** performance.now() when the record was created. */
  readonly start = performance.now();
  /** performance.now() at the end; NaN before. */
  endTime = Number.NaN;
  /** Index of the method in STANDARD_METHODS (STANDARD_METHODS.length for OTHER). */
  readonly methodIndex: number;
  /** The URL as the first middleware saw it (Express's originalUrl): routers rewrite `req.url`. */
  readonly url: string;
  /** The socket's bytesWritten when the record was created, to size responses without Content-Length. */
  readonly bytesOutAtStart: number;
  /** True once the request ended. */
  ended = false;
  /** True when the request ended before its response finished: the one definition of aborted. */
  aborted = false;
  /** True once an operational endpoint (/metrics, /health, ...) claimed the request. */
  operational = false;
  /** The first error reported for the request (error hooks, Koa's 'error' event, a response error). */
  error: unknown = undefined;
  /** The first 'error' event of the response while watched (see watchResponseErrors). */
  responseError: unknown = undefined;
  /** The Koa context, when a Koa middleware created or found the record (for its route template). */
  ctx: object | undefined;
  /** Trace id of the request's server span (32 hex), set by tracing. */
  traceId: string | undefined = undefined;
  /** Span id of the request's server span (16 hex), set by tracing. */
  spanId: string | undefined = undefined;
  /** Whether the request's server span is sampled, set by tracing. */
  sampled = false;
  /**
   * A route template the request was answered for without reaching a route (a rate-limit policy's
   * route), used when the framework resolved none.
   */
  routeHint: string | undefined = undefined;
  /** Per-package state by slot (allocateSlot()). */
  readonly slots: unknown[] = [];
  private requestIdValue: string | undefined = undefined;
  private correlationIdValue: string | undefined = undefined;
  private pathValue: string | undefined = undefined;
  private routeValue: string | undefined = undefined;
  private sinks: RequestSink[] | undefined = undefined;
  private watchingErrors = false;

  constructor(
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
    /** The connection (HTTP/1), undefined for HTTP/2 compatibility requests. */
    readonly connection: Connection | undefined,
    ctx: object | undefined,
  ) {
    this.ctx = ctx;
    this.methodIndex = methodIndex(req.method);
    this.url = (req as { originalUrl?: string }).originalUrl ?? req.url ?? '/';
    this.bytesOutAtStart = req.socket?.bytesWritten ?? 0;
  }

  /** The method's bounded label: a standard method, or OTHER. */
  get method(): string {
    return METHOD_LABELS[this.methodIndex] as string;
  }

  /** The request path without query (absolute-form targets reduced), as the first middleware saw it. */
  get path(): string {
    return (this.pathValue ??= targetPath(this.url));
  }

  /** The caller's x-request-id when it is safe (see acceptId), else a fresh one; fixed once read. */
  get requestId(): string {
    return (this.requestIdValue ??= acceptId(this.req.headers['x-request-id']) ?? generateId());
  }

  /** The caller's x-correlation-id when it is safe, else the request id; fixed once read. */
  get correlationId(): string {
    return (this.correlationIdValue ??=
      acceptId(this.req.headers['x-correlation-id']) ?? this.requestId);
  }

  /** The client's address as the socket reported it (read while the connection was open). */
  get remoteAddress(): string | undefined {
    return this.connection !== undefined
      ? this.connection.remoteAddress
      : this.req.socket?.remoteAddress;
  }

  /** The client's port, likewise. */
  get remotePort(): number | undefined {
    return this.connection !== undefined ? this.connection.remotePort : this.req.socket?.remotePort;
  }

  /**
   * The matched route template (`/api/users/:id`), mount prefixes included, or UNMATCHED_ROUTE.
   * Routing may still change it while the request runs; once the request ended it is resolved once
   * and kept.
   */
  get route(): string {
    if (this.routeValue !== undefined) return this.routeValue;
    const route = requestRouteTemplate(this);
    if (this.ended) this.routeValue = route;
    return route;
  }

  /**
   * Asks for `sink.requestEnded(record)` when the request ends. Returns false, and subscribes
   * nothing, when the request already ended, when `sink` is subscribed already, or when a sink with
   * the same `exclusive` key is.
   */
  subscribe(sink: RequestSink): boolean {
    if (this.ended) return false;
    const sinks = this.sinks;
    if (sinks === undefined) {
      this.sinks = [sink];
      return true;
    }
    const key = sink.exclusive;
    for (let i = 0; i < sinks.length; i++) {
      const s = sinks[i]!;
      if (s === sink || (key !== undefined && s.exclusive === key)) return false;
    }
    sinks.push(sink);
    return true;
  }

  /** Records `error` as the request's error unless one was recorded first. */
  recordError(error: unknown): void {
    if (this.error === undefined) this.error = error;
  }

  /**
   * Listens for the response's 'error' event (a write after end, a broken stream) until the request
   * ends: the error becomes the request's, and it cannot crash the process in between. Costs a
   * listener, so only sinks that report errors (the request logger) ask for it.
   */
  watchResponseErrors(): void {
    if (this.ended || this.watchingErrors) return;
    this.watchingErrors = true;
    this.res.on('error', onResponseError);
  }

  /** Marks the request operational and tells the subscribed sinks. Never throws. */
  claim(): void {
    if (this.operational) return;
    this.operational = true;
    const sinks = this.sinks;
    if (sinks === undefined) return;
    for (const sink of sinks) {
      try {
        sink.requestClaimed?.(this);
      } catch {
        // A sink never breaks the endpoint.
      }
    }
  }

  /**
   * Ends the request (once) and tells every sink: `finished` when its response finished, false when its
   * connection (or HTTP/2 stream) closed first. Runs inside Node's response notifications: never throws.
   */
  end(finished: boolean): void {
    if (this.ended) return;
    this.ended = true;
    this.endTime = performance.now();
    // The one definition: a request whose connection closed before its response finished was aborted.
    this.aborted = !finished && !this.res.writableFinished;
    // Once the request ended, response errors are the app's again (unhandled, they crash as without us).
    if (this.watchingErrors) this.res.removeListener('error', onResponseError);
    const connection = this.connection;
    if (connection !== undefined) connection.last = this;
    const sinks = this.sinks;
    if (sinks === undefined) return;
    for (let i = 0; i < sinks.length; i++) {
      try {
        sinks[i]!.requestEnded(this);
      } catch {
        // Sinks report their own problems; this guards the HTTP server.
      }
    }
  }
}

let subscribed = false;
// HTTP/2 compatibility requests, and requests without a socket: looked up here instead.
const detached = new WeakMap<object, RequestRecord>();

/**
 * The record of the request `req` answered by `res`, created on first call: every Vigil middleware
 * calls this with the request it is given. `ctx` is the Koa context, when there is one. A request
 * whose response already finished gets an ended record.
 */
export function beginRequest(
  req: IncomingMessage,
  res: ServerResponse,
  ctx?: object,
): RequestRecord {
  // The middleware of one request run back to back: the record the previous call returned is
  // usually the one asked for again, found without a lookup.
  const recent = recentRecord;
  if (recent !== undefined && recent.req === req) {
    if (ctx !== undefined && recent.ctx === undefined) adoptContext(recent, ctx);
    return recent;
  }
  return (recentRecord = lookUpOrBegin(req, res, ctx));
}

/** The last record beginRequest() returned (one strong reference, replaced on the next request). */
let recentRecord: RequestRecord | undefined;

function lookUpOrBegin(req: IncomingMessage, res: ServerResponse, ctx?: object): RequestRecord {
  const socket = req.socket as TrackedSocket | null;
  if (socket === null || req.httpVersionMajor >= 2) return beginDetached(req, res, ctx);
  let connection = socket[kConnection];
  if (connection === undefined) {
    connection = socket[kConnection] = new Connection(socket);
    socket.once('close', onSocketClose);
  } else {
    const found = findIn(connection, req);
    if (found !== undefined) {
      if (ctx !== undefined && found.ctx === undefined) adoptContext(found, ctx);
      return found;
    }
    const last = connection.last;
    if (last !== undefined) learnRequestShapes(socket.server, last.req, last.res);
  }
  if (!subscribed) {
    subscribed = true;
    subscribe('http.server.response.finish', onResponseFinish);
    installRequestShapes();
  }
  const record = new RequestRecord(req, res, connection, ctx);
  if (ctx !== undefined) watchKoaErrors(ctx);
  if (res.writableFinished || socket.destroyed) {
    record.end(res.writableFinished);
  } else {
    connection.pending.push(record);
  }
  return record;
}

/** The record of `req` if a Vigil middleware began one, else undefined. Never creates one. */
export function findRequest(req: IncomingMessage): RequestRecord | undefined {
  const recent = recentRecord;
  if (recent !== undefined && recent.req === req) return recent;
  const socket = req.socket as TrackedSocket | null;
  const connection = socket?.[kConnection];
  if (connection !== undefined) {
    const found = findIn(connection, req);
    if (found !== undefined) return found;
  }
  return detached.get(req);
}

function findIn(connection: Connection, req: IncomingMessage): RequestRecord | undefined {
  // Almost always one entry; HTTP/1.1 pipelining can queue a few.
  const pending = connection.pending;
  for (let i = 0; i < pending.length; i++) {
    const r = pending[i]!;
    if (r.req === req) return r;
  }
  const last = connection.last;
  return last !== undefined && last.req === req ? last : undefined;
}

function beginDetached(req: IncomingMessage, res: ServerResponse, ctx?: object): RequestRecord {
  const found = detached.get(req);
  if (found !== undefined) {
    if (ctx !== undefined && found.ctx === undefined) adoptContext(found, ctx);
    return found;
  }
  const record = new RequestRecord(req, res, undefined, ctx);
  detached.set(req, record);
  if (ctx !== undefined) watchKoaErrors(ctx);
  if (res.writableFinished) {
    record.end(true);
  } else {
    // The response's own events: 'finish' when it is sent, 'close' also when the stream is reset.
    res.once('finish', () => record.end(true));
    res.once('close', () => record.end(false));
  }
  return record;
}

function adoptContext(record: RequestRecord, ctx: object): void {
  record.ctx = ctx;
  watchKoaErrors(ctx);
}

function onResponseFinish(message: unknown): void {
  const { response, socket } = message as {
    response?: ServerResponse & { socket: TrackedSocket | null };
    socket?: TrackedSocket;
  };
  const pending = (socket ?? response?.socket)?.[kConnection]?.pending;
  if (pending === undefined) return;
  for (let i = 0; i < pending.length; i++) {
    const record = pending[i]!;
    if (record.res !== response) continue;
    if (pending.length === 1) pending.pop();
    else pending.splice(i, 1);
    record.end(true);
    learnRequestShapes((message as { server?: unknown }).server, record.req, record.res);
    return;
  }
}

function onSocketClose(this: TrackedSocket): void {
  const connection = this[kConnection];
  if (connection === undefined || connection.pending.length === 0) return;
  for (const record of connection.pending.splice(0)) record.end(false);
}

function onResponseError(this: ServerResponse, error: unknown): void {
  const req = (this as { req?: IncomingMessage }).req;
  const record = req === undefined ? undefined : findRequest(req);
  if (record === undefined) return;
  if (record.responseError === undefined) record.responseError = error;
  record.recordError(error);
}

/**
 * Koa apps report errors on their 'error' event (Koa's own handler does, and so do most custom ones,
 * with ctx.app.emit('error', err, ctx)), including errors an error middleware answered itself.
 * Listening there (once per app) gives the request its error. Koa installs its default listener
 * before the first request, so adding one here does not silence Koa's own error output.
 */
function watchKoaErrors(ctx: object): void {
  const app = (ctx as { app?: unknown }).app as
    | ({ on?: (event: string, listener: (...args: never[]) => void) => unknown } & {
        [kWatchedApp]?: boolean;
      })
    | undefined;
  if (app === undefined || app === null || app[kWatchedApp] === true) return;
  if (typeof app.on !== 'function') return;
  app[kWatchedApp] = true;
  app.on('error', (err: unknown, errCtx: { req?: IncomingMessage } | undefined) => {
    const req = errCtx?.req;
    if (req !== undefined && req !== null) findRequest(req)?.recordError(err);
  });
}
