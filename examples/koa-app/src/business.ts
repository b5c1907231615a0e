// The media platform's business metrics, declared once: uploads, streams, analytics reports and
// logins; the analytics service below records its own with a decorator.
import type { Registry } from 'prom-client';
import { Timed, defineBusinessMetrics } from '@vigil/business-metrics';

/** Formats an upload may have; anything else is rejected with 400 and counted under one value. */
export const VIDEO_FORMATS = ['mp4', 'webm', 'mov', 'mkv'] as const;
export type VideoFormat = (typeof VIDEO_FORMATS)[number];
/** Analytics reports the platform generates. */
export const ANALYTICS_REPORTS = ['daily', 'weekly', 'monthly'] as const;
export type AnalyticsReport = (typeof ANALYTICS_REPORTS)[number];

/** The app's catalogue, on its registry. */
export function createBusinessMetrics(registry: Registry) {
  return defineBusinessMetrics(
    {
      video_uploads_total: {
        type: 'counter',
        help: 'Video uploads by format and outcome (a format outside the known set is counted as __overflow__)',
        labels: { format: { values: VIDEO_FORMATS }, outcome: 'outcome' },
      },
      video_upload_size_bytes: {
        type: 'histogram',
        help: 'Size of accepted video uploads',
        unit: 'bytes',
        labels: { format: { values: VIDEO_FORMATS } },
        buckets: [1e5, 1e6, 1e7, 1e8, 1e9, 1e10],
      },
      streams_started_total: { type: 'counter', help: 'Streams started' },
      streams_active: { type: 'gauge', help: 'Streams being watched now' },
      analytics_generation_duration_seconds: {
        type: 'histogram',
        help: 'Time to generate an analytics report, by report and outcome',
        unit: 'seconds',
        labels: { report: { values: ANALYTICS_REPORTS }, outcome: 'outcome' },
      },
      login_attempts_total: {
        type: 'counter',
        help: 'Login attempts by result (attempts refused by the rate limiter never reach the handler)',
        labels: { result: { values: ['success', 'failure'] } },
      },
    },
    { registry },
  );
}

export type BusinessMetrics = ReturnType<typeof createBusinessMetrics>;

/** What a generated report says. */
export interface AnalyticsResult {
  report: AnalyticsReport;
  videos: number;
  generatedAt: string;
}

/** Generates analytics reports; each generation is timed by its decorator, failures included. */
export function createAnalyticsService(business: BusinessMetrics) {
  const { analytics_generation_duration_seconds } = business.metrics;
  class AnalyticsService {
    @Timed(analytics_generation_duration_seconds, {
      labels: ({ args }) => ({ report: args[0] as AnalyticsReport }),
    })
    async generate(report: AnalyticsReport, videos: number): Promise<AnalyticsResult> {
      if (!(ANALYTICS_REPORTS as readonly string[]).includes(report)) {
        throw new Error(`unknown report ${JSON.stringify(report)}`);
      }
      // Stands in for the aggregation work: a report over more days takes longer.
      const ms = { daily: 5, weekly: 15, monthly: 40 }[report];
      await new Promise((resolve) => setTimeout(resolve, ms));
      return { report, videos, generatedAt: new Date().toISOString() };
    }
  }
  return new AnalyticsService();
}
