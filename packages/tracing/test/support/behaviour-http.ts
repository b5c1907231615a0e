// Real loopback servers, raw HTTP clients, a header-capturing server and polling, for the behaviour suites.
import { context } from '@opentelemetry/api';
import { suppressTracing } from '@opentelemetry/core';
import { spawnSync } from 'node:child_process';
import { type IncomingHttpHeaders, type RequestListener, request } from 'node:http';

// Loopback servers closed together, and a raw client: the metrics suite's helpers.
export { type Running, closeServers, startServer } from '@vigil/test-utils';
import { type Running, startServer } from '@vigil/test-utils';

export type { RawResponse } from '@vigil/test-utils';
import type { RawResponse } from '@vigil/test-utils';

/** Parses a JSON response body, failing with the body shown when it is not JSON. */
export function json<T>(res: RawResponse): T {
  try {
    return JSON.parse(res.body) as T;
  } catch {
    throw new Error(`expected JSON, got ${res.status}: ${res.body.slice(0, 200)}`);
  }
}

// One request on its own connection, resolved with the whole response: the metrics suite's helper.
export { rawRequest } from '@vigil/test-utils';

/**
 * Sends a request and destroys the socket once `when` settles, like a client that gave up; resolves
 * when the client side has closed.
 */
export function abortedRequest(
  origin: string,
  path: string,
  when: Promise<unknown>,
): Promise<void> {
  return new Promise<void>((resolve) => {
    const req = request(`${origin}${path}`, { agent: false });
    // The abort makes the client request fail with ECONNRESET / socket hang up: that is the point.
    req.on('error', () => undefined);
    req.on('close', () => resolve());
    req.on('response', (res) => res.on('error', () => undefined));
    void when.finally(() => req.destroy());
    req.end();
  });
}

/** What a capture server received: the path and the headers of one request. */
export interface Captured {
  url: string;
  headers: IncomingHttpHeaders;
}

/** A downstream service that records the headers of every request it receives. */
export interface Capture extends Running {
  seen: Captured[];
  /** The one request received for `url`. */
  only(url: string): Captured;
}

/** A capture listener, for servers started elsewhere (https). */
export function captureListener(seen: Captured[]): RequestListener {
  return (req, res) => {
    seen.push({ url: req.url ?? '', headers: req.headers });
    req.resume();
    req.on('end', () => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ ok: true }));
    });
  };
}

export function onlyOne(seen: Captured[], url: string): Captured {
  const found = seen.filter((c) => c.url === url);
  if (found.length !== 1) {
    throw new Error(`expected one request for ${url}, got ${found.length}`);
  }
  return found[0]!;
}

export async function startCapture(): Promise<Capture> {
  const seen: Captured[] = [];
  const running = await startServer(captureListener(seen));
  return { ...running, seen, only: (url) => onlyOne(seen, url) };
}

/** Polls `check` until it returns true; fails with `what` (and `state()`) after `timeoutMs`. */
export async function waitFor(
  check: () => boolean,
  what: string,
  timeoutMs = 3000,
  state?: () => string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (check()) return;
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${state ? `; seen: ${state()}` : ''}`,
      );
    }
    await sleep(5);
  }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * The path of a binary named `name`, or undefined. With CI=true a missing binary fails the suite
 * instead (ARCHITECTURE.md, "Real components in tests"); `pkg` names the Debian package to install.
 */
export function findBinary(name: string, pkg: string): string | undefined {
  const found = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).stdout.trim();
  if (found !== '') return found;
  const message = `${name} not found: install the Debian package "${pkg}" (apt-get install -y ${pkg})`;
  if (process.env.CI === 'true') throw new Error(message);
  console.warn(`skipping: ${message}`);
  return undefined;
}

/**
 * A request made with global fetch as a test client, with OpenTelemetry's tracing suppressed so its
 * undici instrumentation adds no client span and no headers of its own: the server sees exactly
 * `headers`.
 */
export async function fetchRaw(
  origin: string,
  path: string,
  headers: Record<string, string> = {},
): Promise<RawResponse> {
  const res = await context.with(suppressTracing(context.active()), () =>
    fetch(`${origin}${path}`, { headers }),
  );
  // fetch decodes a compressed body itself: these are the decoded bytes.
  const bytes = Buffer.from(await res.arrayBuffer());
  return {
    status: res.status,
    headers: Object.fromEntries(res.headers.entries()),
    body: bytes.toString('utf8'),
    bytes,
  };
}
