// Public types of @vigil/business-metrics: definitions and label specs, the label sets TypeScript
// infers from them, metric handles, and the specs of track(), the decorators and metrics(req).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';
import type { MinimalLogger } from '@vigil/core';

/** How a request or a method call ended. */
export type Outcome = 'success' | 'failure' | 'aborted';

/** The bounded values of a `method` label (`OTHER` for every non-standard method). */
export type MethodLabel =
  'GET' | 'HEAD' | 'POST' | 'PUT' | 'DELETE' | 'CONNECT' | 'OPTIONS' | 'TRACE' | 'PATCH' | 'OTHER';

/**
 * A label Vigil fills: `route` (the matched route template), `outcome` (`success`, `failure`,
 * `aborted`) or `method` (the request method).
 */
export type AutoLabel = 'route' | 'outcome' | 'method';

/** A label whose values are a closed set; any other value is recorded as `__overflow__`. */
export interface ClosedLabelSpec {
  /** The allowed values (non-empty, distinct, non-empty strings). */
  readonly values: readonly string[];
}

/** A label taking any string, at most `cap` distinct ones; later values share `__overflow__`. */
export interface CappedLabelSpec {
  /** Most distinct values kept (an integer from 1 to 100,000). */
  readonly cap: number;
}

/** How one label is bounded. */
export type LabelSpec = ClosedLabelSpec | CappedLabelSpec | AutoLabel;

/** Label name -> spec. */
export type LabelSpecs = { readonly [name: string]: LabelSpec };

export type MetricType = 'counter' | 'gauge' | 'histogram';

interface DefinitionBase {
  /** What the metric counts or measures; shown as `# HELP`. Required. */
  readonly help: string;
  /**
   * Base unit (`seconds`, `bytes`, ...). When given, the name must end with it (before `_total` for
   * counters). Default: none, or the base unit the name ends with.
   */
  readonly unit?: string;
  /** Label name -> how it is bounded. Default: no labels. */
  readonly labels?: LabelSpecs;
}

export interface CounterDefinition extends DefinitionBase {
  readonly type: 'counter';
}

export interface GaugeDefinition extends DefinitionBase {
  readonly type: 'gauge';
}

export interface HistogramDefinition extends DefinitionBase {
  readonly type: 'histogram';
  /**
   * Bucket upper bounds, finite and increasing (`+Inf` is added). Default: the OpenTelemetry HTTP
   * duration buckets for `seconds`, 64 B to 16 MiB for `bytes`; other units must give them.
   */
  readonly buckets?: readonly number[];
}

export type MetricDefinition = CounterDefinition | GaugeDefinition | HistogramDefinition;

/** Metric name (the full Prometheus name, before any `prefix`) -> definition. */
export type MetricDefinitions = { readonly [name: string]: MetricDefinition };

/** The value type of a label with spec `S`. */
export type LabelValue<S> = S extends { readonly values: readonly (infer V extends string)[] }
  ? V
  : S extends { readonly cap: number }
    ? string
    : S extends 'outcome'
      ? Outcome
      : S extends 'method'
        ? MethodLabel
        : S extends 'route'
          ? string
          : never;

/** The label specs of a definition (none: an empty object type). */
export type LabelSpecsOf<D> = D extends { readonly labels: infer L extends LabelSpecs }
  ? L
  : Record<never, never>;

type AutoKeys<L> = { [K in keyof L]: L[K] extends AutoLabel ? K : never }[keyof L];
type KeysOfKind<L, A extends AutoLabel> = { [K in keyof L]: L[K] extends A ? K : never }[keyof L];
type Simplify<T> = { [K in keyof T]: T[K] } & {};

/** Every label of a metric, as its handle takes them. */
export type LabelSet<L> = Simplify<{ readonly [K in keyof L]: LabelValue<L[K]> }>;

/** Labels with the auto labels optional: inside a request, Vigil fills the ones left out. */
export type RequestLabelSet<L> = Simplify<
  { readonly [K in Exclude<keyof L, AutoKeys<L>>]: LabelValue<L[K]> } & {
    readonly [K in AutoKeys<L>]?: LabelValue<L[K]>;
  }
>;

/** Labels of a decorated method call: `outcome` is filled, `route` and `method` must be given. */
export type CallLabelSet<L> = Simplify<
  { readonly [K in Exclude<keyof L, KeysOfKind<L, 'outcome'>>]: LabelValue<L[K]> } & {
    readonly [K in KeysOfKind<L, 'outcome'>]?: LabelValue<L[K]>;
  }
