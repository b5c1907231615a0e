// Request logs on pino: one JSON line per request with trace ids, route template, secrets redacted.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { DestinationStream, Level, Logger, pino as PinoFactory } from 'pino';
import {
  type OptionContext,
  type RequestRecord,
  beginRequest,
  createProblemReporter,
  hasMethod,
  optionError,
  pathListOption,
  readOptions,
  REDACTED,
  SECRET_REQUEST_HEADERS,
  SECRET_RESPONSE_HEADERS,
  isSecretHeader,
  redactUrlQuery,
  secretQueryNames,
  optionNames,
  type ExpressMiddleware,
  type KoaContextLike,
  type KoaMiddleware,
  OPERATIONAL_PATH_PATTERN,
  getActiveRequestIds,
} from '@vigil/core';
import { PACKAGE, context } from './errors';
import { boundDestination } from './destination';
import { countLine, trackRequestLogger } from './status';

// The redaction value and secret query parameters are @vigil/core's, shared with the audit trail.
export { REDACTED, DEFAULT_REDACTED_QUERY_PARAMS, redactUrlQuery } from '@vigil/core';
import {
  type LogSink,
  LoggedRequest,
  RequestLog,
  attachLog,
  defineLogAccessor,
  idsOf,
  requestPrototypeOf,
} from './request-log';

/**
 * Paths that produce no request line unless configured otherwise: @vigil/core's operational
 * endpoints (`/metrics`, `/health`, `/alerts`, `/observability`, `/_vigil` and everything below
 * them), the same paths tracing gives no span.
 */
export const DEFAULT_IGNORE_PATHS: readonly (string | RegExp)[] = Object.freeze([
  OPERATIONAL_PATH_PATTERN,
]);

/** Options of expressRequestLogger() and koaRequestLogger(). */
export interface RequestLoggerOptions {
  /**
   * The app's pino logger. Request lines go to a child of it with `component: "http"` (and the
   * redaction below). Default: a new pino logger writing to `destination`.
   */
  logger?: Logger;
  /**
   * Lowest level written by the request logger. Default: the passed logger's level, else `info`.
   */
  level?: string;
  /**
   * Where a logger created by Vigil writes (a stream, or `pino.destination()`); not allowed with
   * `logger`, which already has one. Default: standard output.
   */
  destination?: DestinationStream;
  /**
   * Paths that produce no request line (exact paths, or RegExps on the path). Requests answered by
   * Vigil's operational endpoints (`markOperational`) are never logged either. Default: `/metrics`,
   * `/health`, `/health/live`, `/health/ready`, `/_vigil`.
   */
  ignorePaths?: (string | RegExp)[];
  /**
   * Extra redaction paths in pino's `redact` syntax (`req.headers["x-session"]`), added to
   * DEFAULT_REDACT_PATHS. pino replaces a parent logger's redaction in a child, so repeat the passed
   * logger's own paths here if request lines need them. Default: none.
   */
  redact?: string[];
  /**
   * Extra query parameter names whose values are replaced in the logged URL, added to
   * DEFAULT_REDACTED_QUERY_PARAMS (case-insensitive, `-` and `_` alike). Default: none.
   */
  redactQuery?: string[];
}

/** expressRequestLogger()'s middleware; `logger` is the request logger (the `component: "http"` child). */
export type ExpressRequestLogger = ExpressMiddleware & { readonly logger: Logger };
/** koaRequestLogger()'s middleware; `logger` is the request logger (the `component: "http"` child). */
export type KoaRequestLogger = KoaMiddleware & { readonly logger: Logger };
/** The function vigilLogMixin() returns, for pino's `mixin` option. */
export type LogMixin = (mergeObject: object, level: number, logger?: unknown) => LogIds;

declare module 'http' {
  interface IncomingMessage {
    /**
     * The request's logger (Express `req.log`, Koa `ctx.req.log`): a child of the request logger bound
     * with `req` and the request's ids, made on first use. Undefined on a request that went through no
     * expressRequestLogger() / koaRequestLogger(). Typed as pino-http types it.
     */
    log: Logger;
  }
}

