// track(): a per-route middleware for Express and Koa that records one metric when the response ends.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { notCalledError } from '@vigil/core';
import { context } from './errors';
import { expressTrack } from './express';
import { koaTrack } from './koa';
import { compileTrack } from './track-recorder';
import type {
  CounterMetric,
  CounterTrackSpec,
  GaugeMetric,
  GaugeTrackSpec,
  HistogramMetric,
  HistogramTrackSpec,
  LabelSpecs,
  SpecArg,
  TrackMiddleware,
} from './types';

/** What Express calls a middleware with, when track itself is mounted instead of track(...). */
function looksLikeRequest(value: unknown): boolean {
  if (value === null || typeof value !== 'object') return false;
  return ('socket' in value && 'headers' in value) || ('req' in value && 'res' in value);
}

/**
 * A per-route middleware recording `metric` once per request, when the response has finished (or
 * the client went away): `app.post('/api/videos', track(uploads_total, { labels }), handler)` on
 * Express 4/5, `router.post('/api/videos', track(...), handler)` on Koa 2/3. The route template,
 * method and outcome fill the metric's auto labels; `labels` and `value` may be functions of the
 * finished request. Mounting the same middleware twice on a request still records once.
 *
 * @throws VigilError with an `ERR_VIGIL_BUSINESS_METRICS_*` code on an invalid metric or spec.
 */
export function track<L extends LabelSpecs>(
  metric: CounterMetric<L>,
  ...spec: SpecArg<L, CounterTrackSpec<L>>
): TrackMiddleware;
export function track<L extends LabelSpecs>(
  metric: GaugeMetric<L>,
  ...spec: SpecArg<L, GaugeTrackSpec<L>>
): TrackMiddleware;
export function track<L extends LabelSpecs>(
  metric: HistogramMetric<L>,
  ...spec: SpecArg<L, HistogramTrackSpec<L>>
): TrackMiddleware;
export function track(metric: unknown, spec?: unknown): TrackMiddleware {
  if (looksLikeRequest(metric)) throw notCalledError(context('track'), metric);
  const recorder = compileTrack(metric, spec);

  // One middleware for both frameworks: Express passes a next function third, Koa never does.
  function vigilTrack(a: unknown, b: unknown, c?: unknown): void | Promise<void> {
    if (typeof c === 'function') {
      expressTrack(recorder, a as IncomingMessage, b as ServerResponse, c as () => void);
      return;
    }
    return koaTrack(recorder, a, b as () => Promise<unknown>);
  }
  return vigilTrack as TrackMiddleware;
}
