// Public types of @vigil/alerts: alert and SLO definitions, the rule set, and the data written to files.
import type { PromQLFeature } from './promql/types';

/** Alert severities, as the `severity` label carries them. */
export type Severity = 'critical' | 'warning' | 'info';

/** Options every alert builder takes. */
export interface AlertOptions {
  /** The alert name, CamelCase (`[A-Z][A-Za-z0-9]*`). Default: the builder's own name. */
  name?: string;
  /** The `severity` label. Default: the builder's (see the README table). */
  severity?: Severity;
  /** How long the condition must hold before the alert fires (Prometheus duration). Default: the builder's. */
  for?: string;
  /** How long the alert keeps firing after the condition clears. Needs Prometheus 2.42. Default: none. */
  keepFiringFor?: string;
  /** Extra labels on the alert (routing, team). `alertname` and `severity` are set apart. */
  labels?: Readonly<Record<string, string>>;
  /** The `summary` annotation. Templates may use `{{ $labels.NAME }}`. Default: the builder's. */
  summary?: string;
  /** The `description` annotation. Templates may use `{{ $labels.NAME }}`. Default: the builder's. */
  description?: string;
  /** The `runbook_url` annotation. Default: `runbookBaseUrl` of the rule set and the alert name, when set. */
  runbookUrl?: string;
}

/** Label matchers: an exact value, or `{ regex }` for `=~`. */
export type LabelMatch = string | { readonly regex: string };

/** Which HTTP requests an alert or SLO looks at. */
export interface RequestSelection {
  /** Route templates (`/api/videos/:id`), exact. Default: every route. */
  routes?: readonly string[];
  /** Methods (`GET`...). Default: every method. */
  methods?: readonly string[];
}

export interface ErrorRatioAlertOptions extends AlertOptions, RequestSelection {
  /** Fraction of requests that fail, above which the alert fires (0 < x < 1). Default: 0.05. */
  threshold?: number;
  /** The rate window. Default: `5m`. */
  window?: string;
  /** Status codes that count as errors, as a regular expression. Default: `5..`. */
  errorStatus?: string;
  /** Labels the ratio is computed by (one alert per value). Default: none (one alert). */
  by?: readonly string[];
}

export interface LatencyAlertOptions extends AlertOptions, RequestSelection {
  /** The quantile (0 < q < 1). Default: 0.99. */
  quantile?: number;
  /** Seconds above which the quantile fires; must be below the largest finite bucket. Default: 1. */
  threshold?: number;
  /** The rate window. Default: `5m`. */
  window?: string;
  /** The duration histogram's buckets (the `durationBuckets` of `@vigil/metrics`). Default: Vigil's. */
  buckets?: readonly number[];
  /** Labels the quantile is computed by. Default: none. */
  by?: readonly string[];
}

export interface InFlightAlertOptions extends AlertOptions {
  /** Requests in flight in one process above which the alert fires. Default: 100. */
  threshold?: number;
}

export interface CounterRatioAlertOptions extends AlertOptions {
  /** `ratio`: matching events over all events; `rate`: matching events per second. Default: `ratio`. */
  measure?: 'ratio' | 'rate';
  /** Threshold: a fraction for `ratio` (0 < x < 1), events per second for `rate`. */
  threshold?: number;
  /** The rate window. Default: `5m`. */
  window?: string;
}

export interface RateLimitAlertOptions extends CounterRatioAlertOptions {
  /** Policies to watch. Default: every policy. */
  policies?: readonly string[];
  /** The decision watched: `limited` (rejections) or `store_error`. Default: `limited`. */
  result?: 'limited' | 'store_error';
}

export interface AuditFailureAlertOptions extends CounterRatioAlertOptions {
  /** Event types to watch. Default: every type. */
  types?: readonly string[];
  /** Outcomes that count as failures. Default: `failure`, `error`. */
  outcomes?: readonly ('success' | 'failure' | 'denied' | 'error' | 'unknown')[];
}

export interface BusinessFailureAlertOptions extends CounterRatioAlertOptions {
  /** The catalogue counter (its full name, with any prefix), e.g. `uploads_total`, or its `describe()` entry. */
  metric: string | { readonly name: string };
  /** Outcomes that count as failures. Default: `failure`. */
  failureOutcomes?: readonly string[];
  /** Outcomes that count at all (the denominator). Default: `success`, `failure`. */
  outcomes?: readonly string[];
  /** Labels the ratio is computed by, e.g. `['format']`. Default: none. */
  by?: readonly string[];
}

