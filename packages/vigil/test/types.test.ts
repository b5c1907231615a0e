// The public types of vigil, checked by the compiler (npm run typecheck) and run as tests: what
// vigil(), vigil.express(), vigil.koa() and vigil.primary() take and return, and that the options are
// the packages' own option types.
import express from 'express';
import Koa from 'koa';
import type { Registry } from 'prom-client';
import { describe, expect, expectTypeOf, it } from 'vitest';
import type { Alerting } from '@vigil/alerts';
import type { AuditLogger, AuditLoggerOptions } from '@vigil/audit';
import type { Health, HealthOptions } from '@vigil/health';
import type { RequestLoggerOptions } from '@vigil/logging';
import type { RateLimitOptions } from '@vigil/rate-limit';
import type { Tracing } from '@vigil/tracing';
import {
  type Vigil,
  type VigilOptions,
  type VigilPrimary,
  type VigilPrimaryOptions,
  vigil,
  vigilExpress,
  vigilKoa,
  vigilPrimary,
} from 'vigil';

describe('vigil public types', () => {
  it('should type the entry points by their options and results', () => {
    expectTypeOf(vigil).parameter(1).toEqualTypeOf<VigilOptions | undefined>();
    expectTypeOf(vigil).returns.toEqualTypeOf<Vigil>();
    expectTypeOf(vigil.express).toEqualTypeOf(vigilExpress);
    expectTypeOf(vigil.koa).toEqualTypeOf(vigilKoa);
    expectTypeOf(vigil.primary).toEqualTypeOf(vigilPrimary);
    expectTypeOf(vigilPrimary).parameter(0).toEqualTypeOf<VigilPrimaryOptions | undefined>();
    expectTypeOf(vigilPrimary).returns.resolves.toEqualTypeOf<VigilPrimary>();
  });

  it('should take the packages’ own option objects, or false', () => {
    expectTypeOf<RateLimitOptions | false>().toMatchTypeOf<VigilOptions['rateLimit']>();
    expectTypeOf<HealthOptions | false>().toMatchTypeOf<VigilOptions['health']>();
    expectTypeOf<RequestLoggerOptions | false>().toMatchTypeOf<VigilOptions['requestLog']>();
    expectTypeOf<AuditLoggerOptions | AuditLogger | false>().toMatchTypeOf<VigilOptions['audit']>();
  });

  it('should hand back the capabilities it set up', () => {
    expectTypeOf<Vigil['registry']>().toEqualTypeOf<Registry>();
    expectTypeOf<Vigil['health']>().toEqualTypeOf<Health | undefined>();
    expectTypeOf<Vigil['alerting']>().toEqualTypeOf<Alerting | undefined>();
    expectTypeOf<Vigil['audit']>().toEqualTypeOf<AuditLogger | undefined>();
    expectTypeOf<Vigil['tracing']>().toEqualTypeOf<Tracing | undefined>();
    expectTypeOf<Vigil['close']>().returns.toEqualTypeOf<Promise<void>>();
  });

  it('should accept Express and Koa apps as they are typed', async () => {
    const e = vigil(express(), { tracing: false, audit: false, alerts: false, live: false });
    const k = vigil.koa(new Koa(), { tracing: false, audit: false, alerts: false, live: false });
    expect([e.framework, k.framework]).toEqual(['express', 'koa']);
    await Promise.all([e.close(), k.close()]);
  });
});
