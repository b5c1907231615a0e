// Options of expressRateLimit() / koaRateLimit(): policies, store, headers, metrics and audit.
import type { IncomingHttpHeaders } from 'node:http';
import type { Registry } from 'prom-client';
import {
  type MinimalLogger,
  type OptionContext,
  hasMethod,
  integerOption,
  loggerOption,
  optionError,
  readOptions,
} from '@vigil/core';
import { DEFAULT_IPV6_SUBNET } from './keys';

/** What a policy does when its store (Redis) fails or times out. */
export type StoreErrorBehaviour = 'fail-open' | 'fail-closed' | 'fallback';
export const STORE_ERROR_BEHAVIOURS: readonly StoreErrorBehaviour[] = [
  'fail-open',
  'fail-closed',
  'fallback',
];

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
    trace_id?: string;
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

/** Vigil's operational endpoints: never limited. */
export const DEFAULT_SKIP_PATHS: readonly string[] = Object.freeze([
  '/metrics',
  '/metrics/summary',
  '/health',
  '/health/live',
  '/health/ready',
  '/observability',
  '/_vigil',
]);

export interface Policy {
  readonly name: string;
  readonly limit: number;
  readonly windowMs: number;
  readonly key: 'ip' | 'user' | 'api-key' | KeyFunction;
  readonly user: ((request: LimitedRequest) => unknown) | undefined;
  readonly apiKeyHeader: string;
  readonly matches: (method: string, path: string) => boolean;
  readonly onStoreError: StoreErrorBehaviour;
  readonly statusCode: number;
  readonly message: unknown;
  readonly skipSuccessfulRequests: boolean;
  readonly skipFailedRequests: boolean;
}

export interface ParsedOptions {
  readonly policies: readonly Policy[];
  readonly store: 'memory' | 'redis';
  readonly redis: {
    readonly url: string | undefined;
    readonly client: RedisClientLike | undefined;
    readonly prefix: string;
    readonly commandTimeoutMs: number;
  };
  readonly ipv6Subnet: number | false;
  readonly headers: 'draft-7' | 'draft-8' | false;
  readonly isSkipped: (path: string) => boolean;
  readonly retryIntervalMs: number;
  readonly registry: Registry | false;
  readonly audit: AuditSink | undefined;
  readonly logger: MinimalLogger | undefined;
}

const KEYS = [
  'policies',
  'store',
  'redis',
  'ipv6Subnet',
  'headers',
  'skipPaths',
  'retryIntervalMs',
  'registry',
  'audit',
  'logger',
] as const;
const POLICY_KEYS = [
  'name',
  'limit',
  'windowMs',
  'key',
  'user',
  'apiKeyHeader',
  'routes',
  'methods',
  'onStoreError',
  'statusCode',
  'message',
  'skipSuccessfulRequests',
  'skipFailedRequests',
] as const;
const REDIS_KEYS = ['url', 'client', 'prefix', 'commandTimeoutMs'] as const;

const POLICY_NAME = /^[A-Za-z0-9_-]{1,64}$/;
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
// setInterval's limit: express-rate-limit's MemoryStore resets windows with a timer.
const MAX_WINDOW_MS = 2 ** 31 - 1;

