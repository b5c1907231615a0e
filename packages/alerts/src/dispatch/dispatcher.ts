// The in-process Alertmanager: the alert store and its merge, aggregation groups and their timers,
// inhibition, silences, the notification log's dedup, and Vigil's acknowledgements, maintenance
// windows and escalations. Follows Alertmanager 0.25 (api/v2, provider/mem, dispatch, notify, inhibit).
import { randomUUID } from 'node:crypto';
import {
  type MinimalLogger,
  createProblemReporter,
  loggerOption,
  optionError,
  readOptions,
} from '@vigil/core';
import { parseDuration } from '../duration';
import { context } from '../errors';
import {
  type Acknowledgement,
  type ClockTimer,
  type Delivery,
  type LabelSet,
  type PostableAlert,
  type SilenceView,
  type WebhookAlert,
  type WebhookMessage,
  ZERO_TIME,
  compareBytes,
  fingerprint,
  systemClock,
} from '../model';
import {
  type DispatchConfig,
  type InhibitRule,
  type RouteNode,
  compileMatcherList,
  matchRoutes,
  resolveConfig,
} from './config';
import { type MaintenanceWindow, compileMaintenance, isOpen } from './maintenance';
import {
  type CompiledMatcher,
  LABEL_NAME,
  type MatchType,
  formatLabelSet,
  matchValue,
  matchesAll,
  newMatcher,
} from './matchers';
import { containsTime } from './time-intervals';
import type { DispatchedAlert, Dispatcher, DispatcherOptions, DispatcherStats } from './types';

const FACTORY = 'createDispatcher';
const CTX = context(FACTORY);
const OPTION_KEYS = [
  'config',
  'deliver',
  'clock',
  'externalURL',
  'maintenance',
  'escalations',
  'maxAlerts',
  'maxSilences',
  'logger',
];

/** Alertmanager's dispatcher removes empty aggregation groups on this period. */
export const MAINTENANCE_INTERVAL_MS = 30_000;
/** Resolved alerts no group holds any more are forgotten after this long. */
export const RESOLVED_RETENTION_MS = 15 * 60_000;
/** Expired silences are forgotten after this long (Alertmanager's default `--data.retention`). */
export const SILENCE_RETENTION_MS = 120 * 3600_000;
/** Default of `maxAlerts` and `maxSilences`. */
export const DEFAULT_MAX_ALERTS = 10_000;

interface Stored {
  readonly fingerprint: string;
  readonly labels: LabelSet;
  readonly annotations: LabelSet;
  readonly startsAt: number;
  readonly endsAt: number;
  readonly generatorURL: string;
  readonly updatedAt: number;
  /** endsAt was set from resolve_timeout, not by the sender. */
  readonly timeout: boolean;
}

interface Group {
  readonly route: RouteNode;
  readonly labels: LabelSet;
  readonly key: string;
  readonly alerts: Map<string, Stored>;
  timer: ClockTimer | undefined;
  hasFlushed: boolean;
  /** Escalation timers by alert fingerprint, for the firing that started at `startsAt`. */
  readonly escalationTimers: Map<string, { startsAt: number; timers: ClockTimer[] }>;
}

interface Item {
  readonly alert: Stored;
  readonly firing: boolean;
}

interface LogEntry {
  readonly firing: ReadonlySet<string>;
  readonly resolved: ReadonlySet<string>;
  readonly at: number;
}

interface Silence {
  readonly id: string;
  readonly matchers: readonly CompiledMatcher[];
  startsAt: number;
  endsAt: number;
  readonly createdBy: string;
  readonly comment: string;
}

interface Escalation {
  readonly route: string;
  readonly after: number;
  readonly receiver: string;
}

interface Ack extends Acknowledgement {
  /** The firing (startsAt) it acknowledges: a new firing starts unacknowledged. */
  readonly startsAt: number;
}

/** A time as Go's RFC3339Nano writes it: no fractional part when whole seconds. */
export function goTime(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace(/\.(\d*?)0*Z$/, (_m, f: string) => (f ? `.${f}Z` : 'Z'));
}

function resolvedAt(a: Stored, t: number): boolean {
  return a.endsAt !== 0 && a.endsAt <= t;
}

