// Operational bodies are gzip-compressed for clients that accept it, as Prometheus's scrapes do.
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { rawRequest } from '@vigil/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GZIP_MIN_BYTES, acceptsGzip, operationalResponder } from '../src/operational-access';

describe('acceptsGzip (RFC 9110 Accept-Encoding)', () => {
  it.each([
    ['gzip', true],
    ['GZIP', true],
    ['x-gzip', true],
    ['gzip, deflate, br', true],
    ['deflate, gzip;q=0.5', true],
    ['gzip;q=0', false],
    ['gzip; q=0.000', false],
    ['*', true],
    ['*;q=0', false],
    ['identity', false],
    ['br, deflate', false],
    ['gzip;q=0, *', false],
    ['identity;q=1, *;q=0', false],
    ['', false],
    ['gzip;q=bogus', false],
  ])('%j -> %s', (header, expected) => {
    expect(acceptsGzip(header)).toBe(expected);
  });

  it('should read a missing header, and one given twice', () => {
    expect(acceptsGzip(undefined)).toBe(false);
    expect(acceptsGzip(['br', 'gzip'])).toBe(true);
  });
});

describe('operationalResponder: gzip over a real server', () => {
  // A scrape-sized body (several kilobytes of series lines) and a small one.
  const big =
    Array.from({ length: 500 }, (_, i) => `series_total{i="${i}"} ${i}`).join('\n') + '\n';
  const small = 'ok\n';
  // A body given as its UTF-8 bytes, with characters of two and three bytes.
  const text = big.replace(/series/g, 'séries_✓');
  const bytes = Buffer.from(text, 'utf8');
  let server: Server;
  let port: number;

  beforeAll(async () => {
    const access = { tokenDigest: undefined, path: undefined };
    const bigEndpoint = operationalResponder(access, () =>
      Promise.resolve({ status: 200, contentType: 'text/plain; charset=utf-8', body: big }),
    );
    const smallEndpoint = operationalResponder(access, () =>
      Promise.resolve({ status: 200, contentType: 'text/plain; charset=utf-8', body: small }),
    );
    const bytesEndpoint = operationalResponder(access, () =>
      Promise.resolve({ status: 200, contentType: 'text/plain; charset=utf-8', body: bytes }),
    );
    server = createServer((req, res) => {
      const endpoint =
        req.url === '/small' ? smallEndpoint : req.url === '/bytes' ? bytesEndpoint : bigEndpoint;
      void endpoint.handle(req, res);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const get = (path: string, method: string, acceptEncoding?: string) =>
    rawRequest(`http://127.0.0.1:${port}`, path, {
      method,
      headers: acceptEncoding === undefined ? {} : { 'accept-encoding': acceptEncoding },
    });

  it('should gzip a large body for a client that accepts gzip, with its compressed length', async () => {
    expect(Buffer.byteLength(big)).toBeGreaterThan(GZIP_MIN_BYTES);
    const res = await get('/metrics', 'GET', 'gzip');
    expect(res.status).toBe(200);
    expect(res.headers['content-encoding']).toBe('gzip');
    expect(res.headers.vary).toBe('Accept-Encoding');
    expect(res.headers['cache-control']).toBe('no-store');
    expect(Number(res.headers['content-length'])).toBe(res.bytes.length);
    expect(res.bytes.length).toBeLessThan(Buffer.byteLength(big) / 3);
    expect(gunzipSync(res.bytes).toString('utf8')).toBe(big);
  });

  it('should send the body as it is without gzip in Accept-Encoding, or with gzip;q=0', async () => {
    for (const accept of [undefined, 'br', 'gzip;q=0']) {
      const res = await get('/metrics', 'GET', accept);
      expect(res.headers['content-encoding']).toBeUndefined();
      expect(res.headers.vary).toBe('Accept-Encoding');
      expect(Number(res.headers['content-length'])).toBe(Buffer.byteLength(big));
      expect(res.body).toBe(big);
    }
  });

  it('should answer HEAD with the headers of the compressed GET and no body', async () => {
    const res = await get('/metrics', 'HEAD', 'gzip');
    const got = await get('/metrics', 'GET', 'gzip');
    expect(res.headers['content-encoding']).toBe('gzip');
    expect(res.headers['content-length']).toBe(got.headers['content-length']);
    expect(res.bytes.length).toBe(0);
  });

  it('should leave a small body uncompressed, without Vary', async () => {
    const res = await get('/small', 'GET', 'gzip');
    expect(res.headers['content-encoding']).toBeUndefined();
    expect(res.headers.vary).toBeUndefined();
    expect(res.body).toBe(small);
  });

  it('should send a body given as bytes, compressed or not, with its length in bytes', async () => {
    const zipped = await get('/bytes', 'GET', 'gzip');
    expect(zipped.headers['content-encoding']).toBe('gzip');
    expect(Number(zipped.headers['content-length'])).toBe(zipped.bytes.length);
    expect(gunzipSync(zipped.bytes).toString('utf8')).toBe(text);
    const plain = await get('/bytes', 'GET');
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(Number(plain.headers['content-length'])).toBe(bytes.length);
    expect(bytes.length).toBeGreaterThan(text.length);
    expect(plain.body).toBe(text);
  });
});
