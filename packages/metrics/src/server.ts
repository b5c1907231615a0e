// The scrape endpoint on its own port, away from the app's traffic and its middleware.
import {
  integerOption,
  listenOperational,
  looksLikeFrameworkCall,
  notCalledError,
  optionNames,
  stringOption,
} from '@vigil/core';
import { context } from './errors';
import { resolveHandlerOptions, responderFromConfig } from './handler';
import type { MetricsServer, MetricsServerOptions } from './types';

const KNOWN = optionNames<MetricsServerOptions>({
  registry: true,
  token: true,
  openMetrics: true,
  path: true,
  port: true,
  host: true,
});

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
  return listenOperational(responderFromConfig({ ...config, path }), port, host, path);
}
