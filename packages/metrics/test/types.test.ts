// The public types of @vigil/metrics, checked by the compiler (npm run typecheck) and run as tests:
// what the factories take and return, and that they mount on Express 4/5 and Koa 2/3 as documented.
import express from 'express';
import Koa from 'koa';
import Router from '@koa/router';
import { Registry } from 'prom-client';
import { describe, expectTypeOf, it } from 'vitest';
import {
  type ExpressMiddleware,
  type KoaMiddleware,
  type MetricsHandlerOptions,
  type MetricsOptions,
  type MetricsServer,
  type MetricsServerOptions,
  type MetricsSummary,
  type MetricsSummaryOptions,
  type RequestInfo,
  expressMetrics,
  expressMetricsHandler,
  expressMetricsSummaryHandler,
  koaMetrics,
  koaMetricsHandler,
  koaMetricsSummaryHandler,
  startMetricsServer,
} from '@vigil/metrics';

describe('@vigil/metrics public types', () => {
  it('should type the factories by their options and middleware', () => {
    expectTypeOf(expressMetrics).parameter(0).toEqualTypeOf<MetricsOptions | undefined>();
    expectTypeOf(expressMetrics).returns.toEqualTypeOf<ExpressMiddleware>();
    expectTypeOf(koaMetrics).returns.toEqualTypeOf<KoaMiddleware>();
    expectTypeOf(expressMetricsHandler)
      .parameter(0)
      .toEqualTypeOf<MetricsHandlerOptions | undefined>();
    expectTypeOf(koaMetricsHandler).returns.toEqualTypeOf<KoaMiddleware>();
    expectTypeOf(expressMetricsSummaryHandler)
      .parameter(0)
      .toEqualTypeOf<MetricsSummaryOptions | undefined>();
    expectTypeOf(startMetricsServer).parameter(0).toEqualTypeOf<MetricsServerOptions | undefined>();
    expectTypeOf(startMetricsServer).returns.resolves.toEqualTypeOf<MetricsServer>();
    expectTypeOf<MetricsSummary['requests']['successRate']>().toEqualTypeOf<number | null>();
  });

  it('should accept the documented options and refuse wrong ones', () => {
    expectTypeOf({
      registry: new Registry(),
      prefix: 'shop_',
      namingScheme: 'opentelemetry' as const,
      customLabels: { tenant: (info: RequestInfo) => info.route },
      includeRoutes: ['/api/users/:id', /^\/api\//, (route: string) => route !== '/x'],
    }).toMatchTypeOf<MetricsOptions>();
    // @ts-expect-error -- namingScheme is 'prometheus' or 'opentelemetry'
    expectTypeOf({ namingScheme: 'statsd' }).toMatchTypeOf<MetricsOptions>();
    // @ts-expect-error -- maxSeries is a number
    expectTypeOf({ maxSeries: '10' }).toMatchTypeOf<MetricsOptions>();
  });

  it('should mount on Express and Koa as the README shows', () => {
    const app = express();
    app.use(expressMetrics());
    app.get('/metrics', expressMetricsHandler());
    app.get('/metrics/summary', expressMetricsSummaryHandler());
    const koa = new Koa();
    const router = new Router();
    koa.use(koaMetrics());
    router.get('/metrics', koaMetricsHandler());
    router.get('/metrics/summary', koaMetricsSummaryHandler());
    koa.use(router.routes());
    expectTypeOf(app.use).toBeFunction();
  });
});
