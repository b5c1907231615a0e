// Operational endpoints (/metrics, /health, /_vigil, ...): the one list of their paths, and the mark an
// endpoint puts on a request it answers so other Vigil middleware can leave it alone.
import type { IncomingMessage } from 'node:http';
import { findRequest } from './lifecycle';

/**
 * The paths of Vigil's operational endpoints, each with everything below it (`/health` covers
 * `/health/live`, `/_vigil` covers `/_vigil/traces/:id`): `/metrics` (and `/metrics/summary`),
 * `/health`, `/alerts`, `/observability`, `/_vigil`. Tracing gives them no span and no request log
 * line, rate limiting never limits them, unless configured otherwise.
 */
export const OPERATIONAL_PATHS: readonly string[] = Object.freeze([
  '/metrics',
  '/health',
  '/alerts',
  '/observability',
  '/_vigil',
]);

// Compared as Express and Koa routes compare by default: without case, with or without a trailing slash.
const PATTERN = new RegExp(
  `^(?:${OPERATIONAL_PATHS.map((p) => p.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')).join('|')})(?:/|$)`,
  'i',
);

/** The operational paths as one RegExp, for options that take paths or RegExps. */
export const OPERATIONAL_PATH_PATTERN: RegExp = PATTERN;

/** True when `path` (without query) is one of OPERATIONAL_PATHS or below one. */
export function isOperationalPath(path: string): boolean {
  return PATTERN.test(path);
}

// Registered symbol, so that two copies of @vigil/core in one process still agree.
const kOperational = Symbol.for('vigil.operational');
type Marked = IncomingMessage & { [kOperational]?: boolean };

/**
 * Flags a request as served by an operational endpoint and tells the Vigil middleware following it
 * (through its request record), so a scrape does not even show as in flight.
 */
export function markOperational(req: IncomingMessage): void {
  const record = findRequest(req);
  // Without a record no Vigil middleware saw the request; the flag is kept on it for isOperational().
  if (record !== undefined) record.claim();
  else (req as Marked)[kOperational] = true;
}

/** True when an operational endpoint answered this request. */
export function isOperational(req: IncomingMessage): boolean {
  return findRequest(req)?.operational ?? (req as Marked)[kOperational] === true;
}
