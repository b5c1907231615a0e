// track() on real Express 4, Express 5, Koa 2 and Koa 3 servers: once per request, right labels and outcome.
import Router from '@koa/router';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { OVERFLOW_LABEL_VALUE, track } from '@vigil/business-metrics';
import { FRAMEWORKS, shopCatalogue } from './support/apps';
import {
  Gate,
  VERSIONS,
  abortedRequest,
  closeServers,
  rawRequest,
  sleep,
  startServer,
} from '@vigil/test-utils';
import { captureLogs } from './support/logs';
import { nonZero, sampleValue, settle, sumValues } from './support/samples';

afterEach(closeServers);

describe('frameworks under test', () => {
  it('should drive the real majors it names', () => {
    expect(VERSIONS.express4).toMatch(/^4\./);
    expect(VERSIONS.express5).toMatch(/^5\./);
    expect(VERSIONS.koa2).toMatch(/^2\./);
    expect(VERSIONS.koa3).toMatch(/^3\./);
  });
});

describe.each(FRAMEWORKS)('track() on $name', (fw) => {
  async function setup(gate?: Gate) {
    const registry = new Registry();
    const logs = captureLogs();
    const catalogue = shopCatalogue(registry, logs.logger);
    const app = fw.app(catalogue, gate);
    const server = await startServer(app.listener);
    return { registry, logs, catalogue, app, ...server };
  }

  it('should record every metric of a successful upload once, with the route template', async () => {
    const { registry, origin } = await setup();
    const reply = await rawRequest(origin, '/api/videos', { json: { format: 'mp4', size: 5000 } });
    expect(reply.status).toBe(201);
    await settle(registry, 'uploads_total', 1);

    expect(await nonZero(registry, 'uploads_total')).toEqual([
      'format=mp4,outcome=success,route=/api/videos => 1',
    ]);
    expect(await nonZero(registry, 'upload_size_bytes_count')).toEqual(['format=mp4 => 1']);
    expect(await sampleValue(registry, 'upload_size_bytes_sum', { format: 'mp4' })).toBe(5000);
    expect(await nonZero(registry, 'upload_handling_seconds_count')).toEqual([
      'method=POST,outcome=success => 1',
    ]);
    const seconds = await sampleValue(registry, 'upload_handling_seconds_sum', {
      outcome: 'success',
    });
    expect(seconds).toBeGreaterThan(0);
    expect(seconds).toBeLessThan(5);
  });

  it.each([
    { name: 'a 4xx answer', body: { format: 'webm', status: 422 }, status: 422 },
    { name: 'a synchronous throw', body: { format: 'webm', fail: 'throw' }, status: 500 },
    { name: 'an async failure', body: { format: 'webm', fail: 'async' }, status: 500 },
  ])('should label $name as a failure, once', async ({ body, status }) => {
    const { registry, origin } = await setup();
    expect((await rawRequest(origin, '/api/videos', { json: body })).status).toBe(status);
    await settle(registry, 'uploads_total', 1);
    expect(await nonZero(registry, 'uploads_total')).toEqual([
      'format=webm,outcome=failure,route=/api/videos => 1',
    ]);
    expect(await nonZero(registry, 'upload_handling_seconds_count')).toEqual([
      'method=POST,outcome=failure => 1',
    ]);
  });

  it('should record a value outside the closed set under the overflow value and log it once', async () => {
    const { registry, origin, logs } = await setup();
    for (const format of ['avi', 'flv', 'avi']) {
      expect(
        (await rawRequest(origin, '/api/videos', { json: { format, status: 400 } })).status,
      ).toBe(400);
    }
    await settle(registry, 'uploads_total', 3);
    expect(await nonZero(registry, 'uploads_total')).toEqual([
      `format=${OVERFLOW_LABEL_VALUE},outcome=failure,route=/api/videos => 3`,
    ]);
    const lines = logs.problems('uploads_total.format');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ component: '@vigil/business-metrics', level: 40 });
    expect(lines[0]!.err).toMatch(/received 'avi', not one of mp4, webm, mov/);
  });

  it('should record a request the client abandoned as aborted, once, even when it is answered later', async () => {
    const gate = new Gate();
    const { registry, origin, received } = await setup(gate);
    const result = await abortedRequest(origin, '/api/gate', {
      when: received(1).then(() => sleep(30)),
    });
    expect(result.sawHeaders).toBe(false);
    await settle(registry, 'uploads_total', 1);
    gate.open();
    await sleep(50);
    expect(await nonZero(registry, 'uploads_total')).toEqual([
      'format=mp4,outcome=aborted,route=/api/gate => 1',
    ]);
  });

  it("should record 'success'-only metrics for successful requests only (the default without an outcome label)", async () => {
    const { registry, origin } = await setup();
    expect((await rawRequest(origin, '/api/orders/pro', { json: {} })).status).toBe(201);
    expect((await rawRequest(origin, '/api/orders/pro', { json: { status: 409 } })).status).toBe(
      409,
    );
    expect((await rawRequest(origin, '/api/orders/free', { json: { fail: 'throw' } })).status).toBe(
      500,
    );
    expect((await rawRequest(origin, '/api/orders/free', { json: {} })).status).toBe(201);
    await settle(registry, 'orders_created_total', 2);
    expect(await nonZero(registry, 'orders_created_total')).toEqual([
      'plan=free => 1',
      'plan=pro => 1',
    ]);
  });

  it('should move a gauge up and down with op inc and dec', async () => {
    const { registry, origin } = await setup();
    for (const path of ['/api/streams/a/start', '/api/streams/b/start', '/api/streams/a/stop']) {
      expect((await rawRequest(origin, path, { method: 'POST' })).status).toBe(200);
    }
    await sleep(30);
    expect(await sampleValue(registry, 'streams_active')).toBe(1);
  });

  it('should count each of many requests exactly once', async () => {
    const { registry, origin } = await setup();
    const formats = ['mp4', 'webm', 'mp4', 'mov', 'mp4', 'webm', 'mp4', 'mp4'];
    await Promise.all(
      formats.map((format) => rawRequest(origin, '/api/videos', { json: { format, size: 10 } })),
    );
    await settle(registry, 'uploads_total', formats.length);
    expect(await nonZero(registry, 'uploads_total')).toEqual([
      'format=mov,outcome=success,route=/api/videos => 1',
      'format=mp4,outcome=success,route=/api/videos => 5',
      'format=webm,outcome=success,route=/api/videos => 2',
    ]);
    expect(await sumValues(registry, 'upload_size_bytes_count')).toBe(formats.length);
    expect(await sumValues(registry, 'upload_handling_seconds_count')).toBe(formats.length);
  });
});

