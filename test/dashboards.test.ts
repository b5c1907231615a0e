// The reference app's Grafana dashboards: committed as generated, and every panel's query answered
// by a real Prometheus scraping the app under traffic, with the demo rules loaded.
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { type DashboardQuery, dashboardQueries, grafanaDashboards } from '@vigil/dashboards';
import {
  type PrometheusServer,
  findBinary,
  pollFor,
  prometheusVersion,
  startPrometheus,
} from '@vigil/test-utils';
import {
  DEMO_USER,
  type ReferenceApp,
  startReferenceApp,
} from '../examples/reference-app/src/index';
import {
  gatewayDashboardsOptions,
  gatewayGrafanaFiles,
} from '../examples/reference-app/src/dashboards';

const ROOT = join(__dirname, '..');
const GRAFANA = join(ROOT, 'examples', 'stack', 'grafana');
const DEMO_RULES = join(ROOT, 'examples', 'stack', 'demo', 'gateway-demo.rules.yml');

const prometheusBinary = findBinary('prometheus', 'prometheus');

/** Every file under `dir`, by path relative to `root`. */
function committed(dir: string, root = dir): Record<string, string> {
  const files: Record<string, string> = {};
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) Object.assign(files, committed(path, root));
    else files[relative(root, path)] = readFileSync(path, 'utf8');
  }
  return files;
}

/**
 * A panel query as Grafana would send it for the gateway: `$job` is the job, `$instance` is "All"
 * (`.*`), and `$__rate_interval` is 1m (at least four 1 s scrape intervals, as Grafana requires).
 */
function substitute(expr: string): string {
  return expr
    .replaceAll('$__rate_interval', '1m')
    .replaceAll('$job', 'gateway')
    .replaceAll('$instance', '.*');
}

describe('the reference app dashboards, generated into examples/stack/grafana', () => {
  it('should be committed as the code generates them (npm run dashboards)', () => {
    const fresh = gatewayGrafanaFiles();
    expect(Object.keys(fresh).length).toBe(7);
    expect(committed(GRAFANA)).toEqual(fresh);
  });

  it('should give provisioning YAML Grafana can read', () => {
    const files = gatewayGrafanaFiles();
    const provider = parse(files['provisioning/dashboards/vigil.yml']!) as {
      providers: { type: string; options: { path: string } }[];
    };
    expect(provider.providers[0]).toMatchObject({
      type: 'file',
      options: { path: '/var/lib/grafana/dashboards/vigil' },
    });
    const datasource = parse(files['provisioning/datasources/prometheus.yml']!) as {
      datasources: { type: string; url: string }[];
    };
    expect(datasource.datasources[0]).toMatchObject({
      type: 'prometheus',
      url: 'http://prometheus:9090',
    });
  });
});

