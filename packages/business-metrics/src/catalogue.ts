// defineBusinessMetrics(): validates a catalogue once, registers its instruments (get-or-create), and
// returns the handles, the catalogue as data, and its totals.
import { Registry, register as globalRegistry } from 'prom-client';
import {
  type OptionContext,
  LABEL_NAME_PATTERN,
  METRIC_NAME_PATTERN,
  DEFAULT_BYTES_BUCKETS,
  DEFAULT_SECONDS_BUCKETS,
  OVERFLOW_LABEL_VALUE,
  bucketsOption,
  createProblemReporter,
  integerOption,
  loggerOption,
  looksLikeFrameworkCall,
  notCalledError,
  optionError,
  readOptions,
  prefixOption,
} from '@vigil/core';
import { PACKAGE, context } from './errors';
import {
  type AnyInstrument,
  BusinessCounter,
  BusinessGauge,
  BusinessHistogram,
  getOrRegister,
  registryState,
} from './instruments';
import {
  CappedLabel,
  ClosedLabel,
  type LabelOwner,
  type LabelResolver,
  MethodLabelResolver,
  OUTCOMES,
} from './labels';
import {
  RESERVED_METRIC_NAMES,
  labelNameProblem,
  nameProblem,
  unitFromName,
  unitProblem,
} from './names';
import { CounterHandle, GaugeHandle, HistogramHandle, type AnyHandle } from './handles';
import type { MetricState } from './state';
import type {
  AutoLabel,
  BusinessTotals,
  Catalogue,
  CatalogueOptions,
  MetricDefinitions,
  MetricDescription,
  MetricTotals,
  MetricType,
  TotalsOptions,
} from './types';

// The defaults for histograms in seconds and in bytes are @vigil/metrics' HTTP buckets, from core.
export { DEFAULT_SECONDS_BUCKETS, DEFAULT_BYTES_BUCKETS } from '@vigil/core';

/** Default most distinct values of a `route` label. */
export const DEFAULT_MAX_ROUTES = 1000;
/** Largest `cap` a label may declare. */
export const MAX_LABEL_CAP = 100_000;

const KNOWN_OPTIONS = [
  'registry',
  'prefix',
  'logger',
  'maxRoutes',
] as const satisfies readonly (keyof CatalogueOptions)[];
const DEFINITION_KEYS = ['type', 'help', 'unit', 'labels', 'buckets'];
const TYPES: readonly MetricType[] = ['counter', 'gauge', 'histogram'];
const AUTO_LABELS: readonly AutoLabel[] = ['route', 'outcome', 'method'];
const RESERVED_SUFFIXES = ['_bucket', '_sum', '_count'];

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function isRegistryLike(value: unknown): value is Registry {
  if (!isPlainObject(value) && !(value instanceof Registry)) return false;
  const r = value as Record<string, unknown>;
  return typeof r.registerMetric === 'function' && typeof r.getSingleMetric === 'function';
}

/** A label spec checked and turned into the maker of its resolver. */
type LabelMaker = (owner: LabelOwner) => LabelResolver;

