// The reference app's alerts and SLOs: the files committed under examples/stack/ are what the code
// generates (no drift), the Prometheus tools accept and prove them, and a real Prometheus loading the
// demo rules fires the error-rate alert while GET /api/fail is hit, and resolves it after.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { PrometheusRule } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import {
  type PrometheusServer,
  findBinary,
  pollFor,
  prometheusVersion,
  startPrometheus,
} from '@vigil/test-utils';
import { type ReferenceApp, startReferenceApp } from '../examples/reference-app/src/index';

const ROOT = join(__dirname, '..');
const STACK = join(ROOT, 'examples', 'stack');
const DEMO = join(STACK, 'demo');
const BIN = join(ROOT, 'packages', 'alerts', 'bin', 'vigil-alerts.cjs');
// The built module, as `npm run alerts` reads it (npm test builds before it runs the tests).
const MODULE = join(ROOT, 'examples', 'reference-app', 'dist', 'alerts.js');

const promtool = findBinary('promtool', 'prometheus');
const amtool = findBinary('amtool', 'prometheus-alertmanager');
const prometheusBinary = findBinary('prometheus', 'prometheus');

interface Exit {
  code: number | null;
  output: string;
}

/** Runs a command without blocking the event loop (several promtool runs share the two cores). */
function exec(
  command: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv = {},
): Promise<Exit> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, [...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output: output.trim() }));
  });
}

/** The committed files of `dir` (not its subfolders), by name. */
function committed(dir: string): Record<string, string> {
  const files: Record<string, string> = {};
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isFile() && entry.name.endsWith('.yml')) {
      files[entry.name] = readFileSync(join(dir, entry.name), 'utf8');
    }
  }
  return files;
}

describe('the reference app alerts, generated into examples/stack', () => {
  const variants = [
    { dir: STACK, env: {}, set: 'gateway' },
    { dir: DEMO, env: { VIGIL_ALERTS_DEMO: '1' }, set: 'gateway-demo' },
  ];

  it.each(variants)(
    'should be committed as the code generates them ($set)',
    async ({ dir, env }) => {
      const out = mkdtempSync(join(tmpdir(), 'vigil-stack-'));
      try {
        const r = await exec(process.execPath, [BIN, 'generate', MODULE, '--out', out], env);
        expect(r.code, r.output).toBe(0);
        const fresh = committed(out);
        expect(Object.keys(fresh).length).toBeGreaterThanOrEqual(5);
        // Byte for byte: `npm run alerts` rewrites them after a change to the alerts module.
        expect(committed(dir)).toEqual(fresh);
      } finally {
        rmSync(out, { recursive: true, force: true });
      }
    },
    60_000,
  );

  it.skipIf(!promtool).each(variants)(
    'should pass promtool check rules with every lint fatal ($set)',
    async ({ dir, set }) => {
      const r = await exec(promtool!, [
        'check',
        'rules',
        '--lint=all',
        '--lint-fatal',
        join(dir, `${set}.rules.yml`),
      ]);
      expect(r.code, r.output).toBe(0);
      console.log(
        `${set}.rules.yml: ${/(\d+) rules found/.exec(r.output)?.[1]} rules, promtool check SUCCESS`,
      );
    },
  );

  it.skipIf(!promtool)(
    'should pass its generated promtool tests, the SLO tiers of days included',
    async () => {
      const files = variants.flatMap(({ dir, set }) => [
        join(dir, `${set}.rules.test.yml`),
        join(dir, `${set}.rules.slow.test.yml`),
      ]);
      // Two at a time: promtool uses one core.
      const results: { file: string; exit: Exit; seconds: number }[] = [];
      for (let i = 0; i < files.length; i += 2) {
        results.push(
          ...(await Promise.all(
            files.slice(i, i + 2).map(async (file) => {
              const started = performance.now();
              const exit = await exec(promtool!, ['test', 'rules', file]);
              return { file, exit, seconds: (performance.now() - started) / 1000 };
            }),
          )),
        );
      }
      for (const { file, exit, seconds } of results) {
        const groups = (parse(readFileSync(file, 'utf8')) as { tests: unknown[] }).tests.length;
        console.log(
          `${file.slice(STACK.length + 1)}: ${groups} test groups, exit ${exit.code}, ${seconds.toFixed(1)} s`,
        );
        expect(exit.code, exit.output).toBe(0);
      }
    },
    300_000,
  );

  it.each(variants)(
    'should give a PrometheusRule the operator CRD schema accepts ($set)',
    ({ dir, set }) => {
      const resource = parse(readFileSync(join(dir, `${set}.prometheus-rule.yml`), 'utf8')) as {
        spec: { groups: unknown[] };
      };
      expect(resource.spec.groups.length).toBeGreaterThan(0);
      expect(() => new PrometheusRule(resource as never).validate()).not.toThrow();
    },
  );

  it.skipIf(!amtool).each(variants)(
    'should give an Alertmanager snippet amtool check-config accepts ($set)',
    async ({ dir, set }) => {
      const snippet = parse(readFileSync(join(dir, `${set}.alertmanager.yml`), 'utf8')) as {
        route: { routes: { receiver: string }[] };
        inhibit_rules: unknown[];
      };
      // The snippet names receivers; a configuration defines them (no integrations: nothing is sent).
      const receivers = [...new Set(snippet.route.routes.map((r) => r.receiver)), 'default'];
      const config = {
        route: { receiver: 'default', ...snippet.route },
        receivers: receivers.map((name) => ({ name })),
        inhibit_rules: snippet.inhibit_rules,
      };
      const cfg = mkdtempSync(join(tmpdir(), 'vigil-am-'));
      try {
        writeFileSync(join(cfg, 'alertmanager.yml'), JSON.stringify(config, null, 2));
        const r = await exec(amtool!, ['check-config', join(cfg, 'alertmanager.yml')]);
        expect(r.code, r.output).toBe(0);
        expect(snippet.inhibit_rules.length).toBeGreaterThan(0);
      } finally {
        rmSync(cfg, { recursive: true, force: true });
      }
    },
  );
});

