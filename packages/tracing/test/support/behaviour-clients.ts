// The outgoing-call clients under test (http, https, fetch in its forms) and an https capture server.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type * as Http from 'node:http';
import type * as Https from 'node:https';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Captured, captureListener, findBinary, onlyOne } from './behaviour-http';

// Loaded through require on every call, as an app that loads its HTTP client after startTracing()
// does: OpenTelemetry's http instrumentation patches the module when it is required, and the test
// runner had already imported node:http before tracing started.
const load = createRequire(__filename);
const nodeHttp = () => load('node:http') as typeof Http;
const nodeHttps = () => load('node:https') as typeof Https;

export interface OutgoingClient {
  name: string;
  /** `http` clients go through node:http / node:https; `fetch` through undici. */
  kind: 'http' | 'fetch';
  secure: boolean;
  /** Calls `url` with `headers`, resolves with the status once the whole body was read. */
  call(url: string, headers: Record<string, string>): Promise<number>;
}

function drain(res: Http.IncomingMessage, resolve: (status: number) => void): void {
  res.resume();
  res.on('end', () => resolve(res.statusCode ?? 0));
}

export const CLIENTS: readonly OutgoingClient[] = [
  {
    name: 'http.request',
    kind: 'http',
    secure: false,
    call: (url, headers) =>
      new Promise((resolve, reject) => {
        const req = nodeHttp().request(url, { headers }, (res) => drain(res, resolve));
        req.on('error', reject);
        req.end();
      }),
  },
  {
    name: 'http.get',
    kind: 'http',
    secure: false,
    call: (url, headers) =>
      new Promise((resolve, reject) => {
        nodeHttp()
          .get(url, { headers }, (res) => drain(res, resolve))
          .on('error', reject);
      }),
  },
  {
    name: 'https.request',
    kind: 'http',
    secure: true,
    call: (url, headers) =>
      new Promise((resolve, reject) => {
        // The certificate is self-signed for the test; trust is not what is under test.
        const req = nodeHttps().request(url, { headers, rejectUnauthorized: false }, (res) =>
          drain(res, resolve),
        );
        req.on('error', reject);
        req.end();
      }),
  },
  {
    name: 'fetch',
    kind: 'fetch',
    secure: false,
    call: async (url, headers) => {
      const res = await fetch(url, { headers });
      await res.arrayBuffer();
      return res.status;
    },
  },
  {
    name: 'fetch(Request)',
    kind: 'fetch',
    secure: false,
    call: async (url, headers) => {
      const res = await fetch(new Request(url, { headers }));
      await res.arrayBuffer();
      return res.status;
    },
  },
  {
    name: 'fetch with Headers',
    kind: 'fetch',
    secure: false,
    call: async (url, headers) => {
      const res = await fetch(url, { headers: new Headers(headers) });
      await res.arrayBuffer();
      return res.status;
    },
  },
];

/** An https capture server on 127.0.0.1 with a throw-away self-signed certificate. */
export interface HttpsCapture {
  origin: string;
  seen: Captured[];
  only(url: string): Captured;
  close(): Promise<void>;
}

/** The `openssl` CLI, or undefined (https cases are then skipped, with a message). */
export const OPENSSL = findBinary('openssl', 'openssl');

/**
 * Starts an https capture server, or returns undefined when the `openssl` CLI is missing. The
 * certificate is made at test time and deleted at once.
 */
export async function startHttpsCapture(): Promise<HttpsCapture | undefined> {
  const openssl = OPENSSL;
  if (openssl === undefined) return undefined;
  const dir = mkdtempSync(join(tmpdir(), 'vigil-tls-'));
  let key: Buffer;
  let cert: Buffer;
  try {
    const made = spawnSync(
      openssl,
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-subj',
        '/CN=localhost',
        '-days',
        '1',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
      ],
      { encoding: 'utf8' },
    );
    if (made.status !== 0) throw new Error(`openssl failed: ${made.stderr}`);
    key = readFileSync(join(dir, 'key.pem'));
    cert = readFileSync(join(dir, 'cert.pem'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const seen: Captured[] = [];
  const server = nodeHttps().createServer({ key, cert }, captureListener(seen));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    origin: `https://127.0.0.1:${port}`,
    seen,
    only: (url) => onlyOne(seen, url),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
