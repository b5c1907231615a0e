// Marks requests answered by Vigil's operational endpoints so other Vigil middleware can leave them alone.
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';

// Registered symbols so that two copies of @vigil/core in one process still agree.
const kOperational = Symbol.for('vigil.operational');
const kOnOperational = Symbol.for('vigil.onOperational');

type Marked = IncomingMessage & { [kOperational]?: boolean };
type Hooked = Socket & { [kOnOperational]?: (req: IncomingMessage) => void };

/**
 * Flags a request as served by an operational endpoint (/metrics, /health, ...), and tells the
 * middleware that asked to know (see onOperational), so a scrape does not even show as in flight.
 */
export function markOperational(req: IncomingMessage): void {
  (req as Marked)[kOperational] = true;
  const hook = (req.socket as Hooked | null)?.[kOnOperational];
  if (hook === undefined) return;
  try {
    hook(req);
  } catch {
    // Observability hooks never break the endpoint.
  }
}

/**
 * Registers `hook` to run when an operational endpoint claims a request on `socket`. The hook lives
 * on the connection, not the request: properties added to Express's prototype-swapped req objects
 * are slow, a socket's are not, and keep-alive requests share one.
 */
export function onOperational(socket: Socket, hook: (req: IncomingMessage) => void): void {
  const s = socket as Hooked;
  if (s[kOnOperational] !== hook) s[kOnOperational] = hook;
}

/** True when an operational endpoint answered this request. */
export function isOperational(req: IncomingMessage): boolean {
  return (req as Marked)[kOperational] === true;
}
