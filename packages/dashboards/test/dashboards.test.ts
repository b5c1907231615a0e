// grafanaDashboards(): determinism, stable ids, the datasource variable, panel sanity, catalogue
// coverage, SLOs and alerts from a rule set, and option errors.
import { describe, expect, it } from 'vitest';
import {
  type AlertRuleSetLike,
  DASHBOARDS_ERROR_CODES,
  type DashboardsOptions,
  dashboardQueries,
  grafanaDashboards,
} from '@vigil/dashboards';

const CATALOGUE = {
  orders_total: {
    type: 'counter',
    help: 'Orders by outcome',
    labels: { outcome: 'outcome', channel: { values: ['web', 'app'] } },
  },
  cart_value_dollars: {
    type: 'histogram',
    help: 'Cart value',
    unit: 'dollars',
    buckets: [1, 10, 100],
  },
  carts_open: { type: 'gauge', help: 'Open carts' },
  checkout_duration_seconds: { type: 'histogram', help: 'Checkout time' },
} as const;

/** A rule set shaped as defineAlerts() of @vigil/alerts resolves it. */
const RULES: AlertRuleSetLike = {
  groups: [
    {
      rules: [
        { alert: 'HighErrorRate', labels: { severity: 'critical' } },
        { alert: 'HighLatency', labels: { severity: 'warning' } },
      ],
    },
    {
      rules: ['5m', '1h', '30d', '30m'].flatMap((w) => [
        { record: `slo:sli_error:ratio_rate${w}`, labels: { job: 'shop', slo: 'checkout' } },
        { record: `slo:burn_rate:ratio_rate${w}`, labels: { job: 'shop', slo: 'checkout' } },
      ]),
    },
    {
      rules: [
        { record: 'slo:objective:ratio', labels: { job: 'shop', slo: 'checkout' } },
        { record: 'slo:error_budget:remaining_ratio', labels: { job: 'shop', slo: 'checkout' } },
        { alert: 'CheckoutErrorBudgetBurn', labels: { severity: 'critical', slo: 'checkout' } },
      ],
    },
  ],
};

const FULL: DashboardsOptions = {
  service: 'shop',
  business: CATALOGUE,
  rateLimit: true,
  audit: true,
  alerts: RULES,
  evaluator: true,
};

interface PanelJson {
  id: number;
  type: string;
  title: string;
  datasource?: { type: string; uid: string };
  gridPos: { x: number; y: number; w: number; h: number };
  targets?: { expr: string; refId: string; datasource?: { uid: string } }[];
}

interface DashboardJson {
  uid: string;
  schemaVersion: number;
  templating: { list: { name: string; type: string; query?: unknown; allValue?: string }[] };
  panels: PanelJson[];
}

function parsed(options: DashboardsOptions): DashboardJson[] {
  return Object.values(grafanaDashboards(options).files).map((f) => JSON.parse(f) as DashboardJson);
}