/** The ids vigilLogMixin() adds to a log line inside a request. */
export interface LogIds {
  trace_id?: string;
  span_id?: string;
  request_id?: string;
}

/**
 * Redacted on every request line, whatever the options: credentials and API keys in request headers
 * (@vigil/core's SECRET_REQUEST_HEADERS, and any other header whose name ends in a secret suffix such
 * as `-token` or `-secret`), cookies set by the response. The serializers replace these while copying
 * the headers, so pino's `redact` (which costs on every request) runs only for extra paths given in
 * the options.
 */
export const DEFAULT_REDACT_PATHS: readonly string[] = Object.freeze([
  ...SECRET_REQUEST_HEADERS.map((h) => `req.headers${pathPart(h)}`),
  ...SECRET_RESPONSE_HEADERS.map((h) => `res.headers${pathPart(h)}`),
]);

function pathPart(name: string): string {
  return /^[a-z]+$/.test(name) ? `.${name}` : `[${JSON.stringify(name)}]`;
}

const PINO_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

const KNOWN = optionNames<RequestLoggerOptions>({
  logger: true,
  level: true,
  destination: true,
  ignorePaths: true,
  redact: true,
  redactQuery: true,
});

type Tracked = IncomingMessage & { originalUrl?: string };
type Failed = ServerResponse & { err?: unknown };

// Marks loggers whose lines carry the ids already (the request line's, `req.log`), so vigilLogMixin()
// does not write them a second time (a JSON line with duplicate keys) when the logger has the mixin.
const kIdsBound = Symbol.for('vigil.logging.idsBound');
type Marked = { [kIdsBound]?: boolean };

/** Resolved options and the request bookkeeping shared by both adapters. */
interface RequestLogCore {
  readonly logger: Logger;
  /** Starts logging a request; never throws. */
  readonly start: (req: IncomingMessage, res: ServerResponse, koa: object | undefined) => void;
}

/**
 * One JSON line per request on pino, with `trace_id`, `span_id`, `request_id`, `correlation_id`,
 * `route`, `method`, `status_code` and `duration_ms`, secrets redacted. Mount it right after
 * expressTracing(), so the ids are the request's: `app.use(expressRequestLogger())`. `req.log` is a
 * logger bound with the same ids.
 * @throws VigilError with an `ERR_VIGIL_LOGGING_*` code on invalid options.
 */
export function expressRequestLogger(options?: RequestLoggerOptions): ExpressRequestLogger {
  const core = createCore(context('expressRequestLogger'), options, arguments.length);
  let known: object | null = null;
  const middleware: ExpressMiddleware = function vigilRequestLogger(req, res, next) {
    core.start(req, res, undefined);
    // `req.log` is an accessor on the request prototype, defined when a new prototype shows up
    // (once per app): a property on the request itself would cost microseconds every time.
    const proto = Object.getPrototypeOf(req) as object | null;
    if (proto !== known) {
      known = proto;
      installRequestLog(req);
    }
    next();
  };
  return Object.assign(middleware, { logger: core.logger });
}

/**
 * One JSON line per request on pino for Koa 2 and 3 (route templates from @koa/router), with the
 * fields expressRequestLogger() writes. Mount it right after koaTracing():
 * `app.use(koaRequestLogger())`. `ctx.log` is a logger bound with the request's ids.
 * @throws VigilError with an `ERR_VIGIL_LOGGING_*` code on invalid options.
 */
export function koaRequestLogger(options?: RequestLoggerOptions): KoaRequestLogger {
  const core = createCore(context('koaRequestLogger'), options, arguments.length);
  let known: object | null = null;
  const middleware: KoaMiddleware = async function vigilRequestLogger(ctx, next) {
    core.start(ctx.req, ctx.res, ctx);
    // `ctx.log` is an accessor on the app's context prototype (and `ctx.req.log` one on the request
    // prototype), defined once per app.
    const proto = Object.getPrototypeOf(ctx) as object | null;
    if (proto !== known) {
      known = proto;
      installRequestLog(ctx.req);
      if (proto !== null) defineLogAccessor(proto, (c) => (c as Partial<KoaContextLike>).req);
    }
    await next();
  };
  return Object.assign(middleware, { logger: core.logger });
}

