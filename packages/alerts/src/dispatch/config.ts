// alertmanager.yml as the dispatcher reads it: the snake_case input shape, its validation with coded
// errors, and the resolved route tree with Alertmanager 0.25's inheritance of route options.
import { readFileSync } from 'node:fs';
import { optionError } from '@vigil/core';
import { parse as parseYaml } from 'yaml';
import { parseDuration } from '../duration';
import { context } from '../errors';
import type { LabelSet } from '../model';
import {
  type CompiledMatcher,
  LABEL_NAME,
  compareMatchers,
  formatMatchers,
  matchesAll,
  newMatcher,
  parseMatchers,
} from './matchers';
import { type TimeInterval, compileTimeIntervals } from './time-intervals';

/** One route of alertmanager.yml, as Alertmanager reads it. */
export interface RouteInput {
  /** Inherited from the parent route when absent; required on the root route. */
  readonly receiver?: string;
  /** Labels alerts are grouped by; `['...']` groups by every label. Inherited when absent. */
  readonly group_by?: readonly string[];
  /** Keep matching the following sibling routes after this one matched. Default false. */
  readonly continue?: boolean;
  /** Alertmanager 0.22+ matchers: `name="value"`, `name!="value"`, `name=~"re"`, `name!~"re"`. */
  readonly matchers?: readonly string[];
  /** The old equality matchers. */
  readonly match?: Readonly<Record<string, string>>;
  /** The old regex matchers (anchored). */
  readonly match_re?: Readonly<Record<string, string>>;
  /** Default 30s (inherited). */
  readonly group_wait?: string;
  /** Default 5m (inherited). */
  readonly group_interval?: string;
  /** Default 4h (inherited). */
  readonly repeat_interval?: string;
  /** Names of time intervals during which the route's notifications are muted. */
  readonly mute_time_intervals?: readonly string[];
  /** Names of time intervals outside which the route's notifications are muted. */
  readonly active_time_intervals?: readonly string[];
  readonly routes?: readonly RouteInput[];
}

/** One inhibit rule: firing alerts matching the source mute alerts matching the target. */
export interface InhibitRuleInput {
  readonly source_matchers?: readonly string[];
  readonly target_matchers?: readonly string[];
  readonly source_match?: Readonly<Record<string, string>>;
  readonly source_match_re?: Readonly<Record<string, string>>;
  readonly target_match?: Readonly<Record<string, string>>;
  readonly target_match_re?: Readonly<Record<string, string>>;
  /** Labels whose values must be equal in the source and the target. */
  readonly equal?: readonly string[];
}

/** A receiver: its name; the integrations inside are passed through to the receivers untouched. */
export interface ReceiverInput {
  readonly name: string;
  readonly [integration: string]: unknown;
}

/** A named list of time intervals (`time_intervals` or the older `mute_time_intervals`). */
export interface TimeIntervalsInput {
  readonly name: string;
  readonly time_intervals: readonly Readonly<Record<string, unknown>>[];
}

/** alertmanager.yml as an object, the way Alertmanager reads it (snake_case keys). */
export interface AlertmanagerConfigInput {
  /** Only `resolve_timeout` (default 5m) is read; other keys are passed through. */
  readonly global?: Readonly<Record<string, unknown>>;
  readonly route: RouteInput;
  readonly inhibit_rules?: readonly InhibitRuleInput[];
  readonly receivers?: readonly ReceiverInput[];
  /** Ignored: messages are rendered by the receivers. */
  readonly templates?: readonly string[];
  readonly time_intervals?: readonly TimeIntervalsInput[];
  readonly mute_time_intervals?: readonly TimeIntervalsInput[];
}

