// /api/videos: reads through the catalog service over HTTP, uploads counted by format and outcome.
import express, { type Request, type Router } from 'express';
import { metrics, track } from '@vigil/business-metrics';
import { getRequestContext } from '@vigil/tracing';
import { type BusinessMetrics, VIDEO_FORMATS } from '../business';

type VideoFormat = (typeof VIDEO_FORMATS)[number];

/** Mounts /videos on the API router; `catalogUrl` is the catalog service's base URL. */
export function videoRoutes(api: Router, catalogUrl: string, business: BusinessMetrics): void {
  const { video_uploads_total, video_upload_size_bytes } = business.metrics;
  const videos = express.Router();
  videos.get('/:id', async (req, res) => {
    // fetch carries traceparent, baggage, x-request-id and x-correlation-id to the catalog.
    const upstream = await fetch(`${catalogUrl}/videos/${encodeURIComponent(req.params.id)}`, {
      signal: AbortSignal.timeout(5_000),
    });
    res
      .status(upstream.status)
      .json({ ...((await upstream.json()) as object), requestId: getRequestContext()?.requestId });
  });
  // Route middleware: each upload is counted by format and outcome once the response has finished (a
  // format outside the known set lands in one overflow series, never a new one).
  const countUpload = track(video_uploads_total, {
    labels: ({ req }) => ({
      format: ((req as Request | undefined)?.body as { format?: unknown } | undefined)
        ?.format as VideoFormat,
    }),
  });
  videos.post('/', countUpload, (req, res) => {
    const body = (req.body ?? {}) as { title?: unknown; format?: unknown; sizeBytes?: unknown };
    if (typeof body.title !== 'string' || body.title.length === 0 || body.title.length > 200) {
      res.status(400).json({ error: 'invalid_title' });
      return;
    }
    if (
      typeof body.format !== 'string' ||
      !(VIDEO_FORMATS as readonly string[]).includes(body.format)
    ) {
      res.status(400).json({ error: 'unsupported_format', allowed: VIDEO_FORMATS });
      return;
    }
    if (
      typeof body.sizeBytes !== 'number' ||
      !Number.isFinite(body.sizeBytes) ||
      body.sizeBytes <= 0
    ) {
      res.status(400).json({ error: 'invalid_size' });
      return;
    }
    const format = body.format as VideoFormat;
    metrics(req).observe(video_upload_size_bytes, { format }, body.sizeBytes);
    res.status(201).json({ id: `v${Date.now().toString(36)}`, title: body.title, format });
  });
  api.use('/videos', videos);
}
