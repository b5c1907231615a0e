// Request logs on pino-http: one JSON line per request with trace ids, route template, secrets redacted.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { DestinationStream, Logger, pino as PinoFactory } from 'pino';
import pinoHttp from 'pino-http';
import {
  type OptionContext,
  type ProblemReporter,
  createProblemReporter,
  expressRouteTemplate,
  hasMethod,
  isOperational,
  koaRouteTemplate,
  optionError,
  readOptions,
} from '@vigil/core';
import { context } from './errors';
import type { ExpressMiddleware } from './express';
import { acceptId, generateId } from './ids';
import type { KoaContextLike, KoaMiddleware } from './koa';
import { getRequestContext } from './request-context';
import { DEFAULT_IGNORE_PATHS } from './server';

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

/** The ids vigilLogMixin() adds to a log line inside a request. */
export interface LogIds {
  trace_id?: string;
  span_id?: string;
  request_id?: string;
}

/** The value that replaces every redacted header and query value. */
export const REDACTED = '[REDACTED]';

// Credentials and API keys in request headers, and cookies set by the response.
const SECRET_REQUEST_HEADERS: ReadonlySet<string> = new Set([
  'authorization',
  'proxy-authorization',
  'cookie',
  'x-api-key',
  'api-key',
  'x-auth-token',
  'x-access-token',
  'x-csrf-token',
  'x-xsrf-token',
  'x-amz-security-token',
  'x-goog-api-key',
]);
const SECRET_RESPONSE_HEADERS: ReadonlySet<string> = new Set(['set-cookie']);

/**
 * Redacted on every request line, whatever the options: credentials and API keys in request headers,
 * cookies set by the response. The serializers replace these while copying the headers, so pino's
 * `redact` (which costs on every request) runs only for extra paths given in the options.
 */
export const DEFAULT_REDACT_PATHS: readonly string[] = Object.freeze([
  ...[...SECRET_REQUEST_HEADERS].map((h) => `req.headers${pathPart(h)}`),
  ...[...SECRET_RESPONSE_HEADERS].map((h) => `res.headers${pathPart(h)}`),
]);

function pathPart(name: string): string {
  return /^[a-z]+$/.test(name) ? `.${name}` : `[${JSON.stringify(name)}]`;
}

/**
 * Query parameters whose values are replaced by `[REDACTED]` in the logged URL. Names compare
 * case-insensitively, `-` as `_`, and also match inside brackets (`user[password]`); any name ending
 * in `token`, `secret`, `password` or `signature` (`refreshToken`, `client_secret`) is redacted too.
 */
export const DEFAULT_REDACTED_QUERY_PARAMS: readonly string[] = Object.freeze([
  'token',
  'access_token',
  'refresh_token',
  'id_token',
  'api_key',
  'apikey',
  'key',
  'secret',
  'client_secret',
  'password',
  'passwd',
  'code',
  'signature',
  'sig',
  'x_amz_credential',
  'x_amz_security_token',
  'x_amz_signature',
]);

const REDACTED_QUERY_SUFFIXES = ['token', 'secret', 'password', 'signature'];

const PINO_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

const KNOWN = [
  'logger',
  'level',
  'destination',
  'ignorePaths',
  'redact',
  'redactQuery',
] as const satisfies readonly (keyof RequestLoggerOptions)[];

/** Bindings of a request's loggers; only defined values are written. */
interface RequestIds {
  trace_id?: string;
  span_id?: string;
  request_id: string;
  correlation_id: string;
}

/**
 * The request's ids, kept as pino-http's `req.id` (a property it sets on every request anyway: each
 * new property on Express's prototype-swapped requests costs microseconds). It reads as the request
 * id wherever `req.id` is printed or serialised.
 */
class LogState {
  constructor(
    readonly ids: RequestIds,
    readonly koa: object | undefined,
    /** Whether the ids are bound to the request's loggers (see customProps below). */
    readonly bound: boolean,
  ) {}
  toString(): string {
    return this.ids.request_id;
  }
  toJSON(): string {
    return this.ids.request_id;
  }
}

type Tracked = IncomingMessage & { originalUrl?: string; id?: unknown };

