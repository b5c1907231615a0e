// createRuleEngine(): Prometheus's rule manager in the process. Each rule group of a rule set is
// evaluated at its own interval over the process's own prom-client registry, read into the
// evaluator's storage as Prometheus would scrape it; alerts follow Prometheus 2.42's state machine and
// are handed to a notify hook with Prometheus's notifier semantics.
import { performance } from 'node:perf_hooks';
import {
  codedError,
  createProblemReporter,
  functionOption,
  loggerOption,
  optionError,
  readOptions,
  registryOption,
  stringOption,
  type MinimalLogger,
  type RegistryLike,
} from '@vigil/core';
import {
  compile,
  evaluate,
  matchesAll,
  MemoryStorage,
  type CompiledExpr,
  type RollupSpec,
} from './evaluator-api';
import { ALERTS_ERROR_CODES, PACKAGE, context } from '../errors';
import { formatDuration, parseDuration } from '../duration';
import { labelsOption } from '../definition';
import {
  systemClock,
  type Clock,
  type ClockTimer,
  type LabelSet,
  type PostableAlert,
  type RuleView,
} from '../model';
import type { AlertRuleSet, AlertingRuleData, RecordingRuleData, RuleGroupData } from '../types';
import {
  applyEvaluation,
  dueAlerts,
  DuplicateAlertError,
  type ActiveAlert,
  type AlertingDefinition,
  type RuleSample,
} from './alerting';
import { labelsKey, sortedLabels } from './labels';
import { ruleEngineMetrics, type RuleEngineMetrics } from './metrics';
import { RegistrySource, type ScrapableRegistry } from './registry-source';
import { readStateFile, writeStateFile, STATE_FILE_VERSION, type SavedState } from './state-file';
import { compileTemplate, TemplateSyntaxError, type CompiledTemplate } from './template';

/** Options of `createRuleEngine()`. */
export interface RuleEngineOptions {
  /** The rule set, from `defineAlerts()`. */
  rules: AlertRuleSet;
  /** The registry read each cycle and instrumented. Default: prom-client's global registry. */
  registry?: RegistryLike & ScrapableRegistry;
  /** The clock (a ManualClock in tests). Default: the system clock. */
  clock?: Clock;
  /** Evaluation interval of groups without their own `interval`. Default: `15s`. */
  interval?: string;
  /** How far back an instant selector looks for a sample (`--query.lookback-delta`). Default: `5m`. */
  lookbackDelta?: string;
  /** The scrape `job` label. Default: the rule set's `selector.job`, else `vigil`. */
  job?: string;
  /** The scrape `instance` label. Default: `localhost`. */
  instance?: string;
  /** Labels added to alerts sent (Prometheus's `external_labels`), and `$externalLabels` of templates. */
  externalLabels?: LabelSet;
  /** Base of alerts' `generatorURL` and `$externalURL` of templates. Default: none (no generatorURL). */
  externalURL?: string;
  /** A file where alert state is kept across restarts. Default: none. */
  stateFile?: string;
  /** Called after each group evaluation with the alerts due to be sent. A throw is caught and counted. */
  notify?: (alerts: readonly PostableAlert[]) => void;
  /** Where problems are reported (pino works). Default: process warnings. */
  logger?: MinimalLogger;
}

/** An alert of the engine. Times are RFC 3339. */
export interface EngineAlert {
  /** Alertmanager's fingerprint of `labels`. */
  readonly fingerprint: string;
  readonly labels: LabelSet;
  readonly annotations: LabelSet;
  /** `inactive`: resolved, kept 15 minutes so that it is sent as resolved. */
  readonly state: 'pending' | 'firing' | 'inactive';
  readonly activeAt: string;
  readonly firedAt?: string;
  readonly resolvedAt?: string;
  /** The expression's value at the last evaluation that returned the alert. */
  readonly value: number;
  /** The alerting rule's name. */
  readonly rule: string;
  readonly group: string;
}

/** The running rules engine. */
export interface RuleEngine {
  /** Starts evaluating each group at its interval. Calling it again does nothing. */
  start(): void;
  /** Stops the timers, waits for the evaluation in progress and writes the state file. */
  stop(): Promise<void>;
  /** Runs every group once now (tests, the promtool runner). */
  evaluateNow(): Promise<void>;
  /** Resolves when every evaluation queued so far (by timers or evaluateNow) has finished. */
  settled(): Promise<void>;
  /** Active alerts: pending, firing and recently resolved. */
  alerts(): readonly EngineAlert[];
  /** Every rule, with its health and last evaluation. */
  rules(): readonly RuleView[];
  /** The evaluator's storage: scraped, recorded and ALERTS series. */
  readonly storage: MemoryStorage;
}

