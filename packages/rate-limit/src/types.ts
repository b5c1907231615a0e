// Public types of @vigil/rate-limit: the options, policies, keys, and what limited requests are told.
import type { IncomingHttpHeaders } from 'node:http';
import type { Registry } from 'prom-client';
import type { MinimalLogger } from '@vigil/core';

/** What a policy does when its store (Redis) fails or times out. */
export type StoreErrorBehaviour = 'fail-open' | 'fail-closed' | 'fallback';

/** What a key function and a response function are given, for Express and Koa alike. */
export interface LimitedRequest {
  /** The framework's request (Express `req`) or context (Koa `ctx`). */
  readonly source: unknown;
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  /** The client address as the framework resolved it (trust proxy / app.proxy applied). */
  readonly ip: string | undefined;
}

/** A key function: a string (or number) key, or undefined to fall back to the client address. */
export type KeyFunction = (request: LimitedRequest) => unknown;

/** Where a request stands against one policy, given to response functions and audit events. */
export interface LimitInfo {
  readonly policy: string;
  readonly limit: number;
  readonly used: number;
  readonly remaining: number;
  readonly resetTime: Date | undefined;
  /** Seconds until the window resets (the Retry-After value of a 429). */
  readonly retryAfterSeconds: number;
}

export interface PolicyOptions {
  /** Names the policy in metrics, headers and audit events: letters, digits, `_`, `-`; up to 64. */
  name: string;
  /** Requests allowed per key per window. */
  limit: number;
  /** The window in milliseconds (fixed window, as express-rate-limit's stores count). */
  windowMs: number;
  /**
   * What a client is: `ip` (default), `user` (the `user` function's id), `api-key` (the
   * `apiKeyHeader` value, hashed), or a function. Requests without a user or API key, and key
   * functions returning nothing, are keyed by client address.
   */
  key?: 'ip' | 'user' | 'api-key' | KeyFunction;
  /** For `key: 'user'`: reads the user id. Default: `req.user.id` (Express), `ctx.state.user.id` (Koa). */
  user?: (request: LimitedRequest) => unknown;
  /** For `key: 'api-key'`: the header carrying the key. Default `x-api-key`. */
  apiKeyHeader?: string;
  /**
   * Paths the policy applies to: a string is a path prefix on segment boundaries, compared without
   * case and trailing slash as Express routes match (`/api` covers `/api` and `/api/x`, not `/apix`);
   * a RegExp is tested on the path. Default: every path.
   */
  routes?: (string | RegExp)[];
  /** Methods the policy applies to. Default: every method. */
  methods?: string[];
  /** See StoreErrorBehaviour. Default `fallback`. */
  onStoreError?: StoreErrorBehaviour;
  /** Status of a limited response. Default 429. */
  statusCode?: number;
  /** Body of a limited response (sent as JSON when not a string), or a function of LimitInfo. */
  message?: unknown;
  /** Count only requests that fail (status >= 400): a failed-login limit. Default false. */
  skipSuccessfulRequests?: boolean;
  /** Count only requests that succeed. Default false. */
  skipFailedRequests?: boolean;
}

/** The part of a Redis client the stores use: ioredis (`call`) or node-redis (`sendCommand`). */
export type RedisClientLike =
  | { call(command: string, ...args: (string | number)[]): Promise<unknown> }
  | { sendCommand(args: string[]): Promise<unknown> };

export interface RedisOptions {
  /** A `redis://` or `rediss://` URL; Vigil creates an ioredis client configured to fail fast. */
  url?: string;
  /** A client of your own (ioredis or node-redis). Configure it to fail fast (see the README). */
  client?: RedisClientLike;
  /** Key prefix; each policy adds its name. Default `vigil-rl:`. */
  prefix?: string;
  /** Longest a store call may take before it counts as a failure. Default 250 ms. */
  commandTimeoutMs?: number;
}

/** Anything with record(event), such as @vigil/audit's AuditLogger. */
export interface AuditSink {
  record(event: {
    type: string;
    outcome: 'success' | 'failure' | 'denied' | 'error' | 'unknown';
    action?: string;
    actor?: string;
    resource?: string;
    reason?: string;
    client_ip?: string;
    request_id?: string;
    correlation_id?: string;
    trace_id?: string;
    span_id?: string;
    metadata?: Record<string, unknown>;
  }): unknown;
}

export interface RateLimitOptions {
  policies: PolicyOptions[];
  /**
   * `memory` (per process) or `redis` (shared). Default: `redis` when `redis` is given or
   * `REDIS_URL` is set, else `memory`.
   */
  store?: 'memory' | 'redis';
  redis?: RedisOptions;
  /** IPv6 prefix length that keys a client, 1-128, or false for whole addresses. Default 56. */
  ipv6Subnet?: number | false;
  /** IETF header draft: `draft-8` (named policies), `draft-7`, or false. Default `draft-8`. */
  headers?: 'draft-7' | 'draft-8' | false;
  /** Paths never limited (exact, or RegExp). Default: Vigil's operational endpoints. */
  skipPaths?: (string | RegExp)[];
  /** After a store failure, how long policies skip the store before trying it again. Default 1000. */
  retryIntervalMs?: number;
  /** Registry for `rate_limit_requests_total`; false for none. Default: prom-client's global registry. */
  registry?: Registry | false;
  /** Where `rate_limit.*` audit events go; false for none. Default: none. */
  audit?: AuditSink | false;
  /** Logger for configuration warnings and store failures (pino works). Default: process warnings. */
  logger?: MinimalLogger;
}

/**
 * Where a request stands against the last policy that counted it: express-rate-limit's
 * `req.rateLimit` on Express, `ctx.state.rateLimit` on Koa.
 */
export interface RateLimitState {
  /** The policy's limit per window. */
  limit: number;
  /** Requests counted for the key in this window, this one included. */
  used: number;
  /** Requests left in this window (0 once limited). */
  remaining: number;
  /** When the window resets; undefined when the store does not say. */
  resetTime: Date | undefined;
  /** The key the request was counted under (an address, a subnet, `user:<id>`, a hashed API key). */
  key: string;
}
