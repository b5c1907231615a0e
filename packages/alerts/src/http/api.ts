// The alerts HTTP API over an AlertsService: GET /alerts, /alerts/stats, /alerts/rules,
// /alerts/silences, POST /alerts/:fingerprint/acknowledge and /silence, DELETE /alerts/silences/:id,
// for Express 4/5 and Koa 2/3. An operational endpoint: token-protectable, never rate-limited, not in
// the app's request metrics or log; every answer is JSON shaped as the seed's (timestamp,
// correlation_id, service, then the payload).
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  type EndpointAccess,
  type ExpressMiddleware,
  type KoaContextLike,
  type KoaMiddleware,
  type MinimalLogger,
  type ProblemReporter,
  acceptId,
  admitOperational,
  createProblemReporter,
  findRequest,
  generateId,
  getActiveRequestIds,
  hasMethod,
  integerOption,
  loggerOption,
  looksLikeFrameworkCall,
  notCalledError,
  optionError,
  optionNames,
  readOptions,
  resolveEndpointAccess,
} from '@vigil/core';
import { PACKAGE, context } from '../errors';
import type { AlertStatus, AlertView, AlertsService } from '../model';
import {
  type InputProblem,
  type Params,
  clip,
  isProblem,
  mergeBody,
  onlyParams,
  problem,
  queryParams,
  readBody,
  textParam,
} from './input';

/** Anything that records audit events, such as @vigil/audit's AuditLogger. */
export interface AlertsAuditSink {
  record(event: {
    type: string;
    outcome: 'success' | 'failure' | 'denied' | 'error' | 'unknown';
    actor?: string;
    action?: string;
    resource?: string;
    request_id?: string;
    correlation_id?: string;
    trace_id?: string;
    span_id?: string;
    metadata?: Readonly<Record<string, unknown>>;
  }): unknown;
}

/** Options of alertsApi(). */
export interface AlertsApiOptions {
  /**
   * Bearer token every request must carry (`Authorization: Bearer <token>`), at least 16 characters.
   * Default: `VIGIL_ALERTS_TOKEN`, else none.
   */
  token?: string;
  /** Where acknowledge and silence actions go as audit events (`alerts.*`). Default: none. */
  audit?: AlertsAuditSink;
  /** Logger for problems at request time (a failing service or audit sink). Default: process warnings. */
  logger?: MinimalLogger;
  /** Largest request body read, in bytes (1 KiB to 1 MiB). Default: 16384. */
  maxBodyBytes?: number;
}

/** The alerts API, for Express and for Koa. */
export interface AlertsApi {
  /** Express 4/5 middleware: `app.use(api.express())`. Requests outside `/alerts` pass through. */
  express(): ExpressMiddleware;
  /** Koa 2/3 middleware: `app.use(api.koa())`. Requests outside `/alerts` pass through. */
  koa(): KoaMiddleware<KoaApiContext>;
  /**
   * Answers `req` when its path is under `/alerts` (resolving true once answered), else resolves
   * false without touching it. `parsedBody` is what a body parser that already read the body left.
   */
  handle(req: IncomingMessage, res: ServerResponse, parsedBody?: unknown): Promise<boolean>;
}

/** The part of a Koa context the API uses. */
export interface KoaApiContext extends KoaContextLike {
  respond?: boolean;
  request?: { body?: unknown };
}

/** Statuses `GET /alerts?status=` takes. */
export const ALERT_STATUSES: readonly AlertStatus[] = Object.freeze([
  'firing',
  'pending',
  'resolved',
  'silenced',
  'acknowledged',
]);

/** The default of `maxBodyBytes`. */
export const DEFAULT_MAX_BODY_BYTES = 16_384;

const KNOWN = optionNames<AlertsApiOptions>({
  token: true,
  audit: true,
  logger: true,
  maxBodyBytes: true,
});

const FINGERPRINT = /^[0-9a-f]{16}$/;
const SILENCE_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const SEVERITY = /^[A-Za-z0-9_-]{1,64}$/;
const GET: readonly string[] = ['GET', 'HEAD'];
const POST: readonly string[] = ['POST'];
const DELETE: readonly string[] = ['DELETE'];
const JSON_TYPE = 'application/json; charset=utf-8';

