// HTTP/2 compatibility requests (Koa supports them; Express does not): recorded like HTTP/1 requests
// through the shared request lifecycle, never stuck in flight.
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import Router from '@koa/router';
import { koaMetrics } from '@vigil/metrics';

describe('koaMetrics on an HTTP/2 server', () => {
  let server: http2.Http2Server | undefined;
  afterEach(async () => {
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    server = undefined;
  });

  it('should record each request once, by route, and leave the in-flight gauge at zero', async () => {
    const registry = new Registry();
    const warnings: object[] = [];
    const app = new Koa();
    app.use(
      koaMetrics({
        registry,
        collectDefaultMetrics: false,
        logger: { warn: (o) => warnings.push(o) },
      }),
    );
    const router = new Router();
    router.get('/h2/:n', (ctx) => {
      ctx.body = { ok: true };
    });
    app.use(router.routes());
    const callback = app.callback();
    server = http2.createServer({}, (req, res) => {
      void callback(req, res);
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const client = http2.connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) {
      await new Promise<void>((resolve, reject) => {
        const stream = client.request({ ':path': `/h2/${i}` });
        stream.on('response', (headers) => statuses.push(Number(headers[':status'])));
        stream.on('error', reject);
        stream.resume();
        stream.on('end', resolve);
      });
    }
    client.close();
    const metrics = await registry.getMetricsAsJSON();
    const inFlight = metrics.find((m) => m.name === 'http_requests_in_flight')!;
    const requests = metrics.find((m) => m.name === 'http_requests_total')!;
    console.log(`HTTP/2: statuses ${statuses.join(',')}, warnings ${warnings.length}`);
    expect(statuses).toEqual([200, 200, 200]);
    expect(inFlight.values.every((v) => v.value === 0)).toBe(true);
    expect(requests.values).toEqual([
      { labels: { method: 'GET', route: '/h2/:n', status_code: '200' }, value: 3 },
    ]);
    expect(warnings).toHaveLength(0);
  });
});
