// The scrape endpoint, shared by the Express and Koa handlers and the standalone server.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  type OptionContext,
  booleanOption,
  markOperational,
  optionError,
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

const KNOWN = ['registry', 'token', 'openMetrics', 'path'];

export interface HandlerConfig {
  registry: Registry;
  tokenDigest: Buffer | undefined;
  openMetrics: boolean;
  path: string | undefined;
}

export function resolveHandlerOptions(
  ctx: OptionContext,
  raw: unknown,
  extraKnown: readonly string[] = [],
): HandlerConfig & Record<string, unknown> {
  const o = readOptions<MetricsHandlerOptions & { path?: string }>(ctx, raw, 1, [
    ...KNOWN,
    ...extraKnown,
  ]);
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
  return {
    ...o,
    registry: resolveRegistry(ctx, o.registry),
    // Only a digest is kept, and compared in constant time.
    tokenDigest: token === undefined ? undefined : digest(token),
    openMetrics: booleanOption(ctx, 'openMetrics', o.openMetrics, true),
    path,
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
  return {
    matches(req) {
      return config.path === undefined || pathOf(req.url) === config.path;
    },
    async handle(req, res) {
      markOperational(req);
      if (config.tokenDigest !== undefined && !authorized(req, config.tokenDigest)) {
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
      const format = config.openMetrics ? negotiate(req.headers.accept) : 'prometheus';
      let body: string;
      try {
        body = await renderer(format);
      } catch (err) {
        res.statusCode = 500;
        res.setHeader('Content-Type', 'text/plain; charset=utf-8');
        res.end(`metrics collection failed: ${err instanceof Error ? err.message : String(err)}\n`);
        return;
      }
      res.statusCode = 200;
      res.setHeader(
        'Content-Type',
        format === 'openmetrics' ? OPENMETRICS_CONTENT_TYPE : PROMETHEUS_CONTENT_TYPE,
      );
      res.setHeader('Cache-Control', 'no-store');
      res.setHeader('Content-Length', Buffer.byteLength(body));
      res.end(req.method === 'HEAD' ? undefined : body);
    },
  };
}

export function createScrapeResponder(ctx: OptionContext, raw: unknown): ScrapeResponder {
  return responderFromConfig(resolveHandlerOptions(ctx, raw));
}
