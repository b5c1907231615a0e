// Plain node:http plumbing for integration tests: listening on 127.0.0.1:0, requests, a bounded pool.
import {
  type Agent,
  type IncomingHttpHeaders,
  type RequestListener,
  createServer,
  request,
} from 'node:http';
import type { AddressInfo } from 'node:net';

/** A server listening on an ephemeral loopback port. */
export interface RunningServer {
  readonly url: string;
  readonly port: number;
  /** Stops listening and drops every connection, keep-alive ones included. */
  close(): Promise<void>;
}

/** Serves `handler` (an Express app, `koaApp.callback()`, ...) on 127.0.0.1 and a free port. */
export async function listen(handler: RequestListener): Promise<RunningServer> {
  const server = createServer(handler);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}

/** Finds a free loopback port by listening on 0 and closing (another process may take it, rarely). */
export async function freePort(): Promise<number> {
  const probe = await listen((_req, res) => res.end());
  await probe.close();
  return probe.port;
}

export interface RequestSpec {
  method?: string;
  /** Sent as is: the caller chooses every byte of the request target. */
  path: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  agent?: Agent;
  /** Destroys the request this many ms after it was sent (before the response, if the server is slower). */
  abortAfterMs?: number;
  /** Destroys the request as soon as the first body chunk arrives (aborted mid-response). */
  abortOnFirstChunk?: boolean;
  /** Gives up after this many ms (default 10 s), so no test waits forever on a stuck server. */
  timeoutMs?: number;
}

export interface ResponseSummary {
  /** HTTP status, or 'aborted' when the client gave up on purpose. */
  status: number | 'aborted';
  headers: IncomingHttpHeaders;
  body: string;
  /** Bytes of the body as received (after any chunked framing is removed). */
  bytes: number;
}

/** Sends one request to `port` on 127.0.0.1 and collects the whole response. */
export function send(port: number, spec: RequestSpec): Promise<ResponseSummary> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const done = (err: Error | undefined, value?: ResponseSummary) => {
      if (settled) return;
      settled = true;
      clearTimeout(abortTimer);
      clearTimeout(giveUp);
      if (err) reject(err);
      else resolve(value!);
    };
    const aborted = () => done(undefined, { status: 'aborted', headers: {}, body: '', bytes: 0 });
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method: spec.method ?? 'GET',
        path: spec.path,
        headers: spec.headers,
        agent: spec.agent ?? false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => {
          if (spec.abortOnFirstChunk) {
            req.destroy();
            aborted();
            return;
          }
          chunks.push(chunk);
        });
        res.on('end', () => {
          const body = Buffer.concat(chunks);
          done(undefined, {
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: body.toString('utf8'),
            bytes: body.length,
          });
        });
        res.on('error', (err) => done(err));
      },
    );
    const abortTimer =
      spec.abortAfterMs === undefined
        ? undefined
        : setTimeout(() => {
            req.destroy();
            aborted();
          }, spec.abortAfterMs);
    const giveUp = setTimeout(() => {
      req.destroy();
      done(new Error(`${spec.method ?? 'GET'} ${spec.path.slice(0, 80)} timed out`));
    }, spec.timeoutMs ?? 10_000);
    req.on('error', (err) => done(err));
    req.end(spec.body);
  });
}

/**
 * Runs `task(0) .. task(count - 1)` with at most `concurrency` in flight; resolves when all are done
 * and rejects on the first failure.
 */
export async function runPool(
  count: number,
  concurrency: number,
  task: (index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const index = next++;
      await task(index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
}

/** Polls `probe` every `intervalMs` until it returns a value other than undefined, or `timeoutMs` passes. */
export async function pollFor<T>(
  probe: () => T | undefined | Promise<T | undefined>,
  timeoutMs: number,
  intervalMs = 50,
): Promise<T | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() >= deadline) return undefined;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