>;

type ValueArgs<L> = keyof L extends never
  ? [value?: number]
  : [labels: LabelSet<L>, value?: number];
type SetArgs<L> = keyof L extends never ? [value: number] : [labels: LabelSet<L>, value: number];
type TimerArgs<L> = keyof L extends never ? [] : [labels: LabelSet<L>];

interface HandleBase<L extends LabelSpecs> {
  /** The exposed Prometheus name (with the catalogue's `prefix`). */
  readonly name: string;
  /** The name the catalogue declared it under (without `prefix`). */
  readonly key: string;
  readonly help: string;
  /** The declared unit, or the base unit the name ends with, or null. */
  readonly unit: string | null;
  /** Label names in declaration order. */
  readonly labelNames: readonly string[];
  /** The label specs as declared (frozen). */
  readonly labelSpecs: L;
  /** The exposed name. */
  toString(): string;
}

/** A counter of the catalogue. Recording never throws; problems are logged once. */
export interface CounterMetric<L extends LabelSpecs = LabelSpecs> extends HandleBase<L> {
  readonly type: 'counter';
  /** Adds `value` (default 1). Negative, NaN and infinite increments are dropped and logged once. */
  inc(...args: ValueArgs<L>): void;
  /** The series for `labels`, resolved once: for hot paths. */
  labels(labels: LabelSet<L>): BoundCounter;
}

export interface BoundCounter {
  inc(value?: number): void;
}

/** A gauge of the catalogue. */
export interface GaugeMetric<L extends LabelSpecs = LabelSpecs> extends HandleBase<L> {
  readonly type: 'gauge';
  set(...args: SetArgs<L>): void;
  inc(...args: ValueArgs<L>): void;
  dec(...args: ValueArgs<L>): void;
  labels(labels: LabelSet<L>): BoundGauge;
}

export interface BoundGauge {
  set(value: number): void;
  inc(value?: number): void;
  dec(value?: number): void;
}

/** A histogram of the catalogue. */
export interface HistogramMetric<L extends LabelSpecs = LabelSpecs> extends HandleBase<L> {
  readonly type: 'histogram';
  /** The bucket upper bounds (without `+Inf`). */
  readonly buckets: readonly number[];
  observe(...args: SetArgs<L>): void;
  /**
   * Starts a timer; calling the returned function observes the seconds elapsed and returns them.
   * Only for histograms in seconds (others log once and record nothing).
   */
  startTimer(...args: TimerArgs<L>): () => number;
  labels(labels: LabelSet<L>): BoundHistogram;
}

export interface BoundHistogram {
  observe(value: number): void;
  startTimer(): () => number;
}

/** Any handle. */
export type AnyMetric = CounterMetric | GaugeMetric | HistogramMetric;

/** The handle type of a definition. */
export type MetricHandle<D extends MetricDefinition> = D extends { readonly type: 'counter' }
  ? CounterMetric<LabelSpecsOf<D>>
  : D extends { readonly type: 'gauge' }
    ? GaugeMetric<LabelSpecsOf<D>>
    : HistogramMetric<LabelSpecsOf<D>>;

/** Options of defineBusinessMetrics(). */
export interface CatalogueOptions {
  /** Registry the metrics are registered in (get-or-create). Default: prom-client's global registry. */
  registry?: Registry;
  /** Put before every metric name, e.g. `shop_`. Default: `''`. */
  prefix?: string;
  /** Logger for request-time problems (pino or anything with `warn`). Default: process warnings. */
  logger?: MinimalLogger;
  /** Most distinct values of any `route` label; later ones share `__overflow__`. Default: `1000`. */
  maxRoutes?: number;
}

/** One label of a metric, as data. */
export interface LabelDescription {
  name: string;
  /** The allowed values: closed sets, and the `outcome` and `method` auto labels. */
  values?: string[];
  /** Most distinct values: capped labels, and the `route` auto label. */
  cap?: number;
  /** Set for labels Vigil fills. */
  auto?: AutoLabel;
  /** The value recorded instead of a value outside `values` or beyond `cap`. */
  overflowValue: string;
}