export interface EventLoopLagAlertOptions extends AlertOptions {
  /** Seconds of lag above which the alert fires. Default: 0.2. */
  threshold?: number;
  /** Which of prom-client's lag gauges: `p99`, `p90`, `p50`, `mean`, `max`. Default: `p99`. */
  statistic?: 'p99' | 'p90' | 'p50' | 'mean' | 'max';
}

export interface MemoryAlertOptions extends AlertOptions {
  /** Bytes above which the alert fires. Required. */
  threshold: number;
  /** `rss` (`process_resident_memory_bytes`) or `heap` (`nodejs_heap_size_used_bytes`). Default: `rss`. */
  measure?: 'rss' | 'heap';
}

export interface TargetDownAlertOptions extends AlertOptions {
  /** The scrape job (`up{job="..."}`). Default: every job the rule set's `selector` selects. */
  job?: string;
}

/** One series of a promtool test's input, as promtool reads it. */
export interface PromtoolInputSeries {
  series: string;
  values: string;
}

/** A test group of a promtool test file, in promtool's own shape (for raw rules). */
export interface PromtoolTestGroup {
  name?: string;
  interval?: string;
  input_series: readonly PromtoolInputSeries[];
  alert_rule_test?: readonly {
    eval_time: string;
    alertname: string;
    exp_alerts: readonly {
      exp_labels?: Readonly<Record<string, string>>;
      exp_annotations?: Readonly<Record<string, string>>;
    }[];
  }[];
  promql_expr_test?: readonly {
    expr: string;
    eval_time: string;
    exp_samples: readonly { labels: string; value: number | string }[];
  }[];
}

export interface PromqlAlertOptions extends Omit<AlertOptions, 'name'> {
  /** The alert name, CamelCase. */
  name: string;
  /** The PromQL expression; the alert fires for every series it returns. */
  expr: string;
  /** promtool test groups that prove the rule (written into the test file as they are). */
  tests?: readonly PromtoolTestGroup[];
  /**
   * Leave the rule to Prometheus: the embedded evaluator skips it, and defineAlerts() does not check
   * that the evaluator supports its expression. Rule files are written the same. Default: false.
   */
  prometheusOnly?: boolean;
}

export interface RecordingRuleOptions {
  /** The recorded metric name (`level:metric:operations`). */
  record: string;
  expr: string;
  labels?: Readonly<Record<string, string>>;
  /** Leave the rule to Prometheus (see PromqlAlertOptions.prometheusOnly). Default: false. */
  prometheusOnly?: boolean;
}

/** What the builders return: a definition resolved when the rule set is defined. */
export interface AlertDefinition {
  readonly kind: 'alert';
  /** The builder that made it, e.g. `errorRatio`. */
  readonly builder: string;
  /** The alert name. */
  readonly name: string;
}

export interface RecordingRuleDefinition {
  readonly kind: 'record';
  readonly record: string;
}

/** SLO periods. */
export type SloPeriod = '30d' | '28d';

/** The burn-rate tiers of the multiwindow, multi-burn-rate alerts (the `burn_tier` label). */
export type BurnTier = 'page-fast' | 'page-slow' | 'ticket-fast' | 'ticket-slow';

interface SloCommon {
  /** The SLO's name, the `slo` label: lower-case words joined by `-` or `_`, e.g. `api-availability`. */
  name: string;
  /** The objective, a fraction: 0.999 for 99.9%. 0 < x < 1. */
  objective: number;
  /** The period of the objective (and of the error budget). Default: `30d`. */
  period?: SloPeriod;
  /** Alert only when the tier's short window saw at least this many events. Default: 0 (no guard). */
  minEvents?: number;
  /** The alert name, CamelCase. Default: the SLO name in CamelCase and `ErrorBudgetBurn`. */
  alertName?: string;
  /** What the SLO measures, in words, for annotations. Default: from the kind. */
  description?: string;
  /** Extra labels on the SLO's alerts. */
  labels?: Readonly<Record<string, string>>;
  /** The `runbook_url` annotation of its alerts. */
  runbookUrl?: string;
  /** Override the severity of a tier. Default: `critical` for `page-*`, `warning` for `ticket-*`. */
  severities?: Readonly<Partial<Record<BurnTier, Severity>>>;
}

export interface AvailabilitySloOptions extends SloCommon, RequestSelection {
  kind: 'availability';
  /** Status codes that count as bad events (regular expression). Default: `5..`. */
  errorStatus?: string;
}

