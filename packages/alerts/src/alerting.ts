// createAlerting(): the rules evaluated in the process (rule engine), routed, grouped, silenced and
// acknowledged (dispatcher), delivered (notifier) or handed to Alertmanager (ALERTMANAGER_URL), and
// served to operators (the alerts HTTP API), as one AlertsService.
import { readFileSync } from 'node:fs';
import type { Registry } from 'prom-client';
import { parse as parseYaml } from 'yaml';
import {
  type MinimalLogger,
  type OptionContext,
  createProblemReporter,
  loggerOption,
  optionError,
  optionNames,
  readOptions,
} from '@vigil/core';
import { alertmanagerObject } from './emit';
import { PACKAGE, context } from './errors';
import { silenceMirror } from './alerting-silences';
import { type AlertsApi, type AlertsAuditSink, alertsApi } from './http/api';
import {
  type AlertStats,
  type AlertStatus,
  type AlertView,
  type AlertsService,
  type Clock,
  type LabelSet,
  type PostableAlert,
  type RuleView,
  type SilenceView,
  fingerprint as fingerprintOf,
  systemClock,
} from './model';
import { defineAlerts } from './rule-set';
import type { AlertRuleSet, AlertsOptions } from './types';
import { createRuleEngine } from './rules/engine';
import { createDispatcher } from './dispatch/dispatcher';
import type { AlertmanagerConfigInput } from './dispatch/config';
import type {
  DispatchedAlert,
  EscalationOptions,
  MaintenanceWindowOptions,
} from './dispatch/types';
import { createAlertmanagerClient } from './receivers/alertmanager';
import { createNotifier } from './receivers/notifier';
import type { ReceiverConfig } from './receivers/types';

/** An Alertmanager configuration (`alertmanager.yml`) as an object. */
export type AlertmanagerConfigObject = Readonly<Record<string, unknown>>;

/** Options of createAlerting(). */
export interface AlertingOptions {
  /** The rules: a rule set from `defineAlerts()`, or the options `defineAlerts()` takes. */
  rules: AlertRuleSet | AlertsOptions;
  /** The service's name, in every API answer. Default: `OTEL_SERVICE_NAME`, else the rule set's name. */
  service?: string;
  /** The registry whose metrics the rules read. Default: prom-client's global registry. */
  registry?: Registry;
  /**
   * The `job` label the registry's series get, as a Prometheus scrape gives them, so rules selecting
   * on `job` match. Default: the rule set's `selector.job`, else `vigil`.
   */
  job?: string;
  /** The `instance` label, likewise. Default: `localhost`. */
  instance?: string;
  /** Time between evaluations: whole seconds, or a Prometheus duration (`'15s'`). Default: `15s`. */
  interval?: number | string;
  /**
   * The dispatcher's configuration: an `alertmanager.yml` object, its YAML text or the path of the file
   * (route, receivers, inhibit rules, time intervals). Default: the rule set's routes by severity and inhibit rules
   * (`alertmanagerObject()`), under a root route to `default`, every receiver without configs.
   */
  alertmanager?: AlertmanagerConfigObject | string;
  /**
   * Receivers in Alertmanager's shape (`[{ name, webhook_configs, slack_configs, ... }]`), replacing
   * those of `alertmanager` with the same name. Default: those of `alertmanager`.
   */
  receivers?: readonly Readonly<Record<string, unknown>>[];
  /**
   * Alertmanager's base URL: alerts are handed to it (`POST /api/v2/alerts`) and it notifies; the
   * local dispatcher then tracks them for the API only. Default: `ALERTMANAGER_URL`, else none.
   */
  alertmanagerUrl?: string;
  /** The URL alerts link back to (`generatorURL`, the webhook's `externalURL`). Default: none. */
  externalURL?: string;
  /** Where the engine keeps its `for` state across restarts. Default: none (state is lost). */
  stateFile?: string;
  /** Recurring maintenance windows (cron schedule, duration, time zone, matchers). Default: none. */
  maintenance?: readonly MaintenanceWindowOptions[];
  /** Escalations by route receiver (`{ route: 'page', after: '15m', receiver: 'lead' }`). Default: none. */
  escalations?: readonly EscalationOptions[];
  /** Time. Default: the system clock. */
  clock?: Clock;
  /** Bearer token of the API. Default: `VIGIL_ALERTS_TOKEN`, else none. */
  token?: string;
  /** Where the API's acknowledge and silence actions go as audit events. Default: none. */
  audit?: AlertsAuditSink;
  /** Logger (pino or anything with `warn`). Default: process warnings. */
  logger?: MinimalLogger;
}