function installRequestLog(req: IncomingMessage): void {
  const proto = requestPrototypeOf(req);
  if (proto !== null) defineLogAccessor(proto, (r) => r);
}

/**
 * A pino `mixin` that adds `trace_id`, `span_id` and `request_id` to every line logged inside a
 * request (nothing outside one), so the app's own lines join its traces:
 * `pino({ mixin: vigilLogMixin() })`. Lines of the request loggers, which carry the ids already, are
 * left alone. `mixin: vigilLogMixin` without the call works the same.
 */
export function vigilLogMixin(): LogMixin;
export function vigilLogMixin(...args: unknown[]): LogMixin | LogIds {
  // Handed to pino without the call: pino calls it as the mixin itself, which is then what it is.
  if (args.length > 0) return currentIds(args[2]);
  return function vigilMixin(_mergeObject, _level, logger) {
    return currentIds(logger);
  };
}

/**
 * pino's own merge, `Object.assign(mixin, mergeObject)`, without copying every field when the mixin
 * added nothing (request lines, `req.log`): the same fields either way.
 */
function mergeMixin(mergeObject: object, mixinObject: object): object {
  for (const _ in mixinObject) return Object.assign(mixinObject, mergeObject);
  return mergeObject;
}

function currentIds(logger?: unknown): LogIds {
  if (logger !== null && typeof logger === 'object' && (logger as Marked)[kIdsBound] === true) {
    return {};
  }
  // The ids of the request whose async flow this is, as @vigil/tracing's middleware reports them.
  const rc = getActiveRequestIds();
  if (rc === undefined) return {};
  const ids: LogIds = {};
  if (rc.traceId !== undefined) ids.trace_id = rc.traceId;
  if (rc.spanId !== undefined) ids.span_id = rc.spanId;
  ids.request_id = rc.requestId;
  return ids;
}