describe('grafanaDashboards', () => {
  it('should give byte-identical files for the same options', () => {
    const a = grafanaDashboards(FULL).files;
    const b = grafanaDashboards(structuredClone(FULL)).files;
    expect(Object.keys(a)).toEqual(Object.keys(b));
    for (const name of Object.keys(a)) expect(a[name]).toBe(b[name]);
  });

  it('should name files after stable uids of at most 40 characters', () => {
    expect(Object.keys(grafanaDashboards(FULL).files)).toEqual([
      'vigil-shop-overview.json',
      'vigil-shop-business.json',
      'vigil-shop-limits-audit.json',
      'vigil-shop-slo-alerts.json',
      'vigil-shop-runtime.json',
    ]);
    const long = grafanaDashboards({ service: 'a-very-long-service-name-for-the-checkout-flow' });
    for (const d of long.dashboards) expect(d.uid!.length).toBeLessThanOrEqual(40);
    expect(grafanaDashboards({ service: 'shop', uidPrefix: 'shop' }).dashboards[0]!.uid).toBe(
      'shop-overview',
    );
  });

  it('should keep panel ids when a later dashboard changes', () => {
    const before = parsed({ service: 'shop', business: CATALOGUE });
    const after = parsed({
      service: 'shop',
      business: { ...CATALOGUE, extra_total: { type: 'counter' } },
    });
    expect(after[0]).toEqual(before[0]);
  });

  it('should give every dashboard a datasource variable, a job and an instance variable', () => {
    for (const d of parsed(FULL)) {
      const vars = Object.fromEntries(d.templating.list.map((v) => [v.name, v]));
      expect(vars.datasource).toMatchObject({ type: 'datasource', query: 'prometheus' });
      expect(vars.job).toMatchObject({ type: 'query', query: 'label_values(up, job)' });
      expect(vars.instance).toMatchObject({ type: 'query', allValue: '.*' });
      expect(d.schemaVersion).toBeGreaterThanOrEqual(39);
    }
  });

  it('should give every panel the datasource variable, a grid position and a unique id', () => {
    let panels = 0;
    for (const d of parsed(FULL)) {
      const ids = d.panels.map((p) => p.id);
      expect(new Set(ids).size).toBe(ids.length);
      for (const p of d.panels) {
        panels++;
        expect(p.gridPos.w).toBeGreaterThan(0);
        expect(p.gridPos.h).toBeGreaterThan(0);
        expect(p.gridPos.x + p.gridPos.w).toBeLessThanOrEqual(24);
        if (p.type === 'row') continue;
        expect(p.datasource, p.title).toEqual({ type: 'prometheus', uid: '${datasource}' });
        expect(p.targets!.length, p.title).toBeGreaterThan(0);
        for (const t of p.targets!) {
          expect(t.datasource?.uid).toBe('${datasource}');
          expect(t.expr).not.toBe('');
        }
      }
    }
    expect(panels).toBeGreaterThan(40);
  });

  it('should chart every metric of the catalogue, by its labels', () => {
    const exprs = dashboardQueries(grafanaDashboards(FULL).dashboards).map((q) => q.expr);
    for (const name of Object.keys(CATALOGUE)) {
      expect(exprs.some((e) => e.includes(`${name}{`) || e.includes(`${name}_bucket{`))).toBe(true);
    }
    expect(exprs).toContain(
      'sum by (outcome, channel) (rate(orders_total{job=~"$job",instance=~"$instance"}[$__rate_interval]))',
    );
    expect(exprs).toContain('sum(carts_open{job=~"$job",instance=~"$instance"})');
    expect(exprs).toContain(
      'histogram_quantile(0.99, sum by (le) (rate(checkout_duration_seconds_bucket{job=~"$job",instance=~"$instance"}[$__rate_interval])))',
    );
  });

  it('should read the catalogue defineBusinessMetrics() returns, with its prefix', () => {
    const catalogue = {
      metrics: {
        orders_total: { type: 'counter', name: 'shop_orders_total', labelNames: ['outcome'] },
      },
    } as const;
    const exprs = dashboardQueries(
      grafanaDashboards({ service: 'shop', business: catalogue }).dashboards,
    ).map((q) => q.expr);
    expect(exprs.some((e) => e.includes('sum by (outcome) (rate(shop_orders_total{'))).toBe(true);
  });

  it('should chart each SLO of the rule set over every window its rules record', () => {
    const queries = dashboardQueries(grafanaDashboards(FULL).dashboards).filter(
      (q) => q.dashboard === 'vigil-shop-slo-alerts',
    );
    const burn = queries.filter((q) => q.panelTitle === 'Burn rates').map((q) => q.expr);
    expect(burn).toEqual(
      ['5m', '30m', '1h', '30d'].map(
        (w) => `slo:burn_rate:ratio_rate${w}{job=~"$job",slo="checkout"}`,
      ),
    );
    const exprs = queries.map((q) => q.expr);
    expect(exprs).toContain('slo:error_budget:remaining_ratio{job=~"$job",slo="checkout"}');
    expect(exprs).toContain(
      'count(ALERTS{alertstate="firing",alertname=~"HighErrorRate|HighLatency|CheckoutErrorBudgetBurn"}) or vector(0)',
    );
  });

  it('should leave out what is not asked for', () => {
    expect(Object.keys(grafanaDashboards({ service: 'shop' }).files)).toEqual([
      'vigil-shop-overview.json',
      'vigil-shop-runtime.json',
    ]);
    expect(
      Object.keys(grafanaDashboards({ service: 'shop', http: false, runtime: false }).files),
    ).toEqual([]);
  });

  it('should apply the metrics prefix to the HTTP and runtime metrics', () => {
    const exprs = dashboardQueries(
      grafanaDashboards({ service: 'shop', metricPrefix: 'shop_' }).dashboards,
    ).map((q) => q.expr);
    expect(exprs.some((e) => e.includes('shop_http_requests_total{'))).toBe(true);
    expect(exprs.some((e) => e.includes('shop_nodejs_eventloop_lag_p99_seconds{'))).toBe(true);
    expect(exprs.some((e) => /(^|[^_])http_requests_total/.test(e))).toBe(false);
  });

  it('should default the job variable to the job option, else the service', () => {
    const job = (o: DashboardsOptions) =>
      (
        parsed(o)[0]!.templating.list.find((v) => v.name === 'job') as unknown as {
          current: { value: string };
        }
      ).current.value;
    expect(job({ service: 'shop' })).toBe('shop');
    expect(job({ service: 'shop', job: 'shop-prod' })).toBe('shop-prod');
  });
});

describe('grafanaDashboards option errors', () => {
  it.each([
    [DASHBOARDS_ERROR_CODES.INVALID_OPTIONS, 'options', 'an object or undefined', 42],
    [DASHBOARDS_ERROR_CODES.UNKNOWN_OPTION, 'servce', 'one of service', { servce: 'x' }],
    [DASHBOARDS_ERROR_CODES.INVALID_OPTION, 'service', 'a service name', {}],
    [DASHBOARDS_ERROR_CODES.INVALID_OPTION, 'http', 'a boolean', { service: 's', http: 'yes' }],
    [
      DASHBOARDS_ERROR_CODES.INVALID_OPTION,
      'business',
      'defineBusinessMetrics',
      { service: 's', business: { m: { type: 'summary' } } },
    ],
    [DASHBOARDS_ERROR_CODES.INVALID_OPTION, 'alerts', 'defineAlerts', { service: 's', alerts: {} }],
    [
      DASHBOARDS_ERROR_CODES.INVALID_OPTION,
      'uidPrefix',
      'at most 30',
      { service: 's', uidPrefix: 'a b' },
    ],
  ])('should throw %s for option %s', (code, option, expected, value) => {
    expect(() => grafanaDashboards(value as DashboardsOptions)).toThrow(
      expect.objectContaining({
        code,
        message: expect.stringMatching(
          new RegExp(`grafanaDashboards\\(\\): option "${option}" must be .*${expected}`),
        ) as unknown,
      }),
    );
  });

  it('should explain a call with a framework request (ERR_VIGIL_DASHBOARDS_NOT_CALLED)', () => {
    const req = { method: 'GET', url: '/', headers: {} };
    const res = { statusCode: 200, setHeader() {}, end() {} };
    const call = grafanaDashboards as unknown as (...args: unknown[]) => unknown;
    expect(() => call(req, res, () => undefined)).toThrow(
      expect.objectContaining({ code: DASHBOARDS_ERROR_CODES.NOT_CALLED }),
    );
  });
});
