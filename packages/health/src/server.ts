// The probes on a port of their own: away from the app's middleware, and still answering (503 for
// readiness) while the app's server drains.
import {
  integerOption,
  listenOperational,
  looksLikeFrameworkCall,
  notCalledError,
  optionError,
  optionNames,
  readOptions,
  stringOption,
} from '@vigil/core';
import { healthResponder } from './endpoint';
import { context } from './errors';
import { isHealth } from './health';
import type { Health, HealthServer, ListenHealthOptions } from './types';

const KNOWN = optionNames<ListenHealthOptions>({ port: true, host: true });

/**
 * Serves /health/live, /health/ready and /health/startup of `health` on their own HTTP server
 * (default 127.0.0.1:8081); other paths get 404.
 */
export async function listenHealth(
  health: Health,
  options?: ListenHealthOptions,
): Promise<HealthServer> {
  const ctx = context('listenHealth');
  if (looksLikeFrameworkCall(health, arguments.length > 2 ? 2 : 1))
    throw notCalledError(ctx, health);
  if (!isHealth(health)) {
    throw optionError(ctx, 'INVALID_OPTION', 'health', 'what createHealth() returns', health);
  }
  const o = readOptions<ListenHealthOptions>(ctx, options, 1, KNOWN);
  const port = integerOption(ctx, 'port', o.port, 8081, 0, 65535);
  const host = stringOption(ctx, 'host', o.host, '127.0.0.1');
  return listenOperational(healthResponder(health), port, host);
}