function labelMaker(
  ctx: OptionContext,
  path: string,
  name: string,
  spec: unknown,
  maxRoutes: number,
): LabelMaker {
  if (typeof spec === 'string') {
    switch (spec) {
      case 'route':
        return (owner) => new CappedLabel(name, maxRoutes, 'route', owner);
      case 'outcome':
        return (owner) => new ClosedLabel(name, OUTCOMES, 'outcome', owner);
      case 'method':
        return (owner) => new MethodLabelResolver(name, owner);
    }
  }
  const expected =
    "{ values: string[] } (a closed set), { cap: number } (a bounded open set), or 'route', 'outcome' or 'method' (filled by Vigil)";
  if (!isPlainObject(spec)) throw optionError(ctx, 'INVALID_LABEL_SPEC', path, expected, spec);
  const keys = Object.keys(spec);
  if (keys.length !== 1 || (keys[0] !== 'values' && keys[0] !== 'cap')) {
    throw optionError(
      ctx,
      'INVALID_LABEL_SPEC',
      path,
      expected,
      spec,
      'Give exactly one of "values" or "cap".',
    );
  }
  if (keys[0] === 'cap') {
    const cap = spec.cap;
    if (typeof cap !== 'number' || !Number.isInteger(cap) || cap < 1 || cap > MAX_LABEL_CAP) {
      throw optionError(
        ctx,
        'INVALID_LABEL_SPEC',
        `${path}.cap`,
        `an integer from 1 to ${MAX_LABEL_CAP}`,
        cap,
      );
    }
    return (owner) => new CappedLabel(name, cap, undefined, owner);
  }
  const values = spec.values;
  const problem = valuesProblem(values);
  if (problem !== undefined) {
    throw optionError(ctx, 'INVALID_LABEL_SPEC', `${path}.values`, problem, values);
  }
  const frozen = Object.freeze([...(values as string[])]);
  return (owner) => new ClosedLabel(name, frozen, undefined, owner);
}

function valuesProblem(values: unknown): string | undefined {
  const expected = 'a non-empty array of distinct, non-empty strings';
  if (!Array.isArray(values) || values.length === 0) return expected;
  const seen = new Set<string>();
  // An index loop: every() would skip the holes of a sparse array.
  for (let i = 0; i < values.length; i++) {
    const v: unknown = values[i];
    if (typeof v !== 'string' || v === '' || seen.has(v)) return expected;
    if (v === OVERFLOW_LABEL_VALUE) {
      return `${expected}, without "${OVERFLOW_LABEL_VALUE}" (the value Vigil records for anything outside the set)`;
    }
    seen.add(v);
  }
  return undefined;
}

interface Checked {
  key: string;
  name: string;
  type: MetricType;
  help: string;
  unit: string | null;
  labels: { name: string; make: LabelMaker; spec: unknown }[];
  buckets: readonly number[] | undefined;
}

