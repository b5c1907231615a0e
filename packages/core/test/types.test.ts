// The public types of @vigil/core that other packages build on, checked by the compiler and run as tests.
import type { IncomingMessage, ServerResponse } from 'node:http';
import express from 'express';
import Koa from 'koa';
import { describe, expectTypeOf, it } from 'vitest';
import {
  type ExpressMiddleware,
  type KoaMiddleware,
  type RegistryLike,
  type RequestRecord,
  type RequestSink,
  type ServerShapes,
  type VigilInstrument,
  FastCounter,
  V8_NEEDS_REQUEST_SHAPES,
  beginRequest,
  findRequest,
  optionNames,
  requestShapesOf,
} from '@vigil/core';

describe('@vigil/core public types', () => {
  it('should type the request lifecycle', () => {
    expectTypeOf(beginRequest).parameters.toEqualTypeOf<
      [req: IncomingMessage, res: ServerResponse, ctx?: object]
    >();
    expectTypeOf(beginRequest).returns.toEqualTypeOf<RequestRecord>();
    expectTypeOf(findRequest).returns.toEqualTypeOf<RequestRecord | undefined>();
    expectTypeOf<RequestRecord['route']>().toEqualTypeOf<string>();
    expectTypeOf<RequestRecord['subscribe']>().parameter(0).toEqualTypeOf<RequestSink>();
    expectTypeOf<RequestSink>().toHaveProperty('requestEnded');
    expectTypeOf(requestShapesOf).parameters.toEqualTypeOf<[server: object]>();
    expectTypeOf(requestShapesOf).returns.toEqualTypeOf<ServerShapes | undefined>();
    expectTypeOf<ServerShapes['request']['keys']>().toEqualTypeOf<PropertyKey[]>();
    expectTypeOf<ServerShapes['learned']>().toEqualTypeOf<number>();
    expectTypeOf(V8_NEEDS_REQUEST_SHAPES).toEqualTypeOf<boolean>();
  });

  it('should make instruments that a registry takes', () => {
    expectTypeOf(
      new FastCounter('a_total', 'help', ['x'], '@vigil/example'),
    ).toMatchTypeOf<VigilInstrument>();
    expectTypeOf<RegistryLike>().toHaveProperty('registerMetric');
    expectTypeOf(optionNames<{ a?: number }>).returns.toEqualTypeOf<readonly string[]>();
  });

  it('should describe middleware that Express and Koa accept', () => {
    const expressMiddleware: ExpressMiddleware = (_req, _res, next) => next();
    const koaMiddleware: KoaMiddleware = async (_ctx, next) => {
      await next();
    };
    express().use(expressMiddleware);
    new Koa().use(koaMiddleware);
    expectTypeOf(koaMiddleware).returns.toEqualTypeOf<Promise<void>>();
  });
});