export function parseOptions(
  ctx: OptionContext,
  value: unknown,
  argCount: number,
  env: NodeJS.ProcessEnv = process.env,
): ParsedOptions {
  const o = readOptions<RateLimitOptions>(ctx, value, argCount, KEYS);
  if (!Array.isArray(o.policies) || o.policies.length === 0) {
    throw optionError(
      ctx,
      'INVALID_OPTION',
      'policies',
      'a non-empty array of policies',
      o.policies,
    );
  }
  const policies = o.policies.map((p: unknown, i) => parsePolicy(ctx, p, i));
  const seen = new Set<string>();
  for (const p of policies) {
    if (seen.has(p.name)) {
      throw optionError(
        ctx,
        'DUPLICATE_POLICY',
        'policies',
        'policies with distinct names',
        p.name,
        'Each policy keeps its own counts; give each one its own name.',
      );
    }
    seen.add(p.name);
  }

  const redisOptions = readRedisOptions(ctx, o.redis);
  // REDIS_URL applies only when the caller configured neither the redis option nor the memory store.
  const url =
    redisOptions.url ??
    (o.redis === undefined && o.store !== 'memory' ? nonEmpty(env.REDIS_URL) : undefined);
  if (url !== undefined && (typeof url !== 'string' || !/^rediss?:\/\/[^\s]+$/.test(url))) {
    throw optionError(ctx, 'INVALID_STORE', 'redis.url', 'a redis:// or rediss:// URL', url);
  }
  const client = redisOptions.client;
  if (client !== undefined && !hasMethod(client, 'call') && !hasMethod(client, 'sendCommand')) {
    throw optionError(
      ctx,
      'INVALID_STORE',
      'redis.client',
      'an ioredis client (call) or a node-redis client (sendCommand)',
      client,
    );
  }
  if (client !== undefined && redisOptions.url !== undefined) {
    throw optionError(ctx, 'INVALID_STORE', 'redis', 'either url or client, not both', o.redis);
  }
  const hasRedis = client !== undefined || url !== undefined;
  if (o.store !== undefined && o.store !== 'memory' && o.store !== 'redis') {
    throw optionError(ctx, 'INVALID_STORE', 'store', '"memory" or "redis"', o.store);
  }
  const store = o.store ?? (hasRedis ? 'redis' : 'memory');
  if (store === 'redis' && !hasRedis) {
    throw optionError(
      ctx,
      'INVALID_STORE',
      'store',
      '"memory" unless redis.url, redis.client or REDIS_URL is given',
      o.store,
    );
  }
  const prefix = redisOptions.prefix ?? 'vigil-rl:';
  if (typeof prefix !== 'string' || prefix.length > 64 || /\s/.test(prefix)) {
    throw optionError(
      ctx,
      'INVALID_OPTION',
      'redis.prefix',
      'a string of up to 64 characters without spaces',
      prefix,
    );
  }

  let ipv6Subnet: number | false = DEFAULT_IPV6_SUBNET;
  if (o.ipv6Subnet === false) ipv6Subnet = false;
  else ipv6Subnet = integerOption(ctx, 'ipv6Subnet', o.ipv6Subnet, DEFAULT_IPV6_SUBNET, 1, 128);

  const headers = o.headers ?? 'draft-8';
  if (headers !== 'draft-7' && headers !== 'draft-8' && headers !== false) {
    throw optionError(ctx, 'INVALID_OPTION', 'headers', '"draft-8", "draft-7" or false', headers);
  }

  const registry = o.registry;
  if (registry !== undefined && registry !== false && !hasMethod(registry, 'getSingleMetric')) {
    throw optionError(
      ctx,
      'INVALID_OPTION',
      'registry',
      'a prom-client Registry or false',
      registry,
    );
  }
  const audit = o.audit;
  if (audit !== undefined && audit !== false && !hasMethod(audit, 'record')) {
    throw optionError(
      ctx,
      'INVALID_OPTION',
      'audit',
      'an object with record() (an AuditLogger) or false',
      audit,
    );
  }

  return {
    policies,
    store,
    redis: {
      url,
      client,
      prefix,
      commandTimeoutMs: integerOption(
        ctx,
        'redis.commandTimeoutMs',
        redisOptions.commandTimeoutMs,
        250,
        1,
        60_000,
      ),
    },
    ipv6Subnet,
    headers,
    isSkipped: pathSet(ctx, 'skipPaths', o.skipPaths, DEFAULT_SKIP_PATHS),
    retryIntervalMs: integerOption(ctx, 'retryIntervalMs', o.retryIntervalMs, 1000, 10, 600_000),
    registry: registry ?? defaultRegistry(),
    audit: audit === false ? undefined : audit,
    logger: loggerOption(ctx, o.logger),
  };
}

