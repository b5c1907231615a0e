// The backend "catalog" service: video metadata, called by the gateway over HTTP.
import type { TracerProvider } from '@opentelemetry/api';
import express, { type Express } from 'express';
import { Registry } from 'prom-client';
import { expressMetrics, expressMetricsHandler } from '@vigil/metrics';
import { expressRequestLogger } from '@vigil/logging';
import { expressTracing } from '@vigil/tracing';

export interface Video {
  id: string;
  title: string;
  format: string;
  durationSeconds: number;
}

/** A small fixed catalogue; ids outside it are 404s. */
const VIDEOS = new Map<string, Video>(
  Array.from({ length: 50 }, (_, i) => {
    const id = String(i + 1);
    return [
      id,
      {
        id,
        title: `Video ${id}`,
        format: i % 3 === 0 ? 'webm' : 'mp4',
        durationSeconds: 60 + i * 7,
      },
    ];
  }),
);

export interface CatalogOptions {
  registry: Registry;
  /** The catalog's own tracer provider (its `service.name`), when tracing is started. */
  tracerProvider?: TracerProvider;
  /** Where request log lines go. Default: stdout. */
  logDestination?: { write(line: string): unknown };
}

export function createCatalogApp(options: CatalogOptions): Express {
  const { registry, tracerProvider, logDestination } = options;
  const app = express();
  app.disable('x-powered-by');
  // Tracing first, so the metrics middleware sees the span and attaches trace exemplars.
  app.use(expressTracing(tracerProvider ? { tracerProvider } : undefined));
  app.use(expressRequestLogger(logDestination ? { destination: logDestination } : undefined));
  app.use(expressMetrics({ registry }));
  app.get('/metrics', expressMetricsHandler({ registry }));

  const videos = express.Router();
  videos.get('/:id', (req, res) => {
    const video = VIDEOS.get(req.params.id);
    if (!video) {
      res.status(404).json({ error: 'not_found' });
      return;
    }
    res.json(video);
  });
  app.use('/videos', videos);
  return app;
}

export function createCatalogRegistry(): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service: 'catalog' });
  return registry;
}
