// Who may call an operational endpoint and with which methods: the bearer token (kept as a digest,
// compared in constant time), 401 and 405 answers, the response of an endpoint that only reads, and
// the server of an endpoint on a port of its own.
import { createHash, timingSafeEqual } from 'node:crypto';
import { type IncomingMessage, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync, constants as zlibConstants } from 'node:zlib';
import { type OptionContext, optionError } from './errors';
import { markOperational } from './operational';

/** Who may call an operational endpoint, and on which path it answers. */
export interface EndpointAccess {
  /** Digest of the bearer token required, if any: only a digest is kept, compared in constant time. */
  tokenDigest: Buffer | undefined;
  /** Answer only this path and pass other requests on; undefined answers every request. */
  path: string | undefined;
}

/** The shortest token accepted. */
export const MIN_TOKEN_LENGTH = 16;

/**
 * Validates the `token` option of an operational endpoint (else the `envVar` variable, such as
 * VIGIL_METRICS_TOKEN; an empty variable means unset) and its `path` option.
 * @throws VigilError `<codePrefix>_INVALID_OPTION` for a token shorter than 16 characters or a path
 * that does not start with `/`.
 */
export function resolveEndpointAccess(
  ctx: OptionContext,
  o: { token?: unknown; path?: unknown },
  envVar: string,
): EndpointAccess {
  // An empty variable (common in compose files) means unset; an empty `token` option is an error.
  const token = o.token ?? (process.env[envVar] || undefined);
  if (token !== undefined && (typeof token !== 'string' || token.length < MIN_TOKEN_LENGTH)) {
    throw optionError(
      ctx,
      'INVALID_OPTION',
      'token',
      `a string of at least ${MIN_TOKEN_LENGTH} characters`,
      o.token === undefined ? `(${envVar})` : token,
      'Use a long random secret, e.g. `openssl rand -hex 24`.',
    );
  }
  const path = o.path;
  if (path !== undefined && (typeof path !== 'string' || !path.startsWith('/'))) {
    throw optionError(ctx, 'INVALID_OPTION', 'path', 'a path starting with "/"', path);
  }
  return { tokenDigest: token === undefined ? undefined : digestToken(token), path };
}

/** The SHA-256 digest a token is kept and compared as. */
export function digestToken(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}

/** True when the request carries `Authorization: Bearer <token>` whose digest is `expected`. */
export function hasBearerToken(req: IncomingMessage, expected: Buffer): boolean {
  const header = req.headers.authorization;
  if (typeof header !== 'string' || !/^bearer /i.test(header)) return false;
  // Digests have one length, so timingSafeEqual never throws and the token's length does not leak.
  return timingSafeEqual(digestToken(header.slice(7).trim()), expected);
}

/**
 * The gate of an operational endpoint: marks the request operational (no metrics, log line or rate
 * limit), then answers 401 with `WWW-Authenticate: Bearer` without the token, or 405 with `Allow` to a
 * method outside `methods`. Returns true when the request may go on, false when it was answered.
 */
export function admitOperational(
  req: IncomingMessage,
  res: ServerResponse,
  access: Pick<EndpointAccess, 'tokenDigest'>,
  methods: readonly string[],
): boolean {
  markOperational(req);
  if (access.tokenDigest !== undefined && !hasBearerToken(req, access.tokenDigest)) {
    res.statusCode = 401;
    res.setHeader('WWW-Authenticate', 'Bearer');
    res.setHeader('Cache-Control', 'no-store');
    res.end();
    return false;
  }
  if (!methods.includes(req.method ?? '')) {
    res.statusCode = 405;
    res.setHeader('Allow', methods.join(', '));
    res.setHeader('Cache-Control', 'no-store');
    res.end();
    return false;
  }
  return true;
}

/** A body an operational endpoint answers with. */
export interface EndpointBody {
  status: number;
  contentType: string;
  /** Text, or its UTF-8 bytes. */
  body: string | Buffer;
}

/** Bodies from this size up are compressed for a client that accepts gzip. */
export const GZIP_MIN_BYTES = 1024;

/**
 * Writes an operational endpoint's body: never cached; HEAD gets the headers of a 200 only. A body of
 * GZIP_MIN_BYTES or more is gzip-compressed (at the fastest level) when the request's
 * Accept-Encoding accepts gzip, as Prometheus's always does: a scrape of 10,000 series shrinks about
 * tenfold, and a large body written to a busy server's socket waits for the socket between writes.
 */