/** One metric, as data for dashboards, alert rules and docs. */
export interface MetricDescription {
  /** The exposed name, prefix included. */
  name: string;
  type: MetricType;
  unit: string | null;
  help: string;
  labels: LabelDescription[];
  /** Histograms: the bucket upper bounds (without `+Inf`). */
  buckets?: number[];
  /** The most series the labels allow (the product of each label's values, overflow included). */
  maxSeries: number;
}

/** Options of catalogue.totals(). */
export interface TotalsOptions {
  /** Most values listed per label, largest first (1 to 1000). Default: `20`. */
  maxValuesPerLabel?: number;
}

/** Totals of one metric. */
export interface MetricTotals {
  type: MetricType;
  unit: string | null;
  /** Counters: the sum of every series. Gauges: the sum of current values. Histograms: observations. */
  total: number;
  /** Histograms: the sum of every observation. */
  sum?: number;
  /** Label -> value -> the same figure as `total`, for that value. */
  byLabel: Record<string, Record<string, number>>;
  /** Label -> how many values were left out of `byLabel` by `maxValuesPerLabel`. */
  omitted?: Record<string, number>;
}

/** Metric name -> totals. */
export type BusinessTotals = Record<string, MetricTotals>;

/** A defined catalogue. */
export interface Catalogue<D extends MetricDefinitions = MetricDefinitions> {
  /** One handle per metric, under the name it was declared with. */
  readonly metrics: { readonly [K in keyof D]: MetricHandle<D[K]> };
  /** The registry the metrics live in. */
  readonly registry: Registry;
  /** The catalogue as JSON-serialisable data. Safe to detach (`const { describe } = catalogue`). */
  describe(this: void): MetricDescription[];
  /** Current totals per metric and per label value, bounded; for `/metrics/summary`. */
  totals(this: void, options?: TotalsOptions): BusinessTotals;
}

/** Which outcomes a recording applies to. */
export type When = Outcome | 'always' | readonly Outcome[];

/** The request as track() functions see it: Express's `req` itself, or Koa's `ctx.req`. */
export type TrackRequest = IncomingMessage & {
  /** Parsed body, when a body parser put one there (Express). */
  readonly body?: unknown;
  /** Route parameters (Express). */
  readonly params?: Readonly<Record<string, string | undefined>>;
};

/** The part of a Koa context track() functions are shown. */
export interface TrackContext {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly status: number;
  readonly params?: Readonly<Record<string, string | undefined>>;
  readonly state?: unknown;
  readonly request?: { readonly body?: unknown };
}

/** What a track() function is told about the finished request. */
export interface TrackInfo {
  /** Express's request, or Koa's `ctx.req`. */
  readonly req: TrackRequest;
  readonly res: ServerResponse;
  /** The Koa context (undefined on Express). */
  readonly ctx: TrackContext | undefined;
  /** The route template, or `<unmatched>`. */
  readonly route: string;
  readonly method: MethodLabel;
  readonly outcome: Outcome;
  /** The response status (for an aborted request, the one set when the client left). */
  readonly status: number;
  /** Seconds from the track() middleware to the end of the response. */
  readonly durationSeconds: number;
}

type LabelsOption<S, I> = S | ((info: I) => S);
type WithLabels<S, I> =
  Record<never, never> extends S
    ? { readonly labels?: LabelsOption<S, I> }
    : { readonly labels: LabelsOption<S, I> };

interface TrackCommon {
  /**
   * Which outcomes are recorded. Default: `'always'` when the metric has an `outcome` label,
   * `'success'` otherwise.
   */
  readonly when?: When;
}

/** Spec of track() on a counter. `value` defaults to 1. */
export type CounterTrackSpec<L> = TrackCommon &
  WithLabels<RequestLabelSet<L>, TrackInfo> & {
    readonly value?: number | ((info: TrackInfo) => number);
  };

/** Spec of track() on a gauge. `op` defaults to `'inc'`, `value` to 1 (required for `'set'`). */
export type GaugeTrackSpec<L> = TrackCommon &
  WithLabels<RequestLabelSet<L>, TrackInfo> & {
    readonly op?: 'inc' | 'dec' | 'set';
    readonly value?: number | ((info: TrackInfo) => number);
  };

/** Spec of track() on a histogram. `value` defaults to the duration for histograms in seconds. */
export type HistogramTrackSpec<L> = TrackCommon &
  WithLabels<RequestLabelSet<L>, TrackInfo> & {
    readonly value?: number | ((info: TrackInfo) => number);
  };

