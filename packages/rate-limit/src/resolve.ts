// Resolving a request's key for a policy, and the body of a limited response: shared by Express and Koa.
import { createHash } from 'node:crypto';
import type { ProblemReporter } from '@vigil/core';
import { apiKeyKey, ipKey, normaliseCustomKey, userKey } from './keys';
import type { Policy } from './options';
import type { LimitInfo, LimitedRequest } from './types';

/**
 * The key of `request` under `policy`. Requests without a user or API key, and key functions that
 * return nothing or throw, fall back to the client address, so nobody escapes a policy by omission.
 */
export async function resolveKey(
  policy: Policy,
  request: LimitedRequest,
  subnet: number | false,
  defaultUser: (request: LimitedRequest) => unknown,
  problems: ProblemReporter,
): Promise<string> {
  let key: string | undefined;
  try {
    if (policy.key === 'user') key = userKey(await (policy.user ?? defaultUser)(request));
    else if (policy.key === 'api-key') key = apiKeyKey(request.headers[policy.apiKeyHeader]);
    else if (typeof policy.key === 'function')
      key = normaliseCustomKey(await policy.key(request), subnet);
  } catch (error) {
    problems.report(`key:${policy.name}`, error);
  }
  return key ?? ipKey(request.ip, subnet);
}

/** Seconds until `resetTime`, as express-rate-limit computes them for its headers. */
export function resetSeconds(windowMs: number, resetTime: Date | undefined): number {
  if (resetTime === undefined) return Math.ceil(windowMs / 1000);
  return Math.max(0, Math.ceil((resetTime.getTime() - Date.now()) / 1000));
}

/** The default body of a limited response. */
export function defaultBody(info: LimitInfo): object {
  return {
    error: 'rate_limited',
    message: 'Too many requests, please try again later.',
    policy: info.policy,
    limit: info.limit,
    retryAfter: info.retryAfterSeconds,
  };
}

/** The body and content type of a limited response; a throwing message function gets the default. */
export function limitedBody(
  policy: Policy,
  info: LimitInfo,
  problems: ProblemReporter,
): { text: string; type: string } {
  let body: unknown = policy.message;
  if (typeof body === 'function') {
    try {
      body = (body as (i: LimitInfo) => unknown)(info);
    } catch (error) {
      problems.report(`message:${policy.name}`, error);
      body = undefined;
    }
  }
  if (body === undefined) body = defaultBody(info);
  if (typeof body === 'string') return { text: body, type: 'text/plain; charset=utf-8' };
  try {
    return { text: JSON.stringify(body), type: 'application/json; charset=utf-8' };
  } catch (error) {
    problems.report(`message:${policy.name}`, error);
    return { text: JSON.stringify(defaultBody(info)), type: 'application/json; charset=utf-8' };
  }
}

/** The body of a fail-closed response (503). */
export function unavailableBody(policy: Policy, retryAfter: number): string {
  return JSON.stringify({
    error: 'rate_limit_unavailable',
    message: 'The rate limiter cannot reach its store; try again shortly.',
    policy: policy.name,
    retryAfter,
  });
}

/** Partition keys already computed, so a returning client costs no hash; emptied when full. */
const partitionKeys = new Map<string, string>();
const MAX_PARTITION_KEYS = 4096;

/** express-rate-limit's draft-8 partition key: base64 of the first 12 hex digits of sha256(key). */
export function partitionKey(key: string): string {
  let value = partitionKeys.get(key);
  if (value === undefined) {
    const hex = createHash('sha256').update(key).digest('hex').slice(0, 12);
    value = Buffer.from(hex).toString('base64');
    if (partitionKeys.size >= MAX_PARTITION_KEYS) partitionKeys.clear();
    partitionKeys.set(key, value);
  }
  return value;
}
