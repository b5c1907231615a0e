// Koa 2 and 3 side of track(): join the request's scope, and mark it failed when downstream throws.
import { type TrackRecorder, startTrack } from './track-recorder';

/** A track() middleware called by Koa as `(ctx, next)`. */
export async function koaTrack(
  recorder: TrackRecorder,
  ctx: unknown,
  next: () => Promise<unknown>,
): Promise<void> {
  const scope = startTrack(recorder, ctx);
  try {
    await next();
  } catch (err) {
    // Koa turns the error into a response later; the request failed whatever status it gets.
    if (scope !== undefined) scope.errored = true;
    throw err;
  }
}
