// defineBusinessMetrics(): handles, names and units, the catalogue as data, totals, registry reuse.
import { Registry, register as globalRegistry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_BYTES_BUCKETS,
  DEFAULT_SECONDS_BUCKETS,
  OVERFLOW_LABEL_VALUE,
  defineBusinessMetrics,
} from '@vigil/business-metrics';
import { nonZero, sampleValue } from './support/samples';

function mediaCatalogue(registry: Registry, prefix?: string) {
  return defineBusinessMetrics(
    {
      uploads_total: {
        type: 'counter',
        help: 'Video uploads by format and outcome',
        labels: { format: { values: ['mp4', 'webm'] }, outcome: 'outcome' },
      },
      upload_size_bytes: {
        type: 'histogram',
        help: 'Size of uploaded videos',
        labels: { format: { values: ['mp4', 'webm'] } },
      },
      revenue_cents_total: {
        type: 'counter',
        help: 'Revenue in cents, by region',
        unit: 'cents',
        labels: { region: { cap: 20 } },
      },
      streams_active: { type: 'gauge', help: 'Streams being watched' },
      checkout_seconds: {
        type: 'histogram',
        help: 'Checkout duration by route and method',
        labels: { route: 'route', method: 'method' },
      },
      cart_items: { type: 'histogram', help: 'Items per cart', buckets: [1, 2, 5, 10] },
    },
    { registry, ...(prefix === undefined ? {} : { prefix }) },
  );
}

describe('defineBusinessMetrics', () => {
  it('should give one handle per metric with its name, type, unit and labels', () => {
    const { metrics } = mediaCatalogue(new Registry());
    expect(Object.keys(metrics)).toEqual([
      'uploads_total',
      'upload_size_bytes',
      'revenue_cents_total',
      'streams_active',
      'checkout_seconds',
      'cart_items',
    ]);
    expect(metrics.uploads_total).toMatchObject({
      name: 'uploads_total',
      key: 'uploads_total',
      type: 'counter',
      unit: null,
      help: 'Video uploads by format and outcome',
      labelNames: ['format', 'outcome'],
    });
    expect(metrics.uploads_total.labelSpecs.format.values).toEqual(['mp4', 'webm']);
    // A unit is the declared one, or the base unit the name ends with.
    expect(metrics.upload_size_bytes.unit).toBe('bytes');
    expect(metrics.revenue_cents_total.unit).toBe('cents');
    expect(metrics.checkout_seconds.unit).toBe('seconds');
    expect(metrics.cart_items.unit).toBeNull();
    expect(metrics.upload_size_bytes.buckets).toEqual(DEFAULT_BYTES_BUCKETS);
    expect(metrics.checkout_seconds.buckets).toEqual(DEFAULT_SECONDS_BUCKETS);
    expect(metrics.cart_items.buckets).toEqual([1, 2, 5, 10]);
    expect(String(metrics.streams_active)).toBe('streams_active');
  });

  it('should put the prefix before every exposed name and keep the declared keys', async () => {
    const registry = new Registry();
    const { metrics } = mediaCatalogue(registry, 'media_');
    expect(metrics.uploads_total.name).toBe('media_uploads_total');
    expect(metrics.uploads_total.key).toBe('uploads_total');
    metrics.uploads_total.inc({ format: 'mp4', outcome: 'success' });
    expect(await nonZero(registry, 'media_uploads_total')).toEqual([
      'format=mp4,outcome=success => 1',
    ]);
  });

  it('should expose a label-less metric at 0 before its first recording', async () => {
    const registry = new Registry();
    mediaCatalogue(registry);
    expect(await sampleValue(registry, 'streams_active')).toBe(0);
    expect(await registry.metrics()).toContain('# TYPE streams_active gauge\nstreams_active 0');
  });

  it('should use the global registry by default', async () => {
    const { metrics, registry } = defineBusinessMetrics({
      vigil_test_widgets_total: { type: 'counter', help: 'Widgets' },
    });
    try {
      expect(registry).toBe(globalRegistry);
      metrics.vigil_test_widgets_total.inc(2);
      expect(await sampleValue(globalRegistry, 'vigil_test_widgets_total')).toBe(2);
    } finally {
      globalRegistry.removeSingleMetric('vigil_test_widgets_total');
    }
  });

  it('should reuse an identical metric on the same registry (hot reload, tests)', async () => {
    const registry = new Registry();
    const first = mediaCatalogue(registry);
    const second = mediaCatalogue(registry);
    first.metrics.uploads_total.inc({ format: 'webm', outcome: 'failure' });
    second.metrics.uploads_total.inc({ format: 'webm', outcome: 'failure' }, 2);
    expect(await sampleValue(registry, 'uploads_total', { format: 'webm' })).toBe(3);
    expect((await registry.getMetricsAsJSON()).map((m) => m.name)).toHaveLength(6);
  });

  it('should keep recording into the same series after registry.resetMetrics()', async () => {
    const registry = new Registry();
    const { metrics } = mediaCatalogue(registry);
    const bound = metrics.revenue_cents_total.labels({ region: 'eu' });
    bound.inc(500);
    registry.resetMetrics();
    bound.inc(250);
    metrics.revenue_cents_total.inc({ region: 'eu' }, 1);
    expect(await sampleValue(registry, 'revenue_cents_total', { region: 'eu' })).toBe(251);
  });
});

