// Real servers on ephemeral loopback ports, and raw HTTP clients (one connection per request).
import { request } from 'node:http';

// Servers come from the metrics suite's support: started on an ephemeral port, closed together.
export { type Running, closeServers, startServer } from '@vigil/test-utils';
import { rawRequest } from '@vigil/test-utils';

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export interface SendOptions {
  method?: string;
  /** Sent as JSON. */
  json?: unknown;
  headers?: Record<string, string>;
}

/** One request on its own connection, resolved with the whole response. */
export function send(origin: string, path: string, options: SendOptions = {}): Promise<Reply> {
  const body = options.json === undefined ? undefined : JSON.stringify(options.json);
  return rawRequest(origin, path, {
    method: options.method ?? (body === undefined ? 'GET' : 'POST'),
    headers: {
      ...(body === undefined
        ? {}
        : {
            'content-type': 'application/json',
            'content-length': String(Buffer.byteLength(body)),
          }),
      ...options.headers,
    },
    chunks: body === undefined ? [] : [body],
  });
}

/**
 * Sends a request and destroys the connection once `when` settles, like a client that gave up.
 * Resolves when the connection is closed, with whether response headers arrived first.
 */
export function abortedRequest(
  origin: string,
  path: string,
  when: Promise<unknown>,
  options: SendOptions = {},
): Promise<{ sawHeaders: boolean }> {
  return new Promise((resolve) => {
    const result = { sawHeaders: false };
    const body = options.json === undefined ? undefined : JSON.stringify(options.json);
    const req = request(`${origin}${path}`, {
      method: options.method ?? (body === undefined ? 'GET' : 'POST'),
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      agent: false,
    });
    // The abort makes the client request fail with ECONNRESET / socket hang up: that is the point.
    req.on('error', () => undefined);
    req.on('close', () => resolve(result));
    req.on('response', (res) => {
      result.sawHeaders = true;
      res.on('error', () => undefined);
      res.resume();
    });
    void when.finally(() => req.destroy());
    req.end(body);
  });
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
