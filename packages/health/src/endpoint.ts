// The three probe endpoints as one operational responder: core's gate (token, 405, operational mark)
// and body writer, the path picking the probe.
import {
  type OperationalResponder,
  isOperationalPath,
  operationalResponder,
  pathOfUrl,
} from '@vigil/core';
import { internalsOf, terse } from './health';
import type { Health, ProbeName } from './types';

/** The media type of the IETF health-check draft. */
export const HEALTH_CONTENT_TYPE = 'application/health+json';

const PROBES: Readonly<Record<string, ProbeName>> = {
  '/health/live': 'live',
  '/health/ready': 'ready',
  '/health/startup': 'startup',
};

/** The probe a request path asks for (case and a trailing slash ignored, as routes compare). */
export function probeOf(url: string | undefined): ProbeName | undefined {
  const path = pathOfUrl(url);
  if (path.length > 17 || !isOperationalPath(path)) return undefined;
  return PROBES[path.toLowerCase().replace(/\/$/, '')];
}

/** The endpoints of `health`: answers the three probe paths, passes every other request on. */
export function healthResponder(health: Health): OperationalResponder {
  const { config, reporter } = internalsOf(health);
  const responder = operationalResponder(
    { tokenDigest: config.access.tokenDigest, path: undefined },
    async (req) => {
      const name = probeOf(req.url) ?? 'ready';
      try {
        const { httpStatus, report } = await health.probe(name);
        return {
          status: httpStatus,
          contentType: HEALTH_CONTENT_TYPE,
          body: JSON.stringify(config.terse ? terse(report) : report),
        };
      } catch (error) {
        // Nothing a check does reaches here; this is the last guard of "never throw into the app".
        reporter.report('probe', error);
        return { status: 503, contentType: HEALTH_CONTENT_TYPE, body: '{"status":"fail"}' };
      }
    },
  );
  return {
    matches: (req) => probeOf(req.url) !== undefined,
    handle: (req, res) => responder.handle(req, res),
  };
}
