// Every query of generated dashboards, flattened: for tests, linters and reviews of the PromQL.
import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';

/** One query of one panel. */
export interface DashboardQuery {
  /** The dashboard's uid. */
  readonly dashboard: string;
  readonly panelId: number;
  readonly panelTitle: string;
  readonly refId: string;
  readonly expr: string;
  /** True for an instant query (tables and stats), false for a range query. */
  readonly instant: boolean;
}

/** The queries of `dashboards`, in panel order. */
export function dashboardQueries(dashboards: readonly Dashboard[]): DashboardQuery[] {
  const found: DashboardQuery[] = [];
  for (const d of dashboards) {
    for (const p of d.panels ?? []) {
      if (p.type === 'row' || !('targets' in p)) continue;
      for (const t of (p.targets ?? []) as { refId?: string; expr?: string; instant?: boolean }[]) {
        found.push({
          dashboard: d.uid ?? '',
          panelId: p.id ?? 0,
          panelTitle: p.title ?? '',
          refId: t.refId ?? '',
          expr: t.expr ?? '',
          instant: t.instant === true,
        });
      }
    }
  }
  return found;
}
