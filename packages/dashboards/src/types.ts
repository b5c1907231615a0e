// Public types of @vigil/dashboards: what the generator reads and what it returns.
import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';

/** A business metric as `defineBusinessMetrics()` declares it (`@vigil/business-metrics`). */
export interface BusinessMetricDefinitionLike {
  readonly type: 'counter' | 'gauge' | 'histogram';
  readonly help?: string;
  /** Base unit (`seconds`, `bytes`, ...): the panel's unit. */
  readonly unit?: string | null;
  /** Label name -> how it is bounded; only the names are read. */
  readonly labels?: Readonly<Record<string, unknown>>;
  readonly buckets?: readonly number[];
}

/** A metric handle of a defined catalogue (`catalogue.metrics.<name>`). */
export interface BusinessMetricHandleLike {
  readonly type: 'counter' | 'gauge' | 'histogram';
  /** The exposed Prometheus name (with the catalogue's prefix). */
  readonly name: string;
  readonly help?: string;
  readonly unit?: string | null;
  readonly labelNames: readonly string[];
}

/**
 * The business catalogue: the value `defineBusinessMetrics()` returns (its `metrics` are read), or the
 * definitions object given to it (names are then the keys, without a prefix).
 */
export type BusinessCatalogueLike =
  | { readonly metrics: Readonly<Record<string, BusinessMetricHandleLike>> }
  | Readonly<Record<string, BusinessMetricDefinitionLike>>;

/** A rule of a rule set, as `defineAlerts()` of `@vigil/alerts` resolves it. */
export interface RuleLike {
  readonly record?: string;
  readonly alert?: string;
  readonly labels?: Readonly<Record<string, string>>;
}

/** A rule set: the value `defineAlerts()` of `@vigil/alerts` returns (its groups are read). */
export interface AlertRuleSetLike {
  readonly groups: readonly { readonly rules: readonly RuleLike[] }[];
}

/** Options of grafanaDashboards(). */
export interface DashboardsOptions {
  /** The service the dashboards are for: in titles, uids and file names. Required. */
  service: string;
  /**
   * The Prometheus job scraping the service: the default value of the `job` variable.
   * Default: the service name.
   */
  job?: string;
  /** The `prefix` given to `@vigil/metrics` (HTTP and Node runtime metrics). Default: `''`. */
  metricPrefix?: string;
  /** Prefix of every dashboard uid (uids are at most 40 characters). Default: `vigil-<service>`. */
  uidPrefix?: string;
  /** Tags on every dashboard. Default: `['vigil', <service>]`. */
  tags?: readonly string[];
  /** The service overview: HTTP traffic, errors, latency, in-flight, routes. Default: true. */
  http?: boolean;
  /** The business catalogue: one panel (or two for histograms) per metric. Default: none. */
  business?: BusinessCatalogueLike;
  /** Panels of `rate_limit_requests_total` (`@vigil/rate-limit`). Default: false. */
  rateLimit?: boolean;
  /** Panels of `audit_events_total` (`@vigil/audit`). Default: false. */
  audit?: boolean;
  /** The rule set from `defineAlerts()`: SLO burn rates and error budgets, alerts. Default: none. */
  alerts?: AlertRuleSetLike;
  /** Panels of the embedded evaluator's metrics (`alerts_firing`, rule groups, notifications). Default: false. */
  evaluator?: boolean;
  /** Node runtime panels (prom-client default metrics, on with `@vigil/metrics`' defaults). Default: true. */
  runtime?: boolean;
}

/** What grafanaDashboards() returns. */
export interface GeneratedDashboards {
  /** File name (`<uid>.json`) -> dashboard JSON, deterministic, ending with a newline. */
  readonly files: Readonly<Record<string, string>>;
  /** The dashboards as the Grafana foundation SDK models them, in file order. */
  readonly dashboards: readonly Dashboard[];
}

/** Options of grafanaProvisioning(). */
export interface ProvisioningOptions {
  /** Where Grafana finds the dashboard files. Default: `/var/lib/grafana/dashboards/vigil`. */
  dashboardsPath?: string;
  /** Prometheus's URL as Grafana reaches it. Default: `http://prometheus:9090`. */
  prometheusUrl?: string;
  /** The Grafana folder of the dashboards. Default: `Vigil`. */
  folder?: string;
  /** The data source's name. Default: `Prometheus`. */
  datasourceName?: string;
  /** Prometheus's scrape interval: the floor of `$__rate_interval`. Default: `15s`. */
  scrapeInterval?: string;
}

/** What grafanaProvisioning() returns: paths under Grafana's `provisioning/` folder -> YAML. */
export type ProvisioningFiles = Readonly<
  Record<'dashboards/vigil.yml' | 'datasources/prometheus.yml', string>
>;