interface Config {
  access: EndpointAccess;
  audit: AlertsAuditSink | undefined;
  problems: ProblemReporter;
  maxBodyBytes: number;
}

interface Answer {
  status: number;
  payload: Record<string, unknown>;
}

type Route =
  | { kind: 'list' | 'stats' | 'rules' | 'silences'; methods: readonly string[] }
  | { kind: 'acknowledge' | 'silence'; methods: readonly string[]; fingerprint: string }
  | { kind: 'expire'; methods: readonly string[]; id: string }
  | { kind: 'unknown'; methods: readonly string[]; problem: InputProblem };

/**
 * The alerts API over `service` (what `createAlerting()` returns, or any AlertsService).
 * @throws VigilError `ERR_VIGIL_ALERTS_API_INVALID_SERVICE` when `service` is not an AlertsService,
 * `ERR_VIGIL_ALERTS_INVALID_OPTION` / `_UNKNOWN_OPTION` on invalid options.
 */
export function alertsApi(service: AlertsService, options?: AlertsApiOptions): AlertsApi {
  const ctx = context('alertsApi');
  if (looksLikeFrameworkCall(service, arguments.length > 2 ? arguments.length : 0)) {
    throw notCalledError(ctx, service);
  }
  checkService(service);
  const config = resolveApiOptions(options);
  const handle = (req: IncomingMessage, res: ServerResponse, parsedBody?: unknown) =>
    serve(service, config, req, res, parsedBody);
  return {
    handle,
    express() {
      return function vigilAlertsApi(req, res, next) {
        if (!underAlerts(req.url)) {
          next();
          return;
        }
        void handle(req, res, (req as { body?: unknown }).body);
      };
    },
    koa() {
      return async function vigilAlertsApi(koaCtx, next) {
        if (!underAlerts(koaCtx.req.url)) {
          await next();
          return;
        }
        // The API writes the response itself; Koa must not touch it.
        koaCtx.respond = false;
        await handle(koaCtx.req, koaCtx.res, koaCtx.request?.body);
      };
    },
  };
}

function checkService(service: unknown): void {
  const methods = [
    'alerts',
    'stats',
    'rules',
    'silences',
    'acknowledge',
    'silence',
    'expireSilence',
  ];
  const missing =
    service === null || typeof service !== 'object'
      ? methods
      : methods.filter((m) => !hasMethod(service, m));
  const named =
    typeof service === 'object' &&
    service !== null &&
    typeof (service as { service?: unknown }).service === 'string';
  if (missing.length > 0 || !named) {
    throw optionError(
      context('alertsApi'),
      'API_INVALID_SERVICE',
      'service',
      `an AlertsService (a "service" name and the methods ${methods.join(', ')})${missing.length > 0 ? `; missing ${missing.join(', ')}` : ''}`,
      service,
      'Pass what createAlerting() returns: `alertsApi(alerting)`, or use `alerting.api`.',
    );
  }
}

function resolveApiOptions(raw: unknown): Config {
  const ctx = context('alertsApi');
  const o = readOptions<AlertsApiOptions>(ctx, raw, 1, KNOWN);
  if (o.audit !== undefined && !hasMethod(o.audit, 'record')) {
    throw optionError(
      ctx,
      'INVALID_OPTION',
      'audit',
      'an audit logger (anything with record(event), such as createAuditLogger())',
      o.audit,
    );
  }
  return {
    access: resolveEndpointAccess(ctx, { token: o.token }, 'VIGIL_ALERTS_TOKEN'),
    audit: o.audit,
    problems: createProblemReporter(PACKAGE, loggerOption(ctx, o.logger)),
    maxBodyBytes: integerOption(
      ctx,
      'maxBodyBytes',
      o.maxBodyBytes,
      DEFAULT_MAX_BODY_BYTES,
      1024,
      1_048_576,
    ),
  };
}

const PREFIX = /^\/alerts(?=\/|\?|$)/i;

