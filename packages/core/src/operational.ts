// Operational endpoints (/metrics, /health, /_vigil, ...): the one list of their paths, and the mark an
// endpoint puts on a request it answers so other Vigil middleware can leave it alone.
import type { IncomingMessage } from 'node:http';
import { findRequest } from './lifecycle';

/**
 * The paths of Vigil's operational endpoints: `/metrics`, `/metrics/summary`, `/health`,
 * `/health/live`, `/health/ready`, `/health/startup`, `/observability`, and everything under
 * `/alerts/` and `/_vigil/` (the alerts API and the live page own those namespaces). Tracing gives
 * them no span, the request logger no line, rate limiting never limits them, unless configured
 * otherwise. Compared as Express and Koa route by default: without case, with or without a trailing
 * slash.
 */
export const OPERATIONAL_PATHS: readonly string[] = Object.freeze([
  '/metrics',
  '/metrics/summary',
  '/health',
  '/health/live',
  '/health/ready',
  '/health/startup',
  '/observability',
  '/alerts',
  '/alerts/*',
  '/_vigil',
  '/_vigil/*',
]);

const escape = (p: string): string => p.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

// `/x/*` is everything below /x, in segments that are not `.` or `..` (so `/_vigil/../api/login`, which
// a proxy may resolve to `/api/login`, is not exempt); anything else is exact.
const BELOW = String.raw`(?:/(?!\.\.?(?:/|$))[^/]+)+`;
const PATTERN = new RegExp(
  `^(?:${OPERATIONAL_PATHS.map((p) => (p.endsWith('/*') ? escape(p.slice(0, -2)) + BELOW : escape(p))).join('|')})/?$`,
  'i',
);

/** The operational paths as one RegExp, for options that take paths or RegExps. */
export const OPERATIONAL_PATH_PATTERN: RegExp = PATTERN;

/** True when `path` (without query) is one of OPERATIONAL_PATHS. */
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
