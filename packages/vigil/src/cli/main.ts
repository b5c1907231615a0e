// The `vigil` command: rules, dashboards, stack, check, doctor, audit verify. Exit statuses in EXIT.
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { VigilError } from '@vigil/core';
import { AppModuleError, type ResolvedApp, loadAppModule, resolveApp } from './app-module';
import { describeRuns, runChecks } from './check';
import { describeFindings, diagnose } from './doctor';
import { grafanaFiles, rulesFiles, stackFiles } from './generate';

/** The exit statuses of every verb. */
export const EXIT = {
  /** Done: files written, every check passed, everything reachable, the audit chain intact. */
  OK: 0,
  /** A check failed: promtool or amtool rejected a file, something is unreachable or not ready, the audit log is tampered, the module's definitions are invalid. */
  FAILED: 1,
  /** Usage: unknown verb or option, missing argument, a module or file that cannot be loaded, read or written. */
  USAGE: 2,
  /** Nothing failed but a binary is missing, so some checks did not run (`check`, `doctor`). */
  MISSING: 3,
} as const;

type Out = (line: string) => void;

const EXIT_TEXT = `Exit status: 0 ok, 1 a check failed, 2 usage error (or a module/file that cannot be
loaded, read or written), 3 nothing failed but a binary is missing so some checks did not run.`;

const USAGE = `Usage: vigil <verb> [options]

  rules MODULE --out DIR        Prometheus rule file, promtool tests, PrometheusRule, Alertmanager routes
  dashboards MODULE --out DIR   Grafana dashboards (dashboards/*.json) and provisioning (provisioning/)
  stack MODULE --out DIR        a runnable local stack: Prometheus, Alertmanager, Grafana, Redis, an
                                OpenTelemetry Collector and the app (compose.yaml), Kubernetes manifests
  check [DIR]                   promtool and amtool on what \`vigil stack\` wrote (default: .)
  doctor                        is the app up and ready, are Redis, Alertmanager and the OTLP endpoint
                                reachable, which binaries are missing (with the apt-get command)
  audit verify FILE             the audit log's hash chain (@vigil/audit)

MODULE is the app module: a CommonJS or ES module (e.g. vigil.config.js) exporting some of
service, port, rules, dashboards, alertmanager, image, command, env, compose.
\`vigil <verb> --help\` tells more.

${EXIT_TEXT}`;

const MODULE_TEXT = `MODULE exports (named, or as one default export): rules (the options of defineAlerts()),
dashboards (the options of grafanaDashboards()), service (the job name), port, alertmanager,
image, command, env, compose; a field may be a function returning it.`;