/** A route of the resolved tree. */
export interface RouteNode {
  readonly receiver: string;
  readonly groupBy: ReadonlySet<string>;
  readonly groupByAll: boolean;
  readonly groupWait: number;
  readonly groupInterval: number;
  readonly repeatInterval: number;
  readonly matchers: readonly CompiledMatcher[];
  readonly continue: boolean;
  readonly muteTimeIntervals: readonly string[];
  readonly activeTimeIntervals: readonly string[];
  readonly routes: readonly RouteNode[];
  /** `{}/{severity="critical"}`, as Route.Key() writes it. */
  readonly key: string;
}

/** An inhibit rule, compiled. */
export interface InhibitRule {
  readonly source: readonly CompiledMatcher[];
  readonly target: readonly CompiledMatcher[];
  readonly equal: readonly string[];
}

/** The configuration, validated and resolved. */
export interface DispatchConfig {
  readonly route: RouteNode;
  readonly inhibitRules: readonly InhibitRule[];
  readonly receivers: ReadonlyMap<string, ReceiverInput>;
  readonly resolveTimeout: number;
  readonly timeIntervals: ReadonlyMap<string, readonly TimeInterval[]>;
}

const FACTORY = 'createDispatcher';
const CTX = context(FACTORY);

const ROOT_KEYS = [
  'global',
  'route',
  'inhibit_rules',
  'receivers',
  'templates',
  'time_intervals',
  'mute_time_intervals',
];
const ROUTE_KEYS = [
  'receiver',
  'group_by',
  'continue',
  'matchers',
  'match',
  'match_re',
  'group_wait',
  'group_interval',
  'repeat_interval',
  'mute_time_intervals',
  'active_time_intervals',
  'routes',
];
const INHIBIT_KEYS = [
  'source_matchers',
  'target_matchers',
  'source_match',
  'source_match_re',
  'target_match',
  'target_match_re',
  'equal',
];

const DEFAULTS = { groupWait: 30_000, groupInterval: 300_000, repeatInterval: 4 * 3600_000 };

function invalid(path: string, expected: string, received: unknown, fix?: string): Error {
  return optionError(CTX, 'DISPATCH_INVALID_CONFIG', path, expected, received, fix);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkKeys(value: Record<string, unknown>, path: string, known: readonly string[]): void {
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) {
      throw invalid(
        `${path}.${key}`,
        `absent: Alertmanager refuses unknown fields, the known ones are ${known.join(', ')}`,
        key,
        'Check the spelling of the key.',
      );
    }
  }
}

function stringList(value: unknown, path: string): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) {
    throw invalid(path, 'a list of strings', value);
  }
  return value as string[];
}

function stringMap(value: unknown, path: string): Record<string, string> | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isRecord(value) || Object.values(value).some((v) => typeof v !== 'string')) {
    throw invalid(path, 'a map of label names to strings', value);
  }
  return value as Record<string, string>;
}

function duration(value: unknown, path: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  const ms = typeof value === 'string' ? parseDuration(value) : undefined;
  if (ms === undefined) {
    throw optionError(
      CTX,
      'DISPATCH_INVALID_DURATION',
      path,
      'a Prometheus duration such as 30s, 5m or 4h',
      value,
    );
  }
  return ms;
}

/** Compiles `matchers`, `match` and `match_re` of one place into one sorted list, as NewRoute does. */
function compileMatchers(
  lines: readonly string[] | undefined,
  match: Record<string, string> | undefined,
  matchRe: Record<string, string> | undefined,
  path: string,
  keys: { matchers: string; match: string; matchRe: string },
): CompiledMatcher[] {
  const out: CompiledMatcher[] = [];
  const push = (m: CompiledMatcher | string, where: string, text: string): void => {
    if (typeof m === 'string') {
      throw optionError(
        CTX,
        'DISPATCH_INVALID_MATCHER',
        where,
        `a matcher as Alertmanager parses it (name="value", name!="value", name=~"regex", name!~"regex"): ${m}`,
        text,
      );
    }
    out.push(m);
  };
  for (const [name, value] of Object.entries(match ?? {})) {
    if (!LABEL_NAME.test(name)) throw invalid(`${path}.${keys.match}`, 'label names', name);
    push(newMatcher(name, '=', value), `${path}.${keys.match}.${name}`, value);
  }
  for (const [name, value] of Object.entries(matchRe ?? {})) {
    if (!LABEL_NAME.test(name)) throw invalid(`${path}.${keys.matchRe}`, 'label names', name);
    push(newMatcher(name, '=~', value), `${path}.${keys.matchRe}.${name}`, value);
  }
  (lines ?? []).forEach((line, i) => {
    const parsed = parseMatchers(line);
    const where = `${path}.${keys.matchers}[${i}]`;
    if (typeof parsed === 'string') push(parsed, where, line);
    else for (const m of parsed) push(m, where, line);
  });
  return out.sort(compareMatchers);
}