/** Prometheus's `--rules.alert.resend-delay` default. */
export const RESEND_DELAY_MS = 60_000;
/** Prometheus's `--rules.alert.for-outage-tolerance` default. */
export const OUTAGE_TOLERANCE_MS = 3600_000;
/** Prometheus's `--rules.alert.for-grace-period` default. */
export const FOR_GRACE_PERIOD_MS = 10 * 60_000;
/** The state file is written at most this often (and at stop). */
export const STATE_WRITE_INTERVAL_MS = 10_000;
/** Storage is trimmed at most this often. */
const TRIM_INTERVAL_MS = 60_000;
/**
 * Ranges of sum, count, avg and present over time at least this long keep per-interval sums instead
 * of raw samples (SLO windows of days), when the range and offset are whole intervals of the group.
 */
export const ROLLUP_MIN_RANGE_MS = 3600_000;

const KEYS = [
  'rules',
  'registry',
  'clock',
  'interval',
  'lookbackDelta',
  'job',
  'instance',
  'externalLabels',
  'externalURL',
  'stateFile',
  'notify',
  'logger',
] as const;

/** How the promtool runner uses the engine differently from a service. */
export interface EngineMode {
  /** Read the registry before evaluations. */
  readonly scrape: boolean;
  /** Keep every sample (the runner queries any time after the evaluations). */
  readonly retainAll: boolean;
  /**
   * When ALERTS/ALERTS_FOR_STATE are written: `restored`, from a group's second evaluation, once its
   * `for` state is restored (a Prometheus server); `always`, from the first (promtool 2.42's tests).
   */
  readonly alertSeries: 'restored' | 'always';
}

const SERVICE_MODE: EngineMode = { scrape: true, retainAll: false, alertSeries: 'restored' };

interface RuleBase {
  readonly group: GroupState;
  readonly expr: string;
  readonly compiled: CompiledExpr | undefined;
  readonly prometheusOnly: boolean;
  /** Series written at the previous evaluation, for staleness markers. */
  previous: Map<string, LabelSet>;
  health: 'ok' | 'err' | 'unknown';
  lastError?: string;
  lastEvaluation?: number;
  evaluationSeconds?: number;
}

interface RecordingRule extends RuleBase {
  readonly kind: 'record';
  readonly data: RecordingRuleData;
  /**
   * The written series of a result sample, by the sample's label-set object: the evaluator hands the
   * same objects out at every evaluation, and the rule's labels do not change.
   */
  readonly outputs: WeakMap<LabelSet, { readonly labels: LabelSet; readonly key: string }>;
}

/** The ALERTS and ALERTS_FOR_STATE series of an alert, for its last state. */
interface AlertSeries {
  readonly state: ActiveAlert['state'];
  readonly alerts: LabelSet;
  readonly alertsKey: string;
  readonly forState: LabelSet;
  readonly forStateKey: string;
}

interface AlertingRule extends RuleBase {
  readonly kind: 'alert';
  readonly data: AlertingRuleData;
  readonly def: AlertingDefinition;
  readonly active: Map<string, ActiveAlert>;
  /** firedAt of alerts restored from the state file, applied when they fire again. */
  readonly restoredFiredAt: Map<string, number>;
  /** The series written for each alert, kept so that steady evaluations build no label sets. */
  readonly series: WeakMap<ActiveAlert, AlertSeries>;
}

type Rule = RecordingRule | AlertingRule;

interface GroupState {
  readonly name: string;
  readonly intervalMs: number;
  readonly offsetMs: number;
  readonly rules: Rule[];
  timer?: ClockTimer;
  restored: boolean;
  lastEvaluation?: number;
}

