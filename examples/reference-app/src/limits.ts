// The gateway's rate-limit policies, configured from the environment (see the README).
import type { Registry } from 'prom-client';
import type { AuditSink } from '@vigil/audit';
import { type ExpressRateLimit, type RateLimitOptions, expressRateLimit } from '@vigil/rate-limit';

export interface RateLimitSettings {
  /** Login attempts allowed per client address per window. `VIGIL_LOGIN_LIMIT`, default 5. */
  loginLimit: number;
  /** `VIGIL_LOGIN_WINDOW_MS`, default 60000. */
  loginWindowMs: number;
  /** API requests allowed per client (API key, else address) per window. `VIGIL_API_LIMIT`, default 600. */
  apiLimit: number;
  /** `VIGIL_API_WINDOW_MS`, default 60000. */
  apiWindowMs: number;
  /** Shared store for every instance. `REDIS_URL`; default none (in-memory). */
  redisUrl: string | undefined;
}

function integer(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) {
    throw new Error(
      `${name} must be an integer of at least ${min}, received ${JSON.stringify(raw)}`,
    );
  }
  return value;
}

/** Reads the settings; an invalid value stops the app at startup with a message naming the variable. */
export function rateLimitSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): RateLimitSettings {
  const redisUrl = env.REDIS_URL?.trim();
  return {
    loginLimit: integer(env, 'VIGIL_LOGIN_LIMIT', 5, 1),
    loginWindowMs: integer(env, 'VIGIL_LOGIN_WINDOW_MS', 60_000, 1000),
    apiLimit: integer(env, 'VIGIL_API_LIMIT', 600, 1),
    apiWindowMs: integer(env, 'VIGIL_API_WINDOW_MS', 60_000, 1000),
    redisUrl: redisUrl === '' ? undefined : redisUrl,
  };
}

/**
 * `login`: strict, per address, on POST /api/auth/login; it fails closed when Redis is down, since
 * unlimited password guessing is worse than a short outage of logins. `api`: every /api route, per
 * API key (`x-api-key`) or address; it falls back to per-process counting when Redis is down.
 * The options of expressRateLimit() without `registry` and `audit`, which vigil() fills in.
 */
export function gatewayRateLimitOptions(settings: RateLimitSettings): RateLimitOptions {
  return {
    policies: [
      {
        name: 'login',
        limit: settings.loginLimit,
        windowMs: settings.loginWindowMs,
        routes: ['/api/auth/login'],
        methods: ['POST'],
        onStoreError: 'fail-closed',
      },
      {
        name: 'api',
        limit: settings.apiLimit,
        windowMs: settings.apiWindowMs,
        key: 'api-key',
        routes: ['/api'],
        onStoreError: 'fallback',
      },
    ],
    store: settings.redisUrl === undefined ? 'memory' : 'redis',
    ...(settings.redisUrl !== undefined && { redis: { url: settings.redisUrl } }),
  };
}

/** The same policies as a limiter of its own, on `registry`, auditing to `audit` (without vigil()). */
export function createGatewayRateLimit(
  settings: RateLimitSettings,
  registry: Registry,
  audit: AuditSink,
): ExpressRateLimit {
  return expressRateLimit({ ...gatewayRateLimitOptions(settings), registry, audit });
}