/** Parses matcher strings given outside the config (silences, maintenance windows). */
export function compileMatcherList(
  lines: readonly string[],
  path: string,
  code: 'DISPATCH_INVALID_MATCHER' | 'DISPATCH_INVALID_SILENCE' | 'DISPATCH_INVALID_MAINTENANCE',
): CompiledMatcher[] {
  const out: CompiledMatcher[] = [];
  lines.forEach((line, i) => {
    const parsed = typeof line === 'string' ? parseMatchers(line) : 'not a string';
    if (typeof parsed === 'string') {
      throw optionError(
        CTX,
        code,
        `${path}[${i}]`,
        `a matcher as Alertmanager parses it (name="value", name!="value", name=~"regex", name!~"regex"): ${parsed}`,
        line,
      );
    }
    out.push(...parsed);
  });
  return out;
}

interface Inherited {
  receiver: string;
  groupBy: ReadonlySet<string>;
  groupByAll: boolean;
  groupWait: number;
  groupInterval: number;
  repeatInterval: number;
}

function buildRoute(
  raw: unknown,
  path: string,
  parent: Inherited | undefined,
  parentKey: string | undefined,
  seen: { receivers: Set<string>; intervals: Set<string> },
): RouteNode {
  if (!isRecord(raw)) throw invalid(path, 'a route object', raw);
  checkKeys(raw, path, ROUTE_KEYS);
  const receiver = raw.receiver;
  if (receiver !== undefined && (typeof receiver !== 'string' || receiver === '')) {
    throw invalid(`${path}.receiver`, 'a receiver name', receiver);
  }
  const groupByRaw = stringList(raw.group_by, `${path}.group_by`);
  let groupBy = parent?.groupBy ?? new Set<string>();
  let groupByAll = parent?.groupByAll ?? false;
  // An empty list inherits like an absent one: Alertmanager 0.25 only overrides when it read labels.
  if (groupByRaw !== undefined && groupByRaw.length > 0) {
    groupByAll = groupByRaw.includes('...');
    const names = groupByRaw.filter((n) => n !== '...');
    if (groupByAll && names.length > 0) {
      throw invalid(
        `${path}.group_by`,
        "either ['...'] or a list of label names",
        groupByRaw,
        'Alertmanager refuses the wildcard together with other labels.',
      );
    }
    for (const n of names) {
      if (!LABEL_NAME.test(n)) throw invalid(`${path}.group_by`, 'valid label names', n);
    }
    if (new Set(names).size !== names.length) {
      throw invalid(`${path}.group_by`, 'label names without duplicates', groupByRaw);
    }
    groupBy = new Set(names);
  }
  const groupWait = duration(raw.group_wait, `${path}.group_wait`);
  const groupInterval = duration(raw.group_interval, `${path}.group_interval`);
  const repeatInterval = duration(raw.repeat_interval, `${path}.repeat_interval`);
  if (groupInterval === 0) throw invalid(`${path}.group_interval`, 'a duration above 0', '0');
  if (repeatInterval === 0) throw invalid(`${path}.repeat_interval`, 'a duration above 0', '0');
  if (raw.continue !== undefined && typeof raw.continue !== 'boolean') {
    throw invalid(`${path}.continue`, 'true or false', raw.continue);
  }
  const matchers = compileMatchers(
    stringList(raw.matchers, `${path}.matchers`),
    stringMap(raw.match, `${path}.match`),
    stringMap(raw.match_re, `${path}.match_re`),
    path,
    { matchers: 'matchers', match: 'match', matchRe: 'match_re' },
  );
  const mute = stringList(raw.mute_time_intervals, `${path}.mute_time_intervals`) ?? [];
  const active = stringList(raw.active_time_intervals, `${path}.active_time_intervals`) ?? [];
  if (parent === undefined) {
    if (receiver === undefined) {
      throw invalid(`${path}.receiver`, 'the receiver of the root route', undefined);
    }
    if (matchers.length > 0) {
      throw invalid(
        `${path}.matchers`,
        'absent: the root route must not have any matchers',
        matchers.length,
      );
    }
    if (raw.continue === true) throw invalid(`${path}.continue`, 'absent on the root route', true);
    if (mute.length > 0 || active.length > 0) {
      throw invalid(
        `${path}.mute_time_intervals`,
        'absent on the root route',
        mute.length > 0 ? mute : active,
      );
    }
  }
  for (const [i, name] of [...mute, ...active].entries()) {
    if (!seen.intervals.has(name)) {
      throw invalid(
        `${path}.${i < mute.length ? 'mute' : 'active'}_time_intervals`,
        `names of time intervals defined under time_intervals (${[...seen.intervals].join(', ') || 'none'})`,
        name,
      );
    }
  }
  const resolved: Inherited = {
    receiver: receiver ?? parent?.receiver ?? '',
    groupBy,
    groupByAll,
    groupWait: groupWait ?? parent?.groupWait ?? DEFAULTS.groupWait,
    groupInterval: groupInterval ?? parent?.groupInterval ?? DEFAULTS.groupInterval,
    repeatInterval: repeatInterval ?? parent?.repeatInterval ?? DEFAULTS.repeatInterval,
  };
  if (!seen.receivers.has(resolved.receiver)) {
    throw optionError(
      CTX,
      'DISPATCH_UNKNOWN_RECEIVER',
      `${path}.receiver`,
      `the name of a receiver of "receivers" (${[...seen.receivers].join(', ') || 'none defined'})`,
      resolved.receiver,
      'Add the receiver to "receivers" or fix the name.',
    );
  }
  const key = (parentKey === undefined ? '' : `${parentKey}/`) + formatMatchers(matchers);
  const children = raw.routes;
  if (children !== undefined && children !== null && !Array.isArray(children)) {
    throw invalid(`${path}.routes`, 'a list of routes', children);
  }
  const routes = ((children ?? []) as unknown[]).map((c, i) =>
    buildRoute(c, `${path}.routes[${i}]`, resolved, key, seen),
  );
  return {
    ...resolved,
    matchers,
    continue: raw.continue === true,
    muteTimeIntervals: mute,
    activeTimeIntervals: active,
    routes,
    key,
  };
}

