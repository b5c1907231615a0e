// The public types of @vigil/dashboards, checked by the compiler (npm run typecheck) and run as tests:
// what the factories take and return, that the structural `...Like` types accept what the other Vigil
// packages give, and that the live page mounts on Express 4/5 and Koa 2/3.
import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import express from 'express';
import Koa from 'koa';
import type { Logger } from 'pino';
import { Registry } from 'prom-client';
import { describe, expect, expectTypeOf, it } from 'vitest';
import type { AlertRuleSet, Alerting } from '@vigil/alerts';
import type { AuditLogger } from '@vigil/audit';
import type { Catalogue, MetricDefinitions } from '@vigil/business-metrics';
import type {
  ExpressMiddleware,
  KoaContextLike,
  KoaMiddleware,
  MinimalLogger,
  OperationalServer,
} from '@vigil/core';
import {
  type AlertRuleSetLike,
  type BusinessCatalogueLike,
  type BusinessMetricDefinitionLike,
  type BusinessMetricHandleLike,
  type DashboardQuery,
  type DashboardsOptions,
  type GeneratedDashboards,
  type LiveAlertingLike,
  type LiveAuditEvent,
  type LiveAuditLike,
  type LiveAuditRecord,
  type LiveHealthLike,
  type LiveLoggingStatus,
  type LivePage,
  type LivePageListenOptions,
  type LivePageOptions,
  type LiveRegistryLike,
  type LiveTraceBufferLike,
  type MetricJson,
  type ProvisioningFiles,
  type ProvisioningOptions,
  type RuleLike,
  CONTENT_SECURITY_POLICY,
  DASHBOARDS_ERROR_CODES,
  dashboardQueries,
  grafanaDashboards,
  grafanaProvisioning,
  livePage,
} from '@vigil/dashboards';
import type { Health } from '@vigil/health';
import type { requestLoggingStatus } from '@vigil/logging';
import type { TraceBuffer } from '@vigil/tracing';
import { Koa2, express4 } from '@vigil/test-utils';

