// Real Express 5 and Koa 3 services behind the tracing middleware, a capture server standing in for
// the service's downstream, and a raw client that can send any header-legal bytes (even repeated headers).
import {
  Agent,
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
  type RequestListener,
  type Server,
  createServer,
  request,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import Router from '@koa/router';
import express, { type ErrorRequestHandler } from 'express';
import Koa from 'koa';
import {
  type RequestContext,
  type TracingMiddlewareOptions,
  expressTracing,
  expressTracingErrors,
  getRequestContext,
  koaTracing,
} from '@vigil/tracing';

export type FrameworkName = 'express' | 'koa';
export const FRAMEWORK_NAMES: readonly FrameworkName[] = ['express', 'koa'];

/** Large enough for a 16 KiB request id plus everything else a test sends in one request. */
export const MAX_HEADER_SIZE = 128 * 1024;

const servers = new Set<Server>();

/** Listens on 127.0.0.1:0; every server started here is closed by closeConformanceServers(). */
export async function listen(
  listener: RequestListener,
): Promise<{ server: Server; origin: string }> {
  const server = createServer({ maxHeaderSize: MAX_HEADER_SIZE }, listener);
  // Longer than any pause in a run, so a kept-alive socket is never closed by the server just as the
  // client reuses it (that race would show up as ECONNRESET on a slow, loaded machine).
  server.keepAliveTimeout = 30_000;
  servers.add(server);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return { server, origin: `http://127.0.0.1:${port}` };
}

/** Closes every server listen() started, dropping kept-alive connections. */
export async function closeConformanceServers(): Promise<void> {
  const all = [...servers];
  servers.clear();
  await Promise.all(
    all.map(
      (server) =>
        new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        }),
    ),
  );
}

/** What the downstream service received. */
export interface Captured {
  headers: IncomingHttpHeaders;
  rawHeaders: string[];
}

export interface Capture {
  origin: string;
  /** Requests received so far. */
  readonly count: number;
}

/** The downstream service: answers every request with the headers it received, as JSON. */
export async function startCapture(): Promise<Capture> {
  let count = 0;
  const { origin } = await listen((req, res) => {
    count++;
    const body: Captured = { headers: req.headers, rawHeaders: req.rawHeaders };
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(body));
  });
  return {
    origin,
    get count() {
      return count;
    },
  };
}

/** What the service's handler reports: its request context and what each downstream call carried. */
export interface ProbeBody {
  /** getRequestContext() when the handler starts, and after its outgoing calls. */
  before: RequestContext | undefined;
  after: RequestContext | undefined;
  fetch: Captured | undefined;
  http: Captured | undefined;
  /** Error codes of failed outgoing calls (ERR_INVALID_CHAR, UND_ERR_INVALID_ARG, ...). */
  errors: string[];
}

function errorCode(err: unknown): string {
  const e = err as { code?: unknown; cause?: { code?: unknown }; name?: unknown } | null;
  const code = e?.code ?? e?.cause?.code ?? e?.name;
  return typeof code === 'string' ? code : String(err);
}

function getJson<T>(url: string, agent: Agent, headers?: OutgoingHttpHeaders): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const req = request(url, { agent, headers }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (chunk: Buffer) => parts.push(chunk));
      res.on('error', reject);
      res.on('end', () => {
        try {
          resolve(JSON.parse(Buffer.concat(parts).toString('utf8')) as T);
        } catch (err) {
          reject(err instanceof Error ? err : new Error(String(err)));
        }
      });
    });
    req.on('error', reject);
    req.end();
  });
}

/** The handler's work: one fetch and one http.request to the capture server, concurrently. */
async function callDownstream(capture: Capture, agent: Agent): Promise<ProbeBody> {
  const before = getRequestContext();
  const errors: string[] = [];
  const [viaFetch, viaHttp] = await Promise.all([
    fetch(`${capture.origin}/fetch`)
      .then((r) => r.json() as Promise<Captured>)
      .catch((err: unknown) => {
        errors.push(errorCode(err));
        return undefined;
      }),
    getJson<Captured>(`${capture.origin}/http`, agent).catch((err: unknown) => {
      errors.push(errorCode(err));
      return undefined;
    }),
  ]);
  return { before, after: getRequestContext(), fetch: viaFetch, http: viaHttp, errors };
}