const HELP: Record<string, string> = {
  rules: `Usage: vigil rules MODULE --out DIR [--prometheus-version V] [--namespace NS]
                   [--resource-label KEY=VALUE]...

Writes the module's "rules" through @vigil/alerts (as vigil-alerts generate does):
  NAME.rules.yml             the Prometheus rule file
  NAME.rules.test.yml        promtool unit tests (promtool test rules)
  NAME.rules.slow.test.yml   promtool tests of the SLO ticket tiers, when there are SLOs
  NAME.prometheus-rule.yml   the PrometheusRule resource (Prometheus Operator)
  NAME.alertmanager.yml      Alertmanager routes and inhibit rules, to merge into alertmanager.yml

  -o, --out DIR              where to write (created if missing)
  --prometheus-version V     the Prometheus that loads the rules (default: the module's, else 2.42.0)
  --namespace NS             metadata.namespace of the PrometheusRule
  --resource-label K=V       a metadata label of the PrometheusRule (repeatable)

${MODULE_TEXT}

Exit status: 0 written, 1 no rules or invalid definitions, 2 usage, load or write error.`,
  dashboards: `Usage: vigil dashboards MODULE --out DIR [--prometheus-url URL] [--dashboards-path PATH]
                        [--scrape-interval D]

Writes Grafana dashboards from the module's "dashboards" (default: the service and its rules)
through @vigil/dashboards:
  dashboards/*.json                  one dashboard per concern (overview, business, limits, SLOs, runtime)
  provisioning/dashboards/vigil.yml  Grafana's file provider for them
  provisioning/datasources/prometheus.yml  the Prometheus data source

  -o, --out DIR              where to write (created if missing)
  --prometheus-url URL       Prometheus as Grafana reaches it (default http://prometheus:9090)
  --dashboards-path PATH     where Grafana reads the dashboards (default /var/lib/grafana/dashboards/vigil)
  --scrape-interval D        Prometheus's scrape interval, the floor of $__rate_interval (default 15s)

${MODULE_TEXT}

Exit status: 0 written, 1 invalid options, 2 usage, load or write error.`,
  stack: `Usage: vigil stack MODULE --out DIR [--discovery static|file] [--target HOST:PORT]...
                   [--alertmanager HOST:PORT]... [--scrape-interval D] [--evaluation-interval D]
                   [--webhook-url URL] [--namespace NS] [--replicas N] [--prometheus-version V]

Writes a runnable stack for the app (\`docker compose up\` in DIR):
  compose.yaml                    the app, redis, prometheus, alertmanager, grafana, otel-collector
  prometheus/prometheus.yml       scrapes the app (job = service), loads the rules, alerts Alertmanager
  prometheus/targets/*.json       the targets, with --discovery file (rewrite them, Prometheus follows)
  NAME.rules.yml and the rest     as \`vigil rules\`
  alertmanager/alertmanager.yml   the receivers, the generated routes and inhibit rules
  grafana/                        as \`vigil dashboards\` (provisioning and dashboards)
  otel-collector/config.yaml      OTLP/HTTP on 4318 and gRPC on 4317, spans printed
  kubernetes/                     Deployment (probes on /health/startup, /health/live, /health/ready),
                                  Service, ServiceMonitor, PrometheusRule

  -o, --out DIR              where to write (created if missing)
  --discovery static|file    how Prometheus finds the app and Alertmanager (default static)
  --target HOST:PORT         the app's instances (repeatable; default SERVICE:PORT)
  --alertmanager HOST:PORT   Alertmanager (repeatable; default alertmanager:9093)
  --scrape-interval D        default 15s
  --evaluation-interval D    default 15s
  --webhook-url URL          every receiver without a configuration notifies this webhook
  --namespace NS             the Kubernetes objects' namespace
  --replicas N               the Deployment's replicas (default 2)
  --prometheus-version V     as for \`vigil rules\` (also the Prometheus image's tag)

${MODULE_TEXT}

Exit status: 0 written, 1 invalid definitions, 2 usage, load or write error.`,
  check: `Usage: vigil check [DIR]

Runs, on the files under DIR (default .; grafana/ and kubernetes/ left out):
  promtool check config              every prometheus.yml (with the rule files it loads)
  promtool check rules --lint=all --lint-fatal   every *.rules.yml
  promtool test rules                every *.rules.test.yml and *.rules.slow.test.yml
  amtool check-config                every alertmanager.yml
A tool that is not installed is reported with the apt-get command that installs it.

${EXIT_TEXT}`,
  doctor: `Usage: vigil doctor [--url URL] [--redis-url URL] [--alertmanager-url URL]
                    [--otlp-endpoint URL] [--prometheus-url URL] [--timeout MS]

Reports what is running and reachable, and what is missing:
  the app's /metrics and /health/ready     --url (default http://127.0.0.1:$PORT, PORT default 3000)
  Redis (PING)                             --redis-url, default REDIS_URL
  Alertmanager (/-/ready)                  --alertmanager-url, default ALERTMANAGER_URL
  the OTLP/HTTP endpoint (POST /v1/traces) --otlp-endpoint (the traces URL), default
                                           OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or OTEL_EXPORTER_OTLP_ENDPOINT + /v1/traces
  Prometheus (/-/ready)                    --prometheus-url, when given
  redis-server, prometheus, promtool, prometheus-alertmanager, amtool, chromium on PATH, with
  the apt-get install command for the missing ones
Anything not configured is reported as unset, not as a failure. --timeout: per probe (default 2000).

${EXIT_TEXT}`,
  audit: `Usage: vigil audit verify [--allow-foreign] [--partial] [--json] FILE

Checks the hash chain of an audit log written by @vigil/audit (as vigil-audit verify does) and
prints "ok: ..." when every event is intact, or "TAMPERED line N: ..." for the first problem.
FILE may be - for standard input.

  --allow-foreign  skip lines that are not audit events (other logs on the same stream)
  --partial        accept a file whose first event continues an earlier chain (a rotated file)
  --json           print the full result as JSON instead of the summary line

Exit status: 0 intact, 1 tampered, 2 usage or read error.`,
};

