// Options of expressMetrics() / koaMetrics(): naming, buckets, custom labels, cardinality, filters, registry.
import { Counter, Gauge, Registry } from 'prom-client';
import request from 'supertest';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  DEFAULT_DURATION_BUCKETS,
  METRICS_ERROR_CODES,
  type MetricsOptions,
  OVERFLOW_LABEL_VALUE,
  type RouteMatcher,
  UNMATCHED_ROUTE,
  expressMetrics,
  koaMetrics,
} from '@vigil/metrics';
import { FRAMEWORKS } from './support/frameworks';
import { closeServers, startServer } from '@vigil/test-utils';
import { findSamples, metricNames, sampleValue, sumValues, waitForIdle } from '@vigil/test-utils';

afterEach(closeServers);

const FACTORIES = [
  { name: 'expressMetrics', create: (o?: MetricsOptions) => expressMetrics(o) },
  { name: 'koaMetrics', create: (o?: MetricsOptions) => koaMetrics(o) },
];

const fakeLogger = () => ({ warn: vi.fn<(obj: object, msg?: string) => void>() });

const USERS = { method: 'GET', route: '/api/users/:id', status_code: '200' };

describe.each(FRAMEWORKS)('metrics options on $name', (fw) => {
  async function serve(
    options: MetricsOptions,
    extra: { instances?: number; handler?: boolean } = {},
  ) {
    const app = fw.app({
      options,
      instances: extra.instances,
      metricsHandler: extra.handler ? {} : undefined,
    });
    const { server } = await startServer(app.listener);
    return request(server);
  }

  it('should put prefix before every metric name', async () => {
    const registry = new Registry();
    const agent = await serve({ registry, prefix: 'myapp_' });
    await agent.get('/api/users/1').expect(200);
    await waitForIdle(registry, 'myapp_http_requests_in_flight');

    const names = await metricNames(registry);
    expect(names.sort()).toEqual(
      [
        'myapp_http_request_duration_seconds',
        'myapp_http_request_size_bytes',
        'myapp_http_requests_in_flight',
        'myapp_http_requests_total',
        'myapp_http_response_size_bytes',
      ].sort(),
    );
    expect(await sampleValue(registry, 'myapp_http_requests_total', USERS)).toBe(1);
  });

  it('should emit OpenTelemetry names and labels with namingScheme "opentelemetry"', async () => {
    const registry = new Registry();
    const agent = await serve({ registry, namingScheme: 'opentelemetry' });
    await agent.get('/api/users/1').expect(200);
    await waitForIdle(registry, 'http_server_active_requests');

    const names = await metricNames(registry);
    expect(names).toContain('http_server_request_duration_seconds');
    expect(names).toContain('http_server_active_requests');
    expect(names).not.toContain('http_requests_total');
    expect(names).not.toContain('http_request_duration_seconds');
    const labels = {
      http_request_method: 'GET',
      http_route: '/api/users/:id',
      http_response_status_code: '200',
    };
    expect(await sampleValue(registry, 'http_server_request_duration_seconds_count', labels)).toBe(
      1,
    );
    const [sample] = await findSamples(registry, 'http_server_request_duration_seconds_count');
    expect(Object.keys(sample!.labels).sort()).toEqual(Object.keys(labels).sort());
    expect(
      await sampleValue(registry, 'http_server_active_requests', { http_request_method: 'GET' }),
    ).toBe(0);
  });

  it('should use custom durationBuckets', async () => {
    const registry = new Registry();
    const agent = await serve({ registry, durationBuckets: [0.05, 0.5, 5] });
    await agent.get('/api/users/1').expect(200);
    await waitForIdle(registry);

    const buckets = await findSamples(registry, 'http_request_duration_seconds_bucket', USERS);
    expect(buckets.map((b) => b.labels.le)).toEqual(['0.05', '0.5', '5', '+Inf']);
    expect(buckets.at(-1)!.value).toBe(1);
  });

  it('should use the default duration buckets otherwise', async () => {
    const registry = new Registry();
    const agent = await serve({ registry });
    await agent.get('/api/users/1').expect(200);
    await waitForIdle(registry);

    const buckets = await findSamples(registry, 'http_request_duration_seconds_bucket', USERS);
    expect(buckets.map((b) => b.labels.le)).toEqual([
      ...DEFAULT_DURATION_BUCKETS.map(String),
      '+Inf',
    ]);
  });

  it('should add customLabels to the counter and the duration histogram', async () => {
    const registry = new Registry();
    const agent = await serve({
      registry,
      customLabels: {
        tenant: (info) => String(info.req.headers['x-tenant'] ?? 'none'),
        kind: (info) => (info.statusCode.startsWith('2') ? 'ok' : 'fail'),
      },
    });
    await agent.get('/api/users/1').set('x-tenant', 'acme').expect(200);
    await agent.get('/nope').expect(404);
    await waitForIdle(registry);

    expect(
      await sampleValue(registry, 'http_requests_total', { ...USERS, tenant: 'acme', kind: 'ok' }),
    ).toBe(1);
    expect(
      await sampleValue(registry, 'http_request_duration_seconds_count', {
        route: UNMATCHED_ROUTE,
        tenant: 'none',
        kind: 'fail',
      }),
    ).toBe(1);
  });

  it('should record "" for a throwing custom label, serve the request, and log once', async () => {
    const registry = new Registry();
    const logger = fakeLogger();
    const agent = await serve({
      registry,
      logger,
      customLabels: {
        tenant: () => {
          throw new Error('label hook failed');
        },
      },
    });
    for (let i = 0; i < 3; i++) await agent.get(`/api/users/${i}`).expect(200, { id: String(i) });
    await waitForIdle(registry);

    expect(await sampleValue(registry, 'http_requests_total', { ...USERS, tenant: '' })).toBe(3);
    console.log(
      `${fw.name}: throwing custom label, 3 requests -> ${logger.warn.mock.calls.length} warning(s)`,
    );
    expect(logger.warn).toHaveBeenCalledTimes(1);
    const [fields, message] = logger.warn.mock.calls[0]!;
    expect(fields).toMatchObject({ component: '@vigil/metrics', err: 'label hook failed' });
    expect(message).toContain('customLabels.tenant threw');
  });

  it('should cap series at maxSeries and put the rest in one __overflow__ series', async () => {
    const registry = new Registry();
    const logger = fakeLogger();
    const agent = await serve({
      registry,
      logger,
      maxSeries: 5,
      customLabels: { tenant: (info) => String(info.req.headers['x-tenant']) },
    });
    const distinct = 50;
    const before = (await findSamples(registry, 'http_requests_total')).length;
    for (let i = 0; i < distinct; i++) {
      await agent.get('/api/users/1').set('x-tenant', `tenant-${i}`).expect(200);
    }
    await waitForIdle(registry);

    const series = await findSamples(registry, 'http_requests_total');
    const overflow = series.filter((s) => s.labels.tenant === OVERFLOW_LABEL_VALUE);
    const durationSeries = await findSamples(registry, 'http_request_duration_seconds_count');
    console.log(
      `${fw.name}: maxSeries=5, ${distinct} distinct label values -> http_requests_total series ${before} before, ${series.length} after; ` +
        `overflow series value ${overflow[0]?.value}; overflow warnings ${logger.warn.mock.calls.length}`,
    );
    expect(series.length).toBeLessThanOrEqual(5 + 1);
    expect(durationSeries.length).toBeLessThanOrEqual(5 + 1);
    expect(overflow).toHaveLength(1);
    expect(overflow[0]!.labels).toEqual({
      method: OVERFLOW_LABEL_VALUE,
      route: OVERFLOW_LABEL_VALUE,
      status_code: OVERFLOW_LABEL_VALUE,
      tenant: OVERFLOW_LABEL_VALUE,
    });
    expect(overflow[0]!.value).toBe(distinct - 5);
    // Every request is still counted.
    expect(await sumValues(registry, 'http_requests_total')).toBe(distinct);
    expect(logger.warn).toHaveBeenCalledTimes(1);
    expect(logger.warn.mock.calls[0]![1]).toContain('series limit reached');
    expect(JSON.stringify(logger.warn.mock.calls[0]![0])).toContain('maxSeries=5');
  });

  it('should serve a request whose logger throws too', async () => {
    const registry = new Registry();
    const logger = {
      warn: vi.fn(() => {
        throw new Error('logger broke');
      }),
    };
    const agent = await serve({
      registry,
      logger,
      customLabels: {
        tenant: () => {
          throw new Error('label hook failed');
        },
      },
    });
    await agent.get('/api/users/1').expect(200, { id: '1' });
    await agent.get('/api/users/2').expect(200, { id: '2' });
    await waitForIdle(registry);
    expect(await sampleValue(registry, 'http_requests_total', { ...USERS, tenant: '' })).toBe(2);
    expect(logger.warn).toHaveBeenCalledTimes(1);
  });

  it('should overflow on routes alone when there are no custom labels', async () => {
    const registry = new Registry();
    const logger = fakeLogger();
    const agent = await serve({ registry, logger, maxSeries: 2 });
    await agent.get('/api/users/1').expect(200);
    await agent.post('/api/echo').send({ a: 1 }).expect(200);
    await agent.get('/slow?ms=1').expect(200);
    await agent.get('/nope').expect(404);
    await agent.get('/api/users/2').expect(200);
    await waitForIdle(registry);

    const series = await findSamples(registry, 'http_requests_total');
    console.log(
      `${fw.name}: maxSeries=2, 4 distinct label sets -> ${series.length} series, overflow ${
        series.find((s) => s.labels.route === OVERFLOW_LABEL_VALUE)?.value
      }`,
    );
    expect(series).toHaveLength(3);
    expect(await sampleValue(registry, 'http_requests_total', USERS)).toBe(2);
    expect(
      await sampleValue(registry, 'http_requests_total', { route: OVERFLOW_LABEL_VALUE }),
    ).toBe(2);
    expect(await sumValues(registry, 'http_requests_total')).toBe(5);
    expect(logger.warn).toHaveBeenCalledTimes(1);
  });

  it('should record every route when a route filter throws, and log once', async () => {
    const registry = new Registry();
    const logger = fakeLogger();
    const agent = await serve({
      registry,
      logger,
      excludeRoutes: [
        () => {
          throw new Error('filter broke');
        },
      ],
    });
    await agent.get('/api/users/1').expect(200);
    await agent.get('/api/users/2').expect(200);
    await agent.get('/nope').expect(404);
    await waitForIdle(registry);

    expect(await sumValues(registry, 'http_requests_total')).toBe(3);
    expect(logger.warn).toHaveBeenCalledTimes(1);
    expect(logger.warn.mock.calls[0]![1]).toContain('route filter threw');
  });

  const FILTERS: { name: string; options: MetricsOptions; recorded: string[] }[] = [
    {
      name: 'includeRoutes with a string',
      options: { includeRoutes: ['/api/users/:id'] },
      recorded: ['/api/users/:id'],
    },
    {
      name: 'includeRoutes with a RegExp',
      options: { includeRoutes: [/^\/api\//] },
      recorded: ['/api/echo', '/api/users/:id'],
    },
    {
      name: 'includeRoutes with a predicate',
      options: { includeRoutes: [(route) => route.startsWith('/sl')] },
      recorded: ['/slow'],
    },
    {
      name: 'excludeRoutes with a string',
      options: { excludeRoutes: [UNMATCHED_ROUTE] },
      recorded: ['/api/echo', '/api/users/:id', '/slow'],
    },
    {
      name: 'excludeRoutes with a RegExp',
      options: { excludeRoutes: [/users/] },
      recorded: ['/api/echo', '/slow', UNMATCHED_ROUTE],
    },
    {
      name: 'excludeRoutes with a predicate',
      options: { excludeRoutes: [(route) => route.includes(':')] },
      recorded: ['/api/echo', '/slow', UNMATCHED_ROUTE],
    },
    {
      name: 'includeRoutes and excludeRoutes together',
      options: { includeRoutes: [/^\/api/], excludeRoutes: ['/api/echo'] },
      recorded: ['/api/users/:id'],
    },
  ];

  it.each(FILTERS)('should record only the selected routes with $name', async (f) => {
    const registry = new Registry();
    const agent = await serve({ registry, ...f.options });
    await agent.get('/api/users/1').expect(200);
    await agent.post('/api/echo').send({ a: 1 }).expect(200);
    await agent.get('/slow?ms=1').expect(200);
    await agent.get('/not/found').expect(404);
    await waitForIdle(registry);

    const routes = (await findSamples(registry, 'http_requests_total')).map((s) => s.labels.route);
    expect(routes.sort()).toEqual([...f.recorded].sort());
    const histogramRoutes = (
      await findSamples(registry, 'http_request_duration_seconds_count')
    ).map((s) => s.labels.route);
    expect(histogramRoutes.sort()).toEqual([...f.recorded].sort());
  });

  it('should leave scrapes of the metrics handler out of the request metrics by default', async () => {
    const registry = new Registry();
    const agent = await serve({ registry }, { handler: true });
    await agent.get('/metrics').expect(200);
    await agent.get('/api/users/1').expect(200);
    await waitForIdle(registry);

    expect(
      await sampleValue(registry, 'http_requests_total', { route: '/metrics' }),
    ).toBeUndefined();
    expect(await sumValues(registry, 'http_requests_total')).toBe(1);
    expect(await sampleValue(registry, 'http_requests_in_flight', { method: 'GET' })).toBe(0);
  });

  it('should record scrapes with recordOperationalEndpoints: true', async () => {
    const registry = new Registry();
    const agent = await serve({ registry, recordOperationalEndpoints: true }, { handler: true });
    await agent.get('/metrics').expect(200);
    await agent.get('/metrics').expect(200);
    await waitForIdle(registry);

    expect(
      await sampleValue(registry, 'http_requests_total', {
        method: 'GET',
        route: '/metrics',
        status_code: '200',
      }),
    ).toBe(2);
  });

  it('should count a request through two middleware instances on one registry once', async () => {
    const registry = new Registry();
    const agent = await serve({ registry }, { instances: 2 });
    await agent.get('/api/users/1').expect(200);
    await agent.get('/nope').expect(404);
    await waitForIdle(registry);

    expect(await sampleValue(registry, 'http_requests_total', USERS)).toBe(1);
    expect(await sumValues(registry, 'http_requests_total')).toBe(2);
    expect(await sumValues(registry, 'http_request_duration_seconds_count')).toBe(2);
  });
});

describe.each(FACTORIES)('$name registry handling', ({ create }) => {
  it('should register default metrics once for two instances, without the *_total gauges', async () => {
    const registry = new Registry();
    expect(() => create({ registry, collectDefaultMetrics: true })).not.toThrow();
    expect(() => create({ registry, collectDefaultMetrics: true })).not.toThrow();

    const names = await metricNames(registry);
    const defaults = names.filter((n) => n.startsWith('process_') || n.startsWith('nodejs_'));
    console.log(`default metrics registered: ${defaults.length} families`);
    expect(names).toContain('process_cpu_user_seconds_total');
    expect(names).toContain('nodejs_eventloop_lag_seconds');
    expect(names).toContain('nodejs_active_handles');
    expect(new Set(names).size).toBe(names.length);
    for (const gone of [
      'nodejs_active_handles_total',
      'nodejs_active_requests_total',
      'nodejs_active_resources_total',
    ]) {
      expect(names).not.toContain(gone);
    }
    // The registry still renders.
    expect(await registry.metrics()).toContain('# TYPE process_cpu_user_seconds_total counter');
  });

  it('should collect default metrics by default, with the prefix', async () => {
    const registry = new Registry();
    create({ registry, prefix: 'svc_' });
    const names = await metricNames(registry);
    expect(names).toContain('svc_process_cpu_user_seconds_total');
    expect(names).toContain('svc_http_requests_total');
    expect(names).not.toContain('svc_nodejs_active_handles_total');
  });

  it('should register no default metrics with collectDefaultMetrics: false', async () => {
    const registry = new Registry();
    create({ registry, collectDefaultMetrics: false });
    const names = await metricNames(registry);
    expect(names.filter((n) => n.startsWith('process_') || n.startsWith('nodejs_'))).toEqual([]);
  });

  it('should share the metrics of two instances with the same options on one registry', () => {
    const registry = new Registry();
    create({ registry, collectDefaultMetrics: false });
    expect(() => create({ registry, collectDefaultMetrics: false })).not.toThrow();
    expect(registry.getMetricsAsArray()).toHaveLength(5);
  });

  it('should refuse a registry holding a different metric named http_requests_total', () => {
    const registry = new Registry();
    new Counter({
      name: 'http_requests_total',
      help: 'the app’s own counter',
      labelNames: ['path'],
      registers: [registry],
    });
    expect(() => create({ registry, collectDefaultMetrics: false })).toThrow(
      expect.objectContaining({
        code: METRICS_ERROR_CODES.METRIC_CONFLICT,
        message: expect.stringMatching(
          /^ERR_VIGIL_METRICS_METRIC_CONFLICT: .*"registry".*"http_requests_total".*prefix/,
        ),
      }),
    );
  });

  it('should leave the registry untouched when a later metric name conflicts', () => {
    const registry = new Registry();
    new Gauge({ name: 'http_requests_in_flight', help: 'own', registers: [registry] });
    expect(() => create({ registry, collectDefaultMetrics: false })).toThrow(
      expect.objectContaining({ code: METRICS_ERROR_CODES.METRIC_CONFLICT }),
    );
    expect(registry.getMetricsAsArray().map((m) => m.name)).toEqual(['http_requests_in_flight']);
  });

  it.each([
    { name: 'other buckets', second: { durationBuckets: [1, 2] } },
    { name: 'other custom labels', second: { customLabels: { tenant: () => 'x' } } },
  ])('should refuse a second instance with $name on the same registry', ({ second }) => {
    const registry = new Registry();
    create({ registry, collectDefaultMetrics: false });
    expect(() => create({ registry, collectDefaultMetrics: false, ...second })).toThrow(
      expect.objectContaining({
        code: METRICS_ERROR_CODES.METRIC_CONFLICT,
        message: expect.stringMatching(/^ERR_VIGIL_METRICS_METRIC_CONFLICT: .*labels or buckets/),
      }),
    );
  });

  it('should accept every kind of route matcher', () => {
    const matchers: RouteMatcher[] = ['/a', /b/, (r) => r === 'c'];
    expect(() =>
      create({ registry: new Registry(), collectDefaultMetrics: false, includeRoutes: matchers }),
    ).not.toThrow();
  });
});

describe('includeRoutes with a RegExp carrying the g flag', () => {
  it('should match every route the RegExp matches, whatever lastIndex it was left with', async () => {
    // RegExp.prototype.test() on a /g RegExp resumes at lastIndex, so a matcher that calls it as is
    // answers differently for the second route than it would on its own.
    const registry = new Registry();
    const { listener } = FRAMEWORKS[1]!.app({
      options: { registry, includeRoutes: [/^\/api\//g] },
    });
    const { server } = await startServer(listener);
    const agent = request(server);
    await agent.get('/api/users/1').expect(200);
    await agent.post('/api/echo').send({ a: 1 }).expect(200);
    await waitForIdle(registry);

    const routes = (await findSamples(registry, 'http_requests_total')).map((s) => s.labels.route);
    expect(routes.sort()).toEqual(['/api/echo', '/api/users/:id']);
  });
});
