// The drain of one HTTP server at shutdown: stop accepting, let in-flight and keep-alive requests
// finish with `Connection: close`, close connections once idle, and give up at a deadline.
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { Server as NetServer, type Socket } from 'node:net';
import { Server as TlsServer } from 'node:tls';
import {
  type Connection as RequestConnection,
  type ProblemReporter,
  type RequestRecord,
  type RequestSink,
  beginRequest,
} from '@vigil/core';

interface Connection {
  /** Requests received and not yet ended. */
  active: number;
  /** performance.now() when it last became idle. */
  idleSince: number;
  /** socket.bytesRead then: bytes read since mean a request is arriving. */
  readAtIdle: number;
  /** Its requests in @vigil/core's lifecycle, once one began (HTTP/1 only). */
  requests: RequestConnection | undefined;
}

/**
 * Counts each connection's requests through @vigil/core's request lifecycle: a request is in flight
 * from its 'request' event until its record ends, finished or aborted (its connection closed first,
 * pipelined requests queued behind it included), so a count cannot outlive its request.
 */
export class ServerDrain implements RequestSink {
  private readonly connections = new Map<Socket, Connection>();
  private draining = false;

  constructor(
    readonly server: Server,
    private readonly problems: ProblemReporter,
  ) {
    // An HTTPS server's requests come on the TLS socket, not on the TCP one 'connection' gives.
    const event = server instanceof TlsServer ? 'secureConnection' : 'connection';
    server.on(event, (socket: Socket) => this.track(socket));
    // First among the request listeners: the header is set before the app can send any, and the
    // request's record is begun here; the app's Vigil middleware find this same record (it is looked
    // up by the request object, which Express's prototype swap and Koa's context keep).
    server.prependListener('request', (req: IncomingMessage, res: ServerResponse) =>
      this.onRequest(req, res),
    );
  }

  private track(socket: Socket): Connection {
    const c: Connection = {
      active: 0,
      idleSince: performance.now(),
      readAtIdle: 0,
      requests: undefined,
    };
    this.connections.set(socket, c);
    socket.once('close', () => this.connections.delete(socket));
    return c;
  }

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    if (this.draining) closeAfter(res);
    const socket = req.socket;
    const c = this.connections.get(socket) ?? this.track(socket);
    try {
      const record = beginRequest(req, res);
      // False only for a request already over (its connection closed): never in flight.
      if (!record.subscribe(this)) return;
      c.active++;
      c.requests ??= record.connection;
    } catch (err) {
      this.problems.report('tracking a request for the drain', err);
    }
  }

  /** The lifecycle ended a request of this server: its connection may have become idle. */
  requestEnded(record: RequestRecord): void {
    const socket = record.req.socket;
    // Undefined once its connection closed: nothing left to count.
    const c = this.connections.get(socket);
    if (c === undefined) return;
    c.active--;
    c.idleSince = record.endTime;
    c.readAtIdle = socket.bytesRead;
  }

  /**
   * Stops accepting and waits for every connection to end, closing idle ones after `idleMs`; past
   * `timeoutMs` the rest are destroyed. Resolves when the server has no connection left.
   */
  async drain(timeoutMs: number, idleMs: number): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    // The requests in flight. HTTP/2 streams have no connection list here, and no Connection header.
    for (const c of this.connections.values()) {
      const pending = c.requests?.pending;
      if (pending !== undefined) for (const record of pending) closeAfter(record.res);
    }
    // net.Server's close, not http.Server's: the latter also closes every idle keep-alive connection
    // at once, racing the requests clients may be writing on them. Idle ones are closed below, once
    // they have stayed idle for idleMs.
    const closed = new Promise<void>((resolve) => {
      NetServer.prototype.close.call(this.server, () => resolve());
    });
    const sweep = () => {
      const now = performance.now();
      for (const [socket, c] of this.connections) {
        if (c.active > 0) continue;
        if (socket.bytesRead !== c.readAtIdle) {
          // A request is arriving: it will be answered with Connection: close.
          c.readAtIdle = socket.bytesRead;
          c.idleSince = now;
          continue;
        }
        if (now - c.idleSince >= idleMs) socket.destroy();
      }
    };
    sweep();
    const timer = setInterval(sweep, Math.max(5, Math.min(50, idleMs / 2)));
    let deadline: NodeJS.Timeout | undefined;
    const expired = new Promise<void>((resolve) => {
      deadline = setTimeout(resolve, timeoutMs);
    });
    try {
      await Promise.race([closed, expired]);
    } finally {
      clearInterval(timer);
      clearTimeout(deadline);
    }
    for (const socket of this.connections.keys()) socket.destroy();
    // Connections accepted before attach() are Node's to close.
    this.server.closeAllConnections();
  }
}

function closeAfter(res: ServerResponse): void {
  // With the header set, Node closes the connection once this response is written, and the client
  // knows not to send another request on it.
  if (!res.headersSent) res.setHeader('Connection', 'close');
}
