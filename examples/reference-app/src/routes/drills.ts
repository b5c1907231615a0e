// Routes that drive the analytics service and the alerts: a decorated report generator, a route that
// always fails (error-rate alert) and one that answers late (latency alert).
import type { Router } from 'express';
import {
  ANALYTICS_REPORTS,
  type AnalyticsReport,
  type BusinessMetrics,
  createAnalyticsService,
} from '../business';

/** Longest delay /api/slow will wait, whatever the caller asks. */
export const MAX_SLOW_MS = 10_000;

/** Mounts /analytics/:report, /fail and /slow on the API router. */
export function drillRoutes(
  api: Router,
  business: BusinessMetrics,
  activeStreams: ReadonlySet<string>,
): void {
  const analytics = createAnalyticsService(business);
  // Decorated service: the generation is timed by report and outcome, failures included.
  api.post('/analytics/:report', async (req, res) => {
    try {
      res.json(await analytics.generate(req.params.report as AnalyticsReport, activeStreams.size));
    } catch {
      res.status(400).json({ error: 'unknown_report', allowed: ANALYTICS_REPORTS });
    }
  });
  api.get('/fail', () => {
    throw new Error('this endpoint always fails (it drives the error-rate alert)');
  });
  api.get('/slow', async (req, res) => {
    const asked = Number(req.query.ms ?? 500);
    const ms = Number.isFinite(asked) ? Math.min(Math.max(asked, 0), MAX_SLOW_MS) : 500;
    await new Promise((resolve) => setTimeout(resolve, ms));
    res.json({ waitedMs: ms });
  });
}