export interface LatencySloOptions extends SloCommon, RequestSelection {
  kind: 'latency';
  /** Seconds: a request is good when it completes within it. Must be one of `buckets`. */
  threshold: number;
  /** The duration histogram's buckets. Default: Vigil's (`DEFAULT_SECONDS_BUCKETS` of `@vigil/core`). */
  buckets?: readonly number[];
}

export interface BusinessSloOptions extends SloCommon {
  kind: 'business';
  /** The catalogue counter with an `outcome` label, e.g. `uploads_total`, or its `describe()` entry. */
  metric: string | { readonly name: string };
  /** Outcomes that are good. Default: `success`. */
  goodOutcomes?: readonly string[];
  /** Outcomes that are bad. Default: `failure`. (Others, such as `aborted`, are not counted.) */
  badOutcomes?: readonly string[];
  /** Extra exact matchers on the counter's labels, e.g. `{ format: 'mp4' }`. */
  matchers?: Readonly<Record<string, string>>;
}

export type SloOptions = AvailabilitySloOptions | LatencySloOptions | BusinessSloOptions;

export interface SloDefinition {
  readonly kind: 'slo';
  readonly name: string;
  readonly sloKind: SloOptions['kind'];
  readonly objective: string;
  readonly period: SloPeriod;
}

export interface AlertsOptions {
  /** The rule group name prefix (`<name>-alerts`, `<name>-slo-...`). Default: `vigil`. */
  name?: string;
  /** The Prometheus server that will load the rules. Default: `2.42` (Debian 12). */
  prometheusVersion?: string;
  /** The `prefix` given to `@vigil/metrics` (put before every HTTP and default metric name). Default: `''`. */
  metricPrefix?: string;
  /** Exact matchers added to every selector of Vigil's metrics, e.g. `{ job: 'api' }`. Default: none. */
  selector?: Readonly<Record<string, string>>;
  /** The alerts (from the builders). */
  alerts?: readonly (AlertDefinition | RecordingRuleDefinition)[];
  /** The SLOs (from `defineSlo()`). */
  slos?: readonly SloDefinition[];
  /** Base URL of runbooks: an alert without `runbookUrl` gets `<base>#<alertname in lower case>`. */
  runbookBaseUrl?: string;
  /** Labels on every rule of every group: group `labels`, which need Prometheus 3.0. */
  groupLabels?: Readonly<Record<string, string>>;
  /** Evaluation interval of the SLOs' long-window groups (1d, 3d and the period). Default: `5m`. */
  longWindowInterval?: string;
  /** The PromQL feature flags the server runs with (`--enable-feature=`), for raw rules. Default: none. */
  promqlFeatures?: readonly PromQLFeature[];
}

/** A recording rule as written to a rule file. */
export interface RecordingRuleData {
  readonly record: string;
  readonly expr: string;
  readonly labels?: Readonly<Record<string, string>>;
  /** Left to Prometheus: a non-enumerable flag the emitters never write. */
  readonly prometheusOnly?: boolean;
}

/** An alerting rule as written to a rule file. */
export interface AlertingRuleData {
  readonly alert: string;
  readonly expr: string;
  readonly for?: string;
  readonly keep_firing_for?: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  /** Left to Prometheus: a non-enumerable flag the emitters never write. */
  readonly prometheusOnly?: boolean;
}

export type RuleData = RecordingRuleData | AlertingRuleData;

/** A rule group as written to a rule file. */
export interface RuleGroupData {
  readonly name: string;
  readonly interval?: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly rules: readonly RuleData[];
}

/** An Alertmanager inhibit rule (Alertmanager 0.22+ matcher syntax). */
export interface InhibitRuleData {
  readonly source_matchers: readonly string[];
  readonly target_matchers: readonly string[];
  readonly equal: readonly string[];
}

/** A resolved rule set: every group, inhibit rule and test, ready for the emitters. */
export interface AlertRuleSet {
  readonly name: string;
  readonly prometheusVersion: string;
  readonly groups: readonly RuleGroupData[];
  readonly inhibitRules: readonly InhibitRuleData[];
  readonly tests: readonly PromtoolTestGroup[];
  /** Tests run with a 5m evaluation interval (the SLOs' ticket tiers, whose windows span days). */
  readonly slowTests: readonly PromtoolTestGroup[];
  /** Alerts without a generated or given test (raw alerts without `tests`). */
  readonly untested: readonly string[];
  /** The `selector` option (the embedded evaluator's default `job`); absent when empty. */
  readonly selector?: Readonly<Record<string, string>>;
}
