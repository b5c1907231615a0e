// metrics(req) / metrics(ctx) inside handlers of real Express 4/5 and Koa 2/3 servers.
import { IncomingMessage } from 'node:http';
import { Socket } from 'node:net';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { OVERFLOW_LABEL_VALUE, metrics } from '@vigil/business-metrics';
import { FRAMEWORKS, shopCatalogue } from './support/apps';
import { abortedRequest, closeServers, rawRequest, sleep, startServer } from '@vigil/test-utils';
import { captureLogs } from './support/logs';
import { nonZero, sampleValue, settle } from './support/samples';

afterEach(closeServers);

describe.each(FRAMEWORKS)('metrics(req | ctx) on $name', (fw) => {
  async function setup() {
    const registry = new Registry();
    const logs = captureLogs();
    const catalogue = shopCatalogue(registry, logs.logger);
    const app = fw.app(catalogue);
    const server = await startServer(app.listener);
    return { registry, logs, catalogue, app, ...server };
  }

  it('should fill the route template and the outcome once the response has finished', async () => {
    const { registry, origin } = await setup();
    expect(
      (await rawRequest(origin, '/api/scoped', { json: { format: 'webm', size: 70 } })).status,
    ).toBe(201);
    await settle(registry, 'uploads_total', 1);
    expect(await nonZero(registry, 'uploads_total')).toEqual([
      'format=webm,outcome=success,route=/api/scoped => 1',
    ]);
    // A metric without an outcome label is recorded at once.
    expect(await sampleValue(registry, 'upload_size_bytes_sum', { format: 'webm' })).toBe(70);
  });

  it('should label a request answered with an error status as a failure', async () => {
    const { registry, origin } = await setup();
    expect(
      (await rawRequest(origin, '/api/scoped', { json: { format: 'mp4', status: 503 } })).status,
    ).toBe(503);
    await settle(registry, 'uploads_total', 1);
    expect(await nonZero(registry, 'uploads_total')).toEqual([
      'format=mp4,outcome=failure,route=/api/scoped => 1',
    ]);
  });

  it('should record every call when used many times in one request', async () => {
    const { registry, origin } = await setup();
    await rawRequest(origin, '/api/scoped', { json: { format: 'mov', times: 3, size: 1 } });
    await settle(registry, 'uploads_total', 3);
    expect(await nonZero(registry, 'uploads_total')).toEqual([
      'format=mov,outcome=success,route=/api/scoped => 3',
    ]);
    expect(await sampleValue(registry, 'upload_size_bytes_count', { format: 'mov' })).toBe(3);
  });

  it('should record at once, with the given outcome, when the handler states it', async () => {
    const { registry, origin } = await setup();
    const reply = await rawRequest(origin, '/api/scoped', {
      json: { format: 'mp4', status: 500, outcome: 'success' },
    });
    expect(reply.status).toBe(500);
    await settle(registry, 'uploads_total', 1);
    expect(await nonZero(registry, 'uploads_total')).toEqual([
      'format=mp4,outcome=success,route=/api/scoped => 1',
    ]);
  });

  it('should label the recording aborted when the client leaves before the answer', async () => {
    const { registry, origin, received } = await setup();
    const result = await abortedRequest(origin, '/api/scoped', {
      when: received(1).then(() => sleep(60)),
      json: { format: 'webm', holdMs: 300 },
    });
    expect(result.sawHeaders).toBe(false);
    await settle(registry, 'uploads_total', 1);
    await sleep(300);
    expect(await nonZero(registry, 'uploads_total')).toEqual([
      'format=webm,outcome=aborted,route=/api/scoped => 1',
    ]);
  });

  it('should label a recording made after the client left as aborted', async () => {
    const { registry, origin, received } = await setup();
    await abortedRequest(origin, '/api/scoped', {
      when: received(1).then(() => sleep(20)),
      json: { format: 'mp4', delayMs: 150 },
    });
    await settle(registry, 'uploads_total', 1);
    expect(await nonZero(registry, 'uploads_total')).toEqual([
      'format=mp4,outcome=aborted,route=/api/scoped => 1',
    ]);
  });

  it('should bound an open label by its cap whatever the route parameter', async () => {
    const { registry, origin, logs } = await setup();
    for (let i = 0; i < 12; i++) {
      expect((await rawRequest(origin, `/api/generate/fw-${i}`, { method: 'POST' })).status).toBe(
        502,
      );
    }
    await settle(registry, 'generation_failures_total', 12);
    const lines = await nonZero(registry, 'generation_failures_total');
    expect(lines).toEqual([
      `framework=${OVERFLOW_LABEL_VALUE},route=/api/generate/:framework => 7`,
      ...[0, 1, 2, 3, 4].map((i) => `framework=fw-${i},route=/api/generate/:framework => 1`),
    ]);
    expect(logs.problems('generation_failures_total.framework: cap reached')).toHaveLength(1);
  });
});

describe('metrics() given something else than a request', () => {
  it('should record nothing, never throw, and warn once', async () => {
    const registry = new Registry();
    const { metrics: m } = shopCatalogue(registry);
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.message);
    process.on('warning', onWarning);
    try {
      const recorder = metrics({ not: 'a request' });
      recorder.inc(m.orders_created_total, { plan: 'pro' });
      metrics({}).inc(m.orders_created_total, { plan: 'pro' });
      expect(recorder.outcome).toBeUndefined();
      await sleep(10);
    } finally {
      process.off('warning', onWarning);
    }
    expect(await nonZero(registry, 'orders_created_total')).toEqual([]);
    expect(warnings.filter((w) => w.includes('metrics(): not a request'))).toHaveLength(1);
  });

  it('should record at once, but not what waits for an outcome, for a bare Node request', async () => {
    const registry = new Registry();
    const logs = captureLogs();
    const { metrics: m } = shopCatalogue(registry, logs.logger);
    const req = new IncomingMessage(new Socket());
    req.method = 'POST';
    metrics(req).inc(m.orders_created_total, { plan: 'free' });
    metrics(req).inc(m.uploads_total, { format: 'mp4' });
    const throwing = {
      get outcome(): 'success' {
        throw new Error('getter exploded');
      },
    };
    expect(() =>
      metrics(req).inc(m.uploads_total, throwing as unknown as { format: 'mp4' }),
    ).not.toThrow();
    expect(logs.problems('uploads_total: recording failed')[0]!.err).toBe('getter exploded');
    expect(await nonZero(registry, 'orders_created_total')).toEqual(['plan=free => 1']);
    expect(await nonZero(registry, 'uploads_total')).toEqual([]);
    expect(logs.problems('uploads_total: outcome without a response')).toHaveLength(1);
  });
});
