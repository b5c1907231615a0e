// Defaults and option checks of grafanaDashboards() and grafanaProvisioning(): validated once.
import { createHash } from 'node:crypto';
import {
  LABEL_NAME_PATTERN,
  METRIC_NAME_PATTERN,
  booleanOption,
  optionError,
  optionNames,
  readOptions,
  stringOption,
} from '@vigil/core';
import { context } from './errors';
import type { AlertRuleSetLike, DashboardsOptions, ProvisioningOptions } from './types';

const KEYS = optionNames<DashboardsOptions>({
  service: true,
  job: true,
  metricPrefix: true,
  uidPrefix: true,
  tags: true,
  http: true,
  business: true,
  rateLimit: true,
  audit: true,
  alerts: true,
  evaluator: true,
  runtime: true,
});

const PROVISIONING_KEYS = optionNames<ProvisioningOptions>({
  dashboardsPath: true,
  prometheusUrl: true,
  folder: true,
  datasourceName: true,
  scrapeInterval: true,
});

/** A business metric, normalised from either shape of the catalogue. */
export interface BusinessMetric {
  readonly name: string;
  readonly type: 'counter' | 'gauge' | 'histogram';
  readonly help: string;
  readonly unit: string | null;
  readonly labelNames: readonly string[];
}

/** An SLO found in the rule set's recording rules. */
export interface SloInfo {
  readonly name: string;
  /** Windows of its `slo:burn_rate:ratio_rate<window>` series, shortest first. */
  readonly windows: readonly string[];
  /** The label matchers its recorded series carry besides `slo` (e.g. `job`). */
  readonly labels: readonly string[];
}

export interface ResolvedDashboardsOptions {
  readonly service: string;
  readonly job: string;
  readonly prefix: string;
  readonly uidPrefix: string;
  readonly tags: readonly string[];
  readonly http: boolean;
  readonly business: readonly BusinessMetric[];
  readonly rateLimit: boolean;
  readonly audit: boolean;
  readonly alerts: boolean;
  readonly slos: readonly SloInfo[];
  readonly alertNames: readonly string[];
  readonly evaluator: boolean;
  readonly runtime: boolean;
}

export interface ResolvedProvisioningOptions {
  readonly dashboardsPath: string;
  readonly prometheusUrl: string;
  readonly folder: string;
  readonly datasourceName: string;
  readonly scrapeInterval: string;
}

const SERVICE_PATTERN = /^[a-z0-9][a-z0-9_-]*$/i;
const UID_PATTERN = /^[a-zA-Z0-9_-]{1,30}$/;
const DURATION_PATTERN = /^\d+(ms|s|m|h)$/;
const SLO_BURN_RATE = /^slo:burn_rate:ratio_rate(\d+[smhdwy])$/;
const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800, y: 31536000 };

function windowSeconds(window: string): number {
  return Number(window.slice(0, -1)) * (UNITS[window.slice(-1)] ?? 0);
}

/** A uid prefix derived from the service: short enough for Grafana's 40-character uids. */
function defaultUidPrefix(service: string): string {
  const uid = `vigil-${service.toLowerCase().replace(/[^a-z0-9_-]/g, '-')}`;
  if (uid.length <= 24) return uid;
  const hash = createHash('sha256').update(service).digest('hex').slice(0, 6);
  return `${uid.slice(0, 17)}-${hash}`;
}

function businessMetrics(value: unknown): BusinessMetric[] {
  const ctx = context('grafanaDashboards');
  const invalid = (why: string) =>
    optionError(
      ctx,
      'INVALID_OPTION',
      'business',
      `the catalogue defineBusinessMetrics() returned, or its definitions (${why})`,
      value,
    );
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw invalid('an object');
  const source = value as Record<string, unknown>;
  const handles =
    typeof source.metrics === 'object' &&
    source.metrics !== null &&
    Object.values(source.metrics).every(
      (m) => typeof m === 'object' && m !== null && 'labelNames' in m,
    );
  const found: BusinessMetric[] = [];
  const entries = Object.entries(handles ? (source.metrics as object) : source);
  for (const [key, raw] of entries) {
    const m = raw as Record<string, unknown> | null;
    if (m === null || typeof m !== 'object') throw invalid(`"${key}" is not a metric`);
    const type = m.type;
    if (type !== 'counter' && type !== 'gauge' && type !== 'histogram') {
      throw invalid(`"${key}" has no type counter, gauge or histogram`);
    }
    const name = handles ? m.name : key;
    if (typeof name !== 'string' || !METRIC_NAME_PATTERN.test(name)) {
      throw invalid(`"${key}" has no valid metric name`);
    }
    const labelNames = handles
      ? (m.labelNames as readonly unknown[])
      : Object.keys((m.labels as object | undefined) ?? {});
    for (const label of labelNames) {
      if (typeof label !== 'string' || !LABEL_NAME_PATTERN.test(label)) {
        throw invalid(`"${key}" has an invalid label name`);
      }
    }
    const unit = typeof m.unit === 'string' ? m.unit : unitFromName(name, type);
    found.push({
      name,
      type,
      help: typeof m.help === 'string' ? m.help : '',
      unit,
      labelNames: labelNames as string[],
    });
  }
  return found;
}

function unitFromName(name: string, type: string): string | null {
  const base = type === 'counter' ? name.replace(/_total$/, '') : name;
  return /_(seconds|bytes|ratio)$/.exec(base)?.[1] ?? null;
}