function checkDefinition(
  ctx: OptionContext,
  key: string,
  def: unknown,
  prefix: string,
  maxRoutes: number,
): Checked {
  if (!isPlainObject(def)) {
    throw optionError(
      ctx,
      'INVALID_DEFINITION',
      key,
      "a definition object such as { type: 'counter', help: '...' }",
      def,
    );
  }
  for (const k of Object.keys(def)) {
    if (!DEFINITION_KEYS.includes(k)) {
      throw optionError(
        ctx,
        'UNKNOWN_OPTION',
        `${key}.${k}`,
        `one of ${DEFINITION_KEYS.join(', ')}`,
        k,
        'Check the spelling of the field name.',
      );
    }
  }
  const type = def.type as MetricType;
  if (!TYPES.includes(type)) {
    throw optionError(
      ctx,
      'INVALID_TYPE',
      `${key}.type`,
      "'counter', 'gauge' or 'histogram'",
      type,
    );
  }
  const help = def.help;
  if (typeof help !== 'string' || help.trim() === '') {
    throw optionError(
      ctx,
      'INVALID_HELP',
      `${key}.help`,
      'a non-empty string saying what the metric counts or measures',
      help,
    );
  }

  const name = prefix + key;
  if (!METRIC_NAME_PATTERN.test(key) || !METRIC_NAME_PATTERN.test(name)) {
    throw optionError(
      ctx,
      'INVALID_NAME',
      key,
      'a Prometheus metric name ([a-zA-Z_:][a-zA-Z0-9_:]*)',
      name,
      'Use snake_case letters, digits and underscores, e.g. "uploads_total".',
    );
  }
  // A declared unit is checked first: its message is the more useful one for `render_ms`.
  if (def.unit !== undefined) {
    const u = def.unit;
    const bad = typeof u === 'string' ? unitProblem(u) : 'a string';
    if (bad !== undefined) throw optionError(ctx, 'INVALID_UNIT', `${key}.unit`, bad, u);
  }
  const problem = nameProblem(name);
  if (problem !== undefined) {
    throw optionError(
      ctx,
      'INVALID_NAME',
      key,
      `a metric name promtool accepts (${problem})`,
      name,
    );
  }
  if (RESERVED_METRIC_NAMES.includes(name) || RESERVED_METRIC_NAMES.includes(key)) {
    throw optionError(
      ctx,
      'RESERVED_NAME',
      key,
      "a name that is not one of Vigil's own signals",
      name,
      'Vigil emits that metric itself (HTTP, rate-limit, audit or alert metrics); choose a business name such as "orders_created_total".',
    );
  }

  const counter = type === 'counter';
  if (counter && !name.endsWith('_total')) {
    throw optionError(
      ctx,
      'INVALID_SUFFIX',
      key,
      'a counter name ending in "_total"',
      name,
      `Rename it "${name}_total".`,
    );
  }
  if (!counter && name.endsWith('_total')) {
    throw optionError(
      ctx,
      'INVALID_SUFFIX',
      key,
      `a ${type} name without the counter suffix "_total"`,
      name,
    );
  }
  const stem = counter ? name.slice(0, -'_total'.length) : name;
  for (const suffix of RESERVED_SUFFIXES) {
    if (stem.endsWith(suffix)) {
      throw optionError(
        ctx,
        'INVALID_SUFFIX',
        key,
        `a name not ending in "${suffix}" (histograms expose _bucket, _sum and _count series of their own)`,
        name,
      );
    }
  }

  const unit = def.unit === undefined ? unitFromName(name, counter) : (def.unit as string);
  if (def.unit !== undefined) {
    if (!stem.endsWith(`_${unit}`)) {
      throw optionError(
        ctx,
        'INVALID_SUFFIX',
        key,
        `a name ending in "_${unit}"${counter ? '_total' : ''}, since its unit is "${unit}"`,
        name,
        `Rename it "${stem}_${unit}${counter ? '_total' : ''}".`,
      );
    }
  }

  const labels: Checked['labels'] = [];
  const rawLabels = def.labels;
  if (rawLabels !== undefined && !isPlainObject(rawLabels)) {
    throw optionError(
      ctx,
      'INVALID_LABEL_SPEC',
      `${key}.labels`,
      'an object mapping label names to label specs',
      rawLabels,
    );
  }
  const autos = new Map<string, string>();
  for (const [labelName, spec] of Object.entries(rawLabels ?? {})) {
    const path = `${key}.labels.${labelName}`;
    const bad = LABEL_NAME_PATTERN.test(labelName)
      ? labelNameProblem(labelName)
      : 'label names match [a-zA-Z_][a-zA-Z0-9_]*';
    if (bad !== undefined) {
      throw optionError(ctx, 'INVALID_LABEL_NAME', path, `a usable label name (${bad})`, labelName);
    }
    if (typeof spec === 'string' && (AUTO_LABELS as readonly string[]).includes(spec)) {
      const other = autos.get(spec);
      if (other !== undefined) {
        throw optionError(
          ctx,
          'INVALID_LABEL_SPEC',
          path,
          `a spec other than '${spec}', which label "${other}" already has`,
          spec,
          'Each of route, outcome and method may fill one label of a metric.',
        );
      }
      autos.set(spec, labelName);
    }
    labels.push({ name: labelName, make: labelMaker(ctx, path, labelName, spec, maxRoutes), spec });
  }

  let buckets: readonly number[] | undefined;
  if (type === 'histogram') {
    const fallback =
      unit === 'seconds'
        ? DEFAULT_SECONDS_BUCKETS
        : unit === 'bytes'
          ? DEFAULT_BYTES_BUCKETS
          : undefined;
    if (fallback === undefined && def.buckets === undefined) {
      throw optionError(
        ctx,
        'INVALID_BUCKETS',
        `${key}.buckets`,
        `given for a histogram in ${unit === null ? 'no unit' : `"${unit}"`} (defaults exist only for seconds and bytes)`,
        undefined,
        'List the bucket upper bounds that suit what it measures, e.g. [1, 2, 5, 10, 20, 50].',
      );
    }
    buckets = bucketsOption(ctx, `${key}.buckets`, def.buckets, fallback ?? []);
  } else if (def.buckets !== undefined) {
    throw optionError(
      ctx,
      'INVALID_BUCKETS',
      `${key}.buckets`,
      `left out: a ${type} has no buckets`,
      def.buckets,
    );
  }
  return { key, name, type, help, unit, labels, buckets };
}

