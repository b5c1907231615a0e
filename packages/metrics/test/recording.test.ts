// Every request counted exactly once, on Express 4, Express 5, Koa 2 and Koa 3 alike.
import { Registry } from 'prom-client';
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { OTHER_METHOD, UNMATCHED_ROUTE } from '@vigil/metrics';
import { BOOM, FRAMEWORKS, type Framework, Gate, VERSIONS } from './support/frameworks';
import { closeServers, rawRequest, startServer } from '@vigil/test-utils';
import {
  type Labels,
  findSamples,
  sampleValue,
  sumValues,
  waitFor,
  waitForIdle,
} from '@vigil/test-utils';

afterEach(closeServers);

interface Case {
  name: string;
  method: string;
  path: string;
  /** Frameworks the case applies to (default: all). */
  on?: (fw: Framework) => boolean;
  status: number | ((fw: Framework) => number);
  route: string;
  methodLabel?: string;
  /** The body the app's own error handler writes. */
  handledError?: boolean;
  errorHandler?: boolean;
}

const HANDLED = { handled: true, error: BOOM };

const CASES: Case[] = [
  { name: 'a success', method: 'GET', path: '/api/users/42', status: 200, route: '/api/users/:id' },
  { name: 'a JSON POST', method: 'POST', path: '/api/echo', status: 200, route: '/api/echo' },
  { name: 'a 404', method: 'GET', path: '/no/such/page', status: 404, route: UNMATCHED_ROUTE },
  {
    name: 'a synchronous throw',
    method: 'GET',
    path: '/sync-throw',
    status: 500,
    route: '/sync-throw',
    handledError: true,
  },
  {
    name: 'an async rejection',
    method: 'GET',
    path: '/async-reject',
    on: (fw) => fw.asyncErrors,
    status: 500,
    route: '/async-reject',
    handledError: true,
  },
  {
    name: 'next(err)',
    method: 'GET',
    path: '/next-error',
    on: (fw) => fw.kind === 'express',
    status: 500,
    route: '/next-error',
    handledError: true,
  },
  {
    name: 'a synchronous throw left to the framework',
    method: 'GET',
    path: '/sync-throw',
    status: 500,
    route: '/sync-throw',
    errorHandler: false,
  },
  {
    name: 'an async rejection left to the framework',
    method: 'GET',
    path: '/async-reject',
    on: (fw) => fw.asyncErrors,
    status: 500,
    route: '/async-reject',
    errorHandler: false,
  },
  { name: 'a HEAD', method: 'HEAD', path: '/api/users/7', status: 200, route: '/api/users/:id' },
  // The router answers OPTIONS itself, so no route template is involved.
  {
    name: 'an OPTIONS',
    method: 'OPTIONS',
    path: '/api/users/7',
    status: 200,
    route: UNMATCHED_ROUTE,
  },
  {
    name: 'a PROPFIND (outside the standard methods)',
    method: 'PROPFIND',
    path: '/api/users/7',
    // Express has no PROPFIND route (404); @koa/router's allowedMethods() answers 501.
    status: (fw) => (fw.kind === 'koa' ? 501 : 404),
    route: UNMATCHED_ROUTE,
    methodLabel: OTHER_METHOD,
  },
];

describe('the framework majors under test', () => {
  it('should be Express 4 and 5, Koa 2 and 3', () => {
    console.log('framework versions', VERSIONS);
    expect(VERSIONS.express4).toMatch(/^4\./);
    expect(VERSIONS.express5).toMatch(/^5\./);
    expect(VERSIONS.koa2).toMatch(/^2\./);
    expect(VERSIONS.koa3).toMatch(/^3\./);
  });
});

