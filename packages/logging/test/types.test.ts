// The public types of @vigil/logging, checked by the compiler (npm run typecheck) and run as tests.
import type { IncomingMessage } from 'node:http';
import express from 'express';
import Koa from 'koa';
import { type Logger, pino } from 'pino';
import { describe, expectTypeOf, it } from 'vitest';
import {
  type ExpressRequestLogger,
  type KoaRequestLogger,
  type LogIds,
  type LogMixin,
  type RequestLoggerOptions,
  expressRequestLogger,
  koaRequestLogger,
  vigilLogMixin,
} from '@vigil/logging';

describe('@vigil/logging public types', () => {
  it('should type the factories, the mixin and req.log', () => {
    expectTypeOf(expressRequestLogger)
      .parameter(0)
      .toEqualTypeOf<RequestLoggerOptions | undefined>();
    expectTypeOf(expressRequestLogger).returns.toEqualTypeOf<ExpressRequestLogger>();
    expectTypeOf(koaRequestLogger).returns.toEqualTypeOf<KoaRequestLogger>();
    expectTypeOf<ExpressRequestLogger['logger']>().toEqualTypeOf<Logger>();
    expectTypeOf(vigilLogMixin()).toEqualTypeOf<LogMixin>();
    expectTypeOf<ReturnType<LogMixin>>().toEqualTypeOf<LogIds>();
    // Importing the package types req.log as pino-http's types do.
    expectTypeOf<IncomingMessage['log']>().toEqualTypeOf<Logger>();
  });

  it('should accept the documented options and refuse wrong ones', () => {
    expectTypeOf({
      logger: pino(),
      level: 'warn',
      ignorePaths: ['/status', /^\/internal\//],
      redact: ['req.headers["x-session"]'],
      redactQuery: ['session'],
    }).toMatchTypeOf<RequestLoggerOptions>();
    expectTypeOf({ destination: pino.destination(1) }).toMatchTypeOf<RequestLoggerOptions>();
    // @ts-expect-error -- redact is a list of paths
    expectTypeOf({ redact: 'req.headers.x' }).toMatchTypeOf<RequestLoggerOptions>();
  });

  it('should mount on Express and Koa as the README shows, and work as a pino mixin', () => {
    express().use(expressRequestLogger({ destination: { write: () => true } }));
    new Koa().use(koaRequestLogger({ destination: { write: () => true } }));
    const logger = pino({ mixin: vigilLogMixin() }, { write: () => undefined });
    expectTypeOf(logger).toMatchTypeOf<Logger>();
  });
});