const MODULE_OPTIONS = {
  out: { type: 'string', short: 'o' },
  'prometheus-version': { type: 'string' },
  namespace: { type: 'string' },
  'resource-label': { type: 'string', multiple: true },
  help: { type: 'boolean', short: 'h' },
} as const;

const VERB_OPTIONS = {
  rules: MODULE_OPTIONS,
  dashboards: {
    out: { type: 'string', short: 'o' },
    'prometheus-url': { type: 'string' },
    'dashboards-path': { type: 'string' },
    'scrape-interval': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
  stack: {
    ...MODULE_OPTIONS,
    discovery: { type: 'string' },
    target: { type: 'string', multiple: true },
    alertmanager: { type: 'string', multiple: true },
    'scrape-interval': { type: 'string' },
    'evaluation-interval': { type: 'string' },
    'webhook-url': { type: 'string' },
    replicas: { type: 'string' },
  },
  check: { help: { type: 'boolean', short: 'h' } },
  doctor: {
    url: { type: 'string' },
    'redis-url': { type: 'string' },
    'alertmanager-url': { type: 'string' },
    'otlp-endpoint': { type: 'string' },
    'prometheus-url': { type: 'string' },
    timeout: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
} as const;

type Values = Record<string, string | boolean | string[] | undefined>;

class UsageError extends Error {}

const DURATION = /^(\d+(ms|s|m|h|d|w|y))+$/;

function str(values: Values, name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}

function list(values: Values, name: string): string[] | undefined {
  const v = values[name];
  return Array.isArray(v) ? v : undefined;
}

function duration(values: Values, name: string): string | undefined {
  const v = str(values, name);
  if (v !== undefined && !DURATION.test(v))
    throw new UsageError(`--${name} takes a duration such as 15s or 1m, got "${v}"`);
  return v;
}

function hostPorts(values: Values, name: string): string[] | undefined {
  const v = list(values, name);
  for (const target of v ?? []) {
    if (!/^[^\s:/]+:\d{1,5}$/.test(target))
      throw new UsageError(`--${name} takes HOST:PORT, got "${target}"`);
  }
  return v;
}

function httpUrl(values: Values, name: string): string | undefined {
  const v = str(values, name);
  if (v === undefined) return v;
  let url: URL | undefined;
  try {
    url = new URL(v);
  } catch {
    url = undefined;
  }
  if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw new UsageError(`--${name} takes an http(s) URL, got "${v}"`);
  }
  return v;
}

function resourceLabels(values: Values): Record<string, string> | undefined {
  const pairs = list(values, 'resource-label');
  if (pairs === undefined) return undefined;
  const labels: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UsageError(`--resource-label takes KEY=VALUE, got "${pair}"`);
    labels[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return labels;
}

function writeAll(dir: string, files: Record<string, string>, out: Out): void {
  for (const [path, text] of Object.entries(files)) {
    const file = join(dir, path);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, text);
    out(`wrote ${file}`);
  }
}

/** The `audit verify` verb: @vigil/audit's own CLI, which its package ships in dist/cli.js. */
function auditMain(argv: readonly string[], out: Out, err: Out): number {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const cli = require(
    join(dirname(require.resolve('@vigil/audit/package.json')), 'dist', 'cli.js'),
  ) as {
    main(argv: readonly string[], out: Out, err: Out): number;
  };
  return cli.main(argv, out, (line) => err(line.replace(/^vigil-audit: /, 'vigil audit: ')));
}

async function moduleVerb(
  verb: 'rules' | 'dashboards' | 'stack',
  values: Values,
  positionals: string[],
  out: Out,
  err: Out,
): Promise<number> {
  const [file, ...extra] = positionals;
  if (file === undefined || extra.length > 0) throw new UsageError(`${verb} takes one MODULE`);
  const dir = str(values, 'out');
  if (dir === undefined) throw new UsageError('--out DIR is required');
  const discovery = str(values, 'discovery');
  if (discovery !== undefined && discovery !== 'static' && discovery !== 'file') {
    throw new UsageError(`--discovery takes static or file, got "${discovery}"`);
  }
  const replicasText = str(values, 'replicas');
  const replicas = replicasText === undefined ? undefined : Number(replicasText);
  if (replicas !== undefined && (!Number.isInteger(replicas) || replicas < 0)) {
    throw new UsageError(`--replicas takes a whole number, got "${replicasText}"`);
  }
  const namespace = str(values, 'namespace');
  const labels = resourceLabels(values);
  const scrapeInterval = duration(values, 'scrape-interval');
  const evaluationInterval = duration(values, 'evaluation-interval');
  const targets = hostPorts(values, 'target');
  const alertmanagers = hostPorts(values, 'alertmanager');
  const webhookUrl = httpUrl(values, 'webhook-url');
  const prometheusUrl = httpUrl(values, 'prometheus-url');

  let config;
  try {
    config = await loadAppModule(file);
  } catch (e) {
    if (e instanceof AppModuleError) {
      err(`vigil ${verb}: ${e.message}`);
      return EXIT.FAILED;
    }
    err(`vigil ${verb}: cannot load ${file}: ${e instanceof Error ? e.message : String(e)}`);
    return e instanceof VigilError ? EXIT.FAILED : EXIT.USAGE;
  }
  let files: Record<string, string>;
  let app: ResolvedApp;
  try {
    app = resolveApp(config, str(values, 'prometheus-version'));
    if (verb === 'rules') {
      if (app.ruleSet === undefined) throw new AppModuleError(`${file} exports no "rules"`);
      files = rulesFiles(app, { namespace, resourceLabels: labels });
    } else if (verb === 'dashboards') {
      files = grafanaFiles(app, {
        ...(prometheusUrl === undefined ? {} : { prometheusUrl }),
        ...(str(values, 'dashboards-path') === undefined
          ? {}
          : { dashboardsPath: str(values, 'dashboards-path') }),
        ...(scrapeInterval === undefined ? {} : { scrapeInterval }),
      });
    } else {
      files = stackFiles(app, {
        namespace,
        resourceLabels: labels,
        ...(discovery === undefined ? {} : { discovery }),
        ...(targets === undefined ? {} : { targets }),
        ...(alertmanagers === undefined ? {} : { alertmanagers }),
        ...(scrapeInterval === undefined ? {} : { scrapeInterval }),
        ...(evaluationInterval === undefined ? {} : { evaluationInterval }),
        ...(webhookUrl === undefined ? {} : { webhookUrl }),
        ...(replicas === undefined ? {} : { replicas }),
      });
    }
  } catch (e) {
    if (e instanceof VigilError || e instanceof AppModuleError) {
      err(`vigil ${verb}: ${e.message}`);
      return EXIT.FAILED;
    }
    throw e;
  }
  try {
    writeAll(dir, files, out);
  } catch (e) {
    err(`vigil ${verb}: cannot write to ${dir}: ${e instanceof Error ? e.message : String(e)}`);
    return EXIT.USAGE;
  }
  for (const name of verb === 'dashboards' ? [] : (app.ruleSet?.untested ?? [])) {
    err(`vigil ${verb}: note: alert ${name} has no tests (give promqlAlert() its "tests")`);
  }
  return EXIT.OK;
}

function checkVerb(positionals: string[], out: Out, err: Out): number {
  if (positionals.length > 1) throw new UsageError('check takes at most one DIR');
  const dir = positionals[0] ?? '.';
  try {
    if (!statSync(dir).isDirectory()) throw new Error('not a directory');
  } catch (e) {
    err(`vigil check: cannot read ${dir}: ${e instanceof Error ? e.message : String(e)}`);
    return EXIT.USAGE;
  }
  const runs = runChecks(dir);
  if (runs.length === 0) {
    err(
      `vigil check: nothing to check in ${dir} (no prometheus.yml, *.rules.yml, *.rules.test.yml or alertmanager.yml)`,
    );
    return EXIT.USAGE;
  }
  for (const line of describeRuns(runs, dir)) out(line);
  if (runs.some((r) => r.result === 'failed')) return EXIT.FAILED;
  return runs.some((r) => r.result === 'missing') ? EXIT.MISSING : EXIT.OK;
}

async function doctorVerb(values: Values, positionals: string[], out: Out): Promise<number> {
  if (positionals.length > 0) throw new UsageError('doctor takes no operands');
  const timeoutText = str(values, 'timeout');
  const timeoutMs = timeoutText === undefined ? 2000 : Number(timeoutText);
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0)
    throw new UsageError(`--timeout takes milliseconds, got "${timeoutText}"`);
  const env = process.env;
  const nonEmpty = (v: string | undefined) => (v === undefined || v === '' ? undefined : v);
  const base = nonEmpty(env.OTEL_EXPORTER_OTLP_ENDPOINT);
  const otlp =
    str(values, 'otlp-endpoint') ??
    nonEmpty(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) ??
    (base === undefined ? undefined : `${base.replace(/\/+$/, '')}/v1/traces`);
  const findings = await diagnose({
    appUrl: str(values, 'url') ?? `http://127.0.0.1:${nonEmpty(env.PORT) ?? 3000}`,
    redisUrl: str(values, 'redis-url') ?? nonEmpty(env.REDIS_URL),
    alertmanagerUrl: str(values, 'alertmanager-url') ?? nonEmpty(env.ALERTMANAGER_URL),
    otlpEndpoint: otlp,
    prometheusUrl: str(values, 'prometheus-url'),
    timeoutMs,
  });
  for (const line of describeFindings(findings)) out(line);
  if (findings.some((f) => f.state === 'fail')) return EXIT.FAILED;
  return findings.some((f) => f.state === 'missing') ? EXIT.MISSING : EXIT.OK;
}

