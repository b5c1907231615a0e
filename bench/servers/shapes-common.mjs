// The after-the-window check of the request shapes @vigil/core learns for Express's req and res
// (packages/core/src/request-shapes.ts): how many property names it gives each new request and
// response before Express changes their prototype.
import { requestShapesOf } from '@vigil/core';

/** The path of the shapes check; used in scenarios.mjs, requested only after the window. */
export const SHAPES_CHECK_PATH = '/_bench/shapes';

/**
 * Mounts the shapes check (after the route mix): `request_shape_keys` and `response_shape_keys` of the
 * server the check request came in on, 0 when nothing was learned (or VIGIL_REQUEST_SHAPES=off).
 * @param {import('express').Express} app
 */
export function mountShapesCheck(app) {
  app.get(SHAPES_CHECK_PATH, (req, res) => {
    const server = /** @type {{ server?: object }} */ (req.socket).server;
    const shapes = server === undefined ? undefined : requestShapesOf(server);
    const lines = [
      `request_shape_keys ${shapes?.request.keys.length ?? 0}`,
      `response_shape_keys ${shapes?.response.keys.length ?? 0}`,
    ];
    res.type('text/plain').send(`${lines.join('\n')}\n`);
  });
}
