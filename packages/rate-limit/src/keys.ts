// Rate-limit keys: client IP (IPv6 by subnet, IPv4-mapped as IPv4), user id, API key, or a function.
import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import { ipKeyGenerator } from 'express-rate-limit';

/** The IPv6 prefix length that keys one client by default: a /56 is what one site is usually given. */
export const DEFAULT_IPV6_SUBNET = 56;

/** The key of a request without a known address (its socket already gone). */
export const UNKNOWN_CLIENT = 'unknown';

/** The last IPv4 address ipKey() saw: its own key, found again without isIP()'s parsing. */
let lastIPv4: string | undefined;

/**
 * The key of a client address, exactly as express-rate-limit makes it: IPv4 as is, IPv4-mapped and
 * IPv4-compatible IPv6 as the IPv4 address, other IPv6 as its `/subnet` network.
 */
export function ipKey(
  ip: string | undefined,
  subnet: number | false = DEFAULT_IPV6_SUBNET,
): string {
  if (ip === undefined || ip === '') return UNKNOWN_CLIENT;
  // The same client usually comes back (keep-alive connections, a proxy): its address is known.
  if (ip === lastIPv4) return ip;
  const family = isIP(ip);
  // An IPv4 address is its own key (express-rate-limit returns it as is): no IPv6 parsing for it.
  if (family === 4) {
    lastIPv4 = ip;
    return ip;
  }
  return ipKeyGenerator(family === 0 ? withoutPort(ip) : ip, subnet);
}

/**
 * `1.2.3.4:5678` and `[2001:db8::1]:5678` (what some proxies put in X-Forwarded-For) as the bare
 * address, so a client cannot get a fresh bucket per source port. Anything else is returned as is.
 */
function withoutPort(value: string): string {
  const bracketed = /^\[([0-9A-Fa-f:.]+)\](?::\d{1,5})?$/.exec(value);
  if (bracketed !== null && isIP(bracketed[1] as string) === 6) return bracketed[1] as string;
  const v4 = /^(\d{1,3}(?:\.\d{1,3}){3}):\d{1,5}$/.exec(value);
  if (v4 !== null && isIP(v4[1] as string) === 4) return v4[1] as string;
  return value;
}

/**
 * Normalises what a custom key function returned. An address (`req.ip`, `ctx.ip`) goes through
 * ipKey() so that a key function written as `(req) => req.ip` cannot hand every address of an IPv6
 * /64 its own bucket by accident. Other strings and numbers are kept; anything else, and '', means "no key".
 */
export function normaliseCustomKey(value: unknown, subnet: number | false): string | undefined {
  // Only strings and numbers: an object would stringify to "[object Object]", one bucket for all.
  if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'bigint') {
    return undefined;
  }
  const text = String(value);
  if (text === '') return undefined;
  if (isIP(text) !== 0) return ipKey(text, subnet);
  // Bound what goes to the store: long keys are hashed, not truncated (truncation could merge keys).
  return text.length <= 200 ? text : `h:${digest(text)}`;
}

/** A short stable digest, so API keys never reach the store, logs or audit events in the clear. */
export function digest(value: string): string {
  return createHash('sha256').update(value).digest('hex').slice(0, 32);
}

/** The key of an API key header value, hashed; undefined when the header is absent or empty. */
export function apiKeyKey(header: string | string[] | undefined): string | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined || value === '') return undefined;
  return `key:${digest(value)}`;
}

/** The key of a user id; undefined when there is none. */
export function userKey(id: unknown): string | undefined {
  if (id === undefined || id === null || id === '') return undefined;
  if (typeof id !== 'string' && typeof id !== 'number' && typeof id !== 'bigint') return undefined;
  const text = String(id);
  return `user:${text.length <= 200 ? text : digest(text)}`;
}
