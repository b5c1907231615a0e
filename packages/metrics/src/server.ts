// The scrape endpoint on its own port, away from the app's traffic and its middleware.
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  integerOption,
  looksLikeFrameworkCall,
  notCalledError,
  optionNames,
  stringOption,
} from '@vigil/core';
import { context } from './errors';
import { type ScrapeResponder, resolveHandlerOptions, responderFromConfig } from './handler';
import type { MetricsServer, MetricsServerOptions } from './types';

const KNOWN = optionNames<MetricsServerOptions>({
  registry: true,
  token: true,
  openMetrics: true,
  path: true,
  port: true,
  host: true,
});

/** Serves a responder on a port; shared with the cluster primary's server. */
export async function listen(
  responder: ScrapeResponder,
  port: number,
  host: string,
  path: string,
): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    if (!responder.matches(req)) {
      res.statusCode = 404;
      res.end();
      return;
    }
    responder.handle(req, res).catch(() => {
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
    url: `http://${shownHost}:${bound}${path}`,
    port: bound,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeIdleConnections();
      }),
  };
}

/**
 * Serves /metrics on a separate port (default 9464, the OpenTelemetry Prometheus exporter's), so the
 * app's own port, rate limits and auth never see scrapes.
 */
export async function startMetricsServer(options?: MetricsServerOptions): Promise<MetricsServer> {
  const ctx = context('startMetricsServer');
  if (looksLikeFrameworkCall(options, arguments.length)) throw notCalledError(ctx, options);
  const config = resolveHandlerOptions(ctx, options, KNOWN);
  const port = integerOption(ctx, 'port', config.port, 9464, 0, 65535);
  const host = stringOption(ctx, 'host', config.host, '127.0.0.1');
  const path = config.path ?? '/metrics';
  return listen(responderFromConfig({ ...config, path }), port, host, path);
}