describe('catalogue.describe()', () => {
  it('should export the catalogue as JSON-serialisable data', () => {
    const catalogue = mediaCatalogue(new Registry(), 'media_');
    const data = catalogue.describe();
    expect(JSON.parse(JSON.stringify(data))).toEqual(data);
    expect(data).toEqual([
      {
        name: 'media_uploads_total',
        type: 'counter',
        unit: null,
        help: 'Video uploads by format and outcome',
        labels: [
          { name: 'format', values: ['mp4', 'webm'], overflowValue: OVERFLOW_LABEL_VALUE },
          {
            name: 'outcome',
            values: ['success', 'failure', 'aborted'],
            auto: 'outcome',
            overflowValue: OVERFLOW_LABEL_VALUE,
          },
        ],
        maxSeries: 12,
      },
      {
        name: 'media_upload_size_bytes',
        type: 'histogram',
        unit: 'bytes',
        help: 'Size of uploaded videos',
        labels: [{ name: 'format', values: ['mp4', 'webm'], overflowValue: OVERFLOW_LABEL_VALUE }],
        buckets: [...DEFAULT_BYTES_BUCKETS],
        maxSeries: 3,
      },
      {
        name: 'media_revenue_cents_total',
        type: 'counter',
        unit: 'cents',
        help: 'Revenue in cents, by region',
        labels: [{ name: 'region', cap: 20, overflowValue: OVERFLOW_LABEL_VALUE }],
        maxSeries: 21,
      },
      {
        name: 'media_streams_active',
        type: 'gauge',
        unit: null,
        help: 'Streams being watched',
        labels: [],
        maxSeries: 1,
      },
      {
        name: 'media_checkout_seconds',
        type: 'histogram',
        unit: 'seconds',
        help: 'Checkout duration by route and method',
        labels: [
          { name: 'route', cap: 1000, auto: 'route', overflowValue: OVERFLOW_LABEL_VALUE },
          {
            name: 'method',
            values: [
              'GET',
              'HEAD',
              'POST',
              'PUT',
              'DELETE',
              'CONNECT',
              'OPTIONS',
              'TRACE',
              'PATCH',
              'OTHER',
            ],
            auto: 'method',
            overflowValue: OVERFLOW_LABEL_VALUE,
          },
        ],
        buckets: [...DEFAULT_SECONDS_BUCKETS],
        maxSeries: 1001 * 11,
      },
      {
        name: 'media_cart_items',
        type: 'histogram',
        unit: null,
        help: 'Items per cart',
        labels: [],
        buckets: [1, 2, 5, 10],
        maxSeries: 1,
      },
    ]);
  });
});

describe('catalogue.totals()', () => {
  it('should total each metric and each label value', () => {
    const catalogue = mediaCatalogue(new Registry());
    const m = catalogue.metrics;
    m.uploads_total.inc({ format: 'mp4', outcome: 'success' }, 3);
    m.uploads_total.inc({ format: 'webm', outcome: 'failure' });
    m.upload_size_bytes.observe({ format: 'mp4' }, 100);
    m.upload_size_bytes.observe({ format: 'mp4' }, 300);
    m.streams_active.set(4);
    m.checkout_seconds.observe({ route: '/checkout', method: 'POST' }, 0.25);
    const totals = catalogue.totals();
    expect(JSON.parse(JSON.stringify(totals))).toEqual(totals);
    expect(totals.uploads_total).toEqual({
      type: 'counter',
      unit: null,
      total: 4,
      byLabel: { format: { mp4: 3, webm: 1 }, outcome: { success: 3, failure: 1 } },
    });
    expect(totals.upload_size_bytes).toEqual({
      type: 'histogram',
      unit: 'bytes',
      total: 2,
      sum: 400,
      byLabel: { format: { mp4: 2 } },
    });
    expect(totals.streams_active).toEqual({ type: 'gauge', unit: null, total: 4, byLabel: {} });
    expect(totals.checkout_seconds).toMatchObject({
      total: 1,
      sum: 0.25,
      byLabel: { route: { '/checkout': 1 }, method: { POST: 1 } },
    });
    expect(totals.cart_items).toMatchObject({ total: 0, sum: 0 });
  });

  it('should list at most maxValuesPerLabel values per label, largest first, and count the rest', () => {
    const catalogue = mediaCatalogue(new Registry());
    for (let i = 0; i < 10; i++) {
      catalogue.metrics.revenue_cents_total.inc({ region: `r${i}` }, i + 1);
    }
    const totals = catalogue.totals({ maxValuesPerLabel: 3 }).revenue_cents_total!;
    expect(totals.total).toBe(55);
    expect(totals.byLabel).toEqual({ region: { r9: 10, r8: 9, r7: 8 } });
    expect(totals.omitted).toEqual({ region: 7 });
  });
});
