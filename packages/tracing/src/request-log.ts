// Where a request's log state lives between the logger middleware and the response's end, and `req.log`.
//
// Express swaps the prototype of every req and res (Object.setPrototypeOf), and V8 then adds each new
// property to them slowly: microseconds a property, measured. So, as in @vigil/metrics, nothing is
// stored on req or res. A request waits in a small array on its socket (one per connection, reused by
// every keep-alive request on it); completion comes from Node's `http.server.response.finish`
// diagnostics channel, an abort from the socket's 'close'. `req.log` is an accessor defined once on
// the request prototype that finds the request's RequestLog in a WeakMap, so a request that never
// reads it pays for no logger.
import { subscribe } from 'node:diagnostics_channel';
import { IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';

/** How a request's response ended. */
export type Ending = 'finish' | 'close' | 'error';

/** The request logger a request belongs to. */
export interface LogSink {
  /** Writes the request's line (or not: ignored paths, operational endpoints, levels). */
  end(request: PendingRequest, ending: Ending, error: unknown): void;
  /** The logger `req.log` returns, made on first use. */
  requestLogger(req: IncomingMessage, log: RequestLog): Logger;
}

/** The ids a request's lines carry; only defined values are written. */
export interface RequestIds {
  trace_id?: string;
  span_id?: string;
  request_id: string;
  correlation_id: string;
}

/** One connection's requests waiting for their end, and its client's address. */
export class Connection {
  readonly pending: PendingRequest[] = [];
  // Read while the socket is open: once it is closed, an address not read before is gone.
  readonly remoteAddress: string | undefined;
  readonly remotePort: number | undefined;
  constructor(socket: Socket) {
    this.remoteAddress = socket.remoteAddress;
    this.remotePort = socket.remotePort;
  }
}

/**
 * What a request's `req.log` needs: its ids, the URL and the connection. It is the value of a WeakMap
 * keyed by the request, so it holds nothing that leads back to the request: with the request itself
 * in the value, the garbage collector's share of a profile of the benchmark rose from about 10 % to
 * about 16 %.
 */
export class RequestLog {
  /** `req.log`, once asked for. */
  logger: Logger | undefined = undefined;
  /** The connection, when the request's line is due. */
  connection: Connection | undefined = undefined;
  constructor(
    readonly sink: LogSink,
    readonly ids: RequestIds,
    /** The URL as the logger saw it (Express's originalUrl): routers rewrite `req.url` on the way. */
    readonly url: string,
  ) {}
}

/** A request with its log: what the `req` serializer writes from. */
export class LoggedRequest {
  constructor(
    readonly req: IncomingMessage,
    readonly log: RequestLog,
  ) {}
}

/** A request between the logger middleware and the end of its response. */
export class PendingRequest extends LoggedRequest {
  /** Set once the end has been handled: a response ends once. */
  ended = false;
  constructor(
    req: IncomingMessage,
    log: RequestLog,
    readonly res: ServerResponse,
    /** The Koa context, for its route template. */
    readonly koa: object | undefined,
    readonly startMs: number,
  ) {
    super(req, log);
  }
}

const kConnection = Symbol('vigil.tracing.logConnection');
type TrackedSocket = Socket & { [kConnection]?: Connection };

// The log of each request, for `req.log`: weak, so it goes with the request.
const logs = new WeakMap<IncomingMessage, RequestLog>();
let subscribed = false;

/**
 * Registers the request for `req.log`, and when `due` waits for the end of its response to call
 * `sink.end()` exactly once.
 */
export function track(request: PendingRequest, due: boolean): void {
  const { req, res, log } = request;
  // pino-http's rule: the first logger mounted is the one `req.log` returns.
  if (logs.get(req) === undefined) logs.set(req, log);
  if (!due) return;
  const socket = req.socket as TrackedSocket | null;
  // HTTP/2's compatibility API publishes no finish message: the response's own events say it there.
  if (socket === null || req.httpVersionMajor !== 1) {
    watchResponse(request);
    return;
  }
  if (!subscribed) {
    subscribed = true;
    subscribe('http.server.response.finish', onResponseFinish);
  }
  let connection = socket[kConnection];
  if (connection === undefined) {
    connection = socket[kConnection] = new Connection(socket);
    socket.once('close', onSocketClose);
  }
  log.connection = connection;
  connection.pending.push(request);
  // A response 'error' (a write after end) is part of the line; the listener also keeps such an error
  // from crashing the process while the line is pending, as pino-http's did.
  res.on('error', onResponseError);
}

function onResponseFinish(message: unknown): void {
  const { response, socket } = message as {
    response?: ServerResponse & { socket: TrackedSocket | null };
    socket?: TrackedSocket;
  };
  const pending = (socket ?? response?.socket)?.[kConnection]?.pending;
  if (pending !== undefined) endResponse(pending, response, 'finish', undefined);
}

function onResponseError(this: ServerResponse, error: unknown): void {
  const socket = (this.socket ?? this.req?.socket) as TrackedSocket | null | undefined;
  const pending = socket?.[kConnection]?.pending;
  if (pending !== undefined) endResponse(pending, this, 'error', error);
}

/** Ends the requests in `pending` that `res` answers: one, or one per logger when two are mounted. */
function endResponse(
  pending: PendingRequest[],
  res: unknown,
  ending: Ending,
  error: unknown,
): void {
  // Almost always a single entry; HTTP/1.1 pipelining can queue a few.
  for (let i = 0; i < pending.length;) {
    const request = pending[i]!;
    if (request.res !== res) {
      i++;
      continue;
    }
    if (pending.length === 1) pending.pop();
    else pending.splice(i, 1);
    end(request, ending, error);
  }
}

function onSocketClose(this: TrackedSocket): void {
  const connection = this[kConnection];
  if (connection === undefined || connection.pending.length === 0) return;
  for (const request of connection.pending.splice(0)) end(request, 'close', undefined);
}

function watchResponse(request: PendingRequest): void {
  const { res } = request;
  res.once('finish', () => end(request, 'finish', undefined));
  res.once('close', () => end(request, 'close', undefined));
}

function end(request: PendingRequest, ending: Ending, error: unknown): void {
  if (request.ended) return;
  request.ended = true;
  // Once the line is written, errors are the app's again (an unhandled one crashes, as without us).
  if (request.log.connection !== undefined) request.res.removeListener('error', onResponseError);
  request.log.sink.end(request, ending, error);
}

/** The logger `req.log` returns for `req`, if a request logger saw it. */
export function requestLoggerOf(req: unknown): Logger | undefined {
  if (req === null || typeof req !== 'object') return undefined;
  const log = logs.get(req as IncomingMessage);
  return log === undefined ? undefined : log.sink.requestLogger(req as IncomingMessage, log);
}

const kAccessor = Symbol('vigil.tracing.logAccessor');
type Accessor = (() => unknown) & { [kAccessor]?: true };

/**
 * Defines `log` once on `target` (a prototype): a getter that returns the logger of the request its
 * receiver leads to through `requestOf`, else what `log` was before (another copy of Vigil's accessor,
 * or a default someone put there). Assigning `log` on an instance makes it that instance's own value,
 * as if the accessor were not there.
 */
export function defineLogAccessor(target: object, requestOf: (self: object) => unknown): void {
  const previous = Object.getOwnPropertyDescriptor(target, 'log');
  if ((previous?.get as Accessor | undefined)?.[kAccessor] === true) return;
  if (previous !== undefined && previous.configurable !== true) return;
  const get: Accessor = function vigilRequestLog(this: object) {
    const own = requestLoggerOf(requestOf(this));
    if (own !== undefined) return own;
    return previous?.get !== undefined ? previous.get.call(this) : previous?.value;
  };
  get[kAccessor] = true;
  Object.defineProperty(target, 'log', {
    configurable: true,
    enumerable: false,
    get,
    set(this: object, value: unknown) {
      Object.defineProperty(this, 'log', {
        value,
        writable: true,
        configurable: true,
        enumerable: true,
      });
    },
  });
}

/**
 * Where `req.log` goes for `req`: the prototype shared by all of the framework's requests (the one
 * just above Node's IncomingMessage.prototype, Express's `express.request`), so Express sub-apps,
 * which swap in prototypes of their own that inherit from it, see it too. For a plain Node request
 * (Koa's `ctx.req`) that is IncomingMessage.prototype itself; for anything else (HTTP/2's
 * compatibility API) the request's own prototype.
 */
export function requestPrototypeOf(req: object): object | null {
  const first = Object.getPrototypeOf(req) as object | null;
  for (let proto = first; proto !== null;) {
    if (proto === IncomingMessage.prototype) return proto;
    const up = Object.getPrototypeOf(proto) as object | null;
    if (up === IncomingMessage.prototype) return proto;
    proto = up;
  }
  return first;
}
