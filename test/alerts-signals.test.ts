// Integration: the rules @vigil/alerts generates, loaded by a real Prometheus scraping a real app that
// runs @vigil/metrics, @vigil/rate-limit, @vigil/audit and @vigil/business-metrics. Every metric the
// rules name exists under that name, every rule evaluates without error, and the SLO records count.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AlertRuleSet,
  auditFailureAlert,
  businessFailureAlert,
  defineAlerts,
  defineSlo,
  errorRatioAlert,
  eventLoopLagAlert,
  inFlightAlert,
  latencyAlert,
  memoryAlert,
  prometheusRuleFile,
  rateLimitAlert,
  targetDownAlert,
} from '@vigil/alerts';
import { createAuditLogger } from '@vigil/audit';
import { defineBusinessMetrics, track } from '@vigil/business-metrics';
import { expressMetrics, expressMetricsHandler } from '@vigil/metrics';
import { expressRateLimit } from '@vigil/rate-limit';
import {
  type PrometheusServer,
  type RunningServer,
  findBinary,
  listen,
  pollFor,
  send,
  startPrometheus,
} from '@vigil/test-utils';

const prometheus = findBinary('prometheus', 'prometheus');

interface RuleStatus {
  name: string;
  health: string;
  lastError?: string;
  lastEvaluation: string;
}

describe.skipIf(!prometheus)('generated rules on a real Prometheus', () => {
  let app: RunningServer;
  let server: PrometheusServer;
  let set: AlertRuleSet;
  let traffic: NodeJS.Timeout | undefined;
  const dir = mkdtempSync(join(tmpdir(), 'vigil-alerts-signals-'));

  beforeAll(async () => {
    const registry = new Registry();
    const auditLog = createAuditLogger({
      destination: join(dir, 'audit.log'),
      registry,
      signals: false,
      default: false,
    });
    const business = defineBusinessMetrics(
      {
        uploads_total: {
          type: 'counter',
          help: 'Uploads by format and outcome',
          labels: { format: { values: ['mp4', 'webm'] }, outcome: 'outcome' },
        },
      },
      { registry },
    );
    const a = express();
    a.use(expressMetrics({ registry }));
    a.get('/metrics', expressMetricsHandler({ registry }));
    a.use(
      expressRateLimit({
        registry,
        audit: auditLog,
        policies: [{ name: 'api', limit: 3, windowMs: 60_000, routes: ['/api/limited'] }],
      }),
    );
    a.get('/api/limited', (_req, res) => res.json({ ok: true }));
    a.get('/api/fail', (_req, res) => res.status(500).json({ ok: false }));
    a.get('/api/ok', (_req, res) => res.json({ ok: true }));
    a.post(
      '/api/videos',
      track(business.metrics.uploads_total, { labels: () => ({ format: 'mp4' as const }) }),
      (_req, res) => res.status(201).json({ id: 'v1' }),
    );
    app = await listen(a);
    for (const path of [
      '/api/ok',
      '/api/fail',
      '/api/limited',
      '/api/limited',
      '/api/limited',
      '/api/limited',
      '/api/limited',
    ]) {
      await send(app.port, { method: 'GET', path });
    }
    await send(app.port, { method: 'POST', path: '/api/videos' });
    auditLog.record({ type: 'auth.login', outcome: 'failure' });
    // Light traffic while Prometheus scrapes, so that increases over the windows are not zero.
    let tick = 0;
    traffic = setInterval(() => {
      tick++;
      const path = tick % 5 === 0 ? '/api/fail' : '/api/ok';
      void send(app.port, { method: 'GET', path }).catch(() => undefined);
      if (tick % 3 === 0)
        void send(app.port, { method: 'POST', path: '/api/videos' }).catch(() => undefined);
    }, 200);

    set = defineAlerts({
      name: 'signals',
      selector: { job: 'app' },
      longWindowInterval: '1s',
      alerts: [
        errorRatioAlert(),
        latencyAlert(),
        inFlightAlert(),
        rateLimitAlert(),
        auditFailureAlert(),
        businessFailureAlert({ metric: business.describe()[0]!, by: ['format'] }),
        eventLoopLagAlert(),
        memoryAlert({ threshold: 8 * 1073741824 }),
        targetDownAlert(),
      ],
      slos: [
        defineSlo({ kind: 'availability', name: 'availability', objective: 0.999 }),
        defineSlo({ kind: 'latency', name: 'latency', objective: 0.99, threshold: 0.25 }),
        defineSlo({ kind: 'business', name: 'uploads', objective: 0.99, metric: 'uploads_total' }),
      ],
    });
    const rules = join(dir, 'signals.rules.yml');
    writeFileSync(rules, prometheusRuleFile(set));
    server = await startPrometheus(prometheus!, {
      jobs: [{ name: 'app', target: `127.0.0.1:${app.port}` }],
      ruleFiles: [rules],
    });
  }, 60_000);

  afterAll(async () => {
    clearInterval(traffic);
    await server?.stop();
    await app?.close();
  });

  it('should find every metric the rules name in what the app exposes', async () => {
    const names = new Set<string>();
    for (const g of set.groups) {
      for (const r of g.rules) {
        for (const m of r.expr.matchAll(/(?<![:\w])([a-z_][a-z0-9_]*)\{/g)) {
          names.add(m[1] as string);
        }
      }
    }
    const found = await pollFor(async () => {
      const result = await server.query(
        `group by (__name__) ({__name__=~"${[...names].join('|')}"})`,
      );
      const got = new Set(result.map((s) => s.metric.__name__));
      return [...names].every((n) => got.has(n)) ? got : undefined;
    }, 30_000);
    console.log(
      `metrics named by the rules: ${[...names].sort().join(', ')}; all scraped: ${found !== undefined}`,
    );
    expect([...names].filter((n) => !found?.has(n))).toEqual([]);
  });

  it('should evaluate every rule without error', async () => {
    const rules = await pollFor(async () => {
      const data = await server.api<{ groups: { name: string; rules: RuleStatus[] }[] }>(
        '/api/v1/rules',
      );
      const all = data.groups.flatMap((g) => g.rules);
      return all.length > 0 && all.every((r) => !r.lastEvaluation.startsWith('0001'))
        ? all
        : undefined;
    }, 30_000);
    const unhealthy = (rules ?? []).filter((r) => r.health !== 'ok');
    console.log(
      `rules loaded and evaluated by Prometheus: ${rules?.length}, unhealthy: ${unhealthy.length}`,
    );
    expect(rules?.length).toBe(set.groups.reduce((n, g) => n + g.rules.length, 0));
    expect(unhealthy.map((r) => `${r.name}: ${r.lastError}`)).toEqual([]);
  });

  it('should count the SLO events of the traffic', async () => {
    const events = await pollFor(async () => {
      const result = await server.query('slo:sli_events:increase5m');
      return result.length === 3 && result.every((s) => Number(s.value[1]) > 0)
        ? result
        : undefined;
    }, 30_000);
    const bySlo = Object.fromEntries((events ?? []).map((s) => [s.metric.slo, Number(s.value[1])]));
    console.log(`slo:sli_events:increase5m: ${JSON.stringify(bySlo)}`);
    expect(Object.keys(bySlo).sort()).toEqual(['availability', 'latency', 'uploads']);
    const errors = await server.query('slo:sli_errors:increase5m{slo="availability"}');
    expect(Number(errors[0]?.value[1])).toBeGreaterThan(0);
  });
});
