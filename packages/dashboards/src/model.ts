// The dashboards as plain data (sections of panels with their PromQL), before the SDK renders them.

/** One query of a panel. */
export interface TargetSpec {
  readonly expr: string;
  readonly legend?: string;
  /** An instant query (tables and stats of "now"). Default: a range query. */
  readonly instant?: boolean;
  /** `heatmap` for bucket series drawn as a heatmap, `table` for table panels. */
  readonly format?: 'heatmap' | 'table';
  /** In a table: the title of the query's value column, and its unit. */
  readonly column?: { readonly title: string; readonly unit?: string };
}

export type PanelKind = 'timeseries' | 'stat' | 'heatmap' | 'table';

export interface PanelSpec {
  readonly kind: PanelKind;
  readonly title: string;
  readonly description: string;
  /** Grafana unit id (`reqps`, `s`, `bytes`, `percentunit`, ...). */
  readonly unit?: string;
  /** Columns of 24. */
  readonly width: number;
  readonly height: number;
  readonly targets: readonly TargetSpec[];
  readonly min?: number;
  readonly max?: number;
  /** Metric names the panel charts (for the catalogue coverage check). */
  readonly metrics: readonly string[];
}

export interface SectionSpec {
  readonly title: string;
  readonly panels: readonly PanelSpec[];
}

export interface DashboardSpec {
  /** The dashboard uid, also its file name without `.json`. */
  readonly uid: string;
  readonly title: string;
  readonly description: string;
  readonly tags: readonly string[];
  /** Whether the `instance` variable applies (series scraped per instance). */
  readonly instanceVariable: boolean;
  readonly sections: readonly SectionSpec[];
}
