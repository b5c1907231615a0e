// The public types of @vigil/tracing, checked by the compiler (npm run typecheck) and run as tests.
import express from 'express';
import Koa from 'koa';
import type { SpanExporter } from '@opentelemetry/sdk-trace-base';
import { describe, expectTypeOf, it } from 'vitest';
import {
  type ExpressErrorMiddleware,
  type ExpressMiddleware,
  type KoaMiddleware,
  type RequestContext,
  type Tracing,
  type TracingMiddlewareOptions,
  type TracingOptions,
  expressTracing,
  expressTracingErrors,
  getRequestContext,
  getTracing,
  koaTracing,
  recordRequestError,
  startTracing,
} from '@vigil/tracing';

describe('@vigil/tracing public types', () => {
  it('should type the factories and the request context', () => {
    expectTypeOf(startTracing).parameter(0).toEqualTypeOf<TracingOptions | undefined>();
    expectTypeOf(startTracing).returns.toEqualTypeOf<Tracing>();
    expectTypeOf(getTracing).returns.toEqualTypeOf<Tracing | undefined>();
    expectTypeOf(expressTracing).parameter(0).toEqualTypeOf<TracingMiddlewareOptions | undefined>();
    expectTypeOf(expressTracing).returns.toEqualTypeOf<ExpressMiddleware>();
    expectTypeOf(expressTracingErrors).returns.toEqualTypeOf<ExpressErrorMiddleware>();
    expectTypeOf(koaTracing).returns.toEqualTypeOf<KoaMiddleware>();
    expectTypeOf(getRequestContext).returns.toEqualTypeOf<RequestContext | undefined>();
    expectTypeOf<RequestContext['traceId']>().toEqualTypeOf<string | undefined>();
    expectTypeOf(recordRequestError).returns.toEqualTypeOf<boolean>();
  });

  it('should accept the documented options and refuse wrong ones', () => {
    expectTypeOf({
      serviceName: 'gateway',
      sampler: 'parentbased_traceidratio' as const,
      samplerRatio: 0.1,
      exporter: ['otlp', 'console'] as ('otlp' | 'console')[],
    }).toMatchTypeOf<TracingOptions>();
    expectTypeOf<{ exporter: SpanExporter }>().toMatchTypeOf<TracingOptions>();
    expectTypeOf({
      inboundPolicy: 'restart' as const,
      trustedProxies: ['10.0.0.0/8'],
      ignorePaths: ['/status', /^\/internal\//],
      traceResponse: true,
    }).toMatchTypeOf<TracingMiddlewareOptions>();
    // @ts-expect-error -- the policies are continue, restart and ignore
    expectTypeOf({ inboundPolicy: 'trust' }).toMatchTypeOf<TracingMiddlewareOptions>();
    // @ts-expect-error -- the sampler names are OTEL_TRACES_SAMPLER's
    expectTypeOf({ sampler: 'sometimes' }).toMatchTypeOf<TracingOptions>();
  });

  it('should mount on Express and Koa as the README shows', () => {
    const app = express();
    app.use(expressTracing());
    app.use(expressTracingErrors());
    new Koa().use(koaTracing());
    expectTypeOf(app.use).toBeFunction();
  });
});