// Marks request loggers whose bindings carry the ids, so vigilLogMixin() does not write them a
// second time (a JSON line with duplicate keys) when the app's logger also has the mixin.
const kIdsBound = Symbol.for('vigil.tracing.logIdsBound');
type Marked = { [kIdsBound]?: boolean };

function stateOf(req: IncomingMessage): LogState | undefined {
  const id = (req as Tracked).id;
  return id instanceof LogState ? id : undefined;
}

/** Resolved options and the pino-http middleware shared by both adapters. */
interface RequestLogCore {
  readonly logger: Logger;
  readonly handle: (req: IncomingMessage, res: ServerResponse, koa: object | undefined) => void;
}

/**
 * One JSON line per request on pino (pino-http underneath), with `trace_id`, `span_id`, `request_id`,
 * `correlation_id`, `route`, `method`, `status_code` and `duration_ms`, secrets redacted. Mount it
 * right after expressTracing(), so the ids are the request's: `app.use(expressRequestLogger())`.
 * `req.log` is a logger bound with the same ids.
 * @throws VigilError with an `ERR_VIGIL_TRACING_*` code on invalid options.
 */
export function expressRequestLogger(options?: RequestLoggerOptions): ExpressRequestLogger {
  const core = createCore(context('expressRequestLogger'), options, arguments.length);
  const middleware: ExpressMiddleware = function vigilRequestLogger(req, res, next) {
    core.handle(req, res, undefined);
    next();
  };
  return Object.assign(middleware, { logger: core.logger });
}

/**
 * One JSON line per request on pino for Koa 2 and 3 (route templates from @koa/router), with the
 * fields expressRequestLogger() writes. Mount it right after koaTracing():
 * `app.use(koaRequestLogger())`. `ctx.log` is a logger bound with the request's ids.
 * @throws VigilError with an `ERR_VIGIL_TRACING_*` code on invalid options.
 */
