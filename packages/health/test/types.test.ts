// The public types of @vigil/health, checked by the compiler (npm run typecheck) and run as tests:
// what the factories take and return, and that the middleware mounts on Express 4/5 and Koa 2/3.
import { createServer } from 'node:http';
import express from 'express';
import Koa from 'koa';
import { Registry } from 'prom-client';
import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  type CheckFunctionResult,
  type Health,
  type HealthCheck,
  type HealthOptions,
  type HealthReport,
  type HealthServer,
  type ProbeName,
  check,
  createHealth,
  eventLoopCheck,
  expressHealth,
  koaHealth,
  listenHealth,
  memoryCheck,
  redisCheck,
} from '@vigil/health';
import { Koa2, express4 } from '@vigil/test-utils';

describe('@vigil/health public types', () => {
  it('should type the factories by their options and results', () => {
    expectTypeOf(createHealth).parameter(0).toEqualTypeOf<HealthOptions | undefined>();
    expectTypeOf(createHealth).returns.toEqualTypeOf<Health>();
    expectTypeOf(expressHealth).parameter(0).toEqualTypeOf<Health | HealthOptions | undefined>();
    expectTypeOf(listenHealth).returns.resolves.toEqualTypeOf<HealthServer>();
    expectTypeOf(check).returns.toEqualTypeOf<HealthCheck>();
    expectTypeOf(redisCheck).returns.toEqualTypeOf<HealthCheck>();
    expectTypeOf(eventLoopCheck).returns.toEqualTypeOf<HealthCheck>();
    expectTypeOf(memoryCheck).returns.toEqualTypeOf<HealthCheck>();
    expectTypeOf<Health['probe']>().parameter(0).toEqualTypeOf<ProbeName>();
    expectTypeOf<Awaited<ReturnType<Health['probe']>>['report']>().toEqualTypeOf<HealthReport>();
    expectTypeOf<void>().toMatchTypeOf<CheckFunctionResult>();
  });

  it('should mount on Express 4 and 5 and Koa 2 and 3, from a Health or from options', () => {
    const health = createHealth({ registry: new Registry(), shutdown: false });
    express().use(expressHealth(health));
    express4().use(expressHealth(health));
    new Koa().use(koaHealth(health));
    new Koa2().use(koaHealth(health));
    const own = expressHealth({ started: true, registry: false, shutdown: false });
    expect(own.health.phase).toBe('running');
    expect(koaHealth(health).health).toBe(health);
    const plain = createServer();
    const server = health.attach(plain);
    expectTypeOf(server).toEqualTypeOf(plain);
    expect(server).toBe(plain);
    own.health.close();
    health.close();
  });
});
