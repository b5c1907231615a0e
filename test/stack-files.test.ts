// examples/stack: committed as `vigil stack` writes it for the reference app (no drift), and every
// file validated offline: promtool and amtool on the configurations, the Kubernetes objects against
// their schemas (kubernetes-models and the Prometheus Operator's CRDs), the compose file's structure.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  PrometheusRule,
  ServiceMonitor,
} from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import { findBinary } from '@vigil/test-utils';

const ROOT = join(__dirname, '..');
const STACK = join(ROOT, 'examples', 'stack');
const BIN = join(ROOT, 'packages', 'vigil', 'bin', 'vigil.cjs');
// The app module `npm run stack` reads (it loads the reference app's dist/, built by npm test).
const MODULE = join(STACK, 'vigil.config.cjs');
/** Files of examples/stack that are written by hand, not generated. */
const HANDWRITTEN = ['README.md', 'vigil.config.cjs'];

const promtool = findBinary('promtool', 'prometheus');
const amtool = findBinary('amtool', 'prometheus-alertmanager');

interface Exit {
  code: number | null;
  output: string;
}

function exec(
  command: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv = {},
): Promise<Exit> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output: output.trim() }));
  });
}

/** Every file under `dir`, by path relative to `root`. */
function filesOf(dir: string, root = dir): Record<string, string> {
  const files: Record<string, string> = {};
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) Object.assign(files, filesOf(path, root));
    else files[relative(root, path)] = readFileSync(path, 'utf8');
  }
  return files;
}

function yamlOf<T>(path: string): T {
  return parse(readFileSync(join(STACK, path), 'utf8')) as T;
}

interface ComposeService {
  image: string;
  command?: string[];
  environment?: Record<string, string>;
  ports?: string[];
  volumes?: string[];
  depends_on?: string[];
  working_dir?: string;
}