// regexp.QuoteMeta: Alertmanager writes the receiver name of a message through it.
function quoteMeta(s: string): string {
  return s.replace(/[\\.+*?()|[\]{}^$]/g, '\\$&');
}

const SURROGATE = /[\ud800-\udfff]/;

/**
 * Go's string order (UTF-8 bytes). Without surrogate pairs UTF-16 code units order as code points, and
 * code points as their UTF-8 bytes, so the plain comparison is exact and spares encoding the strings.
 */
function byteOrder(a: string, b: string): number {
  if (SURROGATE.test(a) || SURROGATE.test(b)) return compareBytes(a, b);
  return a < b ? -1 : a > b ? 1 : 0;
}

/** LabelSet.Before, Alertmanager's tiebreak of alerts in a message. */
function labelsBefore(a: LabelSet, b: LabelSet): boolean {
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return ka.length < kb.length;
  for (const n of [...ka, ...kb].sort(byteOrder)) {
    const x = a[n];
    const y = b[n];
    if (x === undefined) return true;
    if (y === undefined) return false;
    const c = byteOrder(x, y);
    if (c !== 0) return c < 0;
  }
  return false;
}

/** types.AlertSlice order: by job, then instance, then the label sets. */
function compareAlerts(a: Stored, b: Stored): number {
  for (const key of ['job', 'instance']) {
    const x = a.labels[key];
    const y = b.labels[key];
    if (x === undefined && y === undefined) continue;
    if (x === undefined) return 1;
    if (y === undefined) return -1;
    const c = byteOrder(x, y);
    if (c !== 0) return c;
  }
  if (labelsBefore(a.labels, b.labels)) return -1;
  if (labelsBefore(b.labels, a.labels)) return 1;
  return 0;
}

function commonOf(sets: readonly LabelSet[]): Record<string, string> {
  const first = sets[0];
  if (first === undefined) return {};
  const common: Record<string, string> = { ...first };
  for (const s of sets.slice(1))
    for (const k of Object.keys(common)) if (s[k] !== common[k]) delete common[k];
  return common;
}

function parseTime(v: unknown): number | undefined {
  if (v === undefined || v === null || v === '') return 0;
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v !== 'string') return undefined;
  if (v.startsWith('0001-01-01T00:00:00')) return 0;
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : t;
}

/** A copy with names in byte order, as Go writes a map in JSON. */
function sortedLabels(set: LabelSet, dropEmpty: boolean): Record<string, string> {
  // fromEntries defines own properties, so a label named __proto__ stays a label.
  return Object.fromEntries(
    Object.keys(set)
      .sort(byteOrder)
      .map((k) => [k, set[k] ?? ''] as const)
      .filter(([, v]) => !dropEmpty || v !== ''),
  );
}

function validLabelSet(v: unknown, allowEmpty: boolean): v is LabelSet {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const entries = Object.entries(v);
  if (!allowEmpty && entries.length === 0) return false;
  return entries.every(([k, val]) => LABEL_NAME.test(k) && typeof val === 'string');
}

function invalidOption(option: string, expected: string, received: unknown, fix?: string): Error {
  return optionError(CTX, 'DISPATCH_INVALID_OPTIONS', option, expected, received, fix);
}

function positiveInt(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw invalidOption(name, 'a whole number of at least 1', value);
  }
  return value;
}

function compileEscalations(value: unknown, config: DispatchConfig): Escalation[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw invalidOption('escalations', 'a list of escalations', value);
  return value.map((e: unknown, i): Escalation => {
    const path = `escalations[${i}]`;
    if (typeof e !== 'object' || e === null)
      throw invalidOption(path, '{ route, after, receiver }', e);
    const o = e as Record<string, unknown>;
    for (const key of Object.keys(o)) {
      if (!['route', 'after', 'receiver'].includes(key)) {
        throw invalidOption(`${path}.${key}`, 'one of route, after, receiver', key);
      }
    }
    const after = typeof o.after === 'string' ? parseDuration(o.after) : undefined;
    if (after === undefined) {
      throw optionError(
        CTX,
        'DISPATCH_INVALID_DURATION',
        `${path}.after`,
        'a Prometheus duration such as 15m',
        o.after,
      );
    }
    for (const key of ['route', 'receiver'] as const) {
      const name = o[key];
      if (typeof name !== 'string' || !config.receivers.has(name)) {
        throw optionError(
          CTX,
          'DISPATCH_UNKNOWN_RECEIVER',
          `${path}.${key}`,
          `the name of a receiver of the config (${[...config.receivers.keys()].join(', ')})`,
          name,
          'Add the receiver to "receivers" or fix the name.',
        );
      }
    }
    return { route: o.route as string, after, receiver: o.receiver as string };
  });
}

