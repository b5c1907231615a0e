// Options of expressRateLimit() / koaRateLimit(): validated once, at the factory call, into a frozen
// configuration of policies, store, headers, metrics and audit.
import type { Registry } from 'prom-client';
import {
  type MinimalLogger,
  type OptionContext,
  OPERATIONAL_PATH_PATTERN,
  hasMethod,
  integerOption,
  loggerOption,
  optionError,
  optionNames,
  pathListOption,
  readOptions,
} from '@vigil/core';
import { DEFAULT_IPV6_SUBNET } from './keys';
import { type PolicyRoutes, policyRoutes } from './paths';
import type {
  AuditSink,
  KeyFunction,
  LimitedRequest,
  PolicyOptions,
  RateLimitOptions,
  RedisClientLike,
  RedisOptions,
  StoreErrorBehaviour,
} from './types';

/**
 * Paths never limited unless configured otherwise: @vigil/core's operational endpoints (`/metrics`,
 * `/health`, `/alerts`, `/observability`, `/_vigil` and every path below them), as one RegExp.
 */
export const DEFAULT_SKIP_PATHS: readonly (string | RegExp)[] = Object.freeze([
  OPERATIONAL_PATH_PATTERN,
]);

/** The store-failure behaviours a policy may declare. */
export const STORE_ERROR_BEHAVIOURS: readonly StoreErrorBehaviour[] = [
  'fail-open',
  'fail-closed',
  'fallback',
];

export interface Policy {
  readonly name: string;
  readonly limit: number;
  readonly windowMs: number;
  readonly key: 'ip' | 'user' | 'api-key' | KeyFunction;
  readonly user: ((request: LimitedRequest) => unknown) | undefined;
  readonly apiKeyHeader: string;
  readonly routes: PolicyRoutes;
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

const KEYS = optionNames<RateLimitOptions>({
  policies: true,
  store: true,
  redis: true,
  ipv6Subnet: true,
  headers: true,
  skipPaths: true,
  retryIntervalMs: true,
  registry: true,
  audit: true,
  logger: true,
});
const POLICY_KEYS = optionNames<PolicyOptions>({
  name: true,
  limit: true,
  windowMs: true,
  key: true,
  user: true,
  apiKeyHeader: true,
  routes: true,
  methods: true,
  onStoreError: true,
  statusCode: true,
  message: true,
  skipSuccessfulRequests: true,
  skipFailedRequests: true,
});
const REDIS_KEYS = optionNames<RedisOptions>({
  url: true,
  client: true,
  prefix: true,
  commandTimeoutMs: true,
});

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
    isSkipped: pathListOption(ctx, 'skipPaths', o.skipPaths, DEFAULT_SKIP_PATHS, {
      folded: true,
    }),
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
    if (!REDIS_KEYS.includes(key)) {
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
    if (!POLICY_KEYS.includes(key)) {
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
    routes: policyRoutes(ctx, at, p.routes, p.methods),
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