function underAlerts(url: string | undefined): boolean {
  return url !== undefined && PREFIX.test(url);
}

async function serve(
  service: AlertsService,
  config: Config,
  req: IncomingMessage,
  res: ServerResponse,
  parsedBody: unknown,
): Promise<boolean> {
  if (!underAlerts(req.url)) return false;
  try {
    const route = routeOf(req.url ?? '/alerts');
    // Unknown paths still sit behind the token: without it, nothing is learnt about the namespace.
    const methods =
      route.kind === 'unknown' && route.methods.length === 0
        ? [req.method ?? 'GET']
        : route.methods;
    if (!admitOperational(req, res, config.access, methods)) return true;
    const answer = await answerFor(service, config, route, req, parsedBody);
    send(req, res, service.service, answer);
  } catch (error) {
    config.problems.report('request', error);
    if (!res.headersSent) {
      send(req, res, safeName(service), {
        status: 500,
        payload: errorPayload({
          status: 400,
          code: 'internal_error',
          message: 'The alerts service failed.',
        }),
      });
    } else {
      res.destroy();
    }
  }
  return true;
}

function safeName(service: AlertsService): string {
  try {
    return String(service.service);
  } catch {
    return 'unknown';
  }
}

function routeOf(url: string): Route {
  const q = url.indexOf('?');
  const path = (q === -1 ? url : url.slice(0, q)).replace(PREFIX, '');
  const raw = path.split('/').slice(1);
  if (raw.length > 0 && raw[raw.length - 1] === '') raw.pop();
  const segments: string[] = [];
  for (const s of raw) {
    try {
      segments.push(decodeURIComponent(s));
    } catch {
      return unknown(problem('invalid_path', 'The path is not validly percent-encoded.'));
    }
  }
  const [first, second, ...rest] = segments;
  if (rest.length > 0) return notFound();
  if (first === undefined) return { kind: 'list', methods: GET };
  if (second === undefined) {
    if (first === 'stats' || first === 'rules' || first === 'silences') {
      return { kind: first, methods: GET };
    }
    return notFound();
  }
  if (first === 'silences') {
    if (!SILENCE_ID.test(second)) {
      return unknown(
        problem('invalid_silence_id', `"${clip(second)}" is not a silence id.`),
        DELETE,
      );
    }
    return { kind: 'expire', methods: DELETE, id: second };
  }
  if (second === 'acknowledge' || second === 'silence') {
    if (!FINGERPRINT.test(first)) {
      return unknown(
        problem(
          'invalid_fingerprint',
          `"${clip(first)}" is not a fingerprint: 16 lower-case hex digits, as GET /alerts shows.`,
        ),
        POST,
      );
    }
    return { kind: second, methods: POST, fingerprint: first };
  }
  return notFound();
}

function unknown(p: InputProblem, methods?: readonly string[]): Route {
  return { kind: 'unknown', problem: p, methods: methods ?? [] };
}

function notFound(): Route {
  return unknown({
    status: 404,
    code: 'not_found',
    message:
      'No such alerts endpoint: GET /alerts, /alerts/stats, /alerts/rules, /alerts/silences, POST /alerts/:fingerprint/acknowledge, /alerts/:fingerprint/silence, DELETE /alerts/silences/:id.',
  });
}

