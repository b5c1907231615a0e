// /api/streams/:id/start and /stop: a gauge of active streams, starts counted per request.
import express, { type Router } from 'express';
import { track } from '@vigil/business-metrics';
import type { BusinessMetrics } from '../business';

/** Mounts /streams on the API router; returns the set of active streams (the analytics read it). */
export function streamRoutes(api: Router, business: BusinessMetrics): ReadonlySet<string> {
  const { streams_started_total, streams_active } = business.metrics;
  const activeStreams = new Set<string>();
  const streams = express.Router();
  streams.post('/:id/start', track(streams_started_total), (req, res) => {
    activeStreams.add(req.params.id);
    streams_active.set(activeStreams.size);
    res.json({ id: req.params.id, active: activeStreams.size });
  });
  streams.post('/:id/stop', (req, res) => {
    activeStreams.delete(req.params.id);
    streams_active.set(activeStreams.size);
    res.json({ id: req.params.id, active: activeStreams.size });
  });
  api.use('/streams', streams);
  return activeStreams;
}
