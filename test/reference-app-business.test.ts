// The reference app's business metrics, recorded in all three styles (route middleware, request-scoped
// calls, a decorated service): each request recorded once with the right labels and outcome, in
// /metrics (checked by promtool) and in /metrics/summary.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DEMO_USER,
  type ReferenceApp,
  startReferenceApp,
} from '../examples/reference-app/src/index';
import { findBinary } from '@vigil/test-utils';

function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name) || !/^[^{ ]+[{ ]/.test(line)) continue;
    if (line.slice(0, line.search(/[{ ]/)) !== name) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`)))
      return Number(line.split(' ').pop());
  }
  return 0;
}

describe('reference app business metrics', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-ref-business-'));
  let app: ReferenceApp;
  const post = (path: string, body?: unknown) =>
    fetch(app.gatewayUrl + path, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });

  beforeAll(async () => {
    app = await startReferenceApp({
      port: 0,
      catalogPort: 0,
      logDestination: { write: () => true },
      auditDestination: join(dir, 'audit.log'),
      rateLimit: { redisUrl: undefined },
    });
    expect(
      (await post('/api/videos', { title: 'A', format: 'mp4', sizeBytes: 2_000_000 })).status,
    ).toBe(201);
    expect(
      (await post('/api/videos', { title: 'B', format: 'mp4', sizeBytes: 50_000 })).status,
    ).toBe(201);
    expect((await post('/api/videos', { title: 'C', format: 'webm', sizeBytes: 10 })).status).toBe(
      201,
    );
    expect((await post('/api/videos', { title: 'D', format: 'avi', sizeBytes: 10 })).status).toBe(
      400,
    );
    expect(
      (await post('/api/videos', { title: 'E', format: 'x'.repeat(500), sizeBytes: 10 })).status,
    ).toBe(400);
    expect((await post('/api/streams/s1/start')).status).toBe(200);
    expect((await post('/api/streams/s2/start')).status).toBe(200);
    expect((await post('/api/streams/s1/stop')).status).toBe(200);
    expect((await post('/api/analytics/daily')).status).toBe(200);
    expect((await post('/api/analytics/weekly')).status).toBe(200);
    expect((await post('/api/analytics/yearly')).status).toBe(400);
    expect(
      (
        await post('/api/auth/login', {
          username: DEMO_USER.username,
          password: DEMO_USER.password,
        })
      ).status,
    ).toBe(200);
    expect(
      (await post('/api/auth/login', { username: DEMO_USER.username, password: 'no' })).status,
    ).toBe(401);
  });
  afterAll(async () => {
    await app.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('should record every style once per request with its labels and outcome', async () => {
    const text = await (await fetch(`${app.gatewayUrl}/metrics`)).text();
    // Route middleware (track): uploads by format and outcome; unknown formats share one series.
    expect(sample(text, 'video_uploads_total', { format: 'mp4', outcome: 'success' })).toBe(2);
    expect(sample(text, 'video_uploads_total', { format: 'webm', outcome: 'success' })).toBe(1);
    expect(
      sample(text, 'video_uploads_total', { format: '__overflow__', outcome: 'failure' }),
    ).toBe(2);
    // Request-scoped: sizes of accepted uploads, login results.
    expect(sample(text, 'video_upload_size_bytes_count', { format: 'mp4' })).toBe(2);
    expect(sample(text, 'video_upload_size_bytes_sum', { format: 'mp4' })).toBe(2_050_000);
    expect(sample(text, 'login_attempts_total', { result: 'success' })).toBe(1);
    expect(sample(text, 'login_attempts_total', { result: 'failure' })).toBe(1);
    // Streams: track() on start, the gauge set from the handlers.
    expect(sample(text, 'streams_started_total')).toBe(2);
    expect(sample(text, 'streams_active')).toBe(1);
    // Decorated service: generation time by report and outcome, the failure included.
    expect(
      sample(text, 'analytics_generation_duration_seconds_count', {
        report: 'daily',
        outcome: 'success',
      }),
    ).toBe(1);
    expect(
      sample(text, 'analytics_generation_duration_seconds_count', {
        report: 'weekly',
        outcome: 'success',
      }),
    ).toBe(1);
    expect(
      sample(text, 'analytics_generation_duration_seconds_count', {
        report: '__overflow__',
        outcome: 'failure',
      }),
    ).toBe(1);
    const uploadSeries = text.split('\n').filter((l) => l.startsWith('video_uploads_total{'));
    console.log(
      `business metrics after 13 requests: ${uploadSeries.length} video_uploads_total series: ${uploadSeries.join(' | ')}`,
    );

    const promtool = findBinary('promtool', 'prometheus');
    if (promtool === undefined) return;
    const check = spawnSync(promtool, ['check', 'metrics'], { input: text, encoding: 'utf8' });
    console.log(
      `promtool on the gateway with business metrics: exit ${check.status} ${check.stdout}${check.stderr}`,
    );
    expect(check.status).toBe(0);
  });

  it('should add business totals to /metrics/summary', async () => {
    const res = await fetch(`${app.gatewayUrl}/metrics/summary`);
    expect(res.status).toBe(200);
    const summary = (await res.json()) as {
      requests: { total: number };
      business: Record<string, { total: number; byLabel: Record<string, Record<string, number>> }>;
    };
    expect(summary.requests.total).toBeGreaterThanOrEqual(13);
    expect(summary.business.video_uploads_total?.total).toBe(5);
    expect(summary.business.video_uploads_total?.byLabel.format?.mp4).toBe(2);
    expect(summary.business.streams_active?.total).toBe(1);
    expect(summary.business.login_attempts_total?.byLabel.result).toEqual({
      success: 1,
      failure: 1,
    });
  });
});