export function sendOperational(
  req: IncomingMessage,
  res: ServerResponse,
  { status, contentType, body }: EndpointBody,
): void {
  res.statusCode = status;
  res.setHeader('Content-Type', contentType);
  res.setHeader('Cache-Control', 'no-store');
  const headOnly = req.method === 'HEAD' && status === 200;
  const length = Buffer.byteLength(body);
  if (length < GZIP_MIN_BYTES) {
    res.setHeader('Content-Length', length);
    res.end(headOnly ? undefined : body);
    return;
  }
  // The answer depends on Accept-Encoding from this size up: caches must know.
  res.setHeader('Vary', 'Accept-Encoding');
  if (!acceptsGzip(req.headers['accept-encoding'])) {
    res.setHeader('Content-Length', length);
    res.end(headOnly ? undefined : body);
    return;
  }
  // Compressed on the event loop, at the fastest level (about 1.5 ms for the 750 kB of a scrape of
  // 10,000 series, to a tenth of its size). Measured under the bench's load, zlib's asynchronous
  // gzip was slower to answer: its worker shares the busy core, and its callback waits for a turn of
  // the loop.
  let zipped: Buffer;
  try {
    zipped = gzipSync(body, { level: zlibConstants.Z_BEST_SPEED });
  } catch {
    // Not expected; the body goes out as it is rather than not at all.
    res.setHeader('Content-Length', length);
    res.end(headOnly ? undefined : body);
    return;
  }
  res.setHeader('Content-Encoding', 'gzip');
  res.setHeader('Content-Length', zipped.length);
  res.end(headOnly ? undefined : zipped);
}

/**
 * Whether an Accept-Encoding header accepts gzip (RFC 9110, section 12.5.3): `gzip` (or `x-gzip`)
 * with a non-zero weight, or, when gzip is not named, `*` with a non-zero weight.
 */
export function acceptsGzip(header: string | string[] | undefined): boolean {
  if (header === undefined) return false;
  const value = Array.isArray(header) ? header.join(',') : header;
  let gzipWeight: number | undefined;
  let anyWeight: number | undefined;
  for (const part of value.split(',')) {
    const semi = part.indexOf(';');
    const coding = (semi === -1 ? part : part.slice(0, semi)).trim().toLowerCase();
    if (coding !== 'gzip' && coding !== 'x-gzip' && coding !== '*') continue;
    let weight = 1;
    if (semi !== -1) {
      const q = /;\s*q\s*=\s*([^;]*)/i.exec(part.slice(semi));
      if (q !== null) {
        // A weight that is not a number accepts nothing.
        const n = q[1]!.trim() === '' ? Number.NaN : Number(q[1]);
        weight = Number.isFinite(n) ? n : 0;
      }
    }
    if (coding === '*') anyWeight = Math.max(anyWeight ?? 0, weight);
    else gzipWeight = Math.max(gzipWeight ?? 0, weight);
  }
  return gzipWeight !== undefined ? gzipWeight > 0 : anyWeight !== undefined && anyWeight > 0;
}

/** An operational endpoint that answers requests it matches. */
export interface OperationalResponder {
  /** True when the request is for this endpoint (always, unless a `path` was configured). */
  matches(req: IncomingMessage): boolean;
  handle(req: IncomingMessage, res: ServerResponse): Promise<void>;
}

/** The path of a request target, without its query. */
export function pathOfUrl(url: string | undefined): string {
  if (url === undefined) return '/';
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

/**
 * A read-only operational endpoint (scrape, summary): the gate with GET and HEAD, then `produce`'s
 * body, not cached.
 */
export function operationalResponder(
  access: EndpointAccess,
  produce: (req: IncomingMessage) => Promise<EndpointBody>,
): OperationalResponder {
  return {
    matches(req) {
      return access.path === undefined || pathOfUrl(req.url) === access.path;
    },
    async handle(req, res) {
      if (!admitOperational(req, res, access, READ_METHODS)) return;
      sendOperational(req, res, await produce(req));
    },
  };
}

const READ_METHODS: readonly string[] = Object.freeze(['GET', 'HEAD']);

/** An operational endpoint served on a port of its own by listenOperational(). */
export interface OperationalServer {
  /** `http://host:port` followed by `path`, with the bound port. */
  readonly url: string;
  /** The bound port. */
  readonly port: number;
  /** Stops listening and closes idle connections. */
  close(): Promise<void>;
}

/**
 * Serves `responder` on its own HTTP server at `host:port` (0 picks a free port), away from the app's
 * middleware; requests it does not match get 404, and a failing handler a bare 500. `path` is only
 * appended to the returned `url`.
 */
export async function listenOperational(
  responder: OperationalResponder,
  port: number,
  host: string,
  path = '',
): Promise<OperationalServer> {
  const server = createServer((req, res) => {
    if (!responder.matches(req)) {
      res.statusCode = 404;
      res.end();
      return;
    }
    responder.handle(req, res).catch(() => {
      if (!res.headersSent) res.statusCode = 500;
      res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = (server.address() as AddressInfo).port;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${shownHost}:${bound}${path}`,
    port: bound,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeIdleConnections();
      }),
  };
}