export interface ServiceSettings {
  framework: FrameworkName;
  capture: Capture;
  options?: TracingMiddlewareOptions;
}

export interface Service {
  origin: string;
  framework: FrameworkName;
  /** Errors that reached the app's error handling (Express error handler, Koa 'error' event). */
  appErrors: unknown[];
  /** Problems the middleware logged (its `logger.warn`). */
  warnings: unknown[];
  /** Keep-alive agent of the service's own http.request calls. */
  agent: Agent;
}

/** Starts a service: the tracing middleware first, then GET /probe/:id calling downstream. */
export async function startService(settings: ServiceSettings): Promise<Service> {
  const appErrors: unknown[] = [];
  const warnings: unknown[] = [];
  const agent = new Agent({ keepAlive: true, maxSockets: 32 });
  const options: TracingMiddlewareOptions = {
    logger: { warn: (obj: object) => warnings.push(obj) },
    ...settings.options,
  };
  let listener: RequestListener;
  if (settings.framework === 'express') {
    const app = express();
    app.use(expressTracing(options));
    app.get('/probe/:id', async (_req, res) => {
      res.json(await callDownstream(settings.capture, agent));
    });
    app.use(expressTracingErrors());
    const onError: ErrorRequestHandler = (err, _req, res, _next) => {
      appErrors.push(err);
      res.status(500).json({ error: String(err) });
    };
    app.use(onError);
    listener = app;
  } else {
    const app = new Koa();
    const router = new Router();
    app.on('error', (err) => appErrors.push(err));
    app.use(koaTracing(options));
    router.get('/probe/:id', async (ctx) => {
      ctx.body = await callDownstream(settings.capture, agent);
    });
    app.use(router.routes());
    const callback = app.callback();
    listener = (req, res) => {
      void callback(req, res);
    };
  }
  const { server, origin } = await listen(listener);
  server.on('close', () => agent.destroy());
  return { origin, framework: settings.framework, appErrors, warnings, agent };
}

/** Header name/value pairs in wire order; a name may repeat (sent as separate header lines). */
export type HeaderList = readonly (readonly [string, string])[];

export interface ProbeResult {
  status: number;
  headers: IncomingHttpHeaders;
  body: ProbeBody | undefined;
  /** Client-side failure (socket hang up, ...), when there was no response. */
  error: string | undefined;
}

/** Sends GET `path` with exactly these header lines (raw array form: repeats stay repeats). */
export function probe(
  origin: string,
  path: string,
  headers: HeaderList,
  agent: Agent,
): Promise<ProbeResult> {
  const { host } = new URL(origin);
  const flat: string[] = ['host', host];
  for (const [name, value] of headers) flat.push(name, value);
  return new Promise<ProbeResult>((resolve) => {
    let req;
    try {
      req = request(`${origin}${path}`, { agent, headers: flat });
    } catch (err) {
      // The client refusing a header is a bug in the test's generator, not in the server.
      resolve({ status: 0, headers: {}, body: undefined, error: `client: ${errorCode(err)}` });
      return;
    }
    req.on('error', (err) =>
      resolve({ status: 0, headers: {}, body: undefined, error: errorCode(err) }),
    );
    req.on('response', (res) => {
      const parts: Buffer[] = [];
      res.on('data', (chunk: Buffer) => parts.push(chunk));
      res.on('end', () => {
        let body: ProbeBody | undefined;
        try {
          body = JSON.parse(Buffer.concat(parts).toString('utf8')) as ProbeBody;
        } catch {
          body = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, error: undefined });
      });
    });
    req.end();
  });
}

/** The downstream traceparent / tracestate / baggage / ids of one outgoing call, as strings. */
export function downstreamHeader(captured: Captured | undefined, name: string): string | undefined {
  const v = captured?.headers[name];
  return Array.isArray(v) ? v.join(', ') : v;
}

/** Polls `find` until it returns a value (bounded: ~2 s), for spans that end just after the response. */
export async function eventually<T>(
  find: () => T | undefined,
  attempts = 200,
): Promise<T | undefined> {
  for (let i = 0; i < attempts; i++) {
    const found = find();
    if (found !== undefined) return found;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return undefined;
}

/** Runs `task(0..count-1)` with at most `concurrency` in flight. */
export async function runPool(
  count: number,
  concurrency: number,
  task: (index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < count; i = next++) await task(i);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
}