function createCore(ctx: OptionContext, raw: unknown, argCount: number): RequestLogCore {
  const o = readOptions<RequestLoggerOptions>(ctx, raw, argCount, KNOWN);
  const given = o.logger as unknown;
  if (
    given !== undefined &&
    !(
      hasMethod(given, 'child') &&
      hasMethod(given, 'info') &&
      typeof (given as { levels?: { values?: unknown } }).levels?.values === 'object'
    )
  ) {
    throw optionError(ctx, 'INVALID_OPTION', 'logger', 'a pino logger', given);
  }
  const parent = given as Logger | undefined;
  const levels = parent ? [...Object.keys(parent.levels.values), 'silent'] : PINO_LEVELS;
  const level = o.level as unknown;
  if (level !== undefined && (typeof level !== 'string' || !levels.includes(level))) {
    throw optionError(ctx, 'INVALID_OPTION', 'level', `one of ${levels.join(', ')}`, level);
  }
  const destination = o.destination as unknown;
  if (destination !== undefined) {
    if (parent !== undefined) {
      throw optionError(
        ctx,
        'INVALID_OPTION',
        'destination',
        'left out when "logger" is given',
        destination,
        'The passed logger already writes to its own destination.',
      );
    }
    if (!hasMethod(destination, 'write')) {
      throw optionError(
        ctx,
        'INVALID_OPTION',
        'destination',
        'a stream with a write() method, such as pino.destination()',
        destination,
      );
    }
  }
  const ignored = pathListOption(ctx, 'ignorePaths', o.ignorePaths, DEFAULT_IGNORE_PATHS);
  const extraPaths = stringList(ctx, 'redact', o.redact, 'pino redact paths');
  const extraQuery = stringList(ctx, 'redactQuery', o.redactQuery, 'query parameter names');

  // A logger Vigil creates gets the mixin, so lines the app writes through `logger` carry the ids.
  const base =
    parent ??
    loadPino()(
      { level: level ?? 'info', mixin: vigilLogMixin(), mixinMergeStrategy: mergeMixin },
      destination as DestinationStream | undefined,
    );
  const queryNames = secretQueryNames(extraQuery);
  const childOptions = {
    // Compiled once here; every per-request child shares it. Only extra paths need pino's redaction:
    // the serializers already hide the default secrets.
    ...(extraPaths.length > 0 ? { redact: { paths: extraPaths, censor: REDACTED } } : {}),
    serializers: {
      req: (value: unknown) => serializeRequest(value, queryNames),
      res: serializeResponse,
    },
    ...(parent !== undefined && level !== undefined ? { level } : {}),
  };
  let logger: Logger;
  try {
    logger = base.child({ component: 'http' }, childOptions);
  } catch (err) {
    const bad = extraPaths.find((p) => !compiles(base, p));
    throw optionError(
      ctx,
      'INVALID_OPTION',
      'redact',
      'paths in pino redact syntax, such as req.headers["x-session"]',
      bad ?? extraPaths,
      err instanceof Error ? `pino said: ${err.message}.` : undefined,
    );
  }
  const problems = createProblemReporter(PACKAGE, logger);
  // The destination of a logger Vigil created: the one given, else pino's own on standard output
  // (also an asynchronous SonicBoom).
  if (parent === undefined) {
    const own = (base as unknown as Record<symbol, unknown>)[loadPino().symbols.streamSym];
    boundDestination(destination ?? own);
  }
  // Request lines carry the ids themselves: their logger is marked so a mixin leaves them alone.
  const lineLogger = logger.child({});
  (lineLogger as Marked)[kIdsBound] = true;

  const sink: LogSink = {
    requestEnded(record) {
      try {
        if (writeLine(lineLogger, record)) countLine(true);
      } catch (err) {
        countLine(false);
        problems.report('writing the request line failed', err);
      }
    },
    requestLogger(log) {
      if (log.logger !== undefined) return log.logger;
      try {
        // pino-http's shape: the request's logger is bound with `req`, and here with the ids too.
        const child = logger.child({ req: new LoggedRequest(log.record), ...idsOf(log.record) });
        (child as Marked)[kIdsBound] = true;
        log.logger = child;
      } catch (err) {
        problems.report('creating req.log failed', err);
        log.logger = logger;
      }
      return log.logger;
    },
  };

  trackRequestLogger(logger);
  return {
    logger,
    start(req, res, koa) {
      try {
        const record = beginRequest(req, res, koa);
        attachLog(new RequestLog(sink, record));
        if (ignored(record.path) || !record.subscribe(sink)) return;
        // A response 'error' (a write after end) is part of the line; watching it also keeps such an
        // error from crashing the process while the line is pending, as pino-http's listener did.
        record.watchResponseErrors();
      } catch (err) {
        problems.report('request logger failed', err);
      }
    },
  };
}

const COMPLETED = 'request completed';
const ABORTED = 'request aborted';

/**
 * The error a line shows: a response 'error' event or `res.err` set by the app, always; the request's
 * error (the tracing error hook, Koa's 'error' event) when the response is a 5xx or never finished. A
 * 4xx answered for an error is the client's: no stack trace for it.
 */
function errorOf(record: RequestRecord, status: number | undefined): unknown {
  const own = record.responseError ?? (record.res as Failed).err;
  if (own) return own;
  if (record.aborted || (status !== undefined && status >= 500)) return record.error;
  return undefined;
}