function instrumentFor(c: Checked): AnyInstrument {
  const makeLabels = (owner: LabelOwner) => c.labels.map((l) => l.make(owner));
  // The resolvers' signatures (not the raw specs) identify labels, so `{ cap: 10 }` written twice
  // matches; they are computed on a throwaway owner.
  const probe: LabelOwner = { name: c.name, report: () => undefined };
  const signature = JSON.stringify([
    c.type,
    c.help,
    c.unit,
    makeLabels(probe).map((l) => [l.name, l.signature]),
    c.buckets ?? null,
  ]);
  if (c.type === 'counter') return new BusinessCounter(c.name, c.help, signature, makeLabels);
  if (c.type === 'gauge') return new BusinessGauge(c.name, c.help, signature, makeLabels);
  return new BusinessHistogram(c.name, c.help, signature, makeLabels, c.buckets!);
}

/**
 * Declares business metrics once: counters, gauges and histograms with help, unit and bounded labels.
 * TypeScript infers each metric's label names and allowed values, so a wrong label is a compile error.
 *
 * @throws VigilError with an `ERR_VIGIL_BUSINESS_METRICS_*` code on an invalid definition or option.
 */
export function defineBusinessMetrics<const D extends MetricDefinitions>(
  definitions: D,
  options?: CatalogueOptions,
): Catalogue<D> {
  const ctx = context('defineBusinessMetrics');
  // Mounted as middleware: the request arrives where the definitions belong.
  if (looksLikeFrameworkCall(definitions, 1)) throw notCalledError(ctx, definitions);
  if (!isPlainObject(definitions)) {
    throw optionError(
      ctx,
      'INVALID_DEFINITION',
      'definitions',
      "an object mapping metric names to definitions, e.g. { uploads_total: { type: 'counter', help: '...' } }",
      definitions,
    );
  }
  const o = readOptions<CatalogueOptions>(ctx, options, 1, KNOWN_OPTIONS);
  let registry: Registry = globalRegistry;
  if (o.registry !== undefined) {
    if (!isRegistryLike(o.registry)) {
      throw optionError(
        ctx,
        'INVALID_REGISTRY',
        'registry',
        'a prom-client Registry',
        o.registry,
        'Pass `new Registry()` from prom-client, or leave it out to use the global registry.',
      );
    }
    registry = o.registry;
  }
  const prefix = prefixOption(ctx, o.prefix, 'Use letters, digits and underscores, e.g. "shop_".');
  const logger = loggerOption(ctx, o.logger);
  const maxRoutes = integerOption(
    ctx,
    'maxRoutes',
    o.maxRoutes,
    DEFAULT_MAX_ROUTES,
    1,
    MAX_LABEL_CAP,
  );

  const checked = Object.entries(definitions).map(([key, def]) =>
    checkDefinition(ctx, key, def, prefix, maxRoutes),
  );
  const candidates = checked.map(instrumentFor);
  // Every name is checked before any is registered, so a conflict leaves the registry untouched.
  for (const candidate of candidates) {
    const state = registryState(registry, candidate);
    if (state === 'foreign' || state === 'different') {
      throw optionError(
        ctx,
        'METRIC_CONFLICT',
        'registry',
        `a registry where "${candidate.name}" is free or holds the identical business metric`,
        candidate.name,
        state === 'foreign'
          ? `The registry already holds another metric named "${candidate.name}". Rename the business metric, use the "prefix" option or a separate Registry.`
          : `The registry holds "${candidate.name}" from another catalogue with a different definition (type, help, unit, labels or buckets). Define it identically everywhere, or rename one.`,
      );
    }
  }

  const problems = createProblemReporter(PACKAGE, logger);
  const states: MetricState[] = [];
  const metrics: Record<string, AnyHandle> = {};
  checked.forEach((c, i) => {
    const instrument = getOrRegister(registry, candidates[i]!);
    // The latest catalogue's logger wins (a hot reload replaces the previous one).
    instrument.reporter = problems;
    const autoIndex: Record<AutoLabel, number> = { route: -1, outcome: -1, method: -1 };
    const autoNames = new Set<string>();
    instrument.labels.forEach((l, j) => {
      if (l.auto !== undefined) {
        autoIndex[l.auto] = j;
        autoNames.add(l.name);
      }
    });
    const state: MetricState = {
      key: c.key,
      name: c.name,
      type: c.type,
      help: c.help,
      unit: c.unit,
      instrument,
      labels: instrument.labels,
      autoIndex,
      autoNames,
      problems,
    };
    states.push(state);
    const specs = Object.freeze(Object.fromEntries(c.labels.map((l) => [l.name, l.spec])));
    metrics[c.key] =
      c.type === 'counter'
        ? new CounterHandle(state, specs as never)
        : c.type === 'gauge'
          ? new GaugeHandle(state, specs as never)
          : new HistogramHandle(state, specs as never);
  });
  Object.freeze(metrics);

  return {
    metrics: metrics as unknown as Catalogue<D>['metrics'],
    registry,
    describe: () => states.map(describeMetric),
    totals: (totalsOptions?: TotalsOptions) => totals(states, totalsOptions),
  };
}