describe.each(FRAMEWORKS)('metrics middleware on $name', (fw) => {
  const cases = CASES.filter((c) => c.on?.(fw) ?? true);

  it.each(cases)('should count $name exactly once', async (c) => {
    const registry = new Registry();
    const app = fw.app({ options: { registry }, errorHandler: c.errorHandler });
    const { server, origin } = await startServer(app.listener);
    const status = typeof c.status === 'function' ? c.status(fw) : c.status;

    let body: unknown;
    if (c.method === 'PROPFIND') {
      const res = await rawRequest(origin, c.path, { method: c.method });
      expect(res.status).toBe(status);
    } else {
      const agent = request(server);
      const res =
        c.method === 'POST'
          ? await agent.post(c.path).send({ hello: 'world' })
          : await agent[c.method.toLowerCase() as 'get' | 'head' | 'options'](c.path);
      expect(res.status).toBe(status);
      body = res.body;
    }
    await waitForIdle(registry);

    const labels: Labels = {
      method: c.methodLabel ?? c.method,
      route: c.route,
      status_code: String(status),
    };
    expect(await sampleValue(registry, 'http_requests_total', labels)).toBe(1);
    expect(await sumValues(registry, 'http_requests_total')).toBe(1);
    expect(await sampleValue(registry, 'http_request_duration_seconds_count', labels)).toBe(1);
    expect(await sumValues(registry, 'http_request_duration_seconds_count')).toBe(1);
    const sizeLabels = { method: labels.method!, route: labels.route! };
    expect(await sampleValue(registry, 'http_request_size_bytes_count', sizeLabels)).toBe(1);
    expect(await sampleValue(registry, 'http_response_size_bytes_count', sizeLabels)).toBe(1);
    expect(await sumValues(registry, 'http_requests_in_flight')).toBe(0);

    if (c.handledError) {
      // The app's own error handler ran and wrote its answer.
      expect(body).toEqual(HANDLED);
      expect(app.errors).toHaveLength(1);
      expect((app.errors[0] as Error).message).toBe(BOOM);
    }
    if (c.errorHandler === false && fw.kind === 'koa') {
      // Koa's default handling: the app's 'error' event fires once.
      expect(app.errors.map((e) => (e as Error).message)).toEqual([BOOM]);
    }
  });

  it('should label every method outside the standard set OTHER', async () => {
    const registry = new Registry();
    const { listener } = fw.app({ options: { registry } });
    const { origin } = await startServer(listener);
    const methods = ['PROPFIND', 'PURGE', 'MKCOL', 'SEARCH', 'REPORT', 'LOCK'];
    for (const method of methods) await rawRequest(origin, '/api/users/1', { method });
    await waitForIdle(registry);

    const series = await findSamples(registry, 'http_requests_total');
    expect(series.every((s) => s.labels.method === OTHER_METHOD)).toBe(true);
    expect(await sumValues(registry, 'http_requests_total', { method: OTHER_METHOD })).toBe(
      methods.length,
    );
    const inFlight = (await findSamples(registry, 'http_requests_in_flight')).map(
      (s) => s.labels.method,
    );
    expect(inFlight).toContain(OTHER_METHOD);
    expect(inFlight.some((m) => methods.includes(m!))).toBe(false);
  });

  it('should count a mixed sequence of requests once each, per series', async () => {
    const registry = new Registry();
    const { listener } = fw.app({ options: { registry } });
    const { server } = await startServer(listener);
    const agent = request(server);
    await agent.get('/api/users/1').expect(200);
    await agent.get('/api/users/2').expect(200);
    await agent.get('/api/users/3').expect(200);
    await agent.get('/sync-throw').expect(500);
    await agent.get('/missing/1').expect(404);
    await agent.get('/missing/2').expect(404);
    await agent.post('/api/echo').send({ n: 1 }).expect(200);
    await waitForIdle(registry);

    const counts = (await findSamples(registry, 'http_requests_total')).map(
      (s) => `${s.labels.method} ${s.labels.route} ${s.labels.status_code} = ${s.value}`,
    );
    expect(counts.sort()).toEqual(
      [
        'GET /api/users/:id 200 = 3',
        'GET /sync-throw 500 = 1',
        `GET ${UNMATCHED_ROUTE} 404 = 2`,
        'POST /api/echo 200 = 1',
      ].sort(),
    );
    expect(await sumValues(registry, 'http_request_duration_seconds_count')).toBe(7);
  });

  it('should keep the series count bounded under random paths and ids', async () => {
    const registry = new Registry();
    const { listener } = fw.app({ options: { registry } });
    const { server } = await startServer(listener);
    const agent = request(server);
    const n = 100;
    for (let i = 0; i < n; i += 25) {
      await Promise.all(
        Array.from({ length: 25 }, (_, j) => {
          const k = i + j;
          const word = Math.random().toString(36).slice(2);
          return k % 2 === 0
            ? agent.get(`/${word}/${k}/%ZZ/${'x'.repeat(k)}`)
            : agent.get(`/api/users/${word}-${k}`);
        }),
      );
    }
    await waitForIdle(registry);
    const series = await findSamples(registry, 'http_requests_total');
    console.log(
      `${fw.name}: ${n} requests on random paths and ids -> ${series.length} http_requests_total series`,
    );
    expect(series.map((s) => `${s.labels.route} ${s.labels.status_code}`).sort()).toEqual([
      '/api/users/:id 200',
      `${UNMATCHED_ROUTE} 404`,
    ]);
    expect(await sumValues(registry, 'http_requests_total')).toBe(n);
  });

  it('should show 5 GET requests in flight while they are pending, then 0', async () => {
    const registry = new Registry();
    const gate = new Gate();
    const { listener } = fw.app({ options: { registry }, gate });
    const { origin } = await startServer(listener);
    const n = 5;
    const pending = Array.from({ length: n }, () => rawRequest(origin, '/gate'));
    await waitFor(() => gate.entered === n, `${n} requests to reach the handler`);

    const during = await sampleValue(registry, 'http_requests_in_flight', { method: 'GET' });
    console.log(`${fw.name}: in flight while ${n} requests pending = ${during}`);
    expect(during).toBe(n);
    expect(await sumValues(registry, 'http_requests_in_flight')).toBe(n);
    expect(await sumValues(registry, 'http_requests_total')).toBe(0);

    gate.open();
    const responses = await Promise.all(pending);
    expect(responses.map((r) => r.status)).toEqual(Array(n).fill(200));
    await waitForIdle(registry);
    expect(await sampleValue(registry, 'http_requests_in_flight', { method: 'GET' })).toBe(0);
    expect(await sampleValue(registry, 'http_requests_total', { route: '/gate' })).toBe(n);
  });

  it('should zero counters on registry.resetMetrics() and count up from 0 afterwards', async () => {
    const registry = new Registry();
    const { listener } = fw.app({ options: { registry } });
    const { server } = await startServer(listener);
    const agent = request(server);
    const labels = { method: 'GET', route: '/api/users/:id', status_code: '200' };
    for (let i = 0; i < 3; i++) await agent.get(`/api/users/${i}`).expect(200);
    await waitForIdle(registry);
    expect(await sampleValue(registry, 'http_requests_total', labels)).toBe(3);

    registry.resetMetrics();
    expect(await sumValues(registry, 'http_requests_total')).toBe(0);
    expect(await sumValues(registry, 'http_request_duration_seconds_count')).toBe(0);
    expect(await sumValues(registry, 'http_request_duration_seconds_sum')).toBe(0);
    expect(await sumValues(registry, 'http_request_size_bytes_count')).toBe(0);

    await agent.get('/api/users/9').expect(200);
    await agent.get('/api/users/10').expect(200);
    await waitForIdle(registry);
    expect(await sampleValue(registry, 'http_requests_total', labels)).toBe(2);
    expect(await sampleValue(registry, 'http_request_duration_seconds_count', labels)).toBe(2);
    expect(await sampleValue(registry, 'http_requests_in_flight', { method: 'GET' })).toBe(0);
  });
});