export function koaRequestLogger(options?: RequestLoggerOptions): KoaRequestLogger {
  const core = createCore(context('koaRequestLogger'), options, arguments.length);
  const middleware: KoaMiddleware = async function vigilRequestLogger(ctx, next) {
    core.handle(ctx.req, ctx.res, ctx);
    const log = (ctx.req as Partial<Pick<IncomingMessage, 'log'>>).log;
    if (log !== undefined) (ctx as KoaContextLike & { log?: Logger }).log = log;
    await next();
  };
  return Object.assign(middleware, { logger: core.logger });
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

function currentIds(logger?: unknown): LogIds {
  if (logger !== null && typeof logger === 'object' && (logger as Marked)[kIdsBound] === true) {
    return {};
  }
  const rc = getRequestContext();
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
  const ignore = o.ignorePaths as unknown;
  if (
    ignore !== undefined &&
    !(Array.isArray(ignore) && ignore.every((p) => typeof p === 'string' || p instanceof RegExp))
  ) {
    throw optionError(ctx, 'INVALID_OPTION', 'ignorePaths', 'an array of paths or RegExps', ignore);
  }
  const extraPaths = stringList(ctx, 'redact', o.redact, 'pino redact paths');
  const extraQuery = stringList(ctx, 'redactQuery', o.redactQuery, 'query parameter names');

  // A logger Vigil creates gets the mixin, so lines the app writes through req.log carry the ids.
  const base =
    parent ??
    loadPino()(
      { level: level ?? 'info', mixin: vigilLogMixin() },
      destination as DestinationStream | undefined,
    );
  const queryNames = new Set([...DEFAULT_REDACTED_QUERY_PARAMS, ...extraQuery].map(normalizeName));
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
  const problems = createProblemReporter('@vigil/tracing', logger);
  let pending: LogState | undefined;
  const ignored = ignoreMatcher(ignore ?? DEFAULT_IGNORE_PATHS);
  const http = pinoHttp({
    logger,
    // The serializers above take the raw request and response; pino-http's wrapping would copy
    // every header and the parsed query first.
    wrapSerializers: false,
    customAttributeKeys: { responseTime: 'duration_ms' },
    genReqId: (req) => pending ?? new LogState(idsOf(req), undefined, true),
    // `req.log` lines need the ids too. A logger Vigil created has vigilLogMixin(), which reads them
    // from the request context: nothing to bind. Otherwise (the app's own logger, or no tracing
    // middleware) they are bound to the request's logger, at the price of one more child.
    customProps: (req) => {
      // `pending` at the start (pino-http calls this inside http()), req.id's state at the end.
      const state = stateOf(req) ?? pending;
      return (state?.bound === false ? undefined : state?.ids) as object;
    },
    autoLogging: { ignore: (req) => ignored(pathOf(req)) },
    customLogLevel: (req, res, err) => levelOf(req, res, err),
    customSuccessMessage: (_req, res) => messageOf(res),
    customErrorMessage: (_req, res) => messageOf(res),
    customSuccessObject: (req, res, val: Record<string, unknown>) =>
      completion(req, res, val, undefined, problems),
    customErrorObject: (req, res, error, val: Record<string, unknown>) =>
      completion(req, res, val, error, problems),
  });

  return {
    logger,
    handle(req, res, koa) {
      try {
        // Handed to genReqId through a variable: pino-http calls it synchronously inside http().
        const ids = idsOf(req);
        // When another middleware set req.id first, pino-http keeps it and the state cannot travel
        // there: bind the ids to the request's logger instead.
        const foreignId = (req as Tracked).id !== undefined;
        pending = new LogState(
          ids,
          koa,
          foreignId || parent !== undefined || ids.trace_id === undefined,
        );
        http(req, res);
        if (pending.bound) {
          const own = res.allLogs?.[res.allLogs.length - 1] as Marked | undefined;
          if (own !== undefined) own[kIdsBound] = true;
        }
      } catch (err) {
        problems.report('request logger failed', err);
      } finally {
        pending = undefined;
      }
    },
  };
}

/** The request's ids from expressTracing()/koaTracing(), or the logger's own when it runs alone. */
function idsOf(req: IncomingMessage): RequestIds {
  const rc = getRequestContext();
  if (rc === undefined) {
    // Without the tracing middleware: the caller's id when it is safe to log, else a fresh one.
    const requestId = acceptId(req.headers['x-request-id']) ?? generateId();
    return {
      request_id: requestId,
      correlation_id: acceptId(req.headers['x-correlation-id']) ?? requestId,
    };
  }
  const ids: RequestIds = { request_id: rc.requestId, correlation_id: rc.correlationId };
  // Assigned first so the bindings read trace_id, span_id, request_id, correlation_id.
  return rc.traceId !== undefined && rc.spanId !== undefined
    ? { trace_id: rc.traceId, span_id: rc.spanId, ...ids }
    : ids;
}

// pino-http checks `res.writableEnded`; `writableFinished` is what the tracing middleware and the
// metrics use, so a response cut off while still being sent reads as aborted in all three.
function aborted(res: ServerResponse): boolean {
  return !res.writableFinished;
}

function messageOf(res: ServerResponse): string {
  return aborted(res) ? 'request aborted' : 'request completed';
}

function levelOf(
  req: IncomingMessage,
  res: ServerResponse,
  err: Error | undefined,
): 'silent' | 'error' | 'warn' | 'info' {
  // Only known at the end: the operational endpoint marks the request while answering it.
  if (isOperational(req)) return 'silent';
  if (err !== undefined) return 'error';
  if (!res.headersSent) return 'info';
  const status = res.statusCode;
  return status >= 500 ? 'error' : status >= 400 ? 'warn' : 'info';
}

function completion(
  req: IncomingMessage,
  res: ServerResponse,
  val: Record<string, unknown>,
  error: Error | undefined,
  problems: ProblemReporter,
): Record<string, unknown> {
  const line: Record<string, unknown> = {};
  try {
    const state = stateOf(req);
    // Unless bound to the request's logger already, the ids go on the completion line here: binding
    // them would cost another child and a string search at the end of every request.
    if (state !== undefined && !state.bound) Object.assign(line, state.ids);
    line.route = state?.koa ? koaRouteTemplate(state.koa) : expressRouteTemplate(req);
    line.method = req.method;
    // Before the headers went out there is no status yet: the 200 Node starts with would be a lie.
    if (res.headersSent) line.status_code = res.statusCode;
    line.duration_ms = val.duration_ms;
    line.res = res;
    // pino-http makes up an Error for every 5xx; only a real one (a response 'error' event, or
    // `res.err` set by the app) is worth a stack trace.
    if (error !== undefined && (error === res.err || !isMadeUp(error, res))) line.err = error;
  } catch (err) {
    problems.report('building the request line failed', err);
  }
  return line;
}

function isMadeUp(error: Error, res: ServerResponse): boolean {
  return error.message === `failed with status code ${res.statusCode}`;
}

/** A copy of `headers` with the values of `secret` headers replaced (the live object is untouched). */
function redactedHeaders(headers: object, secret: ReadonlySet<string>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(headers)) {
    out[name] = secret.has(name.toLowerCase()) ? REDACTED : value;
  }
  return out;
}

