// Request logger: one parsed JSON line per request on Express 4/5 and Koa 2/3, ids, aborts, secrets, mixin.
import {
  type IncomingMessage,
  type RequestListener,
  type Server,
  createServer,
  request as httpRequest,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { SpanKind } from '@opentelemetry/api';
import {
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import Router from '@koa/router';
import express, { type ErrorRequestHandler, type Router as ExpressRouter } from 'express';
import Koa from 'koa';
import { type Logger, pino } from 'pino';
import { type RawResponse, rawRequest, express4, Koa2 } from '@vigil/test-utils';
import { afterAll, afterEach, beforeAll, describe, expect, expectTypeOf, it, vi } from 'vitest';
import { markOperational } from '@vigil/core';
import {
  type Tracing,
  expressTracing,
  getRequestContext,
  koaTracing,
  startTracing,
} from '@vigil/tracing';
import {
  DEFAULT_REDACT_PATHS,
  DEFAULT_REDACTED_QUERY_PARAMS,
  type ExpressRequestLogger,
  REDACTED,
  type RequestLoggerOptions,
  expressRequestLogger,
  koaRequestLogger,
  vigilLogMixin,
} from '@vigil/logging';
import { redactUrlQuery } from '../src/logger';

const HEX32 = /^[0-9a-f]{32}$/;
const HEX16 = /^[0-9a-f]{16}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const COMPLETED = 'request completed';
const ABORTED = 'request aborted';
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

// Figures printed at the end of the file.
const figures = { lines: 0, requests: 0, sentinelsChecked: 0, leaks: 0, spansMatched: 0 };

// ---------------------------------------------------------------------------------------------
// Log capture: pino writes into this stream; every line must parse as JSON.

interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

class LineSink extends Writable {
  raw = '';
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    this.raw += chunk.toString('utf8');
    done();
  }
  /** Every line, parsed; a line that is not JSON fails the test here. */
  lines(): LogLine[] {
    const lines = this.raw.split('\n').filter((l) => l !== '');
    return lines.map((l) => JSON.parse(l) as LogLine);
  }
  completions(): LogLine[] {
    return this.lines().filter((l) => l.msg === COMPLETED || l.msg === ABORTED);
  }
  /** Counts what was written, checks no line repeats an id key, and that no sentinel leaked. */
  audit(sentinels: readonly string[] = []): LogLine[] {
    const lines = this.lines();
    figures.lines += lines.length;
    for (const raw of this.raw.split('\n')) {
      // A key written twice (bindings and mixin both) is still JSON, but ambiguous downstream.
      for (const key of ['trace_id', 'span_id', 'request_id']) {
        expect(raw.split(`"${key}":`).length - 1, raw).toBeLessThanOrEqual(1);
      }
    }
    for (const s of sentinels) {
      figures.sentinelsChecked++;
      if (this.raw.includes(s)) figures.leaks++;
      expect(this.raw, `sentinel ${s} leaked`).not.toContain(s);
    }
    return lines;
  }
}

// ---------------------------------------------------------------------------------------------
// Real servers on loopback, and a raw client (no keep-alive, no client spans).

const servers = new Set<Server>();
interface Running {
  origin: string;
  /** Resolves once the server has received `n` requests. */
  received: (n: number) => Promise<void>;
}

async function startServer(listener: RequestListener): Promise<Running> {
  let count = 0;
  const waiting: { n: number; resolve: () => void }[] = [];
  const server = createServer((req, res) => {
    count++;
    for (const w of waiting.filter((x) => x.n <= count)) {
      waiting.splice(waiting.indexOf(w), 1);
      w.resolve();
    }
    listener(req, res);
  });
  servers.add(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const received = (n: number) =>
    n <= count ? Promise.resolve() : new Promise<void>((resolve) => waiting.push({ n, resolve }));
  return { origin: `http://127.0.0.1:${port}`, received };
}

afterEach(async () => {
  const all = [...servers];
  servers.clear();
  await Promise.all(
    all.map(
      (s) =>
        new Promise<void>((resolve) => {
          s.close(() => resolve());
          s.closeAllConnections();
        }),
    ),
  );
});

type Reply = RawResponse;

/** One request on its own connection (the metrics suite's raw client), counted in the figures. */
function send(
  origin: string,
  path: string,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<Reply> {
  figures.requests++;
  const { method, headers, body } = options;
  if (body === undefined) return rawRequest(origin, path, { method, headers });
  return rawRequest(origin, path, {
    method,
    headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
    chunks: [body],
  });
}

/** A client that gives up once `when` settles, before the answer. */
function abandon(
  origin: string,
  path: string,
  headers: Record<string, string>,
  when: Promise<unknown>,
): Promise<boolean> {
  figures.requests++;
  return new Promise<boolean>((resolve) => {
    let sawHeaders = false;
    const req = httpRequest(`${origin}${path}`, { headers, agent: false });
    req.on('error', () => undefined); // the abort makes the request fail: that is the point
    req.on('response', () => (sawHeaders = true));
    req.on('close', () => resolve(sawHeaders));
    void when.finally(() => req.destroy());
    req.end();
  });
}

// ---------------------------------------------------------------------------------------------
// The same small app on every framework: tracing (optional), the request logger, then routes.
//
//   GET  /api/users/:id   nested routers; logs through req.log / ctx.log and a mixin logger,
//                         sets a cookie on the response
//   POST /api/echo        reads a JSON body
//   GET  /boom            throws synchronously (the app's error handler answers 500)
//   GET  /slow?ms=N       answers after N ms
//   GET  /metrics, /health/live   operational paths (ignored by default)
//   GET  /ops/status      marks itself operational, as Vigil's endpoints do

interface AppSettings {
  tracing: boolean;
  logger: RequestLoggerOptions;
  /** The app's own logger, used inside /api/users/:id. */
  appLog?: Logger;
}

interface Framework {
  name: 'express4' | 'express5' | 'koa2' | 'koa3';
  app(settings: AppSettings): RequestListener;
}

const SET_COOKIE_SENTINEL = 'SENTINEL-SETCOOKIE-7f3a';
const msParam = (url: string | undefined) => Number(/[?&]ms=(\d+)/.exec(url ?? '')?.[1] ?? 200);

async function readBody(req: IncomingMessage): Promise<string> {
  const parts: Buffer[] = [];
  for await (const chunk of req) parts.push(chunk as Buffer);
  return Buffer.concat(parts).toString('utf8');
}

function expressApp(factory: typeof express, s: AppSettings): RequestListener {
  const app = factory();
  if (s.tracing) app.use(expressTracing());
  app.use(expressRequestLogger(s.logger));
  const users: ExpressRouter = factory.Router();
  users.get('/:id', (req, res) => {
    req.log.info({ step: 'handler' }, 'app line via req.log');
    s.appLog?.info('app line via mixin logger');
    res.setHeader('set-cookie', `sid=${SET_COOKIE_SENTINEL}; HttpOnly`);
    res.json({ id: req.params.id });
  });
  const api: ExpressRouter = factory.Router();
  api.use('/users', users);
  api.post('/echo', factory.json(), (req, res) => {
    res.json({ received: Object.keys(req.body as object).length });
  });
  app.use('/api', api);
  app.get('/boom', () => {
    throw new Error('boom');
  });
  app.get('/slow', (req, res) => {
    setTimeout(() => res.send('slow'), msParam(req.url));
  });
  app.get(['/metrics', '/health/live'], (_req, res) => {
    res.send('ok');
  });
  app.get('/ops/status', (req, res) => {
    markOperational(req);
    res.send('ok');
  });
  const onError: ErrorRequestHandler = (_err, _req, res, _next) => {
    res.status(500).json({ handled: true });
  };
  app.use(onError);
  return app;
}

function koaApp(Factory: typeof Koa, s: AppSettings): RequestListener {
  const app = new Factory();
  if (s.tracing) app.use(koaTracing());
  app.use(koaRequestLogger(s.logger));
  app.use(async (ctx, next) => {
    try {
      await next();
    } catch {
      ctx.status = 500;
      ctx.body = { handled: true };
    }
  });
  const users = new Router();
  users.get('/:id', (ctx) => {
    (ctx as unknown as { log: Logger }).log.info({ step: 'handler' }, 'app line via req.log');
    s.appLog?.info('app line via mixin logger');
    ctx.set('set-cookie', `sid=${SET_COOKIE_SENTINEL}; HttpOnly`);
    ctx.body = { id: ctx.params.id };
  });
  const api = new Router({ prefix: '/api' });
  api.use('/users', users.routes(), users.allowedMethods());
  api.post('/echo', async (ctx) => {
    ctx.body = { received: Object.keys(JSON.parse(await readBody(ctx.req)) as object).length };
  });
  const router = new Router();
  router.get('/boom', () => {
    throw new Error('boom');
  });
  router.get('/slow', async (ctx) => {
    await sleep(msParam(ctx.url));
    ctx.body = 'slow';
  });
  router.get(['/metrics', '/health/live'], (ctx) => {
    ctx.body = 'ok';
  });
  router.get('/ops/status', (ctx) => {
    markOperational(ctx.req);
    ctx.body = 'ok';
  });
  app.use(api.routes()).use(api.allowedMethods());
  app.use(router.routes()).use(router.allowedMethods());
  const handle = app.callback();
  return (req, res) => void handle(req, res);
}

const FRAMEWORKS: readonly Framework[] = [
  { name: 'express4', app: (s) => expressApp(express4, s) },
  { name: 'express5', app: (s) => expressApp(express, s) },
  { name: 'koa2', app: (s) => koaApp(Koa2, s) },
  { name: 'koa3', app: (s) => koaApp(Koa, s) },
];

// ---------------------------------------------------------------------------------------------

/** Secrets a client sends (and one the app sets); none may reach any line. */
function secretRequest(tag: string) {
  const sentinels = {
    auth: `SENTINEL-AUTH-${tag}`,
    proxy: `SENTINEL-PROXY-${tag}`,
    cookie: `SENTINEL-COOKIE-${tag}`,
    apiKey: `SENTINEL-APIKEY-${tag}`,
    token: `SENTINEL-TOKEN-${tag}`,
    accessToken: `SENTINEL-ACCESS-${tag}`,
    apiKeyQuery: `SENTINEL-QKEY-${tag}`,
    sessionToken: `SENTINEL-SESSION-${tag}`,
  };
  return {
    path: `/api/users/42?token=${sentinels.token}&access_token=${sentinels.accessToken}&API_KEY=${sentinels.apiKeyQuery}&page=2`,
    headers: {
      authorization: `Bearer ${sentinels.auth}`,
      'proxy-authorization': `Basic ${sentinels.proxy}`,
      cookie: `session=${sentinels.cookie}; theme=dark`,
      'x-api-key': sentinels.apiKey,
      // Not in the list of secret headers: redacted by the secret-suffix rule.
      'x-session-token': sentinels.sessionToken,
    },
    sentinels: [...Object.values(sentinels), SET_COOKIE_SENTINEL],
  };
}

interface MemoryTracing {
  tracing: Tracing;
  exporter: InMemorySpanExporter;
}

/** Runs the behaviour suite with or without the OpenTelemetry SDK started. */
function behaviour(sdk: boolean): void {
  let otel: MemoryTracing | undefined;
  if (sdk) {
    beforeAll(() => {
      const exporter = new InMemorySpanExporter();
      // No client spans: the test's own requests must reach the server without trace headers.
      const tracing = startTracing({
        exporter: 'none',
        traceBuffer: false,
        httpClientSpans: false,
        spanProcessors: [new SimpleSpanProcessor(exporter)],
      });
      otel = { tracing, exporter };
    });
    afterAll(() => otel?.tracing.shutdown());
  }

  const serverSpan = async (line: LogLine): Promise<ReadableSpan> => {
    let found: ReadableSpan | undefined;
    await vi.waitFor(() => {
      found = otel!.exporter
        .getFinishedSpans()
        .find((s) => s.spanContext().spanId === line.span_id);
      expect(found, `span ${String(line.span_id)}`).toBeDefined();
    });
    figures.spansMatched++;
    return found!;
  };

  describe.each(FRAMEWORKS)('on $name', (fw) => {
    it('should write exactly one parseable completion line per request, with ids and route', async () => {
      const sink = new LineSink();
      const appLog = pino({ mixin: vigilLogMixin() }, sink);
      const { origin } = await startServer(
        fw.app({ tracing: true, logger: { destination: sink }, appLog }),
      );
      const secret = secretRequest(`${fw.name}-${sdk}`);
      const body = JSON.stringify({ password: `SENTINEL-BODY-${fw.name}` });

      const replies = {
        ok: await send(origin, secret.path, { headers: secret.headers }),
        notFound: await send(origin, '/nope/9'),
        boom: await send(origin, '/boom'),
        post: await send(origin, '/api/echo', {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-correlation-id': 'corr-77' },
          body,
        }),
      };
      expect(replies.ok.status).toBe(200);
      expect(replies.notFound.status).toBe(404);
      expect(replies.boom.status).toBe(500);
      expect(replies.post.status).toBe(200);

      await vi.waitFor(() => expect(sink.completions()).toHaveLength(4));
      await sleep(30);
      const lines = sink.audit([...secret.sentinels, `SENTINEL-BODY-${fw.name}`]);
      const completions = lines.filter((l) => l.msg === COMPLETED || l.msg === ABORTED);
      expect(completions).toHaveLength(4);

      const expected = [
        { reply: replies.ok, route: '/api/users/:id', method: 'GET', status: 200, level: 30 },
        { reply: replies.notFound, route: '<unmatched>', method: 'GET', status: 404, level: 40 },
        { reply: replies.boom, route: '/boom', method: 'GET', status: 500, level: 50 },
        { reply: replies.post, route: '/api/echo', method: 'POST', status: 200, level: 30 },
      ];
      for (const e of expected) {
        const requestId = e.reply.headers['x-request-id'];
        expect(requestId).toMatch(UUID);
        const mine = completions.filter((l) => l.request_id === requestId);
        expect(mine, `${e.method} ${e.route}`).toHaveLength(1);
        const line = mine[0]!;
        expect(line).toMatchObject({
          msg: COMPLETED,
          level: e.level,
          component: 'http',
          route: e.route,
          method: e.method,
          status_code: e.status,
        });
        expect(line.trace_id).toMatch(HEX32);
        expect(line.span_id).toMatch(HEX16);
        expect(typeof line.duration_ms).toBe('number');
        expect(line).not.toHaveProperty('responseTime');
        if (otel) {
          const span = await serverSpan(line);
          expect(span.spanContext().traceId).toBe(line.trace_id);
          expect(span.kind).toBe(SpanKind.SERVER);
          if (e.route !== '<unmatched>') expect(span.attributes['http.route']).toBe(e.route);
        }
      }
      const post = completions.find((l) => l.method === 'POST')!;
      expect(post.correlation_id).toBe('corr-77');
      const ok = completions.find((l) => l.route === '/api/users/:id')!;
      expect(ok.correlation_id).toBe(ok.request_id);
      const req = ok.req as { url: string; headers: Record<string, unknown> };
      expect(req.url).toBe(
        `/api/users/42?token=${REDACTED}&access_token=${REDACTED}&API_KEY=${REDACTED}&page=2`,
      );
      expect(req.headers).toMatchObject({
        authorization: REDACTED,
        'proxy-authorization': REDACTED,
        cookie: REDACTED,
        'x-api-key': REDACTED,
        'x-session-token': REDACTED,
      });
      const res = ok.res as { headers: Record<string, unknown> };
      expect(res.headers['set-cookie']).toBe(REDACTED);
      expect(res.headers['x-request-id']).toBe(ok.request_id);

      // The app's own lines carry the request's ids: through req.log (bindings) and the mixin.
      const viaReqLog = lines.find((l) => l.msg === 'app line via req.log')!;
      const viaMixin = lines.find((l) => l.msg === 'app line via mixin logger')!;
      for (const appLine of [viaReqLog, viaMixin]) {
        expect(appLine).toMatchObject({
          trace_id: ok.trace_id,
          span_id: ok.span_id,
          request_id: ok.request_id,
        });
      }
      expect(viaReqLog.step).toBe('handler');
      expect(viaMixin).not.toHaveProperty('req');
    });

    it('should write one "request aborted" line when the client leaves before the answer', async () => {
      const sink = new LineSink();
      const { origin, received } = await startServer(
        fw.app({ tracing: true, logger: { destination: sink } }),
      );
      const sawHeaders = await abandon(
        origin,
        '/slow?ms=250',
        { 'x-request-id': `abort-${fw.name}` },
        received(1).then(() => sleep(50)),
      );
      expect(sawHeaders).toBe(false);
      await vi.waitFor(() => expect(sink.completions()).toHaveLength(1));
      // The handler still answers at 250 ms; that late answer must not log a second line.
      await sleep(300);
      const [line, ...rest] = sink.audit().filter((l) => l.msg === COMPLETED || l.msg === ABORTED);
      expect(rest).toHaveLength(0);
      expect(line).toMatchObject({
        msg: ABORTED,
        level: 30,
        route: '/slow',
        method: 'GET',
        request_id: `abort-${fw.name}`,
      });
      // No status went out, so none is claimed.
      expect(line).not.toHaveProperty('status_code');
      expect(line!.duration_ms).toBeLessThan(240);
      if (otel) expect((await serverSpan(line!)).spanContext().traceId).toBe(line!.trace_id);
    });

    it('should write nothing for operational endpoints and ignored paths', async () => {
      const sink = new LineSink();
      const { origin } = await startServer(
        fw.app({ tracing: true, logger: { destination: sink } }),
      );
      for (const path of ['/metrics', '/health/live', '/ops/status', '/metrics?x=1']) {
        expect((await send(origin, path)).status).toBe(200);
      }
      // A normal request afterwards proves the logger was writing all along.
      await send(origin, '/nope');
      await vi.waitFor(() => expect(sink.completions()).toHaveLength(1));
      await sleep(30);
      const lines = sink.audit();
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatchObject({ route: '<unmatched>', status_code: 404 });
    });
  });
}

describe('request logger without the OpenTelemetry SDK', () => behaviour(false));

describe('request logger options and ids', () => {
  const fw = FRAMEWORKS[1]!;

  it('should fall back to the caller x-request-id (or a fresh id) when no tracing middleware runs', async () => {
    const sink = new LineSink();
    const appLog = pino({ mixin: vigilLogMixin() }, sink);
    const { origin } = await startServer(
      fw.app({ tracing: false, logger: { destination: sink }, appLog }),
    );
    const safe = await send(origin, '/api/users/1', {
      headers: { 'x-request-id': 'caller-id.1', 'x-correlation-id': 'corr-1' },
    });
    await send(origin, '/api/users/2', { headers: { 'x-request-id': 'evil id="x" level=60' } });
    expect(safe.headers['x-request-id']).toBeUndefined();
    await vi.waitFor(() => expect(sink.completions()).toHaveLength(2));
    const lines = sink.audit();
    const [first, second] = sink.completions();
    expect(first).toMatchObject({ request_id: 'caller-id.1', correlation_id: 'corr-1' });
    expect(first).not.toHaveProperty('trace_id');
    // An unsafe id is replaced; the raw header stays visible only as a JSON-escaped header value.
    expect(second!.request_id).toMatch(UUID);
    expect(second!.correlation_id).toBe(second!.request_id);
    // The mixin finds no request context without the tracing middleware; req.log still has ids.
    const viaMixin = lines.filter((l) => l.msg === 'app line via mixin logger');
    expect(viaMixin[0]).not.toHaveProperty('request_id');
    const viaReqLog = lines.filter((l) => l.msg === 'app line via req.log');
    expect(viaReqLog[0]!.request_id).toBe('caller-id.1');
  });

  it('should make a passed logger a child with component "http" and keep ids single with its mixin', async () => {
    const sink = new LineSink();
    const appLog = pino({ mixin: vigilLogMixin(), base: { service: 'gateway' } }, sink);
    const middleware = expressRequestLogger({ logger: appLog });
    expect(middleware.logger.bindings()).toEqual({ service: 'gateway', component: 'http' });
    const { origin } = await startServer(
      fw.app({ tracing: true, logger: { logger: appLog }, appLog }),
    );
    const reply = await send(origin, '/api/users/5');
    await vi.waitFor(() => expect(sink.completions()).toHaveLength(1));
    const lines = sink.audit(); // also checks no id key appears twice on a line
    const id = reply.headers['x-request-id'];
    expect(lines.filter((l) => l.request_id === id)).toHaveLength(3);
    expect(sink.completions()[0]).toMatchObject({ service: 'gateway', component: 'http' });
    const viaMixin = lines.find((l) => l.msg === 'app line via mixin logger')!;
    expect(viaMixin).toMatchObject({ service: 'gateway', request_id: id });
    expect(viaMixin).not.toHaveProperty('component');
  });

  it('should apply level, ignorePaths, redact and redactQuery', async () => {
    const sink = new LineSink();
    const { origin } = await startServer(
      fw.app({
        tracing: true,
        logger: {
          destination: sink,
          level: 'warn',
          ignorePaths: ['/skip', /^\/internal\//],
          redact: ['req.headers["x-session"]'],
          redactQuery: ['session-id'],
        },
      }),
    );
    await send(origin, '/api/users/1'); // 200: below warn
    await send(origin, '/skip'); // 404s, but ignored
    await send(origin, '/internal/x');
    await send(origin, '/nope?Session_Id=SENTINEL-SID&q=1', {
      headers: { 'x-session': 'SENTINEL-XSESSION', authorization: 'Bearer SENTINEL-AUTHX' },
    });
    await vi.waitFor(() => expect(sink.completions()).toHaveLength(1));
    await sleep(30);
    const lines = sink.audit(['SENTINEL-SID', 'SENTINEL-XSESSION', 'SENTINEL-AUTHX']);
    expect(lines).toHaveLength(1);
    const line = lines[0] as LogLine & { req: { url: string; headers: Record<string, string> } };
    expect(line).toMatchObject({ level: 40, status_code: 404 });
    expect(line.req.url).toBe(`/nope?Session_Id=${REDACTED}&q=1`);
    // The extra path and the defaults both apply.
    expect(line.req.headers['x-session']).toBe(REDACTED);
    expect(line.req.headers.authorization).toBe(REDACTED);
    expect(DEFAULT_REDACT_PATHS).toContain('req.headers.authorization');

    // ignorePaths replaces the defaults: with an empty list, /metrics is logged like any route.
    const all = new LineSink();
    const other = await startServer(
      fw.app({ tracing: true, logger: { destination: all, ignorePaths: [] } }),
    );
    await send(other.origin, '/metrics');
    await vi.waitFor(() => expect(all.completions()).toHaveLength(1));
    expect(all.audit()[0]).toMatchObject({ route: '/metrics,/health/live', status_code: 200 });
  });

  it('should work with koaRequestLogger alone and expose ctx.log', async () => {
    const sink = new LineSink();
    const app = new Koa();
    let sameLogger = false;
    app.use(koaRequestLogger({ destination: sink }));
    app.use((ctx) => {
      const log = (ctx as unknown as { log: Logger }).log;
      sameLogger = log === ctx.req.log;
      log.info('inside');
      ctx.body = 'ok';
    });
    const handle = app.callback();
    const { origin } = await startServer((req, res) => void handle(req, res));
    await send(origin, '/x?code=SENTINEL-CODE', { headers: { 'x-request-id': 'koa-alone' } });
    await vi.waitFor(() => expect(sink.completions()).toHaveLength(1));
    const lines = sink.audit(['SENTINEL-CODE']);
    expect(sameLogger).toBe(true);
    expect(lines.map((l) => [l.msg, l.request_id])).toEqual([
      ['inside', 'koa-alone'],
      [COMPLETED, 'koa-alone'],
    ]);
    expect(lines[1]!.route).toBe('<unmatched>');
  });

  it('should return {} from the mixin outside a request, and work without the call', async () => {
    const sink = new LineSink();
    const mixin = vigilLogMixin();
    expect(mixin({}, 30)).toEqual({});
    // `mixin: vigilLogMixin` (without the call): pino calls it as the mixin itself.
    const log = pino({ mixin: vigilLogMixin }, sink);
    log.info('outside');
    const app = express();
    app.use(expressTracing());
    app.use((_req, res) => {
      log.info('inside');
      res.end(getRequestContext()?.requestId);
    });
    const { origin } = await startServer(app);
    const reply = await send(origin, '/');
    const lines = sink.audit();
    expect(lines[0]).not.toHaveProperty('request_id');
    expect(lines[1]).toMatchObject({ msg: 'inside', request_id: reply.body });
    expect(lines[1]!.trace_id).toMatch(HEX32);
  });
});

describe('redactUrlQuery', () => {
  it.each([
    ['/a?token=s', `/a?token=${REDACTED}`],
    ['/a?x=1&access_token=s&y=2', `/a?x=1&access_token=${REDACTED}&y=2`],
    ['/a?TOKEN=s', `/a?TOKEN=${REDACTED}`],
    ['/a?api-key=s', `/a?api-key=${REDACTED}`],
    ['/a?apikey=s;key=t', `/a?apikey=${REDACTED};key=${REDACTED}`],
    ['/a?%74oken=s', `/a?%74oken=${REDACTED}`],
    ['/a?user[password]=s', `/a?user[password]=${REDACTED}`],
    ['/a?refreshToken=s&client_secret=t', `/a?refreshToken=${REDACTED}&client_secret=${REDACTED}`],
    ['/a?X-Amz-Signature=s', `/a?X-Amz-Signature=${REDACTED}`],
    ['/a?code=s&state=t', `/a?code=${REDACTED}&state=t`],
    ['/a?sig=s=with=equals', `/a?sig=${REDACTED}`],
    ['/a?token&token=', '/a?token&token='],
    ['/a?%zz=1&secret=s', `/a?%zz=1&secret=${REDACTED}`],
    ['/a?page=2', '/a?page=2'],
    ['/a', '/a'],
    ['/a?', '/a?'],
  ])('should turn %s into %s', (url, expected) => {
    expect(redactUrlQuery(url)).toBe(expected);
  });

  it('should cover every default parameter name', () => {
    for (const name of DEFAULT_REDACTED_QUERY_PARAMS) {
      expect(redactUrlQuery(`/p?${name}=v`)).toBe(`/p?${name}=${REDACTED}`);
    }
  });
});

describe('request logger error codes', () => {
  const express4Call = (f: unknown) => (f as (...a: unknown[]) => unknown)({}, {}, () => undefined);

  it('should say how to mount a factory given without ()', () => {
    expect(() => express4Call(expressRequestLogger)).toThrow(
      // Three arguments that are not a request: both frameworks' fixes.
      'ERR_VIGIL_LOGGING_NOT_CALLED: expressRequestLogger was called with framework arguments instead of its options: it was handed to the app (app.use() or a route) without being called. It returns the middleware: mount the result right after the tracing middleware (first, when there is none). Fix: `app.use(expressRequestLogger())` (Express), `app.use(koaRequestLogger())` (Koa). See "Error codes" in the @vigil/logging README.',
    );
    expect(() =>
      (koaRequestLogger as unknown as (...a: unknown[]) => unknown)({}, () => undefined),
    ).toThrow(expect.objectContaining({ code: 'ERR_VIGIL_LOGGING_NOT_CALLED' }) as Error);
  });

  it('should pin the unknown-option message', () => {
    expect(() => expressRequestLogger({ levle: 'info' } as RequestLoggerOptions)).toThrow(
      'ERR_VIGIL_LOGGING_UNKNOWN_OPTION: expressRequestLogger(): option "levle" must be one of logger, level, destination, ignorePaths, redact, redactQuery, received \'levle\'. Check the spelling of the option name. See "Error codes" in the @vigil/logging README.',
    );
  });

  const log = pino({ enabled: false });
  it.each([
    ['options', 'not options', 'ERR_VIGIL_LOGGING_INVALID_OPTIONS'],
    ['logger', { logger: console }, 'ERR_VIGIL_LOGGING_INVALID_OPTION'],
    ['level', { level: 'loud' }, 'ERR_VIGIL_LOGGING_INVALID_OPTION'],
    ['level', { logger: log, level: 'verbose' }, 'ERR_VIGIL_LOGGING_INVALID_OPTION'],
    ['destination', { destination: 42 }, 'ERR_VIGIL_LOGGING_INVALID_OPTION'],
    [
      'destination',
      { logger: log, destination: process.stdout },
      'ERR_VIGIL_LOGGING_INVALID_OPTION',
    ],
    ['ignorePaths', { ignorePaths: '/metrics' }, 'ERR_VIGIL_LOGGING_INVALID_OPTION'],
    ['redact', { redact: 'req.headers.x' }, 'ERR_VIGIL_LOGGING_INVALID_OPTION'],
    ['redact', { redact: ['req.headers.ok', 'a..b'] }, 'ERR_VIGIL_LOGGING_INVALID_OPTION'],
    ['redactQuery', { redactQuery: [''] }, 'ERR_VIGIL_LOGGING_INVALID_OPTION'],
  ])('should reject a bad %s (%o) with %s', (option, value, code) => {
    for (const factory of [expressRequestLogger, koaRequestLogger]) {
      let error: unknown;
      try {
        (factory as (o: unknown) => unknown)(value);
      } catch (err) {
        error = err;
      }
      expect(error).toMatchObject({ code });
      expect((error as Error).message).toContain(`option "${option}" must be`);
    }
  });

  it("should name the bad redact path and pino's reason", () => {
    expect(() => expressRequestLogger({ redact: ['req.headers.ok', 'a..b'] })).toThrow(
      `ERR_VIGIL_LOGGING_INVALID_OPTION: expressRequestLogger(): option "redact" must be paths in pino redact syntax, such as req.headers["x-session"], received 'a..b'. pino said: Invalid redaction path (a..b). See "Error codes" in the @vigil/logging README.`,
    );
  });

  it('should type the public API', () => {
    expectTypeOf(expressRequestLogger()).toEqualTypeOf<ExpressRequestLogger>();
    expectTypeOf(expressRequestLogger().logger).toEqualTypeOf<Logger>();
    // Assignable to pino's own mixin option.
    pino({ enabled: false, mixin: vigilLogMixin() });
  });
});

// Last: startTracing() registers global OpenTelemetry state for the rest of the file.
describe('request logger with the OpenTelemetry SDK', () => behaviour(true));

afterAll(() => {
  console.log(
    `request logger: ${figures.lines} lines parsed, ${figures.requests} requests, ` +
      `${figures.spansMatched} spans matched, ${figures.sentinelsChecked} sentinels checked, ` +
      `${figures.leaks} leaks found`,
  );
});
