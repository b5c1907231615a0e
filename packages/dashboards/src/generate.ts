// grafanaDashboards(): the options resolved once, the specs built, each rendered by the SDK.
import { resolveDashboardsOptions } from './options';
import { dashboardJson, renderDashboard } from './render';
import { dashboardSpecs } from './specs';
import type { DashboardsOptions, GeneratedDashboards } from './types';

/**
 * Grafana dashboards for one service, from what Vigil knows about it: one file per area (overview,
 * business metrics, rate limiting and audit, SLOs and alerts, Node.js runtime), each with a
 * `datasource` variable, stable uids and panel ids. The same options give byte-identical files.
 */
export function grafanaDashboards(options: DashboardsOptions): GeneratedDashboards {
  const o = resolveDashboardsOptions(options, arguments.length);
  const dashboards = dashboardSpecs(o).map((spec) => renderDashboard(spec, o.job));
  const files: Record<string, string> = {};
  for (const d of dashboards) files[`${d.uid ?? ''}.json`] = dashboardJson(d);
  return { files: Object.freeze(files), dashboards: Object.freeze(dashboards) };
}