/** What createAlerting() returns: an AlertsService that runs. */
export interface Alerting extends AlertsService {
  /** Starts evaluating every interval. */
  start(): void;
  /** Stops evaluating, then flushes and closes the receivers. */
  stop(): Promise<void>;
  /** One evaluation now (tests, or after a deploy). */
  evaluateNow(): Promise<void>;
  /** The alerts HTTP API over this service: `app.use(alerting.api.express())`. */
  readonly api: AlertsApi;
  /** `local` when Vigil notifies, `alertmanager` when alerts are handed to ALERTMANAGER_URL. */
  readonly mode: 'local' | 'alertmanager';
}

const KNOWN = optionNames<AlertingOptions>({
  rules: true,
  service: true,
  registry: true,
  job: true,
  instance: true,
  interval: true,
  alertmanager: true,
  receivers: true,
  alertmanagerUrl: true,
  externalURL: true,
  stateFile: true,
  maintenance: true,
  escalations: true,
  clock: true,
  token: true,
  audit: true,
  logger: true,
});

/** How long resolved alerts are kept for the API and its stats. */
export const RESOLVED_RETENTION_MS = 7 * 24 * 3600_000;
/** The most resolved alerts kept, whatever their age. */
export const MAX_RESOLVED = 10_000;

const DEFAULT_RECEIVER = 'default';

/**
 * The rules of `options.rules` evaluated over the process's metrics, their alerts routed, delivered
 * (or handed to Alertmanager) and served by the alerts HTTP API.
 * @throws VigilError `ERR_VIGIL_ALERTS_ALERTING_INVALID_CONFIG` for an Alertmanager configuration
 * that is not YAML or not an object, `ERR_VIGIL_ALERTS_ALERTING_INVALID_URL` for an Alertmanager URL
 * that is not http(s), `ERR_VIGIL_ALERTS_INVALID_OPTION` and the parts' own codes otherwise.
 */