/** Runs the CLI with `argv` (without node and the script); resolves to the exit status. */
export async function main(argv: readonly string[], out: Out, err: Out): Promise<number> {
  const [verb, ...rest] = argv;
  if (verb === undefined) {
    err(USAGE);
    return EXIT.USAGE;
  }
  if (verb === '--help' || verb === '-h') {
    out(USAGE);
    return EXIT.OK;
  }
  if (verb === 'help') {
    const topic = rest[0];
    out(topic === undefined ? USAGE : (HELP[topic] ?? USAGE));
    return topic === undefined || HELP[topic] !== undefined ? EXIT.OK : EXIT.USAGE;
  }
  if (verb === 'audit') {
    if (rest.length === 0 || rest.includes('--help') || rest.includes('-h')) {
      (rest.length === 0 ? err : out)(HELP.audit as string);
      return rest.length === 0 ? EXIT.USAGE : EXIT.OK;
    }
    if (rest[0] !== 'verify') {
      err(`vigil audit: unknown command "${rest[0]}"\n\n${HELP.audit}`);
      return EXIT.USAGE;
    }
    return auditMain(rest, out, err);
  }
  if (!(verb in VERB_OPTIONS)) {
    err(`vigil: unknown verb "${verb}"\n\n${USAGE}`);
    return EXIT.USAGE;
  }
  const name = verb as keyof typeof VERB_OPTIONS;
  try {
    const { values, positionals } = parseArgs({
      args: rest,
      allowPositionals: true,
      strict: true,
      options: VERB_OPTIONS[name],
    });
    if (values.help === true) {
      out(HELP[name] as string);
      return EXIT.OK;
    }
    if (name === 'check') return checkVerb(positionals, out, err);
    if (name === 'doctor') return await doctorVerb(values as Values, positionals, out);
    return await moduleVerb(name, values as Values, positionals, out, err);
  } catch (e) {
    if (
      e instanceof UsageError ||
      (e instanceof TypeError && 'code' in e && String(e.code).startsWith('ERR_PARSE_ARGS'))
    ) {
      err(`vigil ${name}: ${e.message}\n\n${HELP[name]}`);
      return EXIT.USAGE;
    }
    throw e;
  }
}