describe.each(FRAMEWORKS.filter((f) => f.kind === 'koa'))('track() on $name, Koa errors', (fw) => {
  it('should label a request whose error an upstream middleware answered with 200 as a failure', async () => {
    const registry = new Registry();
    const app = fw.app(shopCatalogue(registry, captureLogs().logger));
    const { origin } = await startServer(app.listener);
    const reply = await rawRequest(origin, '/api/videos', {
      json: { format: 'mov', fail: 'recover' },
    });
    expect(reply.status).toBe(200);
    expect(app.errors).toHaveLength(1);
    await settle(registry, 'uploads_total', 1);
    expect(await nonZero(registry, 'uploads_total')).toEqual([
      'format=mov,outcome=failure,route=/api/videos => 1',
    ]);
  });
});

describe.each(FRAMEWORKS.filter((f) => f.name === 'express5' || f.name === 'koa3'))(
  'track() functions that fail on $name',
  (fw) => {
    it('should skip the recording of a throwing labels function, log it once, and answer normally', async () => {
      const registry = new Registry();
      const logs = captureLogs();
      const { metrics: m } = shopCatalogue(registry, logs.logger);
      const exploding = track(m.orders_created_total, {
        labels: () => {
          throw new Error('labels exploded');
        },
      });
      const notANumber = track(m.streams_active, { value: () => Number.NaN });
      const app = fw.app(shopCatalogue(new Registry()), undefined, {
        express: (a) => {
          a.get('/hooks', exploding, notANumber, (_req, res) => {
            res.send('fine');
          });
        },
        koa: (a) => {
          const router = new Router();
          router.get('/hooks', exploding, notANumber, (ctx) => {
            ctx.body = 'fine';
          });
          a.use(router.routes());
        },
      });
      const { origin } = await startServer(app.listener);
      for (let i = 0; i < 3; i++) {
        const reply = await rawRequest(origin, '/hooks');
        expect([reply.status, reply.body]).toEqual([200, 'fine']);
      }
      await sleep(30);
      expect(await sumValues(registry, 'orders_created_total')).toBe(0);
      expect(await sampleValue(registry, 'streams_active')).toBe(0);
      const threw = logs.problems('orders_created_total: track() labels function threw');
      expect(threw).toHaveLength(1);
      expect(threw[0]!.err).toBe('labels exploded');
      expect(logs.problems('streams_active: value not a finite number')).toHaveLength(1);
    });
  },
);