describe.skipIf(!prometheusBinary)(
  `Prometheus ${prometheusBinary ? (prometheusVersion(prometheusBinary) ?? '') : ''} with the demo rules, scraping the reference app`,
  () => {
    let app: ReferenceApp;
    let prometheus: PrometheusServer;

    beforeAll(async () => {
      app = await startReferenceApp({
        port: 0,
        catalogPort: 0,
        logDestination: { write: () => true },
        auditDestination: { write: () => true },
        // The traffic below stays within the API policy (its default is 600 a minute).
        rateLimit: { apiLimit: 1_000_000 },
      });
      prometheus = await startPrometheus(prometheusBinary!, {
        // The job the rules select (GATEWAY_JOB).
        jobs: [{ name: 'gateway', target: new URL(app.gatewayUrl).host }],
        ruleFiles: [join(DEMO, 'gateway-demo.rules.yml')],
        scrapeInterval: '1s',
        evaluationInterval: '1s',
      });
    }, 60_000);

    afterAll(async () => {
      await prometheus?.stop();
      await app?.close();
    });

    /** Sends `paths` in turn, every `ms`, until stopped; counts the answers by status class. */
    function traffic(paths: readonly string[], ms: number) {
      const counts: Record<string, number> = {};
      let i = 0;
      const timer = setInterval(() => {
        const path = paths[i++ % paths.length]!;
        fetch(app.gatewayUrl + path).then(
          async (res) => {
            await res.arrayBuffer();
            const key = `${Math.floor(res.status / 100)}xx`;
            counts[key] = (counts[key] ?? 0) + 1;
          },
          () => {
            counts.failed = (counts.failed ?? 0) + 1;
          },
        );
      }, ms);
      return { counts, stop: () => clearInterval(timer) };
    }

    const firing = async (): Promise<boolean> =>
      (await prometheus.alerts()).some(
        (a) => a.labels.alertname === 'HighErrorRate' && a.state === 'firing',
      );

    it('should fire HighErrorRate while /api/fail is hit, and resolve it once the failures stop', async () => {
      // Healthy traffic first: the alert stays quiet.
      const healthy = traffic(['/api/videos/1'], 50);
      await pollFor(
        async () =>
          (await prometheus.query('up{job="gateway"}'))[0]?.value[1] === '1' ? true : undefined,
        30_000,
        250,
      );
      await new Promise((resolve) => setTimeout(resolve, 5_000));
      expect(await firing()).toBe(false);

      // One request in five fails: twice the 10% threshold, and few enough failures that the window
      // soon holds less than 10% of them once they stop.
      const failing = traffic(['/api/fail'], 200);
      const failuresStarted = performance.now();
      const fired = await pollFor(async () => ((await firing()) ? true : undefined), 90_000, 250);
      const secondsToFire = (performance.now() - failuresStarted) / 1000;
      failing.stop();
      expect(fired, prometheus.logs()).toBe(true);
      const alert = (await prometheus.alerts()).find((a) => a.labels.alertname === 'HighErrorRate');
      expect(alert?.labels).toMatchObject({ alertname: 'HighErrorRate', severity: 'critical' });
      expect(alert?.annotations.runbook_url).toMatch(/#higherrorrate$/);

      // Healthy traffic goes on: the 2-minute window fills with successes and the alert resolves.
      const failuresStopped = performance.now();
      const resolved = await pollFor(
        async () => ((await firing()) ? undefined : true),
        150_000,
        250,
      );
      const secondsToResolve = (performance.now() - failuresStopped) / 1000;
      healthy.stop();
      expect(resolved).toBe(true);
      console.log(
        `HighErrorRate (demo: rate over 2m, for 15s, scrape and evaluation every 1s): fired ${secondsToFire.toFixed(1)} s after /api/fail traffic started, resolved ${secondsToResolve.toFixed(1)} s after it stopped; answers healthy ${JSON.stringify(healthy.counts)}, failing ${JSON.stringify(failing.counts)}`,
      );
      expect(failing.counts['5xx']).toBeGreaterThan(0);
      expect(healthy.counts['2xx']).toBeGreaterThan(0);
    }, 300_000);
  },
);