function readRedisOptions(ctx: OptionContext, value: unknown): Partial<RedisOptions> {
  if (value === undefined) return {};
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw optionError(ctx, 'INVALID_OPTION', 'redis', 'an object { url } or { client }', value);
  }
  for (const key of Object.keys(value)) {
    if (!(REDIS_KEYS as readonly string[]).includes(key)) {
      throw optionError(
        ctx,
        'UNKNOWN_OPTION',
        `redis.${key}`,
        `one of ${REDIS_KEYS.map((k) => `redis.${k}`).join(', ')}`,
        key,
        'Check the spelling of the option name.',
      );
    }
  }
  return value;
}

function policyBoolean(ctx: OptionContext, name: string, value: unknown): boolean {
  if (value === undefined) return false;
  if (typeof value !== 'boolean')
    throw optionError(ctx, 'INVALID_POLICY', name, 'a boolean', value);
  return value;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

function defaultRegistry(): Registry {
  // prom-client is a peer dependency; its global registry is the default, as in @vigil/metrics.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require('prom-client') as typeof import('prom-client')).register;
}

function parsePolicy(ctx: OptionContext, value: unknown, index: number): Policy {
  const where = `policies[${index}]`;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw optionError(
      ctx,
      'INVALID_POLICY',
      where,
      'a policy object { name, limit, windowMs, ... }',
      value,
    );
  }
  const pctx: OptionContext = { ...ctx, codePrefix: ctx.codePrefix };
  for (const key of Object.keys(value)) {
    if (!(POLICY_KEYS as readonly string[]).includes(key)) {
      throw optionError(
        pctx,
        'INVALID_POLICY',
        `${where}.${key}`,
        `one of ${POLICY_KEYS.join(', ')}`,
        key,
        'Check the spelling of the option name.',
      );
    }
  }
  const p = value as Partial<PolicyOptions>;
  if (typeof p.name !== 'string' || !POLICY_NAME.test(p.name)) {
    throw optionError(
      ctx,
      'INVALID_POLICY',
      `${where}.name`,
      'a name of 1-64 letters, digits, "_" or "-"',
      p.name,
    );
  }
  const at = `policies["${p.name}"]`;
  const fail = (field: string, expected: string, received: unknown): never => {
    throw optionError(ctx, 'INVALID_POLICY', `${at}.${field}`, expected, received);
  };
  if (typeof p.limit !== 'number' || !Number.isInteger(p.limit) || p.limit < 1 || p.limit > 1e9) {
    fail('limit', 'an integer from 1 to 1000000000', p.limit);
  }
  if (
    typeof p.windowMs !== 'number' ||
    !Number.isInteger(p.windowMs) ||
    p.windowMs < 1000 ||
    p.windowMs > MAX_WINDOW_MS
  ) {
    fail('windowMs', `an integer number of milliseconds from 1000 to ${MAX_WINDOW_MS}`, p.windowMs);
  }
  const key = p.key ?? 'ip';
  if (key !== 'ip' && key !== 'user' && key !== 'api-key' && typeof key !== 'function') {
    fail('key', '"ip", "user", "api-key" or a function', key);
  }
  if (p.user !== undefined && typeof p.user !== 'function') fail('user', 'a function', p.user);
  const user = p.user;
  if (user !== undefined && key !== 'user') fail('user', 'given only with key: "user"', user);
  const apiKeyHeader = p.apiKeyHeader ?? 'x-api-key';
  if (typeof apiKeyHeader !== 'string' || !HEADER_NAME.test(apiKeyHeader)) {
    fail('apiKeyHeader', 'a header name', apiKeyHeader);
  }
  if (p.apiKeyHeader !== undefined && key !== 'api-key') {
    fail('apiKeyHeader', 'given only with key: "api-key"', p.apiKeyHeader);
  }
  const onStoreError = p.onStoreError ?? 'fallback';
  if (!STORE_ERROR_BEHAVIOURS.includes(onStoreError)) {
    fail('onStoreError', '"fail-open", "fail-closed" or "fallback"', onStoreError);
  }
  const statusCode = p.statusCode ?? 429;
  if (
    typeof statusCode !== 'number' ||
    !Number.isInteger(statusCode) ||
    statusCode < 400 ||
    statusCode > 599
  ) {
    fail('statusCode', 'an integer from 400 to 599', statusCode);
  }
  return {
    name: p.name,
    limit: p.limit as number,
    windowMs: p.windowMs as number,
    key,
    user,
    apiKeyHeader: apiKeyHeader.toLowerCase(),
    matches: routeMatcher(ctx, at, p.routes, p.methods),
    onStoreError,
    statusCode,
    message: p.message,
    skipSuccessfulRequests: policyBoolean(
      ctx,
      `${at}.skipSuccessfulRequests`,
      p.skipSuccessfulRequests,
    ),
    skipFailedRequests: policyBoolean(ctx, `${at}.skipFailedRequests`, p.skipFailedRequests),
  };
}