export function createAlerting(options: AlertingOptions): Alerting {
  const ctx = context('createAlerting');
  const o = readOptions<AlertingOptions>(ctx, options, arguments.length, KNOWN);
  if (o.rules === undefined) {
    throw optionError(
      ctx,
      'INVALID_OPTION',
      'rules',
      'a rule set from defineAlerts(), or its options',
      o.rules,
    );
  }
  const set = isRuleSet(o.rules) ? o.rules : defineAlerts(o.rules);
  const logger = loggerOption(ctx, o.logger);
  const clock = o.clock ?? systemClock;
  const service = serviceName(ctx, o.service, set);
  const url = alertmanagerUrl(ctx, o.alertmanagerUrl);
  const config = dispatcherConfig(ctx, set, o.alertmanager, o.receivers);
  const receivers = (config.receivers ?? []) as unknown as ReceiverConfig[];

  const common = {
    clock,
    ...(o.registry === undefined ? {} : { registry: o.registry }),
    ...(logger === undefined ? {} : { logger }),
  };
  const notifier = url === undefined ? createNotifier({ ...common, receivers }) : undefined;
  const client = url === undefined ? undefined : createAlertmanagerClient({ ...common, url });
  const dispatcher = createDispatcher({
    config: config as unknown as AlertmanagerConfigInput,
    clock,
    // Handed over: Alertmanager notifies; the local dispatcher keeps routes, silences and
    // acknowledgements for the API, and delivers nothing.
    deliver: notifier === undefined ? () => undefined : (d) => notifier.deliver(d),
    ...(o.externalURL === undefined ? {} : { externalURL: o.externalURL }),
    ...(o.maintenance === undefined ? {} : { maintenance: o.maintenance }),
    ...(o.escalations === undefined ? {} : { escalations: o.escalations }),
    ...(logger === undefined ? {} : { logger }),
  });
  const history = new ResolvedHistory(clock);
  // Handed over, the API's silences are made in Alertmanager too, so they stop its notifications.
  const mirror =
    url === undefined
      ? undefined
      : silenceMirror(
          url.split(',').map((u) => u.trim()),
          createProblemReporter(PACKAGE, logger),
        );
  const engine = createRuleEngine({
    ...common,
    rules: set,
    ...(o.interval === undefined ? {} : { interval: intervalOption(ctx, o.interval) }),
    ...(o.job === undefined ? {} : { job: o.job }),
    ...(o.instance === undefined ? {} : { instance: o.instance }),
    ...(o.externalURL === undefined ? {} : { externalURL: o.externalURL }),
    ...(o.stateFile === undefined ? {} : { stateFile: o.stateFile }),
    notify(alerts: readonly PostableAlert[]) {
      dispatcher.post(alerts);
      client?.send(alerts);
      // Resolved alerts leave the engine after 15 minutes: record them now, whether or not anyone
      // reads the API before then.
      if (alerts.some((a) => a.endsAt !== undefined && Date.parse(a.endsAt) <= clock.now())) {
        current();
      }
    },
  });

  const iso = (ms: number): string => new Date(ms).toISOString();

  function viewOf(fp: string): AlertView | undefined {
    return current().find((a) => a.fingerprint === fp);
  }

  /** Engine alerts (pending, firing, just resolved) merged with the dispatcher's view of them. */
  function current(): AlertView[] {
    const views = new Map<string, AlertView>();
    const seen = new Set<string>();
    for (const e of engine.alerts()) {
      const fp = e.fingerprint || fingerprintOf(e.labels);
      seen.add(fp);
      const d = dispatcher.get(fp);
      const startsAt = toIso(e.firedAt ?? e.activeAt) ?? iso(clock.now());
      const base = {
        fingerprint: fp,
        labels: e.labels,
        annotations: e.annotations,
        startsAt,
        value: e.value,
        silencedBy: d?.silencedBy ?? [],
        inhibitedBy: d?.inhibitedBy ?? [],
        receivers: d?.receivers ?? routeReceivers(e.labels),
        ...(d?.acknowledgement === undefined ? {} : { acknowledgement: d.acknowledgement }),
      };
      if (e.state === 'inactive') {
        const endsAt = toIso(e.resolvedAt) ?? iso(clock.now());
        const resolved: AlertView = { ...base, status: 'resolved', endsAt };
        history.add(resolved);
        continue;
      }
      const status: AlertStatus = e.state === 'pending' ? 'pending' : firingStatus(d);
      views.set(fp, { ...base, status });
    }
    // Alerts the dispatcher holds that the engine does not (posted by another engine).
    for (const d of dispatcher.alerts()) {
      if (seen.has(d.fingerprint)) continue;
      if (d.status === 'resolved') {
        history.add({ ...dispatchedView(d), status: 'resolved' });
        continue;
      }
      views.set(d.fingerprint, { ...dispatchedView(d), status: firingStatus(d) });
    }
    return [...views.values()];
  }

  function routeReceivers(labels: LabelSet): readonly string[] {
    try {
      return dispatcher.routesFor(labels);
    } catch {
      return [];
    }
  }

  const alerting: Alerting = {
    service,
    mode: url === undefined ? 'local' : 'alertmanager',
    alerts(filter) {
      const all = [...current(), ...history.list()];
      return all.filter(
        (a) =>
          (filter?.status === undefined || a.status === filter.status) &&
          (filter?.severity === undefined || a.labels.severity === filter.severity),
      );
    },
    stats(): AlertStats {
      const active = current();
      const bySeverity: Record<string, number> = {};
      for (const a of active) {
        const s = a.labels.severity ?? 'none';
        bySeverity[s] = (bySeverity[s] ?? 0) + 1;
      }
      const rules = engine.rules().filter((r: RuleView) => r.type === 'alerting');
      return {
        active: active.length,
        activeBySeverity: bySeverity,
        resolvedLast7Days: history.list().length,
        rulesTotal: rules.length,
        rulesEnabled: rules.filter((r: RuleView) => !r.prometheusOnly).length,
        receivers: notifier === undefined ? 1 : notifier.receiverNames().length,
      };
    },
    rules(): readonly RuleView[] {
      return engine.rules();
    },
    silences(): readonly SilenceView[] {
      return dispatcher.silences();
    },
    acknowledge(fp, by, comment) {
      if (viewOf(fp) === undefined) return undefined;
      if (!dispatcher.acknowledge(fp, by, comment)) return undefined;
      return viewOf(fp);
    },
    silence(fp, minutes, by, comment) {
      const alert = viewOf(fp);
      if (alert === undefined) return undefined;
      const created = dispatcher.addSilence({
        matchers: Object.entries(alert.labels).map(([name, value]) => ({
          name,
          type: '=' as const,
          value,
        })),
        startsAt: iso(clock.now()),
        endsAt: iso(clock.now() + minutes * 60_000),
        createdBy: by,
        comment: comment ?? '',
      });
      mirror?.created(created);
      return created;
    },
    expireSilence(id) {
      const expired = dispatcher.expireSilence(id);
      if (expired) mirror?.expired(id);
      return expired;
    },
    start() {
      engine.start();
    },
    async stop() {
      await engine.stop();
      dispatcher.stop();
      if (notifier !== undefined) {
        await notifier.flush();
        await notifier.close();
      }
      if (client !== undefined) {
        await client.flush();
        await client.close();
      }
      await mirror?.settled();
    },
    evaluateNow() {
      return engine.evaluateNow();
    },
    get api() {
      return api;
    },
  };
  const api = alertsApi(alerting, {
    ...(o.token === undefined ? {} : { token: o.token }),
    ...(o.audit === undefined ? {} : { audit: o.audit }),
    ...(logger === undefined ? {} : { logger }),
  });
  return alerting;
}

