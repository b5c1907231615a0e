// The `vigil` command as a user runs it: the built bin in a child process, its output and exit status.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { createAuditLogger } from '@vigil/audit';
import { RedisServer, findBinary, findRedisServer, listen } from '@vigil/test-utils';

const BIN = join(__dirname, '..', 'bin', 'vigil.cjs');
const FIXTURES = join(__dirname, 'fixtures');
const APP = join(FIXTURES, 'app.cjs');

const promtool = findBinary('promtool', 'prometheus');
const amtool = findBinary('amtool', 'prometheus-alertmanager');
const redisBinary = findRedisServer();

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the bin without blocking the event loop (the doctor verb calls servers of this process). */
function vigil(args: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Every file under `dir`, by path relative to it. */
function filesOf(dir: string, root = dir): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((e) =>
      e.isDirectory() ? filesOf(join(dir, e.name), root) : [relative(root, join(dir, e.name))],
    )
    .sort();
}

/** The environment without the variables doctor reads. */
function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of [
    'REDIS_URL',
    'ALERTMANAGER_URL',
    'OTEL_EXPORTER_OTLP_ENDPOINT',
    'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT',
    'PORT',
  ]) {
    delete env[name];
  }
  return { ...env, ...extra };
}

/** A PATH of one empty folder: no promtool, amtool, prometheus, redis-server, chromium (the bin runs by its absolute path). */
const BARE_PATH = mkdtempSync(join(tmpdir(), 'vigil-cli-path-'));

