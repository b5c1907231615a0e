// The scrape endpoint, shared by the Express and Koa handlers and the standalone server.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  type OptionContext,
  booleanOption,
  markOperational,
  optionError,
  optionNames,
  readOptions,
} from '@vigil/core';
import type { Registry } from 'prom-client';
import { resolveRegistry } from './options';
import {
  type ExpositionFormat,
  OPENMETRICS_CONTENT_TYPE,
  PROMETHEUS_CONTENT_TYPE,
  negotiate,
  render,
} from './exposition';
import type { MetricsHandlerOptions } from './types';

export interface ScrapeResponder {
  /** True when the request is for this endpoint (always, unless a `path` was configured). */
  matches(req: IncomingMessage): boolean;
  handle(req: IncomingMessage, res: ServerResponse): Promise<void>;
}

const KNOWN = optionNames<MetricsHandlerOptions>({
  registry: true,
  token: true,
  openMetrics: true,
  path: true,
});

/** Who may call an operational endpoint, and on which path it answers. */
export interface EndpointAccess {
  /** Digest of the bearer token required, if any: only a digest is kept, compared in constant time. */
  tokenDigest: Buffer | undefined;
  /** Answer only this path and pass other requests on; undefined answers every request. */
  path: string | undefined;
}

export interface HandlerConfig extends EndpointAccess {
  registry: Registry;
  openMetrics: boolean;
}

/** Validates the `token` (or VIGIL_METRICS_TOKEN) and `path` options of an operational endpoint. */
export function resolveAccess(
  ctx: OptionContext,
  o: { token?: unknown; path?: unknown },
): EndpointAccess {
  // An empty variable (common in compose files) means unset; an empty `token` option is an error.
  const token = o.token ?? (process.env.VIGIL_METRICS_TOKEN || undefined);
  if (token !== undefined && (typeof token !== 'string' || token.length < 16)) {
    throw optionError(
      ctx,
      'INVALID_OPTION',
      'token',
      'a string of at least 16 characters',
      o.token === undefined ? '(VIGIL_METRICS_TOKEN)' : token,
      'Use a long random secret, e.g. `openssl rand -hex 24`.',
    );
  }
  const path = o.path;
  if (path !== undefined && (typeof path !== 'string' || !path.startsWith('/'))) {
    throw optionError(ctx, 'INVALID_OPTION', 'path', 'a path starting with "/"', path);
  }
  return { tokenDigest: token === undefined ? undefined : digest(token), path };
}

/** A body an operational endpoint answers with. */
export interface EndpointBody {
  status: number;
  contentType: string;
  body: string;
}

/**
 * An operational endpoint (scrape, summary): marks the request operational, answers 401 without the
 * token, 405 to methods other than GET and HEAD, then `produce`'s body, not cached.
 */
export function operationalResponder(
  access: EndpointAccess,
  produce: (req: IncomingMessage) => Promise<EndpointBody>,
): ScrapeResponder {
  return {
    matches(req) {
      return access.path === undefined || pathOf(req.url) === access.path;
    },
    async handle(req, res) {
      markOperational(req);
      if (access.tokenDigest !== undefined && !authorized(req, access.tokenDigest)) {
        res.statusCode = 401;
        res.setHeader('WWW-Authenticate', 'Bearer');
        res.end();
        return;
      }
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.statusCode = 405;
        res.setHeader('Allow', 'GET, HEAD');
        res.end();
        return;
      }
      const { status, contentType, body } = await produce(req);
      res.statusCode = status;
      res.setHeader('Content-Type', contentType);
      if (status === 200) {
        res.setHeader('Cache-Control', 'no-store');
        res.setHeader('Content-Length', Buffer.byteLength(body));
      }
      res.end(req.method === 'HEAD' && status === 200 ? undefined : body);
    },
  };
}

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

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

function authorized(req: IncomingMessage, expected: Buffer): boolean {
  const header = req.headers.authorization;
  if (typeof header !== 'string' || !/^bearer /i.test(header)) return false;
  return timingSafeEqual(digest(header.slice(7).trim()), expected);
}

function pathOf(url: string | undefined): string {
  if (url === undefined) return '/';
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

/** Builds the endpoint; `renderer` replaces rendering the configured registry (the cluster primary). */
export function responderFromConfig(
  config: HandlerConfig,
  renderer: (format: ExpositionFormat) => Promise<string> = (format) =>
    render(config.registry, format),
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
