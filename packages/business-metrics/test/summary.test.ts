// /metrics/summary with business totals: @vigil/metrics' summary handler given catalogue.totals() as a
// section, on real Express 5 and Koa 3 servers.
import Router from '@koa/router';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type MetricsSummary,
  expressMetrics,
  expressMetricsSummaryHandler,
  koaMetrics,
  koaMetricsSummaryHandler,
} from '@vigil/metrics';
import type { BusinessTotals } from '@vigil/business-metrics';
import { FRAMEWORKS, shopCatalogue } from './support/apps';
import { closeServers, rawRequest, startServer } from '@vigil/test-utils';
import { captureLogs } from './support/logs';
import { settle } from './support/samples';

afterEach(closeServers);

describe.each(FRAMEWORKS.filter((f) => f.name === 'express5' || f.name === 'koa3'))(
  '/metrics/summary with business totals on $name',
  (fw) => {
    it('should report HTTP totals and the totals of every business metric', async () => {
      const registry = new Registry();
      const catalogue = shopCatalogue(registry, captureLogs().logger);
      const sections = { business: () => catalogue.totals() };
      const app = fw.app(catalogue, undefined, {
        express: (a) => {
          a.use(expressMetrics({ registry, collectDefaultMetrics: false }));
          a.get('/metrics/summary', expressMetricsSummaryHandler({ registry, sections }));
        },
        koa: (a) => {
          a.use(koaMetrics({ registry, collectDefaultMetrics: false }));
          const router = new Router();
          router.get('/metrics/summary', koaMetricsSummaryHandler({ registry, sections }));
          a.use(router.routes());
        },
      });
      const { origin } = await startServer(app.listener);
      for (const json of [
        { format: 'mp4', size: 300 },
        { format: 'mp4', size: 100 },
        { format: 'webm', fail: 'throw' },
      ]) {
        await rawRequest(origin, '/api/videos', { json });
      }
      await rawRequest(origin, '/api/orders/pro', { json: {} });
      await settle(registry, 'http_requests_total', 4);

      const reply = await rawRequest(origin, '/metrics/summary');
      expect(reply.status).toBe(200);
      const summary = JSON.parse(reply.body) as MetricsSummary & { business: BusinessTotals };
      expect(summary.requests).toMatchObject({ total: 4, errors: 1, successRate: 0.75 });
      expect(summary.topRoutes[0]).toMatchObject({
        method: 'POST',
        route: '/api/videos',
        requests: 3,
        errors: 1,
      });
      expect(summary.business.uploads_total).toEqual({
        type: 'counter',
        unit: null,
        total: 3,
        byLabel: {
          format: { mp4: 2, webm: 1 },
          outcome: { success: 2, failure: 1 },
          route: { '/api/videos': 3 },
        },
      });
      // Without an outcome label, track() records successful requests only.
      expect(summary.business.upload_size_bytes).toMatchObject({ total: 2, sum: 400 });
      expect(summary.business.orders_created_total).toMatchObject({
        total: 1,
        byLabel: { plan: { pro: 1 } },
      });
      expect(Object.keys(summary.business)).toEqual(catalogue.describe().map((d) => d.name));
    });
  },
);
