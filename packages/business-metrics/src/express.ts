// Express 4 and 5 side of track(): join the request's scope, then pass the request on.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type TrackRecorder, startTrack } from './track-recorder';

/**
 * A track() middleware called by Express as `(req, res, next)`. Unlike Koa, Express answers what
 * downstream throws or passes to next() with an error status, so the outcome needs nothing more here.
 */
export function expressTrack(
  recorder: TrackRecorder,
  req: IncomingMessage,
  res: ServerResponse,
  next: () => void,
): void {
  startTrack(recorder, req, res);
  next();
}
