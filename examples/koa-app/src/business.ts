// The media platform's business metrics, declared once: uploads, streams and logins.
import type { Registry } from 'prom-client';
import { defineBusinessMetrics } from '@vigil/business-metrics';

/** Formats an upload may have; anything else is rejected with 400 and counted under one value. */
export const VIDEO_FORMATS = ['mp4', 'webm', 'mov', 'mkv'] as const;
export type VideoFormat = (typeof VIDEO_FORMATS)[number];

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
