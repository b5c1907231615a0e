// Integration: @vigil/health beside @vigil/metrics and @vigil/rate-limit in one Express app. The
// probes are never rate-limited and never appear in the app's request metrics; the health gauges do.
import express from 'express';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { check, createHealth, expressHealth } from '@vigil/health';
import { expressMetrics, expressMetricsHandler } from '@vigil/metrics';
import { expressRateLimit } from '@vigil/rate-limit';
import { closeServers, send, startServer } from '@vigil/test-utils';

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const undo of cleanup.splice(0)) await undo();
  await closeServers();
});

describe('health probes in an app with metrics and a rate limit', () => {
  it('should never be limited nor counted as app requests', async () => {
    const registry = new Registry();
    const health = createHealth({
      registry,
      started: true,
      shutdown: false,
      readiness: [check('database', () => true)],
    });
    cleanup.push(() => health.close());
    const limiter = expressRateLimit({
      registry,
      policies: [{ name: 'everything', limit: 3, windowMs: 60_000 }],
    });
    cleanup.push(() => limiter.close());
    const app = express();
    app.use(expressMetrics({ registry, collectDefaultMetrics: false }));
    app.use(limiter);
    app.use(expressHealth(health));
    app.get('/metrics', expressMetricsHandler({ registry }));
    app.get('/api/items', (_req, res) => {
      res.json([]);
    });
    const { port } = await startServer(app);

    const probes = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        send(port, { path: ['/health/live', '/health/ready', '/health/startup'][i % 3] as string }),
      ),
    );
    const api = [];
    for (let i = 0; i < 5; i++) api.push((await send(port, { path: '/api/items' })).status);
    const text = (await send(port, { path: '/metrics' })).body;
    const series = text.split('\n').filter((l) => l.startsWith('http_requests_total{'));
    console.log(
      `[health] 30 probes: ${probes.filter((r) => r.status === 200).length} x 200, ${probes.filter((r) => r.status === 429).length} x 429; ` +
        `5 API requests past a limit of 3: ${api.join(', ')}; request series: ${series.join(' | ')}`,
    );
    expect(probes.every((r) => r.status === 200)).toBe(true);
    expect(api).toEqual([200, 200, 200, 429, 429]);
    expect(series.some((l) => l.includes('health'))).toBe(false);
    expect(text).toContain('health_check_status{check="database"} 1');
    expect(text).toMatch(/health_check_duration_seconds\{check="database"\} /);
  });
});