/** Writes the request's line, in pino-http's shape, with Vigil's fields; true when one was written. */
function writeLine(log: Logger, record: RequestRecord): boolean {
  // Only known at the end: the operational endpoint marks the request while answering it.
  if (record.operational) return false;
  const { req, res } = record;
  // Before the headers went out there is no status yet: the 200 Node starts with would be a lie.
  const status = res.headersSent ? res.statusCode : undefined;
  const err = errorOf(record, status);
  const level: Level =
    err || (status !== undefined && status >= 500)
      ? 'error'
      : status !== undefined && status >= 400
        ? 'warn'
        : 'info';
  if (!log.isLevelEnabled(level)) return false;
  // Key order is the line's: req, the ids, then what the response ended with.
  const ids = idsOf(record);
  const line: Record<string, unknown> = { req: new LoggedRequest(record) };
  if (ids.trace_id !== undefined) {
    line.trace_id = ids.trace_id;
    line.span_id = ids.span_id;
  }
  line.request_id = ids.request_id;
  line.correlation_id = ids.correlation_id;
  line.route = record.route;
  line.method = req.method;
  if (status !== undefined) line.status_code = status;
  line.duration_ms = Math.round(record.endTime - record.start);
  line.res = res;
  if (err) line.err = err;
  // The record's one definition of aborted, the same for the span and the metrics.
  log[level](line, record.aborted ? ABORTED : COMPLETED);
  return true;
}

/**
 * `headers` itself when it holds no secret header (@vigil/core's policy: SECRET_REQUEST_HEADERS and any
 * name with a secret suffix), else a copy with their values replaced: the live object is never
 * changed, and most requests carry no secret.
 */
function redactedHeaders(headers: Record<string, unknown>): Record<string, unknown> {
  let found = false;
  for (const name in headers) {
    if (isSecretHeader(name)) {
      found = true;
      break;
    }
  }
  if (!found) return headers;
  const out: Record<string, unknown> = {};
  for (const name in headers) {
    out[name] = isSecretHeader(name) ? REDACTED : headers[name];
  }
  return out;
}

/** A logged request (the request line, `req.log`) or a raw request (a `req` the app logs itself). */
function serializeRequest(value: unknown, queryNames: ReadonlySet<string>): unknown {
  if (value instanceof LoggedRequest) {
    const { record } = value;
    try {
      return {
        method: record.req.method,
        // The URL as the first middleware saw it (Express's originalUrl): routers rewrite `req.url`.
        url: redactUrlQuery(record.url, queryNames),
        headers: redactedHeaders(record.req.headers),
        // Read when the connection was first seen: after an abort the socket has forgotten.
        remoteAddress: record.remoteAddress,
        remotePort: record.remotePort,
      };
    } catch {
      return {};
    }
  }
  if (value === null || typeof value !== 'object' || !('headers' in value)) return value;
  try {
    const req = value as Tracked;
    return {
      method: req.method,
      url: redactUrlQuery(req.originalUrl ?? req.url ?? '/', queryNames),
      headers: redactedHeaders(req.headers),
      remoteAddress: req.socket?.remoteAddress,
      remotePort: req.socket?.remotePort,
    };
  } catch {
    return {};
  }
}

function serializeResponse(value: unknown): unknown {
  if (!hasMethod(value, 'getHeaders')) return value;
  try {
    const res = value as ServerResponse;
    // getHeaders() returns a fresh copy (names in lower case): redacted in place.
    const headers: Record<string, unknown> = res.getHeaders();
    for (const name of SECRET_RESPONSE_HEADERS) {
      if (headers[name] !== undefined) headers[name] = REDACTED;
    }
    return { statusCode: res.headersSent ? res.statusCode : undefined, headers };
  } catch {
    return {};
  }
}

function stringList(ctx: OptionContext, name: string, value: unknown, what: string): string[] {
  if (value === undefined) return [];
  if (
    !Array.isArray(value) ||
    !value.every((v): v is string => typeof v === 'string' && v.trim() !== '')
  ) {
    throw optionError(ctx, 'INVALID_OPTION', name, `an array of ${what}`, value);
  }
  return [...value];
}

function compiles(base: Logger, path: string): boolean {
  try {
    base.child({}, { redact: [path] });
    return true;
  } catch {
    return false;
  }
}

// Loaded only when Vigil creates the logger itself: with the app's own logger, its pino is the one used.
let pinoFactory: typeof PinoFactory | undefined;
function loadPino(): typeof PinoFactory {
  pinoFactory ??= (createRequire(__filename)('pino') as { pino: typeof PinoFactory }).pino;
  return pinoFactory;
}
