// Renders dashboard specs with the Grafana foundation SDK: the only module that loads it, and only on
// the first render, so an app that mounts the live page alone never loads the SDK.
import type * as Common from '@grafana/grafana-foundation-sdk/common';
import type * as Dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import type * as Heatmap from '@grafana/grafana-foundation-sdk/heatmap';
import type * as Prometheus from '@grafana/grafana-foundation-sdk/prometheus';
import type * as Stat from '@grafana/grafana-foundation-sdk/stat';
import type * as Table from '@grafana/grafana-foundation-sdk/table';
import type * as Timeseries from '@grafana/grafana-foundation-sdk/timeseries';
import type { DashboardSpec, PanelSpec, TargetSpec } from './model';

/** Every panel and query reads the data source the `datasource` variable picks. */
export const DATASOURCE: Dashboard.DataSourceRef = { type: 'prometheus', uid: '${datasource}' };

interface Sdk {
  common: typeof Common;
  dashboard: typeof Dashboard;
  heatmap: typeof Heatmap;
  prometheus: typeof Prometheus;
  stat: typeof Stat;
  table: typeof Table;
  timeseries: typeof Timeseries;
}

let loaded: Sdk | undefined;

/** The SDK's modules, required on first use (they are large: tens of files at start-up otherwise). */
function sdk(): Sdk {
  /* eslint-disable @typescript-eslint/no-require-imports */
  loaded ??= {
    common: require('@grafana/grafana-foundation-sdk/common') as typeof Common,
    dashboard: require('@grafana/grafana-foundation-sdk/dashboard') as typeof Dashboard,
    heatmap: require('@grafana/grafana-foundation-sdk/heatmap') as typeof Heatmap,
    prometheus: require('@grafana/grafana-foundation-sdk/prometheus') as typeof Prometheus,
    stat: require('@grafana/grafana-foundation-sdk/stat') as typeof Stat,
    table: require('@grafana/grafana-foundation-sdk/table') as typeof Table,
    timeseries: require('@grafana/grafana-foundation-sdk/timeseries') as typeof Timeseries,
  };
  /* eslint-enable @typescript-eslint/no-require-imports */
  return loaded;
}

const REF_IDS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';

function refId(index: number): string {
  return REF_IDS[index] ?? `Q${index}`;
}

function target(spec: TargetSpec, index: number): Prometheus.DataqueryBuilder {
  const { prometheus } = sdk();
  const t = new prometheus.DataqueryBuilder()
    .datasource(DATASOURCE)
    .refId(refId(index))
    .expr(spec.expr)
    .editorMode(prometheus.QueryEditorMode.Code);
  if (spec.legend !== undefined && spec.legend !== '') t.legendFormat(spec.legend);
  if (spec.instant === true) t.instant().format(prometheus.PromQueryFormat.Table);
  else t.range();
  if (spec.format === 'heatmap') t.format(prometheus.PromQueryFormat.Heatmap);
  return t;
}

type AnyPanelBuilder =
  Timeseries.PanelBuilder | Stat.PanelBuilder | Heatmap.PanelBuilder | Table.PanelBuilder;