describe('examples/stack (npm run stack)', () => {
  let fresh: string;

  beforeAll(async () => {
    fresh = mkdtempSync(join(tmpdir(), 'vigil-stack-files-'));
    const stack = await exec(process.execPath, [BIN, 'stack', MODULE, '--out', fresh]);
    expect(stack.code, stack.output).toBe(0);
    const demo = await exec(
      process.execPath,
      [BIN, 'rules', MODULE, '--out', join(fresh, 'demo')],
      { VIGIL_ALERTS_DEMO: '1' },
    );
    expect(demo.code, demo.output).toBe(0);
  }, 120_000);

  afterAll(() => {
    rmSync(fresh, { recursive: true, force: true });
  });

  it('should be committed as vigil stack writes it, byte for byte', () => {
    const committed = filesOf(STACK);
    for (const name of HANDWRITTEN) delete committed[name];
    const generated = filesOf(fresh);
    console.log(
      `examples/stack: ${Object.keys(generated).length} generated files, ${Object.keys(committed).length} committed besides ${HANDWRITTEN.join(' and ')}`,
    );
    // After a change to the reference app's alerts, dashboards or this CLI: `npm run stack`.
    expect(committed).toEqual(generated);
  });

  it.skipIf(!promtool)('should pass promtool check config with its rule file', async () => {
    const r = await exec(promtool!, [
      'check',
      'config',
      join(STACK, 'prometheus', 'prometheus.yml'),
    ]);
    expect(r.code, r.output).toBe(0);
    expect(r.output).toMatch(/SUCCESS: 1 rule files found/);
    console.log(
      `promtool check config prometheus/prometheus.yml: ${r.output.split('\n').join(' | ')}`,
    );
  });

  it.skipIf(!amtool)('should pass amtool check-config', async () => {
    const r = await exec(amtool!, [
      'check-config',
      join(STACK, 'alertmanager', 'alertmanager.yml'),
    ]);
    expect(r.code, r.output).toBe(0);
    expect(r.output).toMatch(/SUCCESS/);
    expect(r.output).toMatch(/- 4 receivers/);
    console.log(
      `amtool check-config alertmanager/alertmanager.yml: ${r.output.split('\n').join(' | ')}`,
    );
  });

  describe('kubernetes/', () => {
    it('should give a Deployment and a Service the Kubernetes schemas accept', async () => {
      // kubernetes-models is an ES module only; it comes with the Prometheus Operator's models.
      const { Deployment } = await import('kubernetes-models/apps/v1/Deployment');
      const { Service } = await import('kubernetes-models/v1/Service');
      const deployment = yamlOf<Record<string, unknown>>('kubernetes/deployment.yaml');
      const service = yamlOf<Record<string, unknown>>('kubernetes/service.yaml');
      expect(() => new Deployment(deployment).validate()).not.toThrow();
      expect(() => new Service(service).validate()).not.toThrow();
      // The schemas are not vacuous: a probe on a port of the wrong type is refused.
      const broken = structuredClone(deployment) as {
        spec: { template: { spec: { containers: { livenessProbe: { httpGet: object } }[] } } };
      };
      broken.spec.template.spec.containers[0]!.livenessProbe.httpGet = { path: '/', port: {} };
      expect(() => new Deployment(broken as never).validate()).toThrow(/port/);
    });

    it('should give a ServiceMonitor and a PrometheusRule the operator CRD schemas accept', () => {
      const monitor = yamlOf<Record<string, unknown>>('kubernetes/service-monitor.yaml');
      const rule = yamlOf<Record<string, unknown>>('kubernetes/prometheus-rule.yaml');
      expect(() => new ServiceMonitor(monitor as never).validate()).not.toThrow();
      expect(() => new PrometheusRule(rule as never).validate()).not.toThrow();
    });

    it('should wire the probes to /health/* and scrape the Service the rules select', () => {
      const deployment = yamlOf<{
        spec: {
          selector: { matchLabels: Record<string, string> };
          template: {
            metadata: { labels: Record<string, string> };
            spec: {
              containers: {
                ports: { name: string; containerPort: number }[];
                startupProbe: { httpGet: { path: string; port: string } };
                livenessProbe: { httpGet: { path: string; port: string } };
                readinessProbe: { httpGet: { path: string; port: string } };
              }[];
            };
          };
        };
      }>('kubernetes/deployment.yaml');
      const container = deployment.spec.template.spec.containers[0]!;
      expect(container.ports).toEqual([{ name: 'http', containerPort: 3000, protocol: 'TCP' }]);
      expect(container.startupProbe.httpGet).toEqual({ path: '/health/startup', port: 'http' });
      expect(container.livenessProbe.httpGet).toEqual({ path: '/health/live', port: 'http' });
      expect(container.readinessProbe.httpGet).toEqual({ path: '/health/ready', port: 'http' });
      expect(deployment.spec.template.metadata.labels).toMatchObject(
        deployment.spec.selector.matchLabels,
      );
      const service = yamlOf<{
        metadata: { name: string };
        spec: { selector: Record<string, string>; ports: { name: string; targetPort: string }[] };
      }>('kubernetes/service.yaml');
      // The operator names the job after the Service: the rules select job="gateway".
      expect(service.metadata.name).toBe('gateway');
      expect(service.spec.selector).toEqual(deployment.spec.selector.matchLabels);
      expect(service.spec.ports[0]).toMatchObject({ name: 'http', targetPort: 'http' });
      const monitor = yamlOf<{
        spec: {
          selector: { matchLabels: Record<string, string> };
          endpoints: { port: string; path: string }[];
        };
      }>('kubernetes/service-monitor.yaml');
      expect(monitor.spec.selector.matchLabels).toEqual(deployment.spec.selector.matchLabels);
      expect(monitor.spec.endpoints[0]).toMatchObject({ port: 'http', path: '/metrics' });
      expect(readFileSync(join(STACK, 'gateway.rules.yml'), 'utf8')).toContain('job="gateway"');
    });
  });

  describe('compose.yaml', () => {
    const compose = () =>
      yamlOf<{ name: string; services: Record<string, ComposeService> }>('compose.yaml');

    it('should run the app, redis, prometheus, alertmanager, grafana and an otel collector', () => {
      const { services } = compose();
      expect(Object.keys(services).sort()).toEqual([
        'alertmanager',
        'gateway',
        'grafana',
        'otel-collector',
        'prometheus',
        'redis',
      ]);
      for (const [name, service] of Object.entries(services)) {
        expect(service.image, name).toMatch(/^[\w./-]+:[\w.-]+$/);
        for (const dependency of service.depends_on ?? []) {
          expect(Object.keys(services), `${name} depends on ${dependency}`).toContain(dependency);
        }
        for (const port of service.ports ?? []) expect(port, name).toMatch(/^\d+:\d+$/);
      }
      // Host ports are distinct.
      const hostPorts = Object.values(services).flatMap((s) =>
        (s.ports ?? []).map((p) => p.split(':')[0]),
      );
      expect(new Set(hostPorts).size).toBe(hostPorts.length);
    });

    it('should mount files that exist and point each engine at its configuration', () => {
      const { services } = compose();
      // Every bind mount's source exists, relative to the compose file.
      const mounted: Record<string, string> = {};
      for (const [name, service] of Object.entries(services)) {
        for (const volume of service.volumes ?? []) {
          const [source, target] = volume.split(':') as [string, string];
          expect(existsSync(join(STACK, source)), `${name}: ${volume}`).toBe(true);
          mounted[target] = join(STACK, source);
        }
      }
      // A container path under a mount, as a path of this repository.
      const onHost = (path: string): string => {
        const mount = Object.keys(mounted)
          .filter((target) => path === target || path.startsWith(`${target}/`))
          .sort((a, b) => b.length - a.length)[0];
        expect(mount, path).toBeDefined();
        return join(mounted[mount!]!, path.slice(mount!.length));
      };
      const flag = (service: ComposeService, name: string) =>
        service.command?.find((c) => c.startsWith(`${name}=`))?.slice(name.length + 1);
      for (const [service, name] of [
        ['prometheus', '--config.file'],
        ['alertmanager', '--config.file'],
        ['otel-collector', '--config'],
      ] as const) {
        const path = flag(services[service]!, name);
        expect(path, service).toBeDefined();
        expect(existsSync(onHost(path!)), `${service}: ${path}`).toBe(true);
      }
      // The reference app runs from the repository mounted at its working directory.
      const app = services.gateway!;
      expect(existsSync(onHost(join(app.working_dir!, 'examples/reference-app/src/main.ts')))).toBe(
        true,
      );
      expect(app.command).toEqual(['node', 'examples/reference-app/dist/main.js']);
      // Grafana reads the provisioning and the dashboards generated beside it.
      expect(existsSync(onHost('/etc/grafana/provisioning/dashboards/vigil.yml'))).toBe(true);
      expect(
        existsSync(onHost('/var/lib/grafana/dashboards/vigil/vigil-gateway-overview.json')),
      ).toBe(true);
    });

    it('should point the app, Prometheus and Grafana at the services by their compose names', () => {
      const { services } = compose();
      expect(services.gateway!.environment).toMatchObject({
        PORT: '3000',
        HOST: '0.0.0.0',
        REDIS_URL: 'redis://redis:6379',
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://otel-collector:4318',
        OTEL_SERVICE_NAME: 'gateway',
      });
      // Prometheus evaluates the rules over every instance: the app does not alert on its own.
      expect(services.gateway!.environment).not.toHaveProperty('ALERTMANAGER_URL');
      const prometheus = yamlOf<{
        alerting: { alertmanagers: { static_configs: { targets: string[] }[] }[] };
        scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[];
      }>('prometheus/prometheus.yml');
      expect(prometheus.scrape_configs[0]).toMatchObject({
        job_name: 'gateway',
        static_configs: [{ targets: ['gateway:3000'] }],
      });
      expect(prometheus.alerting.alertmanagers[0]!.static_configs[0]!.targets).toEqual([
        'alertmanager:9093',
      ]);
      const datasource = readFileSync(
        join(STACK, 'grafana/provisioning/datasources/prometheus.yml'),
        'utf8',
      );
      expect(datasource).toContain('http://prometheus:9090');
      const collector = yamlOf<{
        receivers: Record<string, { protocols: { http: { endpoint: string } } }>;
        processors: Record<string, unknown>;
        exporters: Record<string, unknown>;
        service: {
          pipelines: Record<
            string,
            { receivers: string[]; processors: string[]; exporters: string[] }
          >;
        };
      }>('otel-collector/config.yaml');
      expect(collector.receivers.otlp!.protocols.http.endpoint).toBe('0.0.0.0:4318');
      // Every component a pipeline names is defined.
      for (const pipeline of Object.values(collector.service.pipelines)) {
        for (const r of pipeline.receivers) expect(collector.receivers).toHaveProperty(r);
        for (const p of pipeline.processors) expect(collector.processors).toHaveProperty(p);
        for (const e of pipeline.exporters) expect(collector.exporters).toHaveProperty(e);
      }
    });
  });
});