function serializeRequest(value: unknown, queryNames: ReadonlySet<string>): unknown {
  if (value === null || typeof value !== 'object' || !('headers' in value)) return value;
  try {
    const req = value as Tracked;
    return {
      method: req.method,
      url: redactUrlQuery(req.originalUrl ?? req.url ?? '/', queryNames),
      headers: redactedHeaders(req.headers, SECRET_REQUEST_HEADERS),
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
    return {
      statusCode: res.headersSent ? res.statusCode : undefined,
      headers: redactedHeaders(res.getHeaders(), SECRET_RESPONSE_HEADERS),
    };
  } catch {
    return {};
  }
}

const DEFAULT_QUERY_SET: ReadonlySet<string> = new Set(
  DEFAULT_REDACTED_QUERY_PARAMS.map(normalizeName),
);

/**
 * `url` with the values of secret-looking query parameters replaced by `[REDACTED]`. `&` and `;` both
 * separate parameters; names are percent-decoded before they are compared.
 */
export function redactUrlQuery(
  url: string,
  names: ReadonlySet<string> = DEFAULT_QUERY_SET,
  censor = REDACTED,
): string {
  const q = url.indexOf('?');
  if (q === -1 || q === url.length - 1) return url;
  const parts = url.slice(q + 1).split(/([&;])/);
  let changed = false;
  for (let i = 0; i < parts.length; i += 2) {
    const part = parts[i] as string;
    const eq = part.indexOf('=');
    if (eq <= 0 || eq === part.length - 1) continue;
    if (isSecretName(part.slice(0, eq), names)) {
      parts[i] = `${part.slice(0, eq + 1)}${censor}`;
      changed = true;
    }
  }
  return changed ? `${url.slice(0, q + 1)}${parts.join('')}` : url;
}

function isSecretName(raw: string, names: ReadonlySet<string>): boolean {
  let name = raw.replace(/\+/g, ' ');
  try {
    name = decodeURIComponent(name);
  } catch {
    // A malformed escape: compare the name as sent.
  }
  // `user[password]`, `auth.token`: every segment counts.
  for (const segment of name.split(/[[\].]/)) {
    const n = normalizeName(segment);
    if (n === '') continue;
    if (names.has(n)) return true;
    for (const suffix of REDACTED_QUERY_SUFFIXES) if (n.endsWith(suffix)) return true;
  }
  return false;
}

function normalizeName(name: string): string {
  return name.trim().toLowerCase().replace(/-/g, '_');
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

function ignoreMatcher(paths: readonly (string | RegExp)[]): (path: string) => boolean {
  const exact = new Set(paths.filter((p): p is string => typeof p === 'string'));
  const patterns = paths
    .filter((p): p is RegExp => p instanceof RegExp)
    .map((p) => new RegExp(p.source, p.flags.replace(/[gy]/g, '')));
  return (path) => exact.has(path) || patterns.some((p) => p.test(path));
}

function pathOf(req: IncomingMessage): string {
  const url = (req as Tracked).originalUrl ?? req.url ?? '/';
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

// pino is an optional peer dependency: loaded only when Vigil creates the logger itself, from the app
// when it has pino, else the copy pino-http (a dependency) always brings.
let pinoFactory: typeof PinoFactory | undefined;
function loadPino(): typeof PinoFactory {
  if (pinoFactory !== undefined) return pinoFactory;
  const local = createRequire(__filename);
  let mod: { pino: typeof PinoFactory };
  try {
    mod = local('pino') as { pino: typeof PinoFactory };
  } catch {
    mod = createRequire(local.resolve('pino-http'))('pino') as { pino: typeof PinoFactory };
  }
  pinoFactory = mod.pino;
  return pinoFactory;
}