/**
 * The routes an alert with `labels` goes to, in order (Route.Match): a route matches when its matchers
 * do; its children are tried in order, stopping after the first match without `continue`; a matching
 * route none of whose children match is itself the destination.
 */
export function matchRoutes(route: RouteNode, labels: LabelSet): RouteNode[] {
  if (!matchesAll(route.matchers, labels)) return [];
  const all: RouteNode[] = [];
  for (const child of route.routes) {
    const matches = matchRoutes(child, labels);
    all.push(...matches);
    if (matches.length > 0 && !child.continue) break;
  }
  if (all.length === 0) all.push(route);
  return all;
}

/** Reads a YAML text, a path to a YAML file (one line ending in .yml/.yaml), or an object. */
function toObject(config: unknown): unknown {
  if (typeof config !== 'string') return config;
  let text = config;
  if (!config.includes('\n') && /\.ya?ml$/.test(config.trim())) {
    try {
      text = readFileSync(config.trim(), 'utf8');
    } catch (e) {
      throw invalid(
        'config',
        'an object, YAML text or the path of a readable YAML file',
        config,
        (e as Error).message,
      );
    }
  }
  try {
    return parseYaml(text) as unknown;
  } catch (e) {
    throw invalid('config', 'valid YAML', (e as Error).message.split('\n')[0]);
  }
}

