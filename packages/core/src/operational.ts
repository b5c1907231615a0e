// Marks requests answered by Vigil's operational endpoints so other Vigil middleware can leave them alone.
import type { IncomingMessage } from 'node:http';

// A registered symbol so that two copies of @vigil/core in one process still agree.
const kOperational = Symbol.for('vigil.operational');

/** Flags a request as served by an operational endpoint (/metrics, /health, ...). */
export function markOperational(req: IncomingMessage): void {
  (req as unknown as Record<symbol, boolean>)[kOperational] = true;
}

/** True when an operational endpoint answered this request. */
export function isOperational(req: IncomingMessage): boolean {
  return (req as unknown as Record<symbol, boolean | undefined>)[kOperational] === true;
}
