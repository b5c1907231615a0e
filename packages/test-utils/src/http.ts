// Real servers on ephemeral loopback ports, and raw HTTP clients for what supertest cannot do.
import {
  type Agent,
  type IncomingHttpHeaders,
  type RequestListener,
  type Server,
  createServer,
  request,
} from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Running {
  server: Server;
  port: number;
  /** `http://127.0.0.1:<port>` (or the host given). */
  origin: string;
  /** Resolves once the server has received `n` requests in all (their headers, at least). */
  received: (n: number) => Promise<void>;
}

const running = new Set<Server>();

/** Starts `listener` on `host`:0. Every server started here is closed by closeServers(). */
export async function startServer(listener: RequestListener, host = '127.0.0.1'): Promise<Running> {
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
  // Keep-alive clients of load tests reuse sockets; the server must not close them under load.
  server.keepAliveTimeout = 30_000;
  running.add(server);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const received = (n: number) =>
    n <= count ? Promise.resolve() : new Promise<void>((resolve) => waiting.push({ n, resolve }));
  const shown = host.includes(':') ? `[${host}]` : host;
  return { server, port, origin: `http://${shown}:${port}`, received };
}

/** Closes every server startServer() started, dropping kept-alive and hanging connections. */
export async function closeServers(): Promise<void> {
  const servers = [...running];
  running.clear();
  await Promise.all(
    servers.map(
      (server) =>
        new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        }),
    ),
  );
}

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  /** The body's bytes; rawRequest() gives them as received (a compressed body is not decoded). */
  bytes: Buffer;
}

/** What a request may carry besides its target: a method, headers and a JSON body. */
export interface RequestBasics {
  /** Default GET, or POST when `json` is given. */
  method?: string;
  /** Sent after the JSON body's content-type and content-length, so they can override them. */
  headers?: Record<string, string>;
  /** Sent as the whole body, as JSON, with its content-type and content-length. */
  json?: unknown;
}

export interface RawRequestOptions extends RequestBasics {
  /**
   * Body written in these chunks, one write each (chunked unless a content-length header is given);
   * not with `json`.
   */
  chunks?: (string | Buffer)[];
  /** Pause between body chunks, in ms. */
  chunkDelayMs?: number;
  /** An agent to reuse connections (a keep-alive one); default: a connection of its own. */
  agent?: Agent;
  /** Source address of the connection (`127.0.0.2`, a non-loopback interface address, ...). */
  localAddress?: string;
  /**
   * Send this request-target instead of the path: an absolute-form target
   * (`http://host:port/path`, as sent to proxies) is valid HTTP/1.1 that servers route by its path.
   */
  target?: string;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The method, headers and body (`json` serialised, or none) of a request. */
function basics(options: RequestBasics): {
  method: string;
  headers: Record<string, string> | undefined;
  body: string | undefined;
} {
  if (options.json === undefined) {
    return { method: options.method ?? 'GET', headers: options.headers, body: undefined };
  }
  const body = JSON.stringify(options.json);
  return {
    method: options.method ?? 'POST',
    headers: {
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(body)),
      ...options.headers,
    },
    body,
  };
}

/**
 * One request, resolved with the whole response: on its own connection (no keep-alive) unless an
 * `agent` is given.
 */
export function rawRequest(
  origin: string,
  path: string,
  options: RawRequestOptions = {},
): Promise<RawResponse> {
  const { method, headers, body } = basics(options);
  return new Promise<RawResponse>((resolve, reject) => {
    const req = request(`${origin}${path}`, {
      method,
      headers,
      agent: options.agent ?? false,
      localAddress: options.localAddress,
      // Only when given: an undefined path would replace the URL's.
      ...(options.target === undefined ? {} : { path: options.target }),
    });
    req.on('error', reject);
    req.on('response', (res) => {
      const parts: Buffer[] = [];
      res.on('data', (chunk: Buffer) => parts.push(chunk));
      res.on('end', () => {
        const bytes = Buffer.concat(parts);
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: bytes.toString('utf8'),
          bytes,
        });
      });
      res.on('error', reject);
    });
    void (async () => {
      for (const chunk of body === undefined ? (options.chunks ?? []) : [body]) {
        req.write(chunk);
        if (options.chunkDelayMs) await sleep(options.chunkDelayMs);
      }
      req.end();
    })();
  });
}

export interface AbortOptions extends RequestBasics {
  /** Written as the start of the body, which is then never finished (instead of `json`). */
  partialBody?: string;
  /** Destroy the socket once this settles (e.g. once the server has the request, plus a pause). */
  when?: Promise<unknown>;
  /** Destroy the socket as soon as the first body chunk of the response arrives. */
  onFirstChunk?: boolean;
}

export interface AbortResult {
  /** Whether response headers arrived before the abort. */
  sawHeaders: boolean;
  /** Body bytes received before the abort. */
  bytesReceived: number;
}

/**
 * Sends a request and destroys the connection mid-way, like a client that gave up; resolves once the
 * connection is closed. A `json` body is sent whole first.
 */
export function abortedRequest(
  origin: string,
  path: string,
  options: AbortOptions,
): Promise<AbortResult> {
  const { method, headers, body } = basics(options);
  return new Promise<AbortResult>((resolve) => {
    const result: AbortResult = { sawHeaders: false, bytesReceived: 0 };
    const req = request(`${origin}${path}`, { method, headers, agent: false });
    // The abort makes the client request fail with ECONNRESET / socket hang up: that is the point.
    req.on('error', () => undefined);
    req.on('close', () => resolve(result));
    req.on('response', (res) => {
      result.sawHeaders = true;
      res.on('error', () => undefined);
      res.on('data', (chunk: Buffer) => {
        result.bytesReceived += chunk.length;
        if (options.onFirstChunk) req.destroy();
      });
    });
    void options.when?.finally(() => req.destroy());
    if (options.partialBody === undefined) req.end(body);
    else req.write(options.partialBody);
  });
}