/**
 * Creates an in-process, Alertmanager-compatible dispatcher over an alertmanager.yml configuration.
 * Configuration errors throw coded errors here; at run time nothing throws into the caller.
 */
export function createDispatcher(options: DispatcherOptions): Dispatcher {
  const o = readOptions<DispatcherOptions>(CTX, options, arguments.length, OPTION_KEYS);
  if (o.config === undefined) {
    throw invalidOption(
      'config',
      'alertmanager.yml as an object, YAML text or a file path',
      undefined,
    );
  }
  const config = resolveConfig(o.config);
  if (typeof o.deliver !== 'function') {
    throw invalidOption('deliver', 'a function taking each Delivery', o.deliver);
  }
  const deliver = o.deliver;
  const clock = o.clock ?? systemClock;
  if (typeof clock.now !== 'function' || typeof clock.setTimer !== 'function') {
    throw invalidOption('clock', 'a Clock with now() and setTimer()', clock);
  }
  if (o.externalURL !== undefined && typeof o.externalURL !== 'string') {
    throw invalidOption('externalURL', 'a URL string', o.externalURL);
  }
  const externalURL = o.externalURL ?? '';
  const windows: MaintenanceWindow[] = compileMaintenance(o.maintenance);
  const escalations = compileEscalations(o.escalations, config);
  const maxAlerts = positiveInt('maxAlerts', o.maxAlerts, DEFAULT_MAX_ALERTS);
  const maxSilences = positiveInt('maxSilences', o.maxSilences, DEFAULT_MAX_ALERTS);
  const logger: MinimalLogger | undefined = loggerOption(CTX, o.logger);
  const reporter = createProblemReporter('@vigil/alerts dispatcher', logger);

  const store = new Map<string, Stored>();
  const acks = new Map<string, Ack>();
  const groupsByRoute = new Map<RouteNode, Map<string, Group>>();
  const nflog = new Map<string, LogEntry>();
  const silences = new Map<string, Silence>();
  // Source alerts of each inhibit rule (the inhibitor's source cache), indexed by their values of the
  // rule's `equal` labels so a target finds its candidates without scanning every source.
  const sources: Map<string, Map<string, Stored>>[] = config.inhibitRules.map(
    () => new Map<string, Map<string, Stored>>(),
  );
  const equalKey = (rule: InhibitRule, labels: LabelSet): string =>
    JSON.stringify(rule.equal.map((n) => labels[n] ?? ''));
  let stopped = false;
  let dropped = 0;
  let deliveries = 0;
  let deliveryErrors = 0;

  const escalationsOf = (receiver: string): Escalation[] =>
    escalations.filter((e) => e.route === receiver);

  function safeDeliver(d: Delivery): boolean {
    deliveries++;
    try {
      deliver(d);
      return true;
    } catch (e) {
      deliveryErrors++;
      reporter.report('deliver threw', e);
      return false;
    }
  }

  // --- muting: inhibition, silences, maintenance, acknowledgements ---

  function inhibitedBy(labels: LabelSet, now: number): string[] {
    for (const [i, rule] of config.inhibitRules.entries()) {
      if (!matchesAll(rule.target, labels)) continue;
      const twoSided = matchesAll(rule.source, labels);
      const bucket = sources[i]?.get(equalKey(rule, labels));
      const found = bucket && inhibitingSource(rule, bucket, twoSided, now);
      if (found !== undefined) return [found];
    }
    return [];
  }

  function inhibitingSource(
    rule: InhibitRule,
    bucket: Map<string, Stored>,
    twoSided: boolean,
    now: number,
  ): string | undefined {
    // Every alert of the bucket has the target's values of the `equal` labels.
    for (const s of bucket.values()) {
      if (resolvedAt(s, now)) continue;
      // An alert matching both sides cannot be inhibited by another one that does: no self-inhibition.
      if (twoSided && matchesAll(rule.target, s.labels)) continue;
      return s.fingerprint;
    }
    return undefined;
  }

  function silenceState(s: Silence, now: number): SilenceView['status'] {
    if (now < s.startsAt) return 'pending';
    if (now < s.endsAt) return 'active';
    return 'expired';
  }

  function silencedBy(labels: LabelSet, now: number): string[] {
    const ids: string[] = [];
    for (const s of silences.values()) {
      if (silenceState(s, now) === 'active' && matchesAll(s.matchers, labels)) ids.push(s.id);
    }
    return ids;
  }

  function mutedBy(labels: LabelSet, now: number): string[] {
    return windows
      .filter((w) => matchesAll(w.matchers, labels) && isOpen(w, now))
      .map((w) => w.name);
  }

  function ackOf(a: Stored, now: number): Ack | undefined {
    const ack = acks.get(a.fingerprint);
    if (ack === undefined) return undefined;
    if (resolvedAt(a, now) || ack.startsAt !== a.startsAt) {
      acks.delete(a.fingerprint);
      return undefined;
    }
    return ack;
  }

  function isMuted(item: Item, now: number): boolean {
    const labels = item.alert.labels;
    return (
      inhibitedBy(labels, now).length > 0 ||
      silencedBy(labels, now).length > 0 ||
      mutedBy(labels, now).length > 0 ||
      (item.firing && ackOf(item.alert, now) !== undefined)
    );
  }

  function routeMutedByTime(route: RouteNode, now: number): boolean {
    const inAny = (names: readonly string[]): boolean =>
      names.some((n) => (config.timeIntervals.get(n) ?? []).some((ti) => containsTime(ti, now)));
    if (route.muteTimeIntervals.length > 0 && inAny(route.muteTimeIntervals)) return true;
    return route.activeTimeIntervals.length > 0 && !inAny(route.activeTimeIntervals);
  }

  // --- notification ---

  function message(g: Group, receiver: string, items: readonly Item[]): WebhookMessage {
    const alerts: WebhookAlert[] = items.map((i) => ({
      status: i.firing ? 'firing' : 'resolved',
      labels: i.alert.labels,
      annotations: i.alert.annotations,
      startsAt: goTime(i.alert.startsAt),
      endsAt: i.firing ? ZERO_TIME : goTime(i.alert.endsAt),
      generatorURL: i.alert.generatorURL,
      fingerprint: i.alert.fingerprint,
    }));
    return {
      version: '4',
      groupKey: g.key,
      truncatedAlerts: 0,
      status: items.some((i) => i.firing) ? 'firing' : 'resolved',
      receiver: quoteMeta(receiver),
      groupLabels: g.labels,
      commonLabels: commonOf(items.map((i) => i.alert.labels)),
      commonAnnotations: commonOf(items.map((i) => i.alert.annotations)),
      externalURL,
      alerts,
    };
  }

  function needsUpdate(
    entry: LogEntry | undefined,
    firing: ReadonlySet<string>,
    resolved: ReadonlySet<string>,
    repeat: number,
    now: number,
  ): boolean {
    if (entry === undefined) return firing.size > 0;
    for (const f of firing) if (!entry.firing.has(f)) return true;
    // All resolved: notify only if the receiver was told of firing alerts (send_resolved or not).
    if (firing.size === 0) return entry.firing.size > 0;
    for (const r of resolved) if (!entry.resolved.has(r)) return true;
    return entry.at < now - repeat;
  }

  /** The dedup stage and the integration of one receiver: true unless delivery failed. */
  function notify(g: Group, receiver: string, items: readonly Item[], now: number): boolean {
    if (items.length === 0) return true;
    const key = `${g.key}\u0000${receiver}`;
    const firing = new Set(items.filter((i) => i.firing).map((i) => i.alert.fingerprint));
    const resolved = new Set(items.filter((i) => !i.firing).map((i) => i.alert.fingerprint));
    if (!needsUpdate(nflog.get(key), firing, resolved, g.route.repeatInterval, now)) return true;
    if (!safeDeliver({ receiver, kind: 'notify', message: message(g, receiver, items) }))
      return false;
    nflog.set(key, { firing, resolved, at: now });
    return true;
  }

  function escalate(g: Group, visible: readonly Item[], now: number): boolean {
    let ok = true;
    for (const e of escalationsOf(g.route.receiver)) {
      const told = nflog.get(`${g.key}\u0000${e.receiver}`)?.firing;
      const items = visible.filter((i) =>
        i.firing ? now - i.alert.startsAt >= e.after : (told?.has(i.alert.fingerprint) ?? false),
      );
      ok = notify(g, e.receiver, items, now) && ok;
    }
    return ok;
  }

  function snapshot(g: Group, now: number): Item[] {
    return [...g.alerts.values()]
      .sort(compareAlerts)
      .map((alert) => ({ alert, firing: !resolvedAt(alert, now) }));
  }

  function visibleItems(g: Group, items: readonly Item[], now: number): Item[] | undefined {
    if (routeMutedByTime(g.route, now)) return undefined;
    return items.filter((i) => !isMuted(i, now));
  }

  function flush(g: Group): void {
    if (g.alerts.size === 0) return;
    const now = clock.now();
    const items = snapshot(g, now);
    const visible = visibleItems(g, items, now);
    let ok = true;
    if (visible !== undefined && visible.length > 0) {
      ok = notify(g, g.route.receiver, visible, now);
      ok = escalate(g, visible, now) && ok;
    }
    if (!ok) return;
    for (const i of items) {
      // Only drop resolved alerts not posted again since the snapshot.
      if (!i.firing && g.alerts.get(i.alert.fingerprint) === i.alert)
        removeFromGroup(g, i.alert.fingerprint);
    }
  }

  function removeFromGroup(g: Group, fp: string): void {
    g.alerts.delete(fp);
    for (const t of g.escalationTimers.get(fp)?.timers ?? []) t.cancel();
    g.escalationTimers.delete(fp);
  }

  function tick(g: Group): void {
    if (stopped) return;
    g.timer = clock.setTimer(() => tick(g), g.route.groupInterval);
    g.hasFlushed = true;
    flush(g);
  }

  function insert(g: Group, a: Stored, now: number): void {
    g.alerts.set(a.fingerprint, a);
    if (!g.hasFlushed && a.startsAt + g.route.groupWait < now) {
      g.timer?.cancel();
      g.timer = clock.setTimer(() => tick(g), 0);
    }
    const es = escalationsOf(g.route.receiver);
    if (es.length === 0 || resolvedAt(a, now)) return;
    // Prometheus re-sends a firing alert every minute: its timers are set once per firing.
    const existing = g.escalationTimers.get(a.fingerprint);
    if (existing?.startsAt === a.startsAt) return;
    for (const t of existing?.timers ?? []) t.cancel();
    g.escalationTimers.set(a.fingerprint, {
      startsAt: a.startsAt,
      timers: es.map((e) =>
        clock.setTimer(
          () => {
            if (stopped || g.alerts.get(a.fingerprint) === undefined) return;
            const t = clock.now();
            const visible = visibleItems(g, snapshot(g, t), t);
            if (visible !== undefined) escalate(g, visible, t);
          },
          a.startsAt + e.after - now,
        ),
      ),
    });
  }

  function processAlert(a: Stored, route: RouteNode, now: number): void {
    const labels: Record<string, string> = Object.fromEntries(
      Object.entries(a.labels).filter(([k]) => route.groupByAll || route.groupBy.has(k)),
    );
    // Group labels are in name order already: their entries are the group's identity.
    const gfp = JSON.stringify(Object.entries(labels));
    let groups = groupsByRoute.get(route);
    if (groups === undefined) {
      groups = new Map();
      groupsByRoute.set(route, groups);
    }
    const existing = groups.get(gfp);
    if (existing !== undefined) {
      insert(existing, a, now);
      return;
    }
    const g: Group = {
      route,
      labels,
      key: `${route.key}:${formatLabelSet(labels)}`,
      alerts: new Map(),
      timer: undefined,
      hasFlushed: false,
      escalationTimers: new Map(),
    };
    g.timer = clock.setTimer(() => tick(g), route.groupWait);
    groups.set(gfp, g);
    insert(g, a, now);
  }

  // types.Alert.Merge: `o` is the younger alert.
  function merge(a: Stored, o: Stored, now: number): Stored {
    let startsAt = o.startsAt;
    let endsAt = o.endsAt;
    if (a.startsAt < o.startsAt) startsAt = a.startsAt;
    if (resolvedAt(o, now)) {
      if (resolvedAt(a, now) && a.endsAt > o.endsAt) endsAt = a.endsAt;
    } else if (a.endsAt > o.endsAt && !a.timeout) {
      endsAt = a.endsAt;
    }
    return { ...o, startsAt, endsAt };
  }

  function toStored(p: PostableAlert, now: number): Stored | string {
    if (typeof p !== 'object' || p === null) return 'not an object';
    if (!validLabelSet(p.labels, false))
      return 'labels must be a non-empty map of valid label names to strings';
    if (p.annotations !== undefined && !validLabelSet(p.annotations, true)) {
      return 'annotations must be a map of valid names to strings';
    }
    let startsAt = parseTime(p.startsAt);
    let endsAt = parseTime(p.endsAt);
    if (startsAt === undefined || endsAt === undefined)
      return 'startsAt and endsAt must be RFC 3339 times';
    if (startsAt === 0) startsAt = endsAt === 0 ? now : endsAt;
    let timeout = false;
    if (endsAt === 0) {
      timeout = true;
      endsAt = now + config.resolveTimeout;
    }
    if (endsAt < startsAt) return 'start time must be before end time';
    // Alertmanager's API drops empty label values before anything else (removeEmptyLabels).
    const labels = sortedLabels(p.labels, true);
    if (Object.keys(labels).length === 0) return 'at least one label pair with a value is required';
    return {
      fingerprint: fingerprint(labels),
      labels,
      annotations: sortedLabels(p.annotations ?? {}, false),
      startsAt,
      endsAt,
      generatorURL: typeof p.generatorURL === 'string' ? p.generatorURL : '',
      updatedAt: now,
      timeout,
    };
  }

  function post(alerts: readonly PostableAlert[]): void {
    if (stopped) return;
    if (!Array.isArray(alerts)) {
      dropped++;
      reporter.report('post() takes an array of alerts', new Error(typeof alerts));
      return;
    }
    const now = clock.now();
    for (const p of alerts as readonly unknown[]) {
      const parsed = toStored(p as PostableAlert, now);
      if (typeof parsed === 'string') {
        dropped++;
        reporter.report('invalid alert dropped', new Error(parsed));
        continue;
      }
      let a = parsed;
      const old = store.get(a.fingerprint);
      if (old !== undefined) {
        if (
          (a.endsAt > old.startsAt && a.endsAt < old.endsAt) ||
          (a.startsAt > old.startsAt && a.startsAt < old.endsAt)
        ) {
          a = merge(old, a, now);
        }
      } else if (store.size >= maxAlerts) {
        dropped++;
        reporter.report('maxAlerts reached: alert dropped', new Error(`${maxAlerts} alerts held`));
        continue;
      }
      store.set(a.fingerprint, a);
      ackOf(a, now);
      config.inhibitRules.forEach((rule, i) => {
        const index = sources[i];
        if (index === undefined || !matchesAll(rule.source, a.labels)) return;
        const key = equalKey(rule, a.labels);
        let bucket = index.get(key);
        if (bucket === undefined) {
          bucket = new Map();
          index.set(key, bucket);
        }
        bucket.set(a.fingerprint, a);
      });
      for (const route of matchRoutes(config.route, a.labels)) processAlert(a, route, now);
    }
  }

  // --- housekeeping ---

  function maintenance(): void {
    if (stopped) return;
    maintenanceTimer = clock.setTimer(maintenance, MAINTENANCE_INTERVAL_MS);
    const now = clock.now();
    const held = new Set<string>();
    const liveKeys = new Set<string>();
    const deadKeys = new Set<string>();
    for (const groups of groupsByRoute.values()) {
      for (const [gfp, g] of groups) {
        if (g.alerts.size === 0) {
          g.timer?.cancel();
          groups.delete(gfp);
          deadKeys.add(g.key);
        } else {
          liveKeys.add(g.key);
          for (const fp of g.alerts.keys()) held.add(fp);
        }
      }
    }
    for (const key of nflog.keys()) {
      const gk = key.slice(0, key.indexOf('\u0000'));
      if (deadKeys.has(gk) && !liveKeys.has(gk)) nflog.delete(key);
    }
    for (const [fp, a] of store) {
      if (resolvedAt(a, now) && now - a.endsAt > RESOLVED_RETENTION_MS && !held.has(fp)) {
        store.delete(fp);
        acks.delete(fp);
        config.inhibitRules.forEach((rule, i) => {
          const key = equalKey(rule, a.labels);
          const bucket = sources[i]?.get(key);
          bucket?.delete(fp);
          if (bucket?.size === 0) sources[i]?.delete(key);
        });
      }
    }
    for (const [id, s] of silences) if (now - s.endsAt > SILENCE_RETENTION_MS) silences.delete(id);
  }
  let maintenanceTimer: ClockTimer = clock.setTimer(maintenance, MAINTENANCE_INTERVAL_MS);

  // --- views ---

  function view(a: Stored, now: number): DispatchedAlert {
    const ack = ackOf(a, now);
    return {
      fingerprint: a.fingerprint,
      labels: a.labels,
      annotations: a.annotations,
      startsAt: goTime(a.startsAt),
      endsAt: goTime(a.endsAt),
      generatorURL: a.generatorURL,
      status: resolvedAt(a, now) ? 'resolved' : 'firing',
      silencedBy: silencedBy(a.labels, now),
      inhibitedBy: inhibitedBy(a.labels, now),
      muted: mutedBy(a.labels, now),
      ...(ack === undefined
        ? {}
        : {
            acknowledgement: {
              by: ack.by,
              at: ack.at,
              ...(ack.comment === undefined ? {} : { comment: ack.comment }),
            },
          }),
      receivers: matchRoutes(config.route, a.labels).map((r) => r.receiver),
    };
  }

  function silenceView(s: Silence, now: number): SilenceView {
    return {
      id: s.id,
      matchers: s.matchers.map((m) => ({
        name: m.name,
        value: m.value,
        isRegex: m.type === '=~' || m.type === '!~',
        isEqual: m.type === '=' || m.type === '=~',
      })),
      startsAt: goTime(s.startsAt),
      endsAt: goTime(s.endsAt),
      createdBy: s.createdBy,
      comment: s.comment,
      status: silenceState(s, now),
    };
  }

  function silenceError(option: string, expected: string, received: unknown): Error {
    return optionError(
      context('addSilence'),
      'DISPATCH_INVALID_SILENCE',
      option,
      expected,
      received,
    );
  }

  function silenceMatchers(value: unknown): CompiledMatcher[] {
    if (!Array.isArray(value) || value.length === 0) {
      throw silenceError('matchers', 'a non-empty list of matchers such as alertname="X"', value);
    }
    if (value.every((v) => typeof v === 'string')) {
      return compileMatcherList(value, 'matchers', 'DISPATCH_INVALID_SILENCE');
    }
    return value.map((v: unknown, i) => {
      const m = (typeof v === 'object' && v !== null ? v : {}) as Record<string, unknown>;
      let type = m.type as MatchType | undefined;
      if (type === undefined && typeof m.isRegex === 'boolean') {
        const equal = m.isEqual !== false;
        type = m.isRegex ? (equal ? '=~' : '!~') : equal ? '=' : '!=';
      }
      if (
        typeof m.name !== 'string' ||
        !LABEL_NAME.test(m.name) ||
        typeof m.value !== 'string' ||
        !['=', '!=', '=~', '!~'].includes(type ?? '')
      ) {
        throw silenceError(
          `matchers[${i}]`,
          'a matcher string or { name, value, isRegex, isEqual }',
          v,
        );
      }
      const c = newMatcher(m.name, type as MatchType, m.value);
      if (typeof c === 'string') throw silenceError(`matchers[${i}]`, c, v);
      return c;
    });
  }

  const dispatcher: Dispatcher = {
    post,
    alerts() {
      const now = clock.now();
      return [...store.values()].map((a) => view(a, now));
    },
    get(fp) {
      const a = store.get(fp);
      return a === undefined ? undefined : view(a, clock.now());
    },
    acknowledge(fp, by, comment) {
      const now = clock.now();
      const a = store.get(fp);
      if (a === undefined || resolvedAt(a, now) || typeof by !== 'string') return false;
      if (ackOf(a, now) !== undefined) return true;
      acks.set(fp, {
        by,
        at: goTime(now),
        startsAt: a.startsAt,
        ...(typeof comment === 'string' ? { comment } : {}),
      });
      for (const groups of groupsByRoute.values()) {
        for (const g of groups.values()) {
          if (g.alerts.get(fp) === undefined) continue;
          for (const receiver of [
            g.route.receiver,
            ...escalationsOf(g.route.receiver).map((e) => e.receiver),
          ]) {
            if (nflog.get(`${g.key}\u0000${receiver}`)?.firing.has(fp) !== true) continue;
            safeDeliver({
              receiver,
              kind: 'acknowledge',
              message: message(g, receiver, [{ alert: a, firing: true }]),
            });
          }
        }
      }
      return true;
    },
    addSilence(s) {
      const now = clock.now();
      if (typeof s !== 'object' || s === null) throw silenceError('silence', 'an object', s);
      const matchers = silenceMatchers(s.matchers);
      if (matchers.every((m) => matchValue(m, ''))) {
        throw silenceError(
          'matchers',
          'matchers of which at least one does not match the empty string',
          s.matchers,
        );
      }
      let startsAt = parseTime(s.startsAt ?? now);
      const endsAt = parseTime(s.endsAt);
      if (startsAt === undefined)
        throw silenceError('startsAt', 'an RFC 3339 time or epoch milliseconds', s.startsAt);
      if (endsAt === undefined || endsAt === 0 || endsAt <= now) {
        throw silenceError(
          'endsAt',
          'an RFC 3339 time or epoch milliseconds in the future',
          s.endsAt,
        );
      }
      if (startsAt < now) startsAt = now;
      if (endsAt < startsAt) throw silenceError('endsAt', 'a time after startsAt', s.endsAt);
      for (const key of ['createdBy', 'comment'] as const) {
        if (typeof s[key] !== 'string' || s[key] === '')
          throw silenceError(key, 'a non-empty string', s[key]);
      }
      if (silences.size >= maxSilences) {
        const expired = [...silences.values()]
          .filter((x) => silenceState(x, now) === 'expired')
          .sort((x, y) => x.endsAt - y.endsAt)[0];
        if (expired === undefined)
          throw silenceError(
            'silence',
            `room: ${maxSilences} silences are active or pending (maxSilences)`,
            silences.size,
          );
        silences.delete(expired.id);
      }
      const silence: Silence = {
        id: randomUUID(),
        matchers,
        startsAt,
        endsAt,
        createdBy: s.createdBy,
        comment: s.comment,
      };
      silences.set(silence.id, silence);
      return silenceView(silence, now);
    },
    expireSilence(id) {
      const s = silences.get(id);
      const now = clock.now();
      if (s === undefined || silenceState(s, now) === 'expired') return false;
      if (silenceState(s, now) === 'pending') s.startsAt = now;
      s.endsAt = now;
      return true;
    },
    silences() {
      const now = clock.now();
      return [...silences.values()].map((s) => silenceView(s, now));
    },
    routesFor(labels) {
      return matchRoutes(config.route, labels).map((r) => r.receiver);
    },
    stats(): DispatcherStats {
      let groups = 0;
      for (const m of groupsByRoute.values()) groups += m.size;
      return {
        alerts: store.size,
        groups,
        silences: silences.size,
        droppedAlerts: dropped,
        deliveries,
        deliveryErrors,
      };
    },
    stop() {
      if (stopped) return;
      stopped = true;
      maintenanceTimer.cancel();
      for (const groups of groupsByRoute.values()) {
        for (const g of groups.values()) {
          g.timer?.cancel();
          for (const e of g.escalationTimers.values()) for (const t of e.timers) t.cancel();
        }
      }
    },
  };
  return dispatcher;
}