function dispatchedView(d: DispatchedAlert): Omit<AlertView, 'status'> {
  return {
    fingerprint: d.fingerprint,
    labels: d.labels,
    annotations: d.annotations,
    startsAt: d.startsAt,
    ...(d.status === 'resolved' ? { endsAt: d.endsAt } : {}),
    ...(d.generatorURL === '' ? {} : { generatorURL: d.generatorURL }),
    silencedBy: d.silencedBy,
    inhibitedBy: d.inhibitedBy,
    receivers: d.receivers,
    ...(d.acknowledgement === undefined ? {} : { acknowledgement: d.acknowledgement }),
  };
}

/**
 * A firing alert's status as the API shows it: acknowledged, silenced (by a silence, an inhibition or
 * a maintenance window: `silencedBy`, `inhibitedBy` and `muted` tell them apart), or firing.
 */
function firingStatus(d: DispatchedAlert | undefined): AlertStatus {
  if (d === undefined) return 'firing';
  if (d.acknowledgement !== undefined) return 'acknowledged';
  if (d.silencedBy.length > 0 || d.inhibitedBy.length > 0 || d.muted.length > 0) return 'silenced';
  return 'firing';
}

function toIso(t: string | number | Date | undefined): string | undefined {
  if (t === undefined) return undefined;
  if (typeof t === 'string') return t;
  return new Date(t).toISOString();
}