describe.skipIf(!prometheusBinary)(
  `Prometheus ${prometheusBinary ? (prometheusVersion(prometheusBinary) ?? '') : ''} answering every panel of the reference app dashboards`,
  () => {
    let app: ReferenceApp;
    let prometheus: PrometheusServer;
    let rulesDir: string;
    const generated = grafanaDashboards(gatewayDashboardsOptions());
    const queries = dashboardQueries(generated.dashboards);

    beforeAll(async () => {
      app = await startReferenceApp({
        port: 0,
        catalogPort: 0,
        logDestination: { write: () => true },
        auditDestination: { write: () => true },
        // The in-process evaluator on the demo windows: HighErrorRate fires within seconds.
        alertsDemo: true,
        // Logins are limited after 3 a minute; the rest of the traffic stays within the API policy.
        rateLimit: { apiLimit: 1_000_000, loginLimit: 3 },
      });
      // The SLOs' long-window groups run every 5 minutes, first at an offset Prometheus derives from
      // the group's name, so a test of a minute may never see them evaluated: here they run every
      // second (the series and names are the same; their values are promtool's business, in the
      // alerts tests).
      rulesDir = mkdtempSync(join(tmpdir(), 'vigil-dashboards-rules-'));
      const rules = join(rulesDir, 'gateway-demo.rules.yml');
      writeFileSync(
        rules,
        readFileSync(DEMO_RULES, 'utf8').replaceAll('interval: 5m', 'interval: 1s'),
      );
      prometheus = await startPrometheus(prometheusBinary!, {
        jobs: [{ name: 'gateway', target: new URL(app.gatewayUrl).host }],
        ruleFiles: [rules],
        scrapeInterval: '1s',
        evaluationInterval: '1s',
      });
    }, 60_000);

    afterAll(async () => {
      await prometheus?.stop();
      await app?.close();
      if (rulesDir !== undefined) rmSync(rulesDir, { recursive: true, force: true });
    });

    /** Every route of the app, failing, slow, rejected and rate-limited ones included. */
    const REQUESTS: { method?: string; path: string; body?: unknown }[] = [
      { path: '/api/videos/1' },
      { path: '/api/videos/7' },
      { path: '/api/videos/999' },
      { method: 'POST', path: '/api/videos', body: { title: 'a', format: 'mp4', sizeBytes: 5e6 } },
      { method: 'POST', path: '/api/videos', body: { title: 'b', format: 'webm', sizeBytes: 2e8 } },
      { method: 'POST', path: '/api/videos', body: { title: 'c', format: 'avi', sizeBytes: 10 } },
      { method: 'POST', path: '/api/streams/1/start' },
      { method: 'POST', path: '/api/streams/2/start' },
      { method: 'POST', path: '/api/streams/1/stop' },
      { method: 'POST', path: '/api/analytics/daily' },
      { method: 'POST', path: '/api/analytics/weekly' },
      { method: 'POST', path: '/api/analytics/monthly' },
      { method: 'POST', path: '/api/analytics/yearly' },
      { path: '/api/slow?ms=30' },
      { path: '/api/fail' },
      { path: '/api/fail' },
      { path: '/api/fail' },
      { method: 'POST', path: '/api/auth/login', body: DEMO_USER },
      { method: 'POST', path: '/api/auth/login', body: { username: 'demo', password: 'wrong' } },
    ];

    /** Sends REQUESTS in turn, one every `ms`, until stopped; counts answers by status. */
    function traffic(ms: number) {
      const counts: Record<string, number> = {};
      let i = 0;
      const timer = setInterval(() => {
        const r = REQUESTS[i++ % REQUESTS.length]!;
        fetch(app.gatewayUrl + r.path, {
          method: r.method ?? 'GET',
          ...(r.body !== undefined && {
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify(r.body),
          }),
        }).then(
          async (res) => {
            await res.arrayBuffer();
            counts[res.status] = (counts[res.status] ?? 0) + 1;
          },
          () => {
            counts.failed = (counts.failed ?? 0) + 1;
          },
        );
      }, ms);
      return { counts, stop: () => clearInterval(timer) };
    }

    async function answers(): Promise<{ query: DashboardQuery; expr: string; results: number }[]> {
      const out = [];
      for (const query of queries) {
        const expr = substitute(query.expr);
        out.push({ query, expr, results: (await prometheus.query(expr)).length });
      }
      return out;
    }

    it('should answer every panel query with data, and chart every catalogue metric the app exposes', async () => {
      const load = traffic(40);
      const started = performance.now();
      let last: Awaited<ReturnType<typeof answers>> = [];
      // Every query answered, and the alerts the failing route drives firing (in Prometheus and in
      // the process), so that the alert panels show them rather than their zero fallbacks.
      const done = await pollFor(
        async () => {
          last = await answers();
          const alerts = await prometheus.query(
            'ALERTS{alertname="HighErrorRate",alertstate="firing"}',
          );
          const inProcess = await prometheus.query('alerts_firing{alertname="HighErrorRate"}');
          return last.every((a) => a.results > 0) && alerts.length > 0 && inProcess.length > 0
            ? true
            : undefined;
        },
        90_000,
        1_000,
      );
      const seconds = ((performance.now() - started) / 1000).toFixed(1);
      load.stop();

      const empty = last.filter((a) => a.results === 0);
      const lines = last.map(
        (a) =>
          `${a.results === 0 ? 'EMPTY' : String(a.results).padStart(5)}  ${a.query.dashboard} #${a.query.panelId} ${a.query.panelTitle} [${a.query.refId}]  ${a.expr}`,
      );
      const panels = new Set(last.map((a) => `${a.query.dashboard}#${a.query.panelId}`));
      console.log(
        [
          `dashboards: ${generated.dashboards.length}, panels with queries: ${panels.size}, queries: ${last.length}, empty results: ${empty.length} (after ${seconds} s of traffic; answers by status ${JSON.stringify(load.counts)})`,
          ...lines,
        ].join('\n'),
      );
      expect(done, prometheus.logs()).toBe(true);
      expect(empty.map((a) => a.expr)).toEqual([]);

      // Queries ending in `or vector(0)` show 0 when their series do not exist yet: those answered
      // only by that fallback are listed (the failure and notification counters of a healthy app).
      const fallback: string[] = [];
      for (const a of last.filter((x) => x.expr.endsWith(' or vector(0)'))) {
        const primary = a.expr.slice(0, -' or vector(0)'.length);
        if ((await prometheus.query(primary)).length === 0) fallback.push(primary);
      }
      console.log(
        [`queries answered only by their zero fallback: ${fallback.length}`, ...fallback].join(
          '\n',
        ),
      );

      // Every metric family the gateway exposes with samples is charted: Vigil's catalogue and the
      // Node.js runtime (prom-client's default metrics).
      const exposition = await (await fetch(`${app.gatewayUrl}/metrics`)).text();
      const families = [...exposition.matchAll(/^# TYPE (\S+) (\S+)$/gm)]
        .map((m) => m[1]!)
        .filter((name) => new RegExp(`^${name}(_bucket|_count|_sum)?[{ ]`, 'm').test(exposition));
      const exprs = queries.map((q) => q.expr);
      const charted = (name: string) =>
        exprs.some((e) => new RegExp(`\\b${name}(_bucket|_count|_sum)?\\{`).test(e));
      const runtime = (name: string) => /^(process|nodejs)_/.test(name);
      const vigil = families.filter((f) => !runtime(f));
      const missing = vigil.filter((f) => !charted(f));
      const runtimeCharted = families.filter((f) => runtime(f) && charted(f));
      const runtimeNot = families.filter((f) => runtime(f) && !charted(f));
      console.log(
        [
          `catalogue families exposed: ${vigil.length}, charted: ${vigil.length - missing.length}, missing: ${missing.length}`,
          `runtime families exposed: ${runtimeCharted.length + runtimeNot.length}, charted: ${runtimeCharted.length}, missing: ${runtimeNot.length}${runtimeNot.length > 0 ? ` (${runtimeNot.join(', ')})` : ''}`,
        ].join('\n'),
      );
      expect(vigil.length).toBeGreaterThanOrEqual(20);
      expect(missing).toEqual([]);
      expect(runtimeCharted.length).toBeGreaterThanOrEqual(27);
      expect(runtimeNot).toEqual([]);
    }, 150_000);
  },
);