/** Lower-cased, without trailing slashes (but `/` stays `/`): how Express routes compare paths. */
export function canonicalPath(path: string): string {
  let end = path.length;
  while (end > 1 && path.charCodeAt(end - 1) === 47) end--;
  return (end === path.length ? path : path.slice(0, end)).toLowerCase();
}

function routeMatcher(
  ctx: OptionContext,
  at: string,
  routes: unknown,
  methods: unknown,
): (method: string, path: string) => boolean {
  let prefixes: string[] | undefined;
  let patterns: RegExp[] = [];
  if (routes !== undefined) {
    if (!Array.isArray(routes) || routes.length === 0) {
      throw optionError(
        ctx,
        'INVALID_POLICY',
        `${at}.routes`,
        'a non-empty array of path prefixes or RegExps',
        routes,
      );
    }
    prefixes = [];
    for (const r of routes as unknown[]) {
      if (r instanceof RegExp) patterns.push(r);
      else if (typeof r === 'string' && r.startsWith('/')) prefixes.push(canonicalPath(r));
      else
        throw optionError(
          ctx,
          'INVALID_POLICY',
          `${at}.routes`,
          'path prefixes starting with "/" or RegExps',
          r,
        );
    }
  }
  let methodSet: Set<string> | undefined;
  if (methods !== undefined) {
    if (
      !Array.isArray(methods) ||
      methods.length === 0 ||
      !methods.every((m) => typeof m === 'string' && /^[A-Za-z]+$/.test(m))
    ) {
      throw optionError(
        ctx,
        'INVALID_POLICY',
        `${at}.methods`,
        'a non-empty array of HTTP method names',
        methods,
      );
    }
    // Upper case, as Node reports methods; GET covers HEAD, which Express and @koa/router answer
    // with the GET handler (else a client could probe a GET-limited route unlimited with HEAD).
    methodSet = new Set((methods as string[]).map((m) => m.toUpperCase()));
    if (methodSet.has('GET')) methodSet.add('HEAD');
  }
  if (prefixes === undefined && methodSet === undefined) return () => true;
  const list = prefixes;
  if (patterns.length === 0) patterns = [];
  return (method, path) => {
    if (methodSet !== undefined && !methodSet.has(method) && !methodSet.has(method.toUpperCase())) {
      return false;
    }
    if (list === undefined) return true;
    const canonical = canonicalPath(path);
    for (const prefix of list) {
      if (
        canonical === prefix ||
        prefix === '/' ||
        (canonical.startsWith(prefix) && canonical.charCodeAt(prefix.length) === 47)
      )
        return true;
    }
    for (const re of patterns) {
      re.lastIndex = 0;
      if (re.test(path)) return true;
    }
    return false;
  };
}

function pathSet(
  ctx: OptionContext,
  name: string,
  value: unknown,
  fallback: readonly string[],
): (path: string) => boolean {
  const list = value ?? fallback;
  if (!Array.isArray(list) || !list.every((p) => typeof p === 'string' || p instanceof RegExp)) {
    throw optionError(ctx, 'INVALID_OPTION', name, 'an array of paths or RegExps', value);
  }
  const exact = new Set(list.filter((p): p is string => typeof p === 'string').map(canonicalPath));
  const patterns = list.filter((p): p is RegExp => p instanceof RegExp);
  return (path) => {
    if (exact.size > 0 && exact.has(canonicalPath(path))) return true;
    for (const re of patterns) {
      re.lastIndex = 0;
      if (re.test(path)) return true;
    }
    return false;
  };
}