/** Resolved alerts of the last 7 days, at most MAX_RESOLVED, newest kept. */
class ResolvedHistory {
  readonly #byKey = new Map<string, AlertView>();
  readonly #clock: Clock;

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  add(view: AlertView): void {
    // One entry per alert and start: a re-fired alert resolving again is a new entry.
    const key = `${view.fingerprint}@${Date.parse(view.startsAt)}`;
    if (this.#byKey.has(key)) return;
    this.#byKey.set(key, view);
    if (this.#byKey.size > MAX_RESOLVED) {
      const oldest = this.#byKey.keys().next().value;
      if (oldest !== undefined) this.#byKey.delete(oldest);
    }
  }

  list(): AlertView[] {
    const since = this.#clock.now() - RESOLVED_RETENTION_MS;
    for (const [key, view] of this.#byKey) {
      if (Date.parse(view.endsAt ?? view.startsAt) < since) this.#byKey.delete(key);
    }
    return [...this.#byKey.values()];
  }
}

function intervalOption(ctx: OptionContext, value: unknown): string {
  if (typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= 86_400) {
    return `${value}s`;
  }
  if (typeof value === 'string') return value;
  throw optionError(
    ctx,
    'INVALID_OPTION',
    'interval',
    'whole seconds from 1 to 86400, or a Prometheus duration such as "15s"',
    value,
  );
}

function isRuleSet(rules: AlertRuleSet | AlertsOptions): rules is AlertRuleSet {
  return Array.isArray((rules as { groups?: unknown }).groups);
}

function serviceName(ctx: OptionContext, value: unknown, set: AlertRuleSet): string {
  if (value === undefined) return process.env.OTEL_SERVICE_NAME || set.name;
  if (typeof value !== 'string' || value === '' || value.length > 128) {
    throw optionError(ctx, 'INVALID_OPTION', 'service', 'a name of 1 to 128 characters', value);
  }
  return value;
}

function alertmanagerUrl(ctx: OptionContext, value: unknown): string | undefined {
  const given = value ?? (process.env.ALERTMANAGER_URL || undefined);
  if (given === undefined) return undefined;
  // Several Alertmanagers (a cluster) are given comma-separated; each gets every alert.
  const urls = typeof given === 'string' ? given.split(',').map((u) => u.trim()) : [];
  const valid = (u: string): boolean => {
    try {
      const url = new URL(u);
      return url.protocol === 'http:' || url.protocol === 'https:';
    } catch {
      return false;
    }
  };
  if (urls.length === 0 || !urls.every(valid)) {
    throw optionError(
      ctx,
      'ALERTING_INVALID_URL',
      value === undefined ? 'alertmanagerUrl (ALERTMANAGER_URL)' : 'alertmanagerUrl',
      "Alertmanager's base URL, http:// or https://, such as http://alertmanager:9093 (several comma-separated)",
      given,
      'Give the URL Alertmanager listens on (its --web.listen-address), or unset it to notify from the process.',
    );
  }
  return given as string;
}

/**
 * The dispatcher's configuration: the one given (YAML parsed here, so the notifier sees the same
 * receivers), else the rule set's routes and inhibit rules under a root route to `default`; receivers
 * the routes name but nobody configured are added without configs (their notifications are dropped).
 */
function dispatcherConfig(
  ctx: OptionContext,
  set: AlertRuleSet,
  given: unknown,
  receivers: unknown,
): Record<string, unknown> & { receivers?: unknown[] } {
  let config: Record<string, unknown>;
  if (given === undefined) {
    const generated = alertmanagerObject(set);
    config = {
      route: {
        receiver: DEFAULT_RECEIVER,
        group_by: ['alertname'],
        ...generated.route,
      },
      inhibit_rules: generated.inhibit_rules,
    };
  } else {
    let parsed: unknown = given;
    if (typeof given === 'string') {
      try {
        // A one-line string ending in .yml or .yaml is the file's path, as the dispatcher reads it.
        const text = /^[^\n]+\.ya?ml$/.test(given.trim())
          ? readFileSync(given.trim(), 'utf8')
          : given;
        parsed = parseYaml(text) as unknown;
      } catch (error) {
        throw invalidConfig(ctx, given, error instanceof Error ? error.message : String(error));
      }
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      throw invalidConfig(ctx, given, 'it is not a mapping');
    }
    config = { ...(parsed as Record<string, unknown>) };
  }
  if (receivers !== undefined && !Array.isArray(receivers)) {
    throw optionError(
      ctx,
      'INVALID_OPTION',
      'receivers',
      "an array of receivers in Alertmanager's shape ({ name, webhook_configs, ... })",
      receivers,
    );
  }
  const byName = new Map<string, Record<string, unknown>>();
  for (const r of [...asArray(config.receivers), ...asArray(receivers)]) {
    if (r !== null && typeof r === 'object' && hasName(r)) byName.set(r.name, r);
  }
  for (const name of receiverNames(config.route)) {
    if (!byName.has(name)) byName.set(name, { name });
  }
  return { ...config, receivers: [...byName.values()] };
}

function invalidConfig(ctx: OptionContext, given: unknown, why: string): Error {
  return optionError(
    ctx,
    'ALERTING_INVALID_CONFIG',
    'alertmanager',
    // A YAML error spans lines (a caret under the place); a message stays on one.
    `an alertmanager.yml object or its YAML text (${why.split('\n')[0]?.trim() ?? why})`,
    given,
    'Check the file with `amtool check-config alertmanager.yml`, or leave the option out for the generated routes.',
  );
}

const asArray = (x: unknown): unknown[] => (Array.isArray(x) ? (x as unknown[]) : []);

function hasName(r: object): r is Record<string, unknown> & { name: string } {
  return typeof (r as { name?: unknown }).name === 'string';
}

/** Every receiver a route tree names. */
function receiverNames(route: unknown): string[] {
  if (route === null || typeof route !== 'object') return [];
  const r = route as { receiver?: unknown; routes?: unknown };
  const own = typeof r.receiver === 'string' ? [r.receiver] : [];
  return [...own, ...asArray(r.routes).flatMap(receiverNames)];
}