function ruleSet(value: unknown): { slos: SloInfo[]; alertNames: string[] } {
  const groups: unknown = (value as AlertRuleSetLike | null)?.groups;
  if (
    value === null ||
    typeof value !== 'object' ||
    !Array.isArray(groups) ||
    !groups.every(
      (g: unknown) =>
        typeof g === 'object' && g !== null && Array.isArray((g as { rules?: unknown }).rules),
    )
  ) {
    throw optionError(
      context('grafanaDashboards'),
      'INVALID_OPTION',
      'alerts',
      'the rule set defineAlerts() returns (an object with rule groups)',
      value,
    );
  }
  const slos = new Map<string, { windows: Set<string>; labels: Set<string> }>();
  const alertNames = new Set<string>();
  for (const group of groups as AlertRuleSetLike['groups']) {
    for (const rule of group.rules) {
      if (typeof rule.alert === 'string') alertNames.add(rule.alert);
      const slo = rule.labels?.slo;
      if (typeof rule.record !== 'string' || typeof slo !== 'string') continue;
      const entry = slos.get(slo) ?? { windows: new Set<string>(), labels: new Set<string>() };
      slos.set(slo, entry);
      for (const label of Object.keys(rule.labels ?? {}))
        if (label !== 'slo') entry.labels.add(label);
      const window = SLO_BURN_RATE.exec(rule.record)?.[1];
      if (window !== undefined) entry.windows.add(window);
    }
  }
  return {
    slos: [...slos].map(([name, { windows, labels }]) => ({
      name,
      windows: [...windows].sort((a, b) => windowSeconds(a) - windowSeconds(b)),
      labels: [...labels].sort(),
    })),
    alertNames: [...alertNames],
  };
}

export function resolveDashboardsOptions(
  options: unknown,
  argCount: number,
): ResolvedDashboardsOptions {
  const ctx = context('grafanaDashboards');
  const o = readOptions<DashboardsOptions>(ctx, options, argCount, KEYS);
  if (typeof o.service !== 'string' || !SERVICE_PATTERN.test(o.service)) {
    throw optionError(
      ctx,
      'INVALID_OPTION',
      'service',
      'a service name of letters, digits, "-" and "_"',
      o.service,
      'Give the name of the service the dashboards are for, e.g. { service: "api" }.',
    );
  }
  const service = o.service;
  const tags: unknown = o.tags ?? ['vigil', service];
  if (!Array.isArray(tags) || !tags.every((t: unknown) => typeof t === 'string' && t !== '')) {
    throw optionError(ctx, 'INVALID_OPTION', 'tags', 'an array of non-empty strings', o.tags);
  }
  const rules = o.alerts === undefined ? { slos: [], alertNames: [] } : ruleSet(o.alerts);
  return Object.freeze({
    service,
    job: stringOption(ctx, 'job', o.job, service, /^[^"\\\n]+$/, 'a non-empty job name'),
    prefix: stringOption(
      ctx,
      'metricPrefix',
      o.metricPrefix,
      '',
      /^([a-zA-Z_:][a-zA-Z0-9_:]*)?$/,
      'the "prefix" given to @vigil/metrics: [a-zA-Z_:][a-zA-Z0-9_:]*',
    ),
    uidPrefix: stringOption(
      ctx,
      'uidPrefix',
      o.uidPrefix,
      defaultUidPrefix(service),
      UID_PATTERN,
      'at most 30 letters, digits, "-" or "_"',
    ),
    tags: Object.freeze([...(tags as string[])]),
    http: booleanOption(ctx, 'http', o.http, true),
    business: Object.freeze(o.business === undefined ? [] : businessMetrics(o.business)),
    rateLimit: booleanOption(ctx, 'rateLimit', o.rateLimit, false),
    audit: booleanOption(ctx, 'audit', o.audit, false),
    alerts: o.alerts !== undefined,
    slos: Object.freeze(rules.slos),
    alertNames: Object.freeze(rules.alertNames),
    evaluator: booleanOption(ctx, 'evaluator', o.evaluator, false),
    runtime: booleanOption(ctx, 'runtime', o.runtime, true),
  });
}

export function resolveProvisioningOptions(
  options: unknown,
  argCount: number,
): ResolvedProvisioningOptions {
  const ctx = context('grafanaProvisioning');
  const o = readOptions<ProvisioningOptions>(ctx, options, argCount, PROVISIONING_KEYS);
  const line = /^[^\n\r]+$/;
  return Object.freeze({
    dashboardsPath: stringOption(
      ctx,
      'dashboardsPath',
      o.dashboardsPath,
      '/var/lib/grafana/dashboards/vigil',
      line,
      'a path',
    ),
    prometheusUrl: stringOption(
      ctx,
      'prometheusUrl',
      o.prometheusUrl,
      'http://prometheus:9090',
      /^https?:\/\/[^\s]+$/,
      'an http(s) URL',
    ),
    folder: stringOption(ctx, 'folder', o.folder, 'Vigil', line, 'a folder name'),
    datasourceName: stringOption(
      ctx,
      'datasourceName',
      o.datasourceName,
      'Prometheus',
      line,
      'a data source name',
    ),
    scrapeInterval: stringOption(
      ctx,
      'scrapeInterval',
      o.scrapeInterval,
      '15s',
      DURATION_PATTERN,
      'a Prometheus duration such as 15s',
    ),
  });
}
