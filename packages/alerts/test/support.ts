// Helpers of the @vigil/alerts tests: representative rule sets, and promtool / amtool runs on their files.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findBinary } from '@vigil/test-utils';
import {
  type AlertRuleSet,
  auditFailureAlert,
  businessFailureAlert,
  defineAlerts,
  defineSlo,
  errorRatioAlert,
  eventLoopLagAlert,
  generateFiles,
  inFlightAlert,
  latencyAlert,
  memoryAlert,
  promqlAlert,
  rateLimitAlert,
  recordingRule,
  targetDownAlert,
} from '@vigil/alerts';

export const promtool = findBinary('promtool', 'prometheus');
export const amtool = findBinary('amtool', 'prometheus-alertmanager');

export interface Run {
  status: number | null;
  output: string;
}

export function run(binary: string, args: readonly string[], cwd?: string): Run {
  const r = spawnSync(binary, [...args], { encoding: 'utf8', timeout: 300_000, cwd });
  if (r.error) throw r.error;
  return { status: r.status, output: `${r.stdout}${r.stderr}`.trim() };
}

/** Writes files into a fresh temporary folder; returns it. */
export function writeAll(files: Readonly<Record<string, string>>): string {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-alerts-'));
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
  return dir;
}

/** Every builder with its defaults, an availability SLO over 30 days, scoped to one job. */
export function defaultsSet(): AlertRuleSet {
  return defineAlerts({
    name: 'defaults',
    selector: { job: 'api' },
    runbookBaseUrl: 'https://runbooks.example.com/vigil',
    alerts: [
      errorRatioAlert(),
      latencyAlert(),
      inFlightAlert(),
      rateLimitAlert(),
      auditFailureAlert(),
      businessFailureAlert({ metric: 'uploads_total' }),
      eventLoopLagAlert(),
      memoryAlert({ threshold: 1073741824 }),
      targetDownAlert(),
    ],
    slos: [defineSlo({ kind: 'availability', name: 'api-availability', objective: 0.999 })],
  });
}

/**
 * Options off the defaults: routes, `by` labels, rates, a 28-day latency SLO on a bucket that
 * Prometheus 3 stores as "1.0", a business SLO with a minimum-traffic guard, raw rules.
 */
export function variedSet(): AlertRuleSet {
  return defineAlerts({
    name: 'varied',
    metricPrefix: 'media_',
    alerts: [
      errorRatioAlert({
        name: 'VideoApiErrors',
        threshold: 0.02,
        window: '10m',
        routes: ['/api/videos/:id', '/api/videos'],
        methods: ['GET', 'POST'],
        errorStatus: '5..|429',
        by: ['route'],
        for: '2m',
        labels: { team: 'media' },
        summary: 'Errors on {{ $labels.route }}',
      }),
      latencyAlert({ quantile: 0.95, threshold: 0.3, by: ['route'], severity: 'info', for: '0s' }),
      rateLimitAlert({
        result: 'store_error',
        measure: 'rate',
        threshold: 0.5,
        policies: ['login'],
      }),
      auditFailureAlert({
        types: ['auth.login'],
        outcomes: ['denied', 'failure'],
        measure: 'rate',
        threshold: 2,
      }),
      businessFailureAlert({ metric: { name: 'uploads_total' }, by: ['format'], threshold: 0.125 }),
      eventLoopLagAlert({ statistic: 'max', threshold: 1.5 }),
      memoryAlert({ measure: 'heap', threshold: 536870912, for: '30m' }),
      targetDownAlert({ job: 'catalog', for: '5m' }),
      recordingRule({
        record: 'job:http_requests:rate5m',
        expr: 'sum by (job) (rate(media_http_requests_total[5m]))',
      }),
      promqlAlert({
        name: 'NoRequests',
        expr: 'sum(job:http_requests:rate5m) == 0',
        for: '10m',
        description: 'No requests for {{ $value }} seconds',
        tests: [
          {
            name: 'NoRequests fires when traffic stops',
            interval: '1m',
            input_series: [
              { series: 'media_http_requests_total{job="api"}', values: '0+10x10 100+0x30' },
            ],
            alert_rule_test: [
              {
                eval_time: '35m',
                alertname: 'NoRequests',
                exp_alerts: [
                  {
                    exp_labels: { severity: 'warning' },
                    exp_annotations: {
                      summary: 'NoRequests',
                      description: 'No requests for 0 seconds',
                    },
                  },
                ],
              },
            ],
          },
        ],
      }),
    ],
    slos: [
      defineSlo({
        kind: 'latency',
        name: 'video-latency',
        objective: 0.995,
        threshold: 1,
        period: '28d',
        routes: ['/api/videos/:id'],
      }),
      defineSlo({
        kind: 'business',
        name: 'uploads',
        objective: 0.99,
        metric: 'uploads_total',
        minEvents: 100,
        tiers: ['page-fast', 'page-slow', 'ticket-fast'],
        severities: { 'page-slow': 'warning' },
        labels: { team: 'media' },
      }),
    ],
  });
}

/** Prometheus 3: keep_firing_for and no SLO (so this promtool, 2.42, can still read and test it). */
export function prometheus3Set(): AlertRuleSet {
  return defineAlerts({
    name: 'prom3',
    prometheusVersion: '3.5',
    alerts: [errorRatioAlert({ keepFiringFor: '10m' }), targetDownAlert({ keepFiringFor: '5m' })],
  });
}

export const SETS: readonly (readonly [string, () => AlertRuleSet])[] = [
  ['defaults', defaultsSet],
  ['varied', variedSet],
  ['prom3', prometheus3Set],
];

export function files(set: AlertRuleSet): Record<string, string> {
  return generateFiles(set, {
    resource: { namespace: 'monitoring', labels: { release: 'prometheus' } },
  });
}
