// The scrape endpoint, shared by the Express and Koa handlers and the standalone server.
import {
  type EndpointAccess,
  type EndpointBody,
  type OperationalResponder,
  type OptionContext,
  booleanOption,
  operationalResponder,
  optionNames,
  readOptions,
  resolveEndpointAccess,
} from '@vigil/core';
import type { Registry } from 'prom-client';
import { resolveRegistry } from './options';
import {
  type ExpositionFormat,
  OPENMETRICS_CONTENT_TYPE,
  PROMETHEUS_CONTENT_TYPE,
  negotiate,
  renderBody,
} from './exposition';
import type { MetricsHandlerOptions } from './types';

/** The scrape endpoint: core's operational responder. */
export type ScrapeResponder = OperationalResponder;

const KNOWN = optionNames<MetricsHandlerOptions>({
  registry: true,
  token: true,
  openMetrics: true,
  path: true,
});

export interface HandlerConfig extends EndpointAccess {
  registry: Registry;
  openMetrics: boolean;
}

/** Validates the `token` (or VIGIL_METRICS_TOKEN) and `path` options of an operational endpoint. */
export function resolveAccess(
  ctx: OptionContext,
  o: { token?: unknown; path?: unknown },
): EndpointAccess {
  return resolveEndpointAccess(ctx, o, 'VIGIL_METRICS_TOKEN');
}

export { type EndpointAccess, type EndpointBody, operationalResponder };

/** Validates the options of an endpoint; `known` lists them (a server's add port and host). */
export function resolveHandlerOptions(
  ctx: OptionContext,
  raw: unknown,
  known: readonly string[] = KNOWN,
): HandlerConfig & Record<string, unknown> {
  const o = readOptions<MetricsHandlerOptions & { path?: string }>(ctx, raw, 1, known);
  return {
    ...o,
    ...resolveAccess(ctx, o),
    registry: resolveRegistry(ctx, o.registry),
    openMetrics: booleanOption(ctx, 'openMetrics', o.openMetrics, true),
  };
}

/** Builds the endpoint; `renderer` replaces rendering the configured registry (the cluster primary). */
export function responderFromConfig(
  config: HandlerConfig,
  renderer: (format: ExpositionFormat) => Promise<string | Buffer> = (format) =>
    renderBody(config.registry, format),
): ScrapeResponder {
  return operationalResponder(config, async (req) => {
    const format = config.openMetrics ? negotiate(req.headers.accept) : 'prometheus';
    try {
      return {
        status: 200,
        contentType: format === 'openmetrics' ? OPENMETRICS_CONTENT_TYPE : PROMETHEUS_CONTENT_TYPE,
        body: await renderer(format),
      };
    } catch (err) {
      return {
        status: 500,
        contentType: 'text/plain; charset=utf-8',
        body: `metrics collection failed: ${err instanceof Error ? err.message : String(err)}\n`,
      };
    }
  });
}

export function createScrapeResponder(ctx: OptionContext, raw: unknown): ScrapeResponder {
  return responderFromConfig(resolveHandlerOptions(ctx, raw));
}