/** FNV-1a 32 of the group name: the offset of its evaluations within the interval. */
function groupHash(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** Go's url.QueryEscape, which Prometheus's generatorURL uses. */
function queryEscape(text: string): string {
  return encodeURIComponent(text)
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%20/g, '+');
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function isRuleSet(value: unknown): value is AlertRuleSet {
  return (
    value !== null &&
    typeof value === 'object' &&
    Array.isArray((value as { groups?: unknown }).groups) &&
    typeof (value as { name?: unknown }).name === 'string'
  );
}

function isPrometheusOnly(rule: RecordingRuleData | AlertingRuleData): boolean {
  return (rule as { prometheusOnly?: unknown }).prometheusOnly === true;
}

function durationOf(factory: string, option: string, value: unknown, fallback: string): number {
  const text = value ?? fallback;
  const ms = typeof text === 'string' ? parseDuration(text) : undefined;
  if (ms === undefined || ms <= 0) {
    throw optionError(
      context(factory),
      'INVALID_DURATION',
      option,
      'a positive Prometheus duration, such as "15s" or "1m"',
      value,
    );
  }
  return ms;
}

function templateError(group: string, rule: string, where: string, e: TemplateSyntaxError): Error {
  return codedError(
    { pkg: PACKAGE },
    ALERTS_ERROR_CODES.RULES_UNSUPPORTED_TEMPLATE,
    `createRuleEngine(): the ${where} template of alert "${rule}" (group "${group}") cannot be expanded in the process: ${e.message}.`,
    'Use {{ $labels.NAME }}, {{ $value }}, {{ $externalLabels.NAME }}, {{ $externalURL }}, printf and the humanize functions, or mark the rule prometheusOnly.',
  );
}

function compileTemplates(
  group: string,
  rule: string,
  what: 'label' | 'annotation',
  record: Readonly<Record<string, string>>,
): (readonly [string, CompiledTemplate])[] {
  return Object.entries(record).map(([k, v]) => {
    try {
      return [k, compileTemplate(v)] as const;
    } catch (e) {
      if (e instanceof TemplateSyntaxError) throw templateError(group, rule, `${what} "${k}"`, e);
      throw e;
    }
  });
}

/** The engine, with the entry points the promtool runner uses. */
export class Engine implements RuleEngine {
  readonly storage: MemoryStorage;
  readonly groups: readonly GroupState[];
  readonly #mode: EngineMode;
  readonly #clock: Clock;
  readonly #notify: ((alerts: readonly PostableAlert[]) => void) | undefined;
  readonly #externalLabels: LabelSet;
  readonly #externalURL: string | undefined;
  readonly #stateFile: string | undefined;
  readonly #source: RegistrySource | undefined;
  readonly #metrics: RuleEngineMetrics;
  readonly #reporter: ReturnType<typeof createProblemReporter>;
  readonly #selectors: {
    matchers: CompiledExpr['selectors'][number];
    retentionMs: number;
    /** Read over a long range by a sum over time: per-interval sums aligned with the group. */
    rollup?: RollupSpec;
  }[] = [];
  readonly #retention = new Map<string, number>();
  /** Retention by label-set object: stored series hand the same object to every trim. */
  #retentionByObject = new WeakMap<LabelSet, number>();
  readonly #lookbackMs: number;
  #queue: Promise<void> = Promise.resolve();
  #started = false;
  #stopped = false;
  #lastScrape: number | undefined;
  #lastTrim = -Infinity;
  #lastStateWrite = -Infinity;
  #stateWriting: Promise<void> | undefined;
  #saved: SavedState | undefined;
  /** Notify calls that threw. */
  notifyFailures = 0;

  constructor(options: RuleEngineOptions, argCount: number, mode: EngineMode) {
    const factory = 'createRuleEngine';
    const ctx = context(factory);
    const o = readOptions<RuleEngineOptions>(ctx, options, argCount, KEYS);
    if (!isRuleSet(o.rules)) {
      throw optionError(ctx, 'INVALID_OPTION', 'rules', 'a rule set from defineAlerts()', o.rules);
    }
    const rules = o.rules;
    this.#mode = mode;
    const registry = mode.scrape
      ? registryOption(ctx, o.registry, { allowFalse: false })
      : (o.registry as RegistryLike | undefined);
    if (
      mode.scrape &&
      (registry === undefined ||
        registry === false ||
        typeof (registry as Partial<ScrapableRegistry>).getMetricsAsJSON !== 'function')
    ) {
      throw optionError(
        ctx,
        'INVALID_REGISTRY',
        'registry',
        'a prom-client Registry (with getMetricsAsJSON())',
        o.registry,
        'Install prom-client or pass its Registry.',
      );
    }
    const clock = o.clock ?? systemClock;
    if (typeof clock?.now !== 'function' || typeof clock.setTimer !== 'function') {
      throw optionError(ctx, 'INVALID_OPTION', 'clock', 'a Clock (now() and setTimer())', o.clock);
    }
    this.#clock = clock;
    const defaultIntervalMs = durationOf(factory, 'interval', o.interval, '15s');
    this.#lookbackMs = durationOf(factory, 'lookbackDelta', o.lookbackDelta, '5m');
    const selectorJob = (rules as { selector?: Readonly<Record<string, string>> }).selector?.job;
    const job = stringOption(
      ctx,
      'job',
      o.job,
      selectorJob ?? 'vigil',
      /^.+$/,
      'a non-empty string',
    );
    const instance = stringOption(
      ctx,
      'instance',
      o.instance,
      'localhost',
      /^.+$/,
      'a non-empty string',
    );
    this.#externalLabels = labelsOption(factory, 'externalLabels', o.externalLabels);
    if (
      o.externalURL !== undefined &&
      (typeof o.externalURL !== 'string' || !/^https?:\/\/[^\s]+$/.test(o.externalURL))
    ) {
      throw optionError(ctx, 'INVALID_OPTION', 'externalURL', 'an http(s) URL', o.externalURL);
    }
    this.#externalURL = o.externalURL?.replace(/\/+$/, '');
    if (o.stateFile !== undefined && (typeof o.stateFile !== 'string' || o.stateFile === '')) {
      throw optionError(ctx, 'INVALID_OPTION', 'stateFile', 'a file path', o.stateFile);
    }
    this.#stateFile = o.stateFile;
    this.#notify = functionOption<(alerts: readonly PostableAlert[]) => void>(
      ctx,
      'notify',
      o.notify,
    );
    this.#reporter = createProblemReporter(`${PACKAGE} rules`, loggerOption(ctx, o.logger));
    this.storage = new MemoryStorage(
      mode.retainAll ? {} : { rollupOf: (labels) => this.#rollupOf(labels) },
    );
    this.groups = rules.groups.map((g) => this.#compileGroup(g, defaultIntervalMs));
    this.#metrics = ruleEngineMetrics(registry === false ? undefined : registry);
    this.#source =
      mode.scrape && registry !== undefined && registry !== false
        ? new RegistrySource({
            registry: registry as unknown as ScrapableRegistry,
            job,
            instance,
            selected: (labels) => this.#selectors.some((s) => matchesAll(s.matchers, labels)),
            nameSelected: (name) =>
              this.#selectors.some((s) =>
                matchesAll(
                  s.matchers.filter((m) => m.name === '__name__'),
                  { __name__: name },
                ),
              ),
          })
        : undefined;
  }

  #compileGroup(g: RuleGroupData, defaultIntervalMs: number): GroupState {
    const intervalMs =
      g.interval === undefined
        ? defaultIntervalMs
        : (parseDuration(g.interval) ?? defaultIntervalMs);
    const group: GroupState = {
      name: g.name,
      intervalMs,
      offsetMs: groupHash(g.name) % intervalMs,
      rules: [],
      restored: false,
    };
    for (const r of g.rules) {
      const prometheusOnly = isPrometheusOnly(r);
      const compiled = prometheusOnly
        ? undefined
        : compile(r.expr, { lookbackDeltaMs: this.#lookbackMs });
      for (const read of compiled?.reads ?? []) {
        const retentionMs = read.lookbackMs + intervalMs;
        const { summable } = read;
        const rollup =
          summable !== undefined &&
          summable.rangeMs >= ROLLUP_MIN_RANGE_MS &&
          summable.rangeMs % intervalMs === 0 &&
          summable.offsetMs % intervalMs === 0
            ? { widthMs: intervalMs, phaseMs: group.offsetMs, retentionMs }
            : undefined;
        this.#selectors.push(
          rollup === undefined
            ? { matchers: read.matchers, retentionMs }
            : { matchers: read.matchers, retentionMs, rollup },
        );
      }
      const base = {
        group,
        expr: r.expr,
        compiled,
        prometheusOnly,
        previous: new Map<string, LabelSet>(),
        health: 'unknown' as const,
      };
      if ('alert' in r) {
        const labels = compileTemplates(g.name, r.alert, 'label', r.labels);
        const annotations = compileTemplates(g.name, r.alert, 'annotation', r.annotations);
        group.rules.push({
          ...base,
          kind: 'alert',
          data: r,
          def: {
            name: r.alert,
            forMs: r.for === undefined ? 0 : (parseDuration(r.for) ?? 0),
            keepFiringForMs:
              r.keep_firing_for === undefined ? 0 : (parseDuration(r.keep_firing_for) ?? 0),
            labels,
            annotations,
            externalLabels: this.#externalLabels,
            externalURL: this.#externalURL ?? '',
          },
          active: new Map(),
          restoredFiredAt: new Map(),
          series: new WeakMap(),
        });
      } else {
        group.rules.push({ ...base, kind: 'record', data: r, outputs: new WeakMap() });
      }
    }
    return group;
  }

  start(): void {
    if (this.#started || this.#stopped) return;
    this.#started = true;
    if (this.#stateFile !== undefined) {
      const saved = readStateFile(this.#stateFile);
      if (saved instanceof Error) this.#reporter.report('state file unreadable', saved);
      else this.#saved = saved;
    }
    const now = this.#clock.now();
    for (const g of this.groups) {
      // Group.EvalTimestamp: the last aligned time at or before now; the first run is one interval later.
      const adj = now - g.offsetMs;
      const base = adj - (((adj % g.intervalMs) + g.intervalMs) % g.intervalMs);
      this.#schedule(g, base + g.offsetMs + g.intervalMs);
    }
  }

  #schedule(g: GroupState, at: number): void {
    g.timer = this.#clock.setTimer(() => {
      if (this.#stopped) return;
      const now = this.#clock.now();
      let next = at + g.intervalMs;
      // Iterations missed (a blocked process) are skipped, as Prometheus skips them.
      if (next <= now) next += Math.ceil((now - next + 1) / g.intervalMs) * g.intervalMs;
      this.#schedule(g, next);
      void this.#enqueue(() => this.#evaluateGroup(g, at));
    }, at - this.#clock.now());
  }

  #enqueue(fn: () => Promise<void>): Promise<void> {
    // One evaluation at a time, and a turn of the event loop after each, so requests run in between.
    const run = this.#queue
      .then(fn)
      .catch((e: unknown) => this.#reporter.report('evaluation', e))
      .then(yieldToEventLoop);
    this.#queue = run;
    return run;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    for (const g of this.groups) g.timer?.cancel();
    await this.#queue;
    if (this.#started && this.#stateFile !== undefined) await this.#writeState(true);
  }

  evaluateNow(): Promise<void> {
    const ts = this.#clock.now();
    return this.#enqueue(async () => {
      for (const g of this.groups) {
        await this.#evaluateGroup(g, ts);
        await yieldToEventLoop();
      }
    });
  }

  settled(): Promise<void> {
    return this.#queue;
  }

  /** Evaluates every group at `ts` in order, without scraping (the promtool runner). */
  evaluateAllAt(ts: number): void {
    for (const g of this.groups) this.#evaluateRules(g, ts);
  }

  async #evaluateGroup(g: GroupState, ts: number): Promise<void> {
    const slicer = new Slicer(SLICE_BUDGET_MS);
    if (this.#source !== undefined && this.#lastScrape !== ts) {
      this.#lastScrape = ts;
      try {
        await this.#source.scrape(ts, this.storage, () => slicer.pause());
      } catch (e) {
        this.#reporter.report('registry scrape failed', e);
      }
    }
    const restoring = !g.restored;
    for (const rule of g.rules) {
      this.#evaluateRule(g, rule, ts);
      await slicer.pause();
    }
    this.#finishGroup(g, ts, restoring);
    if (!this.#mode.retainAll && ts - this.#lastTrim >= TRIM_INTERVAL_MS) {
      this.#lastTrim = ts;
      this.storage.trim(ts, (labels) => this.#retentionOf(labels));
      if (this.#retention.size > 100_000) {
        this.#retention.clear();
        this.#retentionByObject = new WeakMap();
      }
    }
    this.#metrics.observeGroup(g.name, slicer.end() / 1000, ts);
    this.#metrics.storage(this.storage.seriesCount, this.storage.sampleCount, this.storage.bytes);
    if (this.#stateFile !== undefined && ts - this.#lastStateWrite >= STATE_WRITE_INTERVAL_MS) {
      this.#lastStateWrite = ts;
      await this.#writeState(false);
    }
  }

  /** One evaluation of a group's rules at `ts`, without a pause (the promtool runner). */
  #evaluateRules(g: GroupState, ts: number): void {
    const restoring = !g.restored;
    for (const rule of g.rules) this.#evaluateRule(g, rule, ts);
    this.#finishGroup(g, ts, restoring);
  }

  /** One rule of Prometheus's Group.Eval: evaluate, write, mark what it stopped writing stale. */
  #evaluateRule(g: GroupState, rule: Rule, ts: number): void {
    if (rule.prometheusOnly || rule.compiled === undefined) return;
    const t0 = performance.now();
    try {
      const written = rule.kind === 'record' ? this.#record(rule, ts) : this.#alert(rule, ts);
      for (const [key, labels] of rule.previous) {
        if (!written.has(key)) this.storage.appendStale(labels, ts);
      }
      rule.previous = written;
      rule.health = 'ok';
      delete rule.lastError;
    } catch (e) {
      rule.health = 'err';
      rule.lastError = e instanceof Error ? e.message : String(e);
      this.#metrics.ruleFailed(g.name, rule.kind === 'record' ? rule.data.record : rule.data.alert);
    }
    rule.lastEvaluation = ts;
    rule.evaluationSeconds = (performance.now() - t0) / 1000;
  }

  /** After a group's rules: the first time, restore `for` state; then sendAlerts. */
  #finishGroup(g: GroupState, ts: number, restoring: boolean): void {
    g.lastEvaluation = ts;
    if (restoring) {
      this.#restore(g, ts);
      g.restored = true;
    }
    this.#send(g, ts);
    this.#updateFiring();
  }

  #query(rule: Rule, ts: number): readonly RuleSample[] {
    const result = evaluate(rule.compiled as CompiledExpr, ts, this.storage);
    if ('error' in result) {
      const err: unknown = result.error;
      throw err instanceof Error ? err : new Error(String(err));
    }
    if (result.type === 'vector') return result.samples;
    if (result.type === 'scalar') return [{ labels: {}, value: result.value }];
    throw new Error('rule result is not a vector or scalar');
  }

  #record(rule: RecordingRule, ts: number): Map<string, LabelSet> {
    const samples = this.#query(rule, ts);
    const out = new Map<string, { labels: LabelSet; value: number }>();
    for (const s of samples) {
      let output = rule.outputs.get(s.labels);
      if (output === undefined) {
        const lb: Record<string, string> = { ...s.labels, __name__: rule.data.record };
        for (const [k, v] of Object.entries(rule.data.labels ?? {})) {
          if (v === '') delete lb[k];
          else lb[k] = v;
        }
        output = { labels: sortedLabels(lb), key: labelsKey(lb) };
        rule.outputs.set(s.labels, output);
      }
      const key = output.key;
      if (out.has(key))
        throw new Error(
          'vector contains metrics with the same labelset after applying rule labels',
        );
      out.set(key, { labels: output.labels, value: s.value });
    }
    const written = new Map<string, LabelSet>();
    for (const [key, s] of out) {
      this.storage.append(s.labels, ts, s.value);
      written.set(key, s.labels);
    }
    return written;
  }

  #alert(rule: AlertingRule, ts: number): Map<string, LabelSet> {
    const samples = this.#query(rule, ts);
    let live: ActiveAlert[];
    try {
      live = applyEvaluation(rule.def, rule.active, samples, ts);
    } catch (e) {
      if (e instanceof DuplicateAlertError) throw new Error(e.message);
      throw e;
    }
    const written = new Map<string, LabelSet>();
    for (const a of live) {
      if (a.state === 'firing' && a.firedAt === ts) {
        const firedAt = rule.restoredFiredAt.get(a.fingerprint);
        if (firedAt !== undefined) a.firedAt = firedAt;
      }
      if (this.#mode.alertSeries === 'restored' && !rule.group.restored) continue;
      let series = rule.series.get(a);
      if (series === undefined || series.state !== a.state) {
        const alerts = sortedLabels({ ...a.labels, __name__: 'ALERTS', alertstate: a.state });
        const forState =
          series?.forState ?? sortedLabels({ ...a.labels, __name__: 'ALERTS_FOR_STATE' });
        series = {
          state: a.state,
          alerts,
          alertsKey: labelsKey(alerts),
          forState,
          forStateKey: series?.forStateKey ?? labelsKey(forState),
        };
        rule.series.set(a, series);
      }
      this.storage.append(series.alerts, ts, 1);
      this.storage.append(series.forState, ts, Math.floor(a.activeAt / 1000));
      written.set(series.alertsKey, series.alerts);
      written.set(series.forStateKey, series.forState);
    }
    rule.restoredFiredAt.clear();
    return written;
  }

  /**
   * Group.RestoreForState, from the state file instead of ALERTS_FOR_STATE: run once after a group's
   * first evaluation. The time the file was written stands for the time Prometheus went down.
   */
  #restore(g: GroupState, ts: number): void {
    const saved = this.#saved;
    if (saved === undefined || ts - saved.savedAt > OUTAGE_TOLERANCE_MS) return;
    for (const rule of g.rules) {
      if (rule.kind !== 'alert' || rule.def.forMs < FOR_GRACE_PERIOD_MS) continue;
      for (const a of rule.active.values()) {
        const s = saved.alerts.find(
          (x) => x.group === g.name && x.rule === rule.def.name && x.fingerprint === a.fingerprint,
        );
        if (s === undefined) continue;
        const downAt = saved.savedAt;
        const remaining = rule.def.forMs - (downAt - s.activeAt);
        if (remaining <= 0) {
          a.activeAt = s.activeAt;
          if (s.firedAt !== undefined) rule.restoredFiredAt.set(a.fingerprint, s.firedAt);
        } else if (remaining < FOR_GRACE_PERIOD_MS) {
          a.activeAt = ts + FOR_GRACE_PERIOD_MS - rule.def.forMs;
        } else {
          a.activeAt = s.activeAt + (ts - downAt);
        }
      }
    }
  }

  #send(g: GroupState, ts: number): void {
    if (this.#notify === undefined) {
      // Still mark alerts sent, so alerts() and a later notify agree with Prometheus's timeline.
      for (const rule of g.rules)
        if (rule.kind === 'alert') dueAlerts(rule.active, ts, RESEND_DELAY_MS, g.intervalMs);
      return;
    }
    const out: PostableAlert[] = [];
    for (const rule of g.rules) {
      if (rule.kind !== 'alert') continue;
      for (const a of dueAlerts(rule.active, ts, RESEND_DELAY_MS, g.intervalMs)) {
        const labels: Record<string, string> = { ...a.labels };
        for (const [k, v] of Object.entries(this.#externalLabels))
          if ((labels[k] ?? '') === '') labels[k] = v;
        out.push({
          labels,
          annotations: a.annotations,
          startsAt: iso(a.firedAt ?? a.activeAt),
          endsAt: iso(a.resolvedAt ?? a.validUntil ?? ts),
          ...(this.#externalURL === undefined
            ? {}
            : {
                generatorURL: `${this.#externalURL}/graph?g0.expr=${queryEscape(rule.expr)}&g0.tab=1`,
              }),
        });
      }
    }
    if (out.length === 0) return;
    try {
      this.#notify(out);
    } catch (e) {
      this.notifyFailures++;
      this.#metrics.notifyFailed();
      this.#reporter.report('notify threw', e);
    }
  }

  #updateFiring(): void {
    const counts = new Map<string, { alertname: string; severity: string; n: number }>();
    for (const g of this.groups) {
      for (const rule of g.rules) {
        if (rule.kind !== 'alert') continue;
        for (const a of rule.active.values()) {
          if (a.state !== 'firing') continue;
          const severity = a.labels.severity ?? '';
          const key = `${rule.def.name}\u0000${severity}`;
          const c = counts.get(key);
          if (c === undefined) counts.set(key, { alertname: rule.def.name, severity, n: 1 });
          else c.n++;
        }
      }
    }
    this.#metrics.setFiring(counts);
  }

  #retentionOf(labels: LabelSet): number {
    if (this.#mode.retainAll) return Infinity;
    const known = this.#retentionByObject.get(labels);
    if (known !== undefined) return known;
    const key = labelsKey(labels);
    let ms = this.#retention.get(key);
    if (ms === undefined) {
      // Series no rule reads (ALERTS, unread records) stay one lookback so instant queries see them.
      ms = this.#lookbackMs;
      const rollup = this.#rollupOf(labels);
      // Raw samples for every other read, and for at least two intervals of the sums.
      if (rollup !== undefined) ms = Math.max(ms, 2 * rollup.widthMs);
      for (const s of this.#selectors) {
        if (rollup !== undefined && s.rollup !== undefined) continue;
        if (s.retentionMs > ms && matchesAll(s.matchers, labels)) ms = s.retentionMs;
      }
      this.#retention.set(key, ms);
    }
    this.#retentionByObject.set(labels, ms);
    return ms;
  }

  /**
   * The per-interval sums a series keeps: those of the long sums over time reading it, when they
   * agree on the intervals (one group's); none when they disagree, and every read is answered raw.
   */
  #rollupOf(labels: LabelSet): RollupSpec | undefined {
    let spec: RollupSpec | undefined;
    for (const s of this.#selectors) {
      if (s.rollup === undefined || !matchesAll(s.matchers, labels)) continue;
      if (spec === undefined) spec = s.rollup;
      else if (spec.widthMs !== s.rollup.widthMs || spec.phaseMs !== s.rollup.phaseMs)
        return undefined;
      else if (s.rollup.retentionMs > spec.retentionMs) spec = s.rollup;
    }
    return spec;
  }

  async #writeState(final: boolean): Promise<void> {
    if (this.#stateFile === undefined) return;
    if (this.#stateWriting !== undefined) {
      if (!final) return;
      await this.#stateWriting;
    }
    const state: SavedState = {
      version: STATE_FILE_VERSION,
      savedAt: this.#clock.now(),
      alerts: this.groups.flatMap((g) =>
        g.rules.flatMap((rule) =>
          rule.kind !== 'alert'
            ? []
            : [...rule.active.values()]
                .filter((a) => a.state !== 'inactive')
                .map((a) => ({
                  group: g.name,
                  rule: rule.def.name,
                  fingerprint: a.fingerprint,
                  state: a.state as 'pending' | 'firing',
                  activeAt: a.activeAt,
                  ...(a.firedAt === undefined ? {} : { firedAt: a.firedAt }),
                  ...(a.keepFiringSince === undefined
                    ? {}
                    : { keepFiringSince: a.keepFiringSince }),
                })),
        ),
      ),
    };
    const write = writeStateFile(this.#stateFile, state).catch((e: unknown) =>
      this.#reporter.report('state file not written', e),
    );
    this.#stateWriting = write;
    await write;
    this.#stateWriting = undefined;
  }

  alerts(): readonly EngineAlert[] {
    const out: EngineAlert[] = [];
    for (const g of this.groups) {
      for (const rule of g.rules) {
        if (rule.kind !== 'alert') continue;
        for (const a of rule.active.values()) {
          out.push({
            fingerprint: a.fingerprint,
            labels: a.labels,
            annotations: a.annotations,
            state: a.state,
            activeAt: iso(a.activeAt),
            ...(a.firedAt === undefined ? {} : { firedAt: iso(a.firedAt) }),
            ...(a.resolvedAt === undefined ? {} : { resolvedAt: iso(a.resolvedAt) }),
            value: a.value,
            rule: rule.def.name,
            group: g.name,
          });
        }
      }
    }
    return out;
  }

  /** The firing alerts of alerting rules named `name` (the promtool runner's view). */
  firingOf(name: string): ActiveAlert[] {
    const out: ActiveAlert[] = [];
    for (const g of this.groups)
      for (const rule of g.rules)
        if (rule.kind === 'alert' && rule.def.name === name)
          for (const a of rule.active.values()) if (a.state === 'firing') out.push(a);
    return out;
  }

  rules(): readonly RuleView[] {
    return this.groups.flatMap((g) =>
      g.rules.map((rule): RuleView => {
        let state: RuleView['state'];
        if (rule.kind === 'alert') {
          state = 'inactive';
          for (const a of rule.active.values()) {
            if (a.state === 'firing') state = 'firing';
            else if (a.state === 'pending' && state === 'inactive') state = 'pending';
          }
        }
        return {
          name: rule.kind === 'alert' ? rule.data.alert : rule.data.record,
          group: g.name,
          type: rule.kind === 'alert' ? 'alerting' : 'recording',
          expr: rule.expr,
          ...(rule.kind === 'alert' && rule.data.for !== undefined ? { for: rule.data.for } : {}),
          ...(rule.kind === 'alert' && rule.data.keep_firing_for !== undefined
            ? { keepFiringFor: rule.data.keep_firing_for }
            : {}),
          labels: rule.kind === 'alert' ? rule.data.labels : (rule.data.labels ?? {}),
          annotations: rule.kind === 'alert' ? rule.data.annotations : {},
          health: rule.prometheusOnly ? 'unknown' : rule.health,
          ...(rule.lastError === undefined ? {} : { lastError: rule.lastError }),
          ...(rule.lastEvaluation === undefined
            ? {}
            : { lastEvaluation: iso(rule.lastEvaluation) }),
          ...(rule.evaluationSeconds === undefined
            ? {}
            : { evaluationSeconds: rule.evaluationSeconds }),
          ...(state === undefined ? {} : { state }),
          prometheusOnly: rule.prometheusOnly,
        };
      }),
    );
  }

  /** The group intervals, by name (documentation, tests). */
  intervals(): Readonly<Record<string, string>> {
    return Object.fromEntries(this.groups.map((g) => [g.name, formatDuration(g.intervalMs)]));
  }
}

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Work longer than this without a turn of the event loop is split (the scrape, a group's rules). */
export const SLICE_BUDGET_MS = 2;

/**
 * Splits an evaluation into slices of about `budget` ms with a turn of the event loop between them,
 * and adds up the time spent working (pauses left out).
 */
class Slicer {
  #busy = 0;
  #start = performance.now();

  constructor(private readonly budget: number) {}

  /** Yields to the event loop when the current slice is over budget. */
  async pause(): Promise<void> {
    const now = performance.now();
    if (now - this.#start < this.budget) return;
    this.#busy += now - this.#start;
    await yieldToEventLoop();
    this.#start = performance.now();
  }

  /** Milliseconds of work, pauses left out. */
  end(): number {
    return this.#busy + (performance.now() - this.#start);
  }
}

/**
 * Prometheus's rule manager in the process: evaluates every group of `rules` at its interval over the
 * registry's own series, runs the alert state machine, and calls `notify` as Prometheus's notifier
 * would post to Alertmanager. Options are checked here, with coded errors.
 */
export function createRuleEngine(options: RuleEngineOptions): RuleEngine {
  return new Engine(options, arguments.length, SERVICE_MODE);
}
