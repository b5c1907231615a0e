// The probes on a port of their own: away from the app's middleware, and still answering (503 for
// readiness) while the app's server drains.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  integerOption,
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
  const respond = healthResponder(health);
  const server = createServer((req, res) => {
    if (!respond.matches(req)) {
      res.statusCode = 404;
      res.end();
      return;
    }
    respond.handle(req, res).catch(() => {
      if (!res.headersSent) res.statusCode = 500;
      res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = (server.address() as AddressInfo).port;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${shownHost}:${bound}`,
    port: bound,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeIdleConnections();
      }),
  };
}
