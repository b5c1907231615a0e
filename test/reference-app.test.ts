// The reference app end to end: real gateway and catalog over HTTP, /metrics checked by promtool.
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startReferenceApp, type ReferenceApp } from '../examples/reference-app/src/index';
import { findBinary } from '@vigil/test-utils';

function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`)))
      return Number(line.split(' ').pop());
  }
  return undefined;
}

describe('reference app', () => {
  let app: ReferenceApp;
  const lines: string[] = [];
  const logs = { write: (line: string) => lines.push(line) };

  beforeAll(async () => {
    app = await startReferenceApp({ port: 0, catalogPort: 0, logDestination: logs });
  });
  afterAll(async () => {
    await app.close();
  });

  it('should serve every contract route with the documented statuses', async () => {
    const get = (path: string) => fetch(app.gatewayUrl + path);
    const post = (path: string, body?: unknown) =>
      fetch(app.gatewayUrl + path, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });

    const video = await get('/api/videos/7');
    expect(video.status).toBe(200);
    expect(await video.json()).toMatchObject({ id: '7', title: 'Video 7' });
    expect((await get('/api/videos/9999')).status).toBe(404);
    expect(
      (await post('/api/videos', { title: 'Cats', format: 'mp4', sizeBytes: 1024 })).status,
    ).toBe(201);
    const rejected = await post('/api/videos', { title: 'Cats', format: 'avi', sizeBytes: 1024 });
    expect(rejected.status).toBe(400);
    expect(await rejected.json()).toMatchObject({ error: 'unsupported_format' });
    expect((await post('/api/streams/s1/start')).status).toBe(200);
    expect((await post('/api/streams/s1/stop')).status).toBe(200);
    expect((await get('/api/fail')).status).toBe(500);
    const slow = await get('/api/slow?ms=30');
    expect(await slow.json()).toEqual({ waitedMs: 30 });
    // Negative delays are clamped to zero (the upper cap, MAX_SLOW_MS, bounds what a caller can hold).
    expect(await (await get('/api/slow?ms=-5')).json()).toEqual({ waitedMs: 0 });
    expect((await get('/no/such/page')).status).toBe(404);
  }, 30_000);

  it('should record gateway and catalog requests under route templates in their own registries', async () => {
    for (let i = 1; i <= 5; i++) await fetch(`${app.gatewayUrl}/api/videos/${i}`);
    const gateway = await (await fetch(`${app.gatewayUrl}/metrics`)).text();
    const catalog = await (await fetch(`${app.catalogUrl}/metrics`)).text();
    const viaGateway = sample(gateway, 'http_requests_total', {
      route: '/api/videos/:id',
      status_code: '200',
      service: 'gateway',
    });
    const atCatalog = sample(catalog, 'http_requests_total', {
      route: '/videos/:id',
      status_code: '200',
      service: 'catalog',
    });
    expect(viaGateway).toBeGreaterThanOrEqual(5);
    // Every successful gateway call made exactly one catalog call.
    expect(atCatalog).toBe(viaGateway);
    expect(
      sample(gateway, 'http_requests_total', { route: '/api/fail', status_code: '500' }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      sample(gateway, 'http_requests_total', { route: '<unmatched>', status_code: '404' }),
    ).toBeGreaterThanOrEqual(1);
    expect(gateway).not.toMatch(/route="\/api\/videos\/\d+"/);
    expect(gateway).not.toContain('route="/metrics"');
  });

  it('should log one JSON line per request with its ids and no secret', async () => {
    lines.length = 0;
    const secret = 'SENTINEL-ref-app-secret';
    const res = await fetch(`${app.gatewayUrl}/api/videos/2?token=${secret}`, {
      headers: {
        authorization: `Bearer ${secret}`,
        cookie: `sid=${secret}`,
        'x-request-id': 'log-check-1',
      },
    });
    expect(res.status).toBe(200);
    const entries = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    const mine = entries.filter((e) => e.request_id === 'log-check-1');
    console.log(`log lines: ${lines.length}, for this request: ${mine.length}`);
    // One line in the gateway and one in the catalog, which received the same request id.
    expect(mine.map((e) => e.route).sort()).toEqual(['/api/videos/:id', '/videos/:id']);
    expect(mine.every((e) => e.msg === 'request completed' && e.status_code === 200)).toBe(true);
    expect(lines.join('\n')).not.toContain(secret);
  });

  const promtool = findBinary('promtool', 'prometheus');
  it.skipIf(!promtool)('should expose metrics that pass promtool check metrics', async () => {
    for (const url of [app.gatewayUrl, app.catalogUrl]) {
      const body = await (await fetch(`${url}/metrics`)).text();
      const result = spawnSync(promtool!, ['check', 'metrics'], { input: body, encoding: 'utf8' });
      console.log(
        `promtool check metrics ${url}/metrics: ${body.split('\n').length} lines, exit ${result.status}, problems: ${(result.stdout + result.stderr).trim() || 'none'}`,
      );
      expect(result.stdout + result.stderr).toBe('');
      expect(result.status).toBe(0);
    }
  });
});