async function answerFor(
  service: AlertsService,
  config: Config,
  route: Route,
  req: IncomingMessage,
  parsedBody: unknown,
): Promise<Answer> {
  // A malformed id under a known route is answered after the method check, so a wrong method gets 405.
  if (route.kind === 'unknown') return failure(route.problem);
  const query = queryParams(req.url);
  if (isProblem(query)) return failure(query);
  switch (route.kind) {
    case 'list':
      return list(service, query);
    case 'stats': {
      const unknownParam = onlyParams(query, []);
      if (unknownParam) return failure(unknownParam);
      const s = service.stats();
      return ok({
        alert_statistics: {
          active_alerts: s.active,
          resolved_alerts_last_7_days: s.resolvedLast7Days,
          active_by_severity: s.activeBySeverity,
          total_rules: s.rulesTotal,
          enabled_rules: s.rulesEnabled,
          notification_channels: s.receivers,
        },
      });
    }
    case 'rules': {
      const unknownParam = onlyParams(query, []);
      if (unknownParam) return failure(unknownParam);
      const rules = service.rules();
      return ok({ rules, total_count: rules.length });
    }
    case 'silences': {
      const unknownParam = onlyParams(query, []);
      if (unknownParam) return failure(unknownParam);
      const silences = service.silences();
      return ok({ silences, total_count: silences.length });
    }
    case 'expire': {
      const unknownParam = onlyParams(query, []);
      if (unknownParam) return failure(unknownParam);
      const expired = service.expireSilence(route.id);
      audit(config, req, {
        type: 'alerts.silence_expire',
        outcome: expired ? 'success' : 'failure',
        action: 'expire_silence',
        resource: `silence:${route.id}`,
      });
      if (!expired) {
        return failure({
          status: 404,
          code: 'silence_not_found',
          message: `No silence has the id "${clip(route.id)}".`,
        });
      }
      return ok({ status: 'success', message: `Silence ${route.id} expired` });
    }
    case 'acknowledge':
    case 'silence': {
      const body = await readBody(req, parsedBody, config.maxBodyBytes);
      if (isProblem(body)) return failure(body);
      const params = mergeBody(query, body);
      if (isProblem(params)) return failure(params);
      return route.kind === 'acknowledge'
        ? acknowledge(service, config, req, route.fingerprint, params)
        : silence(service, config, req, route.fingerprint, params);
    }
  }
}

function list(service: AlertsService, query: Params): Answer {
  const unknownParam = onlyParams(query, ['status', 'severity']);
  if (unknownParam) return failure(unknownParam);
  const status = query.get('status');
  if (status !== undefined && !ALERT_STATUSES.includes(status as AlertStatus)) {
    return failure(
      problem(
        'invalid_status',
        `The status "${clip(String(status))}" is not one of ${ALERT_STATUSES.join(', ')}.`,
      ),
    );
  }
  const severity = query.get('severity');
  if (severity !== undefined && !SEVERITY.test(String(severity))) {
    return failure(
      problem(
        'invalid_severity',
        `The severity "${clip(String(severity))}" is not a severity label value.`,
      ),
    );
  }
  const alerts = service.alerts({
    ...(status === undefined ? {} : { status: status as AlertStatus }),
    ...(severity === undefined ? {} : { severity: String(severity) }),
  });
  return ok({ alerts, total_count: alerts.length });
}

function acknowledge(
  service: AlertsService,
  config: Config,
  req: IncomingMessage,
  fp: string,
  params: Params,
): Answer {
  const unknownParam = onlyParams(params, ['acknowledged_by', 'comment']);
  if (unknownParam) return failure(unknownParam);
  const by = textParam(params, 'acknowledged_by', 128, true);
  if (isProblem(by)) return failure(by);
  const comment = textParam(params, 'comment', 1024, false, true);
  if (isProblem(comment)) return failure(comment);
  const alert = service.acknowledge(fp, by as string, comment);
  audit(config, req, {
    type: 'alerts.acknowledge',
    outcome: alert === undefined ? 'failure' : 'success',
    actor: by,
    action: 'acknowledge',
    resource: `alert:${fp}`,
    metadata: { ...alertMeta(alert), ...(comment === undefined ? {} : { comment }) },
  });
  if (alert === undefined) return alertNotFound(fp);
  return ok({
    status: 'success',
    message: `Alert ${fp} acknowledged by ${by as string}`,
    alert,
  });
}

