// A real Prometheus scraping a real app: counts converge, targets are up, exemplars and quantiles work.
import { randomBytes } from 'node:crypto';
import { Agent } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { setTraceContextProvider } from '@vigil/core';
import { type MetricsServer, negotiate, startMetricsServer } from '@vigil/metrics';
import { findBinary } from '@vigil/test-utils';
import { createExpress5App } from './support/app';
import {
  type RequestSpec,
  type RunningServer,
  listen,
  runPool,
  send,
  pollFor,
} from '@vigil/test-utils';
import {
  type PrometheusServer,
  prometheusVersion,
  startPrometheus,
  versionAtLeast,
} from '@vigil/test-utils';

const prometheusBinary = findBinary('prometheus', 'prometheus');
const version = prometheusBinary ? prometheusVersion(prometheusBinary) : undefined;
/** `scrape_protocols` (choosing the format Prometheus asks for) arrived in Prometheus 2.49. */
const hasScrapeProtocols = versionAtLeast(version, '2.49.0');

const FIRST_WAVE = 100;
const SECOND_WAVE = 37;
const SENT = FIRST_WAVE + SECOND_WAVE;
const CONVERGE_MS = 30_000;

/** Several routes and statuses; the `i`th request of the plan. */
function planned(i: number): { spec: RequestSpec; status: number } {
  switch (i % 7) {
    case 0:
      return { spec: { path: `/api/v1/users/${i}/posts/${i % 5}` }, status: 200 };
    case 1:
      return {
        spec: {
          method: 'POST',
          path: '/api/v2/items',
          body: JSON.stringify({ n: i }),
          headers: { 'content-type': 'application/json' },
        },
        status: 201,
      };
    case 2:
      return { spec: { path: `/users/${i}` }, status: 200 };
    case 3:
      return { spec: { path: `/no/such/page/${i}` }, status: 404 };
    case 4:
      return { spec: { path: '/fail' }, status: 500 };
    case 5:
      return { spec: { method: 'HEAD', path: `/api/v1/users/${i}/posts/1` }, status: 200 };
    default:
      return { spec: { method: 'DELETE', path: `/users/${i}` }, status: 404 };
  }
}

function single(samples: { value: [number, string] }[]): number | undefined {
  return samples.length === 1 ? Number(samples[0]!.value[1]) : undefined;
}