/** Validates alertmanager.yml (object, YAML text or file path) and resolves its route tree. */
export function resolveConfig(input: unknown): DispatchConfig {
  const raw = toObject(input);
  if (!isRecord(raw)) throw invalid('config', 'an alertmanager.yml object or its YAML text', raw);
  checkKeys(raw, 'config', ROOT_KEYS);
  const receivers = new Map<string, ReceiverInput>();
  const rawReceivers = raw.receivers ?? [];
  if (!Array.isArray(rawReceivers))
    throw invalid('config.receivers', 'a list of receivers', rawReceivers);
  rawReceivers.forEach((r: unknown, i) => {
    if (!isRecord(r) || typeof r.name !== 'string' || r.name === '') {
      throw invalid(`config.receivers[${i}]`, 'a receiver with a name', r);
    }
    if (receivers.has(r.name)) {
      throw invalid(`config.receivers[${i}].name`, 'a receiver name used once', r.name);
    }
    receivers.set(r.name, r as ReceiverInput);
  });
  const timeIntervals = compileTimeIntervals(
    [
      ...((Array.isArray(raw.time_intervals) ? raw.time_intervals : []) as unknown[]),
      ...((Array.isArray(raw.mute_time_intervals) ? raw.mute_time_intervals : []) as unknown[]),
    ],
    (path, expected, received) => invalid(`config.${path}`, expected, received),
  );
  const global = raw.global;
  if (global !== undefined && global !== null && !isRecord(global)) {
    throw invalid('config.global', 'an object', global);
  }
  const resolveTimeout =
    duration(
      isRecord(global) ? global.resolve_timeout : undefined,
      'config.global.resolve_timeout',
    ) ?? 300_000;
  if (raw.route === undefined || raw.route === null) {
    throw invalid('config.route', 'the root route (with at least a receiver)', raw.route);
  }
  const route = buildRoute(raw.route, 'config.route', undefined, undefined, {
    receivers: new Set(receivers.keys()),
    intervals: new Set(timeIntervals.keys()),
  });
  const rawInhibit = raw.inhibit_rules ?? [];
  if (!Array.isArray(rawInhibit))
    throw invalid('config.inhibit_rules', 'a list of inhibit rules', rawInhibit);
  const inhibitRules = rawInhibit.map((r: unknown, i): InhibitRule => {
    const path = `config.inhibit_rules[${i}]`;
    if (!isRecord(r)) throw invalid(path, 'an inhibit rule object', r);
    checkKeys(r, path, INHIBIT_KEYS);
    const equal = stringList(r.equal, `${path}.equal`) ?? [];
    for (const n of equal)
      if (!LABEL_NAME.test(n)) throw invalid(`${path}.equal`, 'label names', n);
    return {
      source: compileMatchers(
        stringList(r.source_matchers, `${path}.source_matchers`),
        stringMap(r.source_match, `${path}.source_match`),
        stringMap(r.source_match_re, `${path}.source_match_re`),
        path,
        { matchers: 'source_matchers', match: 'source_match', matchRe: 'source_match_re' },
      ),
      target: compileMatchers(
        stringList(r.target_matchers, `${path}.target_matchers`),
        stringMap(r.target_match, `${path}.target_match`),
        stringMap(r.target_match_re, `${path}.target_match_re`),
        path,
        { matchers: 'target_matchers', match: 'target_match', matchRe: 'target_match_re' },
      ),
      equal,
    };
  });
  return { route, inhibitRules, receivers, resolveTimeout, timeIntervals };
}
