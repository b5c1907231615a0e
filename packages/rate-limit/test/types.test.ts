// The public types of @vigil/rate-limit, checked by the compiler (npm run typecheck) and run as tests:
// the factories take typed options (policies required) and mount on Express and Koa.
import express from 'express';
import Koa from 'koa';
import { Registry } from 'prom-client';
import { describe, expectTypeOf, it } from 'vitest';
import {
  type ExpressMiddleware,
  type ExpressRateLimit,
  type KoaRateLimit,
  type LimitInfo,
  type PolicyOptions,
  type PolicyStatus,
  type RateLimitOptions,
  type RateLimitState,
  expressRateLimit,
  koaRateLimit,
} from '@vigil/rate-limit';

const policies: PolicyOptions[] = [{ name: 'api', limit: 100, windowMs: 60_000, routes: ['/api'] }];

describe('@vigil/rate-limit public types', () => {
  it('should type the factories by their options, middleware and controls', () => {
    expectTypeOf(expressRateLimit).parameter(0).toEqualTypeOf<RateLimitOptions>();
    expectTypeOf(expressRateLimit).returns.toEqualTypeOf<ExpressRateLimit>();
    expectTypeOf(koaRateLimit).returns.toEqualTypeOf<KoaRateLimit>();
    expectTypeOf<ExpressRateLimit['policy']>().returns.toEqualTypeOf<ExpressMiddleware>();
    expectTypeOf<ExpressRateLimit['status']>().returns.toEqualTypeOf<PolicyStatus[]>();
    expectTypeOf<ExpressRateLimit['close']>().returns.toEqualTypeOf<Promise<void>>();
    expectTypeOf<RateLimitState['resetTime']>().toEqualTypeOf<Date | undefined>();
    expectTypeOf<LimitInfo['retryAfterSeconds']>().toEqualTypeOf<number>();
  });

  it('should accept the documented options and refuse wrong ones', () => {
    expectTypeOf({
      policies,
      store: 'redis' as const,
      redis: { url: 'redis://localhost:6379', commandTimeoutMs: 250 },
      ipv6Subnet: 64,
      headers: 'draft-7' as const,
      registry: new Registry(),
      audit: { record: () => undefined },
    }).toMatchTypeOf<RateLimitOptions>();
    // policies are required; a policy's onStoreError is fail-open, fail-closed or fallback.
    expectTypeOf<{ store: 'memory' }>().not.toMatchTypeOf<RateLimitOptions>();
    expectTypeOf<{
      name: 'x';
      limit: 1;
      windowMs: 1000;
      onStoreError: 'retry';
    }>().not.toMatchTypeOf<PolicyOptions>();
  });

  it('should mount on Express and Koa as the README shows', async () => {
    const limiter = expressRateLimit({ policies, registry: false });
    express().use(limiter).post('/login', limiter.policy('api'));
    const koaLimiter = koaRateLimit({ policies, registry: false });
    new Koa().use(koaLimiter);
    await Promise.all([limiter.close(), koaLimiter.close()]);
  });
});