/** The spec argument: optional unless the metric has labels Vigil cannot fill. */
export type SpecArg<L, S> =
  Record<never, never> extends RequestLabelSet<L> ? [spec?: S] : [spec: S];
export type CallSpecArg<L, S> =
  Record<never, never> extends CallLabelSet<L> ? [spec?: S] : [spec: S];

/** A middleware for Express 4/5 `(req, res, next)` and Koa 2/3 `(ctx, next)` alike. */
export interface TrackMiddleware {
  (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void): void;
  (ctx: { req: IncomingMessage; res: ServerResponse }, next: () => Promise<unknown>): Promise<void>;
}

/** What a decorator's functions are told about a finished call. */
export interface CallInfo {
  /** `this` of the call. */
  readonly instance: unknown;
  /** The method name. */
  readonly method: string;
  readonly args: readonly unknown[];
  /** `success` when the method returned or its promise resolved, `failure` when it threw or rejected. */
  readonly outcome: 'success' | 'failure';
  /** The returned (or resolved) value; undefined on failure. */
  readonly result: unknown;
  /** The thrown (or rejection) value; undefined on success. */
  readonly error: unknown;
  readonly durationSeconds: number;
}

interface CallCommon {
  /**
   * Which outcomes are recorded. Default: `'always'` when the metric has an `outcome` label,
   * `'success'` otherwise (`@Observed`: always `'success'`).
   */
  readonly when?: When;
}

/** Spec of `@Counted`. `value` defaults to 1. */
export type CountedSpec<L> = CallCommon &
  WithLabels<CallLabelSet<L>, CallInfo> & {
    readonly value?: number | ((info: CallInfo) => number);
  };

/** Spec of `@Timed`. */
export type TimedSpec<L> = CallCommon & WithLabels<CallLabelSet<L>, CallInfo>;

/** Spec of `@Observed`. `value` defaults to the returned value when it is a number. */
export type ObservedSpec<L> = CallCommon &
  WithLabels<CallLabelSet<L>, CallInfo> & {
    readonly value?: (info: CallInfo) => number;
  };

/**
 * A method decorator for both TypeScript modes: standard decorators (TypeScript 5's default) and
 * `experimentalDecorators` (legacy, as NestJS compiles).
 */
export interface MethodDecorator {
  <This, Args extends unknown[], Return>(
    method: (this: This, ...args: Args) => Return,
    context: ClassMethodDecoratorContext<This, (this: This, ...args: Args) => Return>,
  ): (this: This, ...args: Args) => Return;
  <T>(
    target: object,
    propertyKey: string | symbol,
    descriptor: TypedPropertyDescriptor<T>,
  ): TypedPropertyDescriptor<T> | void;
}

type RequestValueArgs<L> =
  Record<never, never> extends RequestLabelSet<L>
    ? [labels?: RequestLabelSet<L>, value?: number]
    : [labels: RequestLabelSet<L>, value?: number];

/**
 * Recording inside a request: labels Vigil can fill (`route`, `method`, `outcome`) may be left out.
 * When `outcome` is left out, the recording waits for the end of the response.
 */
export interface RequestMetrics {
  /** The route template (`<unmatched>` until routing has matched one). */
  readonly route: string;
  readonly method: MethodLabel;
  /** The outcome, once the response is over; undefined before. */
  readonly outcome: Outcome | undefined;
  inc<L extends LabelSpecs>(
    metric: CounterMetric<L> | GaugeMetric<L>,
    ...args: RequestValueArgs<L>
  ): void;
  dec<L extends LabelSpecs>(metric: GaugeMetric<L>, ...args: RequestValueArgs<L>): void;
  set<L extends LabelSpecs>(
    metric: GaugeMetric<L>,
    labels: RequestLabelSet<L>,
    value: number,
  ): void;
  observe<L extends LabelSpecs>(
    metric: HistogramMetric<L>,
    labels: RequestLabelSet<L>,
    value: number,
  ): void;
  /** Starts a timer; the returned function records the seconds elapsed (as observe()) and returns them. */
  startTimer<L extends LabelSpecs>(
    metric: HistogramMetric<L>,
    ...args: Record<never, never> extends RequestLabelSet<L>
      ? [labels?: RequestLabelSet<L>]
      : [labels: RequestLabelSet<L>]
  ): () => number;
}