describe.skipIf(!prometheusBinary)(`Prometheus ${version ?? ''} scraping an Express 5 app`, () => {
  const registry = new Registry();
  const agent = new Agent({ keepAlive: true, maxSockets: 10 });
  const traceIds = new Set<string>();
  // The Accept header of the last scrape of the app's own /metrics (one value, not a growing list).
  let lastAccept: string | undefined;
  let app: RunningServer;
  let openMetricsServer: MetricsServer;
  let textServer: MetricsServer;
  let prometheus: PrometheusServer;
  const jobs = ['vigil-openmetrics', 'vigil-text', 'vigil-app'] as const;

  /** Sends requests `from` .. `to - 1` of the plan and checks every status. */
  async function sendWave(from: number, to: number): Promise<void> {
    const wrong: string[] = [];
    await runPool(to - from, 10, async (k) => {
      const { spec, status } = planned(from + k);
      const res = await send(app.port, { ...spec, agent });
      if (res.status !== status) wrong.push(`${spec.method ?? 'GET'} ${spec.path}: ${res.status}`);
    });
    expect(wrong).toEqual([]);
  }

  /** Polls until `sum(http_requests_total)` equals `expected` for every job; the ms it took. */
  async function converge(
    expected: number,
  ): Promise<{ ms: number; values: Record<string, number> }> {
    const started = Date.now();
    let values: Record<string, number> = {};
    const done = await pollFor(
      async () => {
        values = {};
        for (const s of await prometheus.query('sum by (job) (http_requests_total)')) {
          values[s.metric.job!] = Number(s.value[1]);
        }
        return jobs.every((j) => values[j] === expected) ? true : undefined;
      },
      CONVERGE_MS,
      200,
    );
    expect(done, `values ${JSON.stringify(values)}\n${prometheus.logs()}`).toBe(true);
    return { ms: Date.now() - started, values };
  }

  beforeAll(async () => {
    setTraceContextProvider(() => {
      const traceId = randomBytes(16).toString('hex');
      if (traceIds.size < 10_000) traceIds.add(traceId);
      return { traceId, spanId: randomBytes(8).toString('hex'), sampled: true };
    });
    const express = createExpress5App({ registry, metrics: { collectDefaultMetrics: true } });
    app = await listen((req, res) => {
      if (req.url === '/metrics') lastAccept = req.headers.accept;
      express(req, res);
    });
    openMetricsServer = await startMetricsServer({ port: 0, registry });
    textServer = await startMetricsServer({ port: 0, registry, openMetrics: false });
    prometheus = await startPrometheus(prometheusBinary!, {
      jobs: [
        { name: 'vigil-openmetrics', target: `127.0.0.1:${openMetricsServer.port}` },
        { name: 'vigil-text', target: `127.0.0.1:${textServer.port}` },
        // The app's own /metrics: its scrapes go through the middleware and must not be counted.
        { name: 'vigil-app', target: `127.0.0.1:${app.port}` },
        ...(hasScrapeProtocols
          ? [
              {
                name: 'vigil-text-protocol',
                target: `127.0.0.1:${openMetricsServer.port}`,
                extra: { scrape_protocols: ['PrometheusText0.0.4'] },
              },
            ]
          : []),
      ],
      features: ['exemplar-storage'],
    });
  });

  afterAll(async () => {
    setTraceContextProvider(undefined);
    await prometheus?.stop();
    await Promise.all([openMetricsServer?.close(), textServer?.close(), app?.close()]);
    agent.destroy();
  });

  it('should converge on exactly the number of requests sent, in every scrape format', async () => {
    await sendWave(0, FIRST_WAVE);
    const first = await converge(FIRST_WAVE);
    // The second wave lands after the first was scraped, so rate() over the histogram is not zero.
    await sendWave(FIRST_WAVE, SENT);
    const second = await converge(SENT);
    console.log(
      `Prometheus ${version}: sent ${SENT} requests (${FIRST_WAVE} + ${SECOND_WAVE}); ` +
        `sum(http_requests_total) by job = ${JSON.stringify(second.values)}; ` +
        `converged ${first.ms} ms after the first wave, ${second.ms} ms after the second`,
    );
    expect(second.values).toEqual(Object.fromEntries(jobs.map((j) => [j, SENT])));
    // Per status as well: nothing counted twice, nothing lost.
    const byStatus = await prometheus.query(
      'sum by (status_code) (http_requests_total{job="vigil-text"})',
    );
    const statuses = Object.fromEntries(
      byStatus.map((s) => [s.metric.status_code, Number(s.value[1])]),
    );
    const expected: Record<string, number> = {};
    for (let i = 0; i < SENT; i++) {
      const status = String(planned(i).status);
      expected[status] = (expected[status] ?? 0) + 1;
    }
    expect(statuses).toEqual(expected);
  });

  it('should see every target up, with no scrape error', async () => {
    const up = await prometheus.query('up');
    const byJob = Object.fromEntries(up.map((s) => [s.metric.job, Number(s.value[1])]));
    console.log(`up by job: ${JSON.stringify(byJob)}`);
    for (const job of jobs) expect(byJob[job]).toBe(1);
    const targets = await prometheus.api<{
      activeTargets: { labels: { job: string }; health: string; lastError: string }[];
    }>('/api/v1/targets');
    const unhealthy = targets.activeTargets.filter((t) => t.health !== 'up' || t.lastError !== '');
    expect(unhealthy).toEqual([]);
    expect(targets.activeTargets.length).toBe(jobs.length + (hasScrapeProtocols ? 1 : 0));
  });

  it('should be asked for OpenMetrics, and answer with it', () => {
    // Prometheus negotiates OpenMetrics by default: the first two jobs parsed OpenMetrics resp. text.
    expect(lastAccept).toContain('application/openmetrics-text');
    expect(negotiate(lastAccept)).toBe('openmetrics');
  });

  it('should compute a median latency from the duration histogram', async () => {
    const expr =
      'histogram_quantile(0.5, sum by (le) (rate(http_request_duration_seconds_bucket{job="vigil-openmetrics"}[1m])))';
    let median: number | undefined;
    const found = await pollFor(
      async () => {
        median = single(await prometheus.query(expr));
        return median !== undefined && Number.isFinite(median) ? median : undefined;
      },
      CONVERGE_MS,
      250,
    );
    console.log(`histogram_quantile(0.5, ...) = ${median} s`);
    expect(found).toBeGreaterThan(0);
    expect(found).toBeLessThanOrEqual(10);
  });

  it('should store the exemplars of the OpenMetrics scrape, with the trace ids of the requests', async () => {
    const now = Date.now() / 1000;
    type ExemplarData = {
      seriesLabels: Record<string, string>;
      exemplars: { labels: Record<string, string>; value: string }[];
    }[];
    const data = await pollFor(
      async () => {
        const got = await prometheus.api<ExemplarData>('/api/v1/query_exemplars', {
          query: 'http_request_duration_seconds_bucket',
          start: String(now - 600),
          end: String(now + 60),
        });
        const jobs = new Set(
          got.filter((d) => d.exemplars.length > 0).map((d) => d.seriesLabels.job),
        );
        return jobs.has('vigil-openmetrics') && jobs.has('vigil-app') ? got : undefined;
      },
      CONVERGE_MS,
      250,
    );
    const exemplars = (data ?? []).flatMap((d) =>
      d.exemplars.map((e) => ({ job: d.seriesLabels.job, ...e })),
    );
    console.log(`exemplars stored by Prometheus: ${exemplars.length}`);
    expect(exemplars.length).toBeGreaterThan(0);
    // Only the OpenMetrics scrapes can carry exemplars.
    expect(new Set(exemplars.map((e) => e.job))).toEqual(
      new Set(['vigil-openmetrics', 'vigil-app']),
    );
    for (const e of exemplars) {
      expect(traceIds.has(e.labels.trace_id!)).toBe(true);
      expect(e.labels.span_id).toMatch(/^[0-9a-f]{16}$/);
    }
  });

  it.skipIf(!hasScrapeProtocols)(
    'should parse the text format when a job asks for it only',
    async () => {
      const got = await prometheus.query('sum(http_requests_total{job="vigil-text-protocol"})');
      expect(single(got)).toBe(SENT);
    },
  );

  it.runIf(!hasScrapeProtocols)('should say why the scrape_protocols job is not run', () => {
    console.log(
      `Prometheus ${version} has no scrape_protocols (2.49+): the text format is covered by the ` +
        `"vigil-text" job, whose endpoint serves only the text format (openMetrics: false)`,
    );
    expect(versionAtLeast(version, '2.49.0')).toBe(false);
  });
});
