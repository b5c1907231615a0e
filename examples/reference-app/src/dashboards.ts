// The gateway's Grafana dashboards and provisioning, generated from its catalogue and rule set.
// `npm run dashboards` at the root writes them under examples/stack/grafana/; a test fails when the
// committed files differ from what this module generates.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Registry } from 'prom-client';
import { defineAlerts } from '@vigil/alerts';
import { type DashboardsOptions, grafanaDashboards, grafanaProvisioning } from '@vigil/dashboards';
import { GATEWAY_JOB, gatewayAlerts } from './alerts';
import { createBusinessMetrics } from './business';

/** What the gateway runs, as the dashboards generator reads it. */
export function gatewayDashboardsOptions(): DashboardsOptions {
  return {
    service: 'gateway',
    job: GATEWAY_JOB,
    // The catalogue's definitions are read from a throwaway registry: nothing is recorded.
    business: createBusinessMetrics(new Registry()),
    rateLimit: true,
    audit: true,
    alerts: defineAlerts(gatewayAlerts(false)),
    evaluator: true,
    runtime: true,
  };
}

/**
 * Every file of examples/stack/grafana/, by path relative to it: the dashboards under
 * `dashboards/`, Grafana's provisioning under `provisioning/`.
 */
export function gatewayGrafanaFiles(): Record<string, string> {
  const files: Record<string, string> = {};
  for (const [name, text] of Object.entries(grafanaDashboards(gatewayDashboardsOptions()).files)) {
    files[`dashboards/${name}`] = text;
  }
  const provisioning = grafanaProvisioning({
    dashboardsPath: '/var/lib/grafana/dashboards/vigil',
    prometheusUrl: 'http://prometheus:9090',
    scrapeInterval: '15s',
  });
  for (const [name, text] of Object.entries(provisioning)) files[`provisioning/${name}`] = text;
  return files;
}

/** Writes gatewayGrafanaFiles() under `dir`; the paths written. */
export function writeGatewayGrafanaFiles(dir: string): string[] {
  const written: string[] = [];
  for (const [path, text] of Object.entries(gatewayGrafanaFiles())) {
    const file = join(dir, path);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, text);
    written.push(path);
  }
  return written;
}

if (require.main === module) {
  const dir = resolve(process.argv[2] ?? 'examples/stack/grafana');
  for (const path of writeGatewayGrafanaFiles(dir)) process.stdout.write(`wrote ${path}\n`);
}