describe('vigil (the CLI)', () => {
  let dir: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'vigil-cli-'));
  });

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
    rmSync(BARE_PATH, { recursive: true, force: true });
  });

  describe('usage', () => {
    it.each(['rules', 'dashboards', 'stack', 'check', 'doctor', 'audit'])(
      'should print the help of %s with exit 0',
      async (verb) => {
        const r = await vigil([verb, '--help']);
        expect(r.code).toBe(0);
        expect(r.stdout).toMatch(new RegExp(`^Usage: vigil ${verb}`));
        expect(r.stdout).toMatch(/Exit status: 0 /);
      },
    );

    it('should print the verbs and the exit statuses for --help', async () => {
      const r = await vigil(['--help']);
      expect(r.code).toBe(0);
      for (const verb of ['rules', 'dashboards', 'stack', 'check', 'doctor', 'audit verify']) {
        expect(r.stdout).toContain(`  ${verb} `);
      }
      expect(r.stdout).toContain('3 nothing failed but a binary is missing');
    });

    it.each([
      { args: [], why: 'no verb' },
      { args: ['deploy'], why: 'an unknown verb' },
      { args: ['rules', APP], why: 'no --out' },
      { args: ['rules', '--out', 'x'], why: 'no MODULE' },
      { args: ['stack', APP, '--out', 'x', '--colour'], why: 'an unknown option' },
      { args: ['stack', APP, '--out', 'x', '--discovery', 'dns'], why: 'a bad --discovery' },
      { args: ['stack', APP, '--out', 'x', '--target', 'nohost'], why: 'a target without a port' },
      { args: ['stack', APP, '--out', 'x', '--scrape-interval', 'fast'], why: 'a bad duration' },
      { args: ['stack', APP, '--out', 'x', '--webhook-url', 'ftp://x'], why: 'a non-http webhook' },
      { args: ['doctor', '--timeout', '-1'], why: 'a bad --timeout' },
      { args: ['audit', 'sign', 'x'], why: 'an unknown audit command' },
      { args: ['check', 'a', 'b'], why: 'two DIRs' },
    ])('should exit 2 with the usage on $why', async ({ args }) => {
      const r = await vigil(args);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(/Usage: vigil/);
      expect(r.stdout).toBe('');
    });
  });

  describe('rules', () => {
    it('should write the rule files of the module through @vigil/alerts', async () => {
      const out = join(dir, 'rules');
      const r = await vigil(['rules', APP, '--out', out, '--namespace', 'shop-ns']);
      expect(r.code, r.stderr).toBe(0);
      expect(filesOf(out)).toEqual([
        'shop.alertmanager.yml',
        'shop.prometheus-rule.yml',
        'shop.rules.test.yml',
        'shop.rules.yml',
      ]);
      const rules = parse(readFileSync(join(out, 'shop.rules.yml'), 'utf8')) as {
        groups: { rules: { alert?: string; expr: string }[] }[];
      };
      const alert = rules.groups.flatMap((g) => g.rules).find((x) => x.alert === 'ShopErrors');
      expect(alert?.expr).toContain('job="shop"');
      const resource = parse(readFileSync(join(out, 'shop.prometheus-rule.yml'), 'utf8')) as {
        metadata: { namespace: string };
      };
      expect(resource.metadata.namespace).toBe('shop-ns');
    });

    it.each([
      { module: 'invalid-rules.cjs', code: 1, message: /ERR_VIGIL_ALERTS_INVALID_NAME/ },
      { module: 'empty.cjs', code: 1, message: /exports none of service, port, rules/ },
      { module: 'throws.cjs', code: 2, message: /cannot load .*this module fails to load/ },
      { module: 'missing.cjs', code: 2, message: /cannot load/ },
    ])('should exit $code for $module', async ({ module, code, message }) => {
      const r = await vigil(['rules', join(FIXTURES, module), '--out', join(dir, 'never')]);
      expect(r.code).toBe(code);
      expect(r.stderr).toMatch(message);
    });
  });

  describe('dashboards', () => {
    it('should write the dashboards and Grafana provisioning of the module', async () => {
      const out = join(dir, 'grafana');
      const r = await vigil([
        'dashboards',
        APP,
        '--out',
        out,
        '--prometheus-url',
        'http://prom.internal:9090',
      ]);
      expect(r.code, r.stderr).toBe(0);
      expect(filesOf(out)).toEqual([
        'dashboards/vigil-shop-overview.json',
        'dashboards/vigil-shop-runtime.json',
        'dashboards/vigil-shop-slo-alerts.json',
        'provisioning/dashboards/vigil.yml',
        'provisioning/datasources/prometheus.yml',
      ]);
      expect(readFileSync(join(out, 'provisioning/datasources/prometheus.yml'), 'utf8')).toContain(
        'http://prom.internal:9090',
      );
      const overview = JSON.parse(
        readFileSync(join(out, 'dashboards/vigil-shop-overview.json'), 'utf8'),
      ) as { title: string };
      expect(overview.title).toMatch(/shop/);
    });
  });

  describe('stack', () => {
    let out: string;

    beforeAll(async () => {
      out = join(dir, 'stack');
      const r = await vigil([
        'stack',
        APP,
        '--out',
        out,
        '--discovery',
        'file',
        '--target',
        '10.0.0.1:8080',
        '--target',
        '10.0.0.2:8080',
        '--webhook-url',
        'http://127.0.0.1:9/hook',
        '--replicas',
        '3',
      ]);
      expect(r.code, r.stderr).toBe(0);
    });

    it('should write every file of the stack', () => {
      expect(filesOf(out)).toEqual([
        'alertmanager/alertmanager.yml',
        'compose.yaml',
        'grafana/dashboards/vigil-shop-overview.json',
        'grafana/dashboards/vigil-shop-runtime.json',
        'grafana/dashboards/vigil-shop-slo-alerts.json',
        'grafana/provisioning/dashboards/vigil.yml',
        'grafana/provisioning/datasources/prometheus.yml',
        'kubernetes/deployment.yaml',
        'kubernetes/prometheus-rule.yaml',
        'kubernetes/service-monitor.yaml',
        'kubernetes/service.yaml',
        'otel-collector/config.yaml',
        'prometheus/prometheus.yml',
        'prometheus/targets/alertmanager.json',
        'prometheus/targets/shop.json',
        'shop.alertmanager.yml',
        'shop.prometheus-rule.yml',
        'shop.rules.test.yml',
        'shop.rules.yml',
      ]);
    });

    it('should point Prometheus at the targets files, the rules and the job the rules select', () => {
      const config = parse(readFileSync(join(out, 'prometheus/prometheus.yml'), 'utf8')) as {
        rule_files: string[];
        scrape_configs: { job_name: string; file_sd_configs: { files: string[] }[] }[];
      };
      expect(config.rule_files).toEqual(['../shop.rules.yml']);
      expect(config.scrape_configs[0]).toMatchObject({
        job_name: 'shop',
        file_sd_configs: [{ files: ['targets/shop.json'] }],
      });
      expect(JSON.parse(readFileSync(join(out, 'prometheus/targets/shop.json'), 'utf8'))).toEqual([
        { targets: ['10.0.0.1:8080', '10.0.0.2:8080'], labels: {} },
      ]);
    });

    it('should give every receiver the webhook', () => {
      const config = parse(readFileSync(join(out, 'alertmanager/alertmanager.yml'), 'utf8')) as {
        receivers: { name: string; webhook_configs: { url: string }[] }[];
      };
      expect(config.receivers.map((r) => r.name)).toEqual(['default', 'page', 'ticket', 'info']);
      for (const receiver of config.receivers) {
        expect(receiver.webhook_configs).toEqual([
          { url: 'http://127.0.0.1:9/hook', send_resolved: true },
        ]);
      }
    });

    it('should wire the Deployment probes to /health/startup, /health/live and /health/ready', () => {
      const deployment = parse(readFileSync(join(out, 'kubernetes/deployment.yaml'), 'utf8')) as {
        spec: {
          replicas: number;
          template: {
            spec: {
              containers: {
                image: string;
                env: { name: string; value: string }[];
                startupProbe: { httpGet: { path: string } };
                livenessProbe: { httpGet: { path: string } };
                readinessProbe: { httpGet: { path: string } };
              }[];
            };
          };
        };
      };
      const container = deployment.spec.template.spec.containers[0]!;
      expect(deployment.spec.replicas).toBe(3);
      expect(container.image).toBe('shop:latest');
      expect(container.startupProbe.httpGet.path).toBe('/health/startup');
      expect(container.livenessProbe.httpGet.path).toBe('/health/live');
      expect(container.readinessProbe.httpGet.path).toBe('/health/ready');
      expect(container.env).toContainEqual({ name: 'PORT', value: '8080' });
      expect(container.env).toContainEqual({ name: 'HOST', value: '0.0.0.0' });
    });

    it('should run every service of the compose file', () => {
      const compose = parse(readFileSync(join(out, 'compose.yaml'), 'utf8')) as {
        services: Record<string, { image: string }>;
      };
      expect(Object.keys(compose.services).sort()).toEqual([
        'alertmanager',
        'grafana',
        'otel-collector',
        'prometheus',
        'redis',
        'shop',
      ]);
      expect(compose.services.prometheus?.image).toBe('prom/prometheus:v2.42.0');
    });
  });

  describe('an ES module without rules', () => {
    it('should give a stack without rule files that promtool and amtool accept', async () => {
      const out = join(dir, 'minimal');
      const r = await vigil(['stack', join(FIXTURES, 'minimal.mjs'), '--out', out]);
      expect(r.code, r.stderr).toBe(0);
      const files = filesOf(out);
      expect(files.filter((f) => f.includes('rule'))).toEqual([]);
      const config = parse(readFileSync(join(out, 'prometheus/prometheus.yml'), 'utf8')) as {
        rule_files?: string[];
        scrape_configs: { static_configs: { targets: string[] }[] }[];
      };
      expect(config.rule_files).toBeUndefined();
      expect(config.scrape_configs[0]!.static_configs[0]!.targets).toEqual(['tiny:4000']);
      if (promtool && amtool) {
        const check = await vigil(['check', out]);
        expect(check.code, check.stdout).toBe(0);
      }
      const rules = await vigil(['rules', join(FIXTURES, 'minimal.mjs'), '--out', out]);
      expect(rules.code).toBe(1);
      expect(rules.stderr).toMatch(/exports no "rules"/);
    });
  });

  describe('check', () => {
    let out: string;

    beforeAll(async () => {
      out = join(dir, 'check');
      const r = await vigil(['stack', APP, '--out', out]);
      expect(r.code, r.stderr).toBe(0);
    });

    it.skipIf(!promtool || !amtool)(
      'should run promtool and amtool on what stack wrote and exit 0',
      async () => {
        const r = await vigil(['check', out]);
        console.log(`vigil check on the generated stack:\n${r.stdout}`);
        expect(r.code, r.stdout + r.stderr).toBe(0);
        expect(r.stdout.split('\n').filter((l) => l.startsWith('ok '))).toHaveLength(4);
        expect(r.stdout).toContain('promtool check config prometheus/prometheus.yml');
        expect(r.stdout).toContain('promtool test rules shop.rules.test.yml');
        expect(r.stdout).toContain('amtool check-config alertmanager/alertmanager.yml');
      },
      120_000,
    );

    it.skipIf(!amtool)('should exit 1 and print what amtool says of a broken file', async () => {
      const broken = join(dir, 'broken');
      const r0 = await vigil(['stack', APP, '--out', broken]);
      expect(r0.code).toBe(0);
      writeFileSync(
        join(broken, 'alertmanager/alertmanager.yml'),
        'route:\n  receiver: nobody\nreceivers: []\n',
      );
      const r = await vigil(['check', broken]);
      expect(r.code).toBe(1);
      expect(r.stdout).toMatch(/FAILED\s+amtool check-config alertmanager\/alertmanager.yml/);
      expect(r.stdout).toMatch(/nobody/);
    });

    it('should exit 3 and name the packages when the tools are missing', async () => {
      const r = await vigil(['check', out], { ...process.env, PATH: BARE_PATH });
      expect(r.code).toBe(3);
      expect(r.stdout).toMatch(/missing\s+promtool check config/);
      expect(r.stdout).toContain(
        'install what is missing: apt-get install -y prometheus prometheus-alertmanager',
      );
    });

    it('should exit 2 when the folder holds nothing to check', async () => {
      const r = await vigil(['check', FIXTURES]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/nothing to check/);
    });
  });

  describe('doctor', () => {
    let ready = true;
    let app: Awaited<ReturnType<typeof listen>>;
    let redis: RedisServer | undefined;

    beforeAll(async () => {
      app = await listen((req, res) => {
        if (req.url === '/metrics') res.end('up 1\n');
        else if (req.url === '/health/ready') {
          res.statusCode = ready ? 200 : 503;
          res.end(JSON.stringify({ status: ready ? 'pass' : 'fail' }));
        } else if (req.url === '/-/ready' || req.url === '/v1/traces') res.end('{}');
        else res.writeHead(404).end();
      });
      if (redisBinary) redis = await RedisServer.start(redisBinary);
    });

    afterAll(async () => {
      await app?.close();
      await redis?.kill();
    });

    it('should report what is reachable and exit 0, or 3 for missing binaries only', async () => {
      ready = true;
      const r = await vigil(
        ['doctor', '--url', app.url],
        cleanEnv({
          ...(redis ? { REDIS_URL: redis.url } : {}),
          ALERTMANAGER_URL: app.url,
          OTEL_EXPORTER_OTLP_ENDPOINT: app.url,
        }),
      );
      console.log(`vigil doctor:\n${r.stdout}`);
      expect(r.stdout).toMatch(new RegExp(`ok\\s+app /metrics\\s+${app.url}/metrics: 200`));
      expect(r.stdout).toMatch(/ok\s+app \/health\/ready/);
      expect(r.stdout).toMatch(/ok\s+ALERTMANAGER_URL/);
      expect(r.stdout).toMatch(new RegExp(`ok\\s+OTLP endpoint\\s+${app.url}/v1/traces`));
      if (redis) expect(r.stdout).toMatch(/ok\s+REDIS_URL\s+redis:\/\/127.0.0.1:\d+: PONG/);
      const missing = /install what is missing/.test(r.stdout);
      expect(r.code).toBe(missing ? 3 : 0);
    });

    it('should exit 1 when the app is not ready or a configured service is unreachable', async () => {
      ready = false;
      const r = await vigil(
        ['doctor', '--url', app.url, '--redis-url', 'redis://127.0.0.1:1', '--timeout', '1000'],
        cleanEnv(),
      );
      expect(r.code).toBe(1);
      expect(r.stdout).toMatch(/fail\s+app \/health\/ready\s+.*: 503/);
      expect(r.stdout).toMatch(/fail\s+REDIS_URL\s+redis:\/\/127.0.0.1:1: not reachable/);
      expect(r.stdout).toMatch(/unset\s+ALERTMANAGER_URL/);
      expect(r.stdout).toMatch(/unset\s+OTLP endpoint/);
    });

    it('should list the missing binaries with the apt-get command', async () => {
      ready = true;
      const r = await vigil(['doctor', '--url', app.url], cleanEnv({ PATH: BARE_PATH }));
      expect(r.code).toBe(3);
      for (const binary of ['redis-server', 'prometheus', 'promtool', 'amtool', 'chromium']) {
        expect(r.stdout).toMatch(new RegExp(`missing\\s+${binary}\\s`));
      }
      expect(r.stdout).toContain(
        'install what is missing: apt-get install -y redis-server prometheus prometheus-alertmanager chromium',
      );
    });
  });

  describe('audit verify', () => {
    it('should exit 0 on an intact log, 1 on a tampered one, 2 on a missing file', async () => {
      const file = join(dir, 'audit.log');
      const logger = createAuditLogger({
        destination: file,
        signals: false,
        registry: false,
        default: false,
      });
      for (let i = 0; i < 3; i++) logger.record({ type: 'auth.login', outcome: 'success' });
      await logger.close();
      const intact = await vigil(['audit', 'verify', file]);
      expect(intact.code, intact.stderr).toBe(0);
      expect(intact.stdout).toMatch(/^ok: 3 events/);

      const lines = readFileSync(file, 'utf8').split('\n');
      lines[1] = lines[1]!.replace('"success"', '"failure"');
      writeFileSync(file, lines.join('\n'));
      const tampered = await vigil(['audit', 'verify', file]);
      expect(tampered.code).toBe(1);
      expect(tampered.stdout).toMatch(/^TAMPERED line 2/);

      const missing = await vigil(['audit', 'verify', join(dir, 'nothing.log')]);
      expect(missing.code).toBe(2);
      expect(missing.stderr).toMatch(/^vigil audit: cannot read/);
    });
  });
});
