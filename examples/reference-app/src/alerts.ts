// The gateway's alerts and SLOs, as code. `vigil-alerts generate` turns this module into the rule
// file, the promtool tests, the PrometheusRule and the Alertmanager snippet committed under
// examples/stack/ (`npm run alerts` at the root); a test fails when they drift from it.
//
// GET /api/fail drives the error-rate alert and GET /api/slow the latency alert. With
// VIGIL_ALERTS_DEMO=1 the same alerts use windows of seconds (see DEMO below), so a newcomer who
// hits /api/fail sees the error-rate alert fire within about a minute; the SLOs keep their windows.
import {
  type AlertsOptions,
  alertmanagerObject,
  businessFailureAlert,
  defineAlerts,
  defineSlo,
  errorRatioAlert,
  eventLoopLagAlert,
  latencyAlert,
  rateLimitAlert,
  targetDownAlert,
} from '@vigil/alerts';

/** The Prometheus scrape job of the gateway: every selector of the rules carries it. */
export const GATEWAY_JOB = 'gateway';

/** The windows and `for` of the demo variant: rates over 2 minutes, firing after 15 s. */
export const DEMO = { window: '2m', for: '15s' } as const;

/** The routes the API's SLOs cover (route templates, as @vigil/metrics labels them). */
const API_ROUTES = [
  '/api/videos',
  '/api/videos/:id',
  '/api/streams/:id/start',
  '/api/streams/:id/stop',
  '/api/analytics/:report',
  '/api/auth/login',
];

/** The rule set of the gateway; `demo` shortens the alerts' windows (VIGIL_ALERTS_DEMO=1). */
export function gatewayAlerts(demo = process.env.VIGIL_ALERTS_DEMO === '1'): AlertsOptions {
  const timing = demo ? DEMO : {};
  return {
    name: demo ? 'gateway-demo' : 'gateway',
    selector: { job: GATEWAY_JOB },
    // Where your runbooks live; each alert links to `<base>#<alert name in lower case>`.
    runbookBaseUrl: 'https://runbooks.example.com/gateway',
    alerts: [
      // The seeds' HighErrorRate: more than 10% of requests failing for 5 minutes pages.
      errorRatioAlert({ name: 'HighErrorRate', threshold: 0.1, ...timing }),
      // The seeds' HighLatency, on the histogram: p95 above 2.5 s (GET /api/slow?ms=3000).
      latencyAlert({ name: 'HighLatency', quantile: 0.95, threshold: 2.5, ...timing }),
      rateLimitAlert({
        policies: ['login'],
        threshold: 0.5,
        ...(demo ? { window: DEMO.window } : {}),
      }),
      rateLimitAlert({ result: 'store_error' }),
      businessFailureAlert({ metric: 'video_uploads_total', threshold: 0.2 }),
      eventLoopLagAlert(),
      targetDownAlert(),
    ],
    slos: [
      defineSlo({
        kind: 'availability',
        name: 'api-availability',
        objective: 0.995,
        routes: API_ROUTES,
        minEvents: 10,
      }),
      defineSlo({
        kind: 'latency',
        name: 'api-latency',
        objective: 0.99,
        threshold: 1,
        routes: API_ROUTES,
        minEvents: 10,
      }),
      defineSlo({
        kind: 'business',
        name: 'upload-success',
        objective: 0.98,
        metric: 'video_uploads_total',
        // track() records `failure` for an upload answered with 4xx or 5xx; aborted ones are left out.
        minEvents: 5,
      }),
    ],
  };
}

/** What `vigil-alerts generate` reads. */
export const rules = gatewayAlerts();

/** Seconds between evaluations of the in-process engine: 5 in the demo, as Prometheus's 15 otherwise. */
export function gatewayEvaluationInterval(demo = process.env.VIGIL_ALERTS_DEMO === '1'): string {
  return demo ? '5s' : '15s';
}

/**
 * The gateway's `alertmanager.yml`, for the in-process dispatcher (and the same file for a real
 * Alertmanager): the generated routes by severity (critical pages, warning tickets) and inhibit
 * rules, grouped by alert name. The demo waits 5 s before a group's first notification, not 30 s.
 * Receivers have no configs here: give them webhook, Slack, PagerDuty or email configs in yours.
 */
export function gatewayAlertmanagerConfig(
  demo = process.env.VIGIL_ALERTS_DEMO === '1',
): Record<string, unknown> {
  const generated = alertmanagerObject(defineAlerts(gatewayAlerts(demo)));
  return {
    route: {
      receiver: 'default',
      group_by: ['alertname'],
      group_wait: demo ? '5s' : '30s',
      group_interval: demo ? '30s' : '5m',
      repeat_interval: '4h',
      routes: generated.route.routes,
    },
    inhibit_rules: generated.inhibit_rules,
    receivers: [{ name: 'default' }, { name: 'page' }, { name: 'ticket' }, { name: 'info' }],
  };
}