function silence(
  service: AlertsService,
  config: Config,
  req: IncomingMessage,
  fp: string,
  params: Params,
): Answer {
  const unknownParam = onlyParams(params, ['duration_minutes', 'created_by', 'comment']);
  if (unknownParam) return failure(unknownParam);
  const minutes = durationParam(params.get('duration_minutes'));
  if (isProblem(minutes)) return failure(minutes);
  const by = textParam(params, 'created_by', 128, false);
  if (isProblem(by)) return failure(by);
  const comment = textParam(params, 'comment', 1024, false, true);
  if (isProblem(comment)) return failure(comment);
  const creator = by ?? 'alerts-api';
  const created = service.silence(
    fp,
    minutes,
    creator,
    comment ?? `Silenced for ${minutes} minutes through the alerts API`,
  );
  audit(config, req, {
    type: 'alerts.silence',
    outcome: created === undefined ? 'failure' : 'success',
    actor: creator,
    action: 'silence',
    resource: `alert:${fp}`,
    metadata: {
      duration_minutes: minutes,
      ...(created === undefined ? {} : { silence_id: created.id }),
      ...(comment === undefined ? {} : { comment }),
    },
  });
  if (created === undefined) return alertNotFound(fp);
  return ok({
    status: 'success',
    message: `Alert ${fp} silenced for ${minutes} minutes`,
    silence: created,
  });
}

function durationParam(value: string | number | undefined): number | InputProblem {
  const bad = problem(
    'invalid_duration',
    'The parameter "duration_minutes" must be a whole number of minutes from 1 to 1440.',
  );
  if (value === undefined) {
    return problem('missing_parameter', 'The parameter "duration_minutes" is required.');
  }
  const n = typeof value === 'number' ? value : /^\d{1,4}$/.test(value) ? Number(value) : NaN;
  return Number.isInteger(n) && n >= 1 && n <= 1440 ? n : bad;
}

function alertMeta(alert: AlertView | undefined): Record<string, string> {
  if (alert === undefined) return {};
  return {
    alertname: alert.labels.alertname ?? '',
    severity: alert.labels.severity ?? '',
  };
}

function alertNotFound(fp: string): Answer {
  return failure({
    status: 404,
    code: 'alert_not_found',
    message: `No alert has the fingerprint ${fp}.`,
  });
}

type AuditInput = Parameters<AlertsAuditSink['record']>[0];

function audit(config: Config, req: IncomingMessage, event: AuditInput): void {
  if (config.audit === undefined) return;
  const record = findRequest(req);
  const active = getActiveRequestIds();
  const trace =
    record?.traceId !== undefined
      ? { trace_id: record.traceId, span_id: record.spanId }
      : active?.traceId !== undefined
        ? { trace_id: active.traceId, span_id: active.spanId }
        : {};
  const ids = requestIds(req);
  try {
    config.audit.record({
      ...event,
      request_id: ids.requestId,
      correlation_id: ids.correlationId,
      ...(trace.trace_id !== undefined && trace.span_id !== undefined ? trace : {}),
    });
  } catch (error) {
    config.problems.report(`audit:${event.type}`, error);
  }
}

function requestIds(req: IncomingMessage): { requestId: string; correlationId: string } {
  const record = findRequest(req);
  if (record !== undefined) {
    return { requestId: record.requestId, correlationId: record.correlationId };
  }
  const active = getActiveRequestIds();
  if (active !== undefined) {
    return { requestId: active.requestId, correlationId: active.correlationId };
  }
  const requestId = acceptId(req.headers['x-request-id']) ?? generateId();
  return { requestId, correlationId: acceptId(req.headers['x-correlation-id']) ?? requestId };
}

function ok(payload: Record<string, unknown>): Answer {
  return { status: 200, payload };
}

function failure(p: InputProblem): Answer {
  return { status: p.status, payload: errorPayload(p) };
}

function errorPayload(p: InputProblem): Record<string, unknown> {
  return { error: { code: p.code, message: p.message } };
}

function send(req: IncomingMessage, res: ServerResponse, service: string, answer: Answer): void {
  const body = JSON.stringify({
    timestamp: new Date().toISOString(),
    correlation_id: requestIds(req).correlationId,
    service,
    ...answer.payload,
  });
  res.statusCode = answer.status;
  res.setHeader('Content-Type', JSON_TYPE);
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Content-Length', Buffer.byteLength(body));
  if (answer.status === 400 && !req.readableEnded) res.setHeader('Connection', 'close');
  res.end(req.method === 'HEAD' ? undefined : body);
}
