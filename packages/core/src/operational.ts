// Marks requests answered by Vigil's operational endpoints so other Vigil middleware can leave them alone.
import type { IncomingMessage } from 'node:http';

// Registered symbols so that two copies of @vigil/core in one process still agree.
const kOperational = Symbol.for('vigil.operational');
const kOnOperational = Symbol.for('vigil.onOperational');

type Marked = IncomingMessage & {
  [kOperational]?: boolean;
  [kOnOperational]?: (req: IncomingMessage) => void;
};

/**
 * Flags a request as served by an operational endpoint (/metrics, /health, ...), and tells the
 * middleware that asked to know (see onOperational), so a scrape does not even show as in flight.
 */
export function markOperational(req: IncomingMessage): void {
  const r = req as Marked;
  r[kOperational] = true;
  const hook = r[kOnOperational];
  if (hook !== undefined) {
    r[kOnOperational] = undefined;
    try {
      hook(req);
    } catch {
      // Observability hooks never break the endpoint.
    }
  }
}

/** Registers `hook` to run when an operational endpoint claims `req`; one hook per request. */
export function onOperational(req: IncomingMessage, hook: (req: IncomingMessage) => void): void {
  (req as Marked)[kOnOperational] = hook;
}

/** True when an operational endpoint answered this request. */
export function isOperational(req: IncomingMessage): boolean {
  return (req as Marked)[kOperational] === true;
}