function panelBuilder(spec: PanelSpec): AnyPanelBuilder {
  const { common, heatmap, stat, table, timeseries } = sdk();
  switch (spec.kind) {
    case 'timeseries':
      return new timeseries.PanelBuilder()
        .legend(
          new common.VizLegendOptionsBuilder()
            .showLegend(true)
            .displayMode(common.LegendDisplayMode.List)
            .placement(common.LegendPlacement.Bottom),
        )
        .tooltip(
          new common.VizTooltipOptionsBuilder()
            .mode(common.TooltipDisplayMode.Multi)
            .sort(common.SortOrder.Descending),
        )
        .lineWidth(1)
        .fillOpacity(10);
    case 'stat':
      return new stat.PanelBuilder()
        .graphMode(common.BigValueGraphMode.None)
        .reduceOptions(new common.ReduceDataOptionsBuilder().calcs(['lastNotNull']));
    case 'heatmap':
      return new heatmap.PanelBuilder()
        .calculate(false)
        .yAxis(new heatmap.YAxisConfigBuilder().unit(spec.unit ?? 's'))
        .color(
          new heatmap.HeatmapColorOptionsBuilder()
            .mode(heatmap.HeatmapColorMode.Scheme)
            .scheme('Oranges')
            .fill('dark-orange')
            .scale(heatmap.HeatmapColorScale.Exponential)
            .exponent(0.5)
            .steps(64)
            .reverse(false),
        )
        .cellGap(1);
    case 'table': {
      // Instant queries in table format give one frame each, merged on their labels; each value
      // column (`Value #<refId>`) gets the title and unit its query declares.
      const renameByName: Record<string, string> = {};
      const t = new table.PanelBuilder().withTransformation({ id: 'merge', options: {} });
      spec.targets.forEach((target, i) => {
        if (target.column === undefined) return;
        const name = `Value #${refId(i)}`;
        renameByName[name] = target.column.title;
        if (target.column.unit !== undefined) {
          t.overrideByName(target.column.title, [{ id: 'unit', value: target.column.unit }]);
        }
      });
      return t.withTransformation({
        id: 'organize',
        options: { excludeByName: { Time: true }, indexByName: {}, renameByName },
      });
    }
  }
}

function renderPanel(spec: PanelSpec, id: number): AnyPanelBuilder {
  const p = panelBuilder(spec)
    .id(id)
    .title(spec.title)
    .description(spec.description)
    .datasource(DATASOURCE)
    .gridPos({ x: 0, y: 0, w: spec.width, h: spec.height });
  if (spec.unit !== undefined) p.unit(spec.unit);
  if (spec.min !== undefined) p.min(spec.min);
  if (spec.max !== undefined) p.max(spec.max);
  spec.targets.forEach((t, i) => p.withTarget(target(t, i)));
  return p;
}

/**
 * One dashboard. Panel ids count up from 1 in order (rows included), and the SDK lays panels out
 * left to right under their row: the same spec always gives the same ids and positions.
 */
export function renderDashboard(spec: DashboardSpec, job: string): Dashboard.Dashboard {
  const { dashboard } = sdk();
  const b = new dashboard.DashboardBuilder(spec.title)
    .uid(spec.uid)
    .description(spec.description)
    .tags([...spec.tags])
    .editable()
    .refresh('30s')
    .time({ from: 'now-1h', to: 'now' })
    .timezone('browser')
    .tooltip(dashboard.DashboardCursorSync.Crosshair)
    .withVariable(
      new dashboard.DatasourceVariableBuilder('datasource')
        .label('Data source')
        .type('prometheus')
        .current({ text: 'Prometheus', value: 'Prometheus' }),
    )
    .withVariable(
      new dashboard.QueryVariableBuilder('job')
        .label('Job')
        .datasource(DATASOURCE)
        .query('label_values(up, job)')
        .definition('label_values(up, job)')
        .refresh(dashboard.VariableRefresh.OnTimeRangeChanged)
        .sort(dashboard.VariableSort.AlphabeticalAsc)
        .current({ text: job, value: job }),
    );
  if (spec.instanceVariable) {
    b.withVariable(
      new dashboard.QueryVariableBuilder('instance')
        .label('Instance')
        .datasource(DATASOURCE)
        .query('label_values(up{job=~"$job"}, instance)')
        .definition('label_values(up{job=~"$job"}, instance)')
        .refresh(dashboard.VariableRefresh.OnTimeRangeChanged)
        .sort(dashboard.VariableSort.AlphabeticalAsc)
        .multi(true)
        .includeAll(true)
        .allValue('.*')
        .current({ text: ['All'], value: ['$__all'] }),
    );
  }
  let id = 0;
  for (const section of spec.sections) {
    b.withRow(new dashboard.RowBuilder(section.title).id(++id));
    for (const p of section.panels) b.withPanel(renderPanel(p, ++id));
  }
  return b.build();
}

/** The file text of a dashboard: two-space JSON with a final newline, the same bytes every time. */
export function dashboardJson(d: Dashboard.Dashboard): string {
  return `${JSON.stringify(d, null, 2)}\n`;
}