function describeMetric(state: MetricState): MetricDescription {
  const d: MetricDescription = {
    name: state.name,
    type: state.type,
    unit: state.unit,
    help: state.help,
    labels: state.labels.map((l) => l.describe()),
    maxSeries: state.labels.reduce((n, l) => n * l.bound, 1),
  };
  if (state.instrument instanceof BusinessHistogram) d.buckets = [...state.instrument.buckets];
  return d;
}

function totals(states: readonly MetricState[], raw: unknown): BusinessTotals {
  const ctx = context('totals');
  const o = readOptions<TotalsOptions>(ctx, raw, 1, ['maxValuesPerLabel']);
  const limit = integerOption(ctx, 'maxValuesPerLabel', o.maxValuesPerLabel, 20, 1, 1000);
  const out: BusinessTotals = {};
  for (const state of states) out[state.name] = metricTotals(state, limit);
  return out;
}

function metricTotals(state: MetricState, limit: number): MetricTotals {
  const instrument = state.instrument;
  const histogram = instrument instanceof BusinessHistogram;
  let total = 0;
  let sum = 0;
  const byLabel = new Map<string, Map<string, number>>(
    instrument.labelNames.map((n) => [n, new Map<string, number>()]),
  );
  for (const s of instrument.series as {
    labels: Record<string, string>;
    value?: number;
    count?: number;
    sum?: number;
  }[]) {
    const figure = histogram ? s.count! : s.value!;
    total += figure;
    if (histogram) sum += s.sum!;
    for (const [label, values] of byLabel) {
      const v = s.labels[label]!;
      values.set(v, (values.get(v) ?? 0) + figure);
    }
  }
  const result: MetricTotals = { type: state.type, unit: state.unit, total, byLabel: {} };
  if (histogram) result.sum = sum;
  for (const [label, values] of byLabel) {
    const sorted = [...values].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
    result.byLabel[label] = Object.fromEntries(sorted.slice(0, limit));
    if (sorted.length > limit) (result.omitted ??= {})[label] = sorted.length - limit;
  }
  return result;
}