describe('@vigil/dashboards public types', () => {
  it('should type the generators by their options and results', () => {
    // The service is required, so the options are too; provisioning has defaults for everything.
    expectTypeOf(grafanaDashboards).parameters.toEqualTypeOf<[DashboardsOptions]>();
    expectTypeOf(grafanaDashboards).returns.toEqualTypeOf<GeneratedDashboards>();
    expectTypeOf<GeneratedDashboards['files']>().toEqualTypeOf<Readonly<Record<string, string>>>();
    expectTypeOf<GeneratedDashboards['dashboards']>().toEqualTypeOf<readonly Dashboard[]>();
    expectTypeOf(grafanaProvisioning).parameters.toEqualTypeOf<[ProvisioningOptions?]>();
    expectTypeOf(grafanaProvisioning).returns.toEqualTypeOf<ProvisioningFiles>();
    expectTypeOf<keyof ProvisioningFiles>().toEqualTypeOf<
      'dashboards/vigil.yml' | 'datasources/prometheus.yml'
    >();
    expectTypeOf<ProvisioningFiles['dashboards/vigil.yml']>().toBeString();
    // dashboardQueries() reads what grafanaDashboards() returns.
    expectTypeOf(dashboardQueries).parameter(0).toEqualTypeOf<GeneratedDashboards['dashboards']>();
    expectTypeOf(dashboardQueries).returns.toEqualTypeOf<DashboardQuery[]>();
    expectTypeOf<DashboardQuery>().toEqualTypeOf<{
      readonly dashboard: string;
      readonly panelId: number;
      readonly panelTitle: string;
      readonly refId: string;
      readonly expr: string;
      readonly instant: boolean;
    }>();
  });

  it('should type the constants', () => {
    expectTypeOf(CONTENT_SECURITY_POLICY).toEqualTypeOf<string>();
    expectTypeOf(DASHBOARDS_ERROR_CODES).toEqualTypeOf<{
      readonly NOT_CALLED: 'ERR_VIGIL_DASHBOARDS_NOT_CALLED';
      readonly INVALID_OPTIONS: 'ERR_VIGIL_DASHBOARDS_INVALID_OPTIONS';
      readonly UNKNOWN_OPTION: 'ERR_VIGIL_DASHBOARDS_UNKNOWN_OPTION';
      readonly INVALID_OPTION: 'ERR_VIGIL_DASHBOARDS_INVALID_OPTION';
    }>();
  });

  it('should accept the documented dashboard options and refuse wrong ones', () => {
    const everything = {
      service: 'shop',
      job: 'shop-api',
      metricPrefix: 'shop_',
      uidPrefix: 'shop',
      tags: ['shop', 'team-a'],
      http: true,
      business: { orders_total: { type: 'counter', help: 'Orders', labels: { outcome: 'x' } } },
      rateLimit: true,
      audit: true,
      alerts: { groups: [{ rules: [{ alert: 'HighErrorRate', labels: { severity: 'page' } }] }] },
      evaluator: true,
      runtime: false,
    } as const satisfies DashboardsOptions;
    expectTypeOf(everything).toExtend<DashboardsOptions>();
    expectTypeOf({ service: 'shop' }).toExtend<DashboardsOptions>();
    expectTypeOf({
      dashboardsPath: '/dashboards',
      prometheusUrl: 'http://localhost:9090',
      folder: 'Shop',
      datasourceName: 'Prom',
      scrapeInterval: '30s',
    }).toExtend<ProvisioningOptions>();
    expectTypeOf<DashboardsOptions['tags']>().toEqualTypeOf<readonly string[] | undefined>();
    expectTypeOf<DashboardsOptions['business']>().toEqualTypeOf<
      BusinessCatalogueLike | undefined
    >();
    expectTypeOf<DashboardsOptions['alerts']>().toEqualTypeOf<AlertRuleSetLike | undefined>();
    expectTypeOf<AlertRuleSetLike['groups'][number]['rules'][number]>().toEqualTypeOf<RuleLike>();
    expectTypeOf<BusinessMetricDefinitionLike['type']>().toEqualTypeOf<
      'counter' | 'gauge' | 'histogram'
    >();
    expectTypeOf<BusinessMetricHandleLike['labelNames']>().toEqualTypeOf<readonly string[]>();

    // Compiled, never run: each call is a type error (and most would throw at the call).
    const rejected = (): void => {
      // @ts-expect-error -- the service is required
      grafanaDashboards({});
      // @ts-expect-error -- and so are the options
      grafanaDashboards();
      // @ts-expect-error -- the service is a string
      grafanaDashboards({ service: 42 });
      // @ts-expect-error -- @vigil/metrics' prefix is given as metricPrefix
      grafanaDashboards({ service: 'shop', prefix: 'shop_' });
      // @ts-expect-error -- tags are a list
      grafanaDashboards({ service: 'shop', tags: 'shop' });
      // @ts-expect-error -- the sections are switched with booleans
      grafanaDashboards({ service: 'shop', rateLimit: 'yes' });
      // @ts-expect-error -- business metrics are counters, gauges or histograms
      grafanaDashboards({ service: 'shop', business: { x_total: { type: 'summary' } } });
      // @ts-expect-error -- a rule set has groups
      grafanaDashboards({ service: 'shop', alerts: { rules: [] } });
      // @ts-expect-error -- the scrape interval is a duration string
      grafanaProvisioning({ scrapeInterval: 15 });
      // @ts-expect-error -- Prometheus's address is prometheusUrl
      grafanaProvisioning({ url: 'http://prometheus:9090' });
      // @ts-expect-error -- dashboardQueries() takes the dashboards, not the files
      dashboardQueries(grafanaDashboards({ service: 'shop' }).files);
    };
    expectTypeOf(rejected).toBeFunction();
  });

  it('should type the live page by its options and what it returns', () => {
    expectTypeOf(livePage).parameters.toEqualTypeOf<[LivePageOptions]>();
    expectTypeOf(livePage).returns.toEqualTypeOf<LivePage>();
    expectTypeOf<LivePageOptions['registry']>().toEqualTypeOf<LiveRegistryLike>();
    expectTypeOf<LivePageOptions['overviewPath']>().toEqualTypeOf<string | false | undefined>();
    expectTypeOf<LivePageOptions['alerting']>().toEqualTypeOf<LiveAlertingLike | undefined>();
    expectTypeOf<LivePageOptions['health']>().toEqualTypeOf<LiveHealthLike | undefined>();
    expectTypeOf<LivePageOptions['traces']>().toEqualTypeOf<LiveTraceBufferLike | undefined>();
    expectTypeOf<LivePageOptions['audit']>().toEqualTypeOf<LiveAuditLike | undefined>();
    expectTypeOf<LivePageOptions['logging']>().toEqualTypeOf<
      (() => LiveLoggingStatus) | undefined
    >();
    expectTypeOf<LivePageOptions['problemLogger']>().toEqualTypeOf<MinimalLogger | undefined>();
    expectTypeOf<LiveAuditLike['recent']>().returns.toEqualTypeOf<readonly LiveAuditEvent[]>();
    expectTypeOf<NonNullable<LiveAuditLike['record']>>()
      .parameter(0)
      .toEqualTypeOf<LiveAuditRecord>();
    expectTypeOf<LiveAuditRecord['outcome']>().toEqualTypeOf<'success' | 'failure'>();
    expectTypeOf<LiveRegistryLike['getMetricsAsJSON']>().returns.toEqualTypeOf<
      Promise<readonly MetricJson[]> | readonly MetricJson[]
    >();

    expectTypeOf<LivePage['express']>().returns.toEqualTypeOf<ExpressMiddleware>();
    expectTypeOf<LivePage['koa']>().returns.toEqualTypeOf<
      KoaMiddleware<KoaContextLike & { respond?: boolean }>
    >();
    expectTypeOf<LivePage['handle']>().returns.toEqualTypeOf<Promise<boolean>>();
    expectTypeOf<LivePage['listen']>().parameters.toEqualTypeOf<[LivePageListenOptions?]>();
    expectTypeOf<LivePage['listen']>().returns.resolves.toEqualTypeOf<OperationalServer>();
    expectTypeOf<LivePage['size']>().toEqualTypeOf<{ raw: number; gzip: number }>();
    expectTypeOf<LivePage['clients']>().toEqualTypeOf<number>();

    const registry = new Registry();
    const rejected = (page: LivePage): void => {
      // @ts-expect-error -- the registry is required
      livePage({});
      // @ts-expect-error -- a registry is something with getMetricsAsJSON()
      livePage({ registry: {} });
      // @ts-expect-error -- the overview is a path or false, not true
      livePage({ registry, overviewPath: true });
      // @ts-expect-error -- intervals are numbers of milliseconds
      livePage({ registry, intervalMs: '1000' });
      // @ts-expect-error -- the page's path is basePath
      livePage({ registry, path: '/_vigil' });
      // @ts-expect-error -- logging is requestLoggingStatus itself, not its result
      livePage({ registry, logging: { requestLoggers: 1, level: 'info' } });
      // @ts-expect-error -- the port is a number
      void page.listen({ port: '0' });
      // @ts-expect-error -- listen() has no path option: the page answers under its basePath
      void page.listen({ path: '/' });
    };
    expectTypeOf(rejected).toBeFunction();
  });

  it("should take what the other Vigil packages give as the live page's and dashboards' inputs", () => {
    expectTypeOf<Registry>().toExtend<LiveRegistryLike>();
    expectTypeOf<Alerting>().toExtend<LiveAlertingLike>();
    expectTypeOf<Health>().toExtend<LiveHealthLike>();
    expectTypeOf<TraceBuffer>().toExtend<LiveTraceBufferLike>();
    expectTypeOf<AuditLogger>().toExtend<LiveAuditLike>();
    expectTypeOf<typeof requestLoggingStatus>().toExtend<() => LiveLoggingStatus>();
    expectTypeOf<Logger>().toExtend<NonNullable<LivePageOptions['logger']>>();
    expectTypeOf<Logger>().toExtend<MinimalLogger>();
    expectTypeOf<AlertRuleSet>().toExtend<AlertRuleSetLike>();
    // A catalogue, or the definitions given to defineBusinessMetrics().
    expectTypeOf<Catalogue>().toExtend<BusinessCatalogueLike>();
    expectTypeOf<MetricDefinitions>().toExtend<BusinessCatalogueLike>();
  });

  it('should generate and mount as the README shows, on Express 4 and 5 and Koa 2 and 3', () => {
    const { files, dashboards } = grafanaDashboards({ service: 'shop' });
    expect(Object.keys(files).length).toBe(dashboards.length);
    expect(dashboardQueries(dashboards).length).toBeGreaterThan(0);
    expect(Object.keys(grafanaProvisioning()).sort()).toEqual([
      'dashboards/vigil.yml',
      'datasources/prometheus.yml',
    ]);

    const live = livePage({ registry: new Registry() });
    try {
      express().use(live.express());
      express4().use(live.express());
      new Koa().use(live.koa());
      new Koa2().use(live.koa());
    } finally {
      live.close();
    }
  });
});
