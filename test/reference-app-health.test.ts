// The reference app's probes: /health/live watches the process, /health/ready also the catalog the
// API depends on; probes are operational endpoints (neither counted nor logged) and health is
// exported as metrics.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ReferenceApp, startReferenceApp } from '../examples/reference-app/src/index';

describe('reference app health', () => {
  let app: ReferenceApp;
  const lines: string[] = [];

  beforeAll(async () => {
    app = await startReferenceApp({
      port: 0,
      catalogPort: 0,
      logDestination: { write: (line: string) => lines.push(line) },
      auditDestination: { write: () => true },
    });
  });
  afterAll(async () => {
    await app?.close();
  });

  it('should answer the three probes in application/health+json, readiness with the catalog check', async () => {
    for (const probe of ['live', 'ready', 'startup']) {
      const res = await fetch(`${app.gatewayUrl}/health/${probe}`);
      expect(res.status, probe).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^application\/health\+json/);
      const body = (await res.json()) as { status: string; checks?: Record<string, unknown[]> };
      expect(body.status).toBe('pass');
      if (probe === 'live') expect(Object.keys(body.checks ?? {})).toEqual(['eventLoop:delay']);
      if (probe === 'ready') {
        expect(Object.keys(body.checks ?? {}).sort()).toEqual([
          'catalog:responseTime',
          'eventLoop:delay',
          'rateLimitStore:status',
        ]);
      }
    }
  });

  it('should keep probes out of the request metrics and the request log, and export health as metrics', async () => {
    const requestsCounted = async (): Promise<number> => {
      const text = await (await fetch(`${app.gatewayUrl}/metrics`)).text();
      let sum = 0;
      for (const m of text.matchAll(/^http_requests_total\{[^}]*\} (\S+)$/gm)) sum += Number(m[1]);
      return sum;
    };
    // One API request, so the counter exists and a probe counted would show.
    await (await fetch(`${app.gatewayUrl}/api/videos`)).arrayBuffer();
    const countedBefore = await requestsCounted();
    expect(countedBefore).toBeGreaterThanOrEqual(1);
    const before = lines.length;
    const statuses: number[] = [];
    for (let i = 0; i < 30; i++)
      statuses.push((await fetch(`${app.gatewayUrl}/health/ready`)).status);
    expect(statuses.every((s) => s === 200)).toBe(true);
    expect(await requestsCounted()).toBe(countedBefore);
    const metrics = await (await fetch(`${app.gatewayUrl}/metrics`)).text();
    expect(metrics).not.toMatch(/http_requests_total\{[^}]*route="\/health/);
    expect(metrics).toMatch(/health_check_status\{check="catalog"[^}]*\} 1$/m);
    expect(metrics).toMatch(/health_check_duration_seconds\{check="catalog"[^}]*\} [\d.e-]+$/m);
    expect(lines.slice(before).filter((l) => l.includes('/health/'))).toEqual([]);
  });
});
