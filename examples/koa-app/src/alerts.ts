// The app's alerts, as code: GET /api/fail drives the error-rate alert, GET /api/slow the latency
// alert, repeated logins the rate-limit alert. VIGIL_ALERTS_DEMO=1 shortens their windows so a
// failure alerts within about a minute.
import {
  type AlertsOptions,
  errorRatioAlert,
  eventLoopLagAlert,
  latencyAlert,
  rateLimitAlert,
} from '@vigil/alerts';

const DEMO = { window: '2m', for: '15s' } as const;

/** The rule set; `demo` shortens the windows. */
export function koaAppAlerts(demo = process.env.VIGIL_ALERTS_DEMO === '1'): AlertsOptions {
  const timing = demo ? DEMO : {};
  return {
    name: demo ? 'koa-app-demo' : 'koa-app',
    alerts: [
      errorRatioAlert({ name: 'HighErrorRate', threshold: 0.1, ...timing }),
      latencyAlert({ name: 'HighLatency', quantile: 0.95, threshold: 2.5, ...timing }),
      rateLimitAlert({
        policies: ['login'],
        threshold: 0.5,
        ...(demo ? { window: DEMO.window } : {}),
      }),
      rateLimitAlert({ result: 'store_error' }),
      eventLoopLagAlert(),
    ],
  };
}
