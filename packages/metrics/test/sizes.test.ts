// Request and response body sizes: from content-length, from chunked bodies, and for bodiless answers.
import { Registry } from 'prom-client';
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { FRAMEWORKS, STREAM_CHUNKS } from './support/frameworks';
import { closeServers, rawRequest, startServer } from '@vigil/test-utils';
import { sampleValue, waitForIdle } from '@vigil/test-utils';

afterEach(closeServers);

const ECHO = { method: 'POST', route: '/api/echo' };

describe.each(FRAMEWORKS)('metrics middleware on $name', (fw) => {
  it('should record the request size of a JSON POST from its content-length', async () => {
    const registry = new Registry();
    const { listener } = fw.app({ options: { registry } });
    const { server } = await startServer(listener);
    const payload = { title: 'vigil', tags: ['a', 'b', 'c'], text: 'x'.repeat(300) };
    const bytes = Buffer.byteLength(JSON.stringify(payload));

    const res = await request(server).post('/api/echo').send(payload).expect(200);
    expect(res.body).toEqual({ received: payload });
    await waitForIdle(registry);

    expect(await sampleValue(registry, 'http_request_size_bytes_count', ECHO)).toBe(1);
    expect(await sampleValue(registry, 'http_request_size_bytes_sum', ECHO)).toBe(bytes);
    // 300 < bytes <= 1024: the observation sits in the le="1024" bucket, not in le="256".
    expect(
      await sampleValue(registry, 'http_request_size_bytes_bucket', { ...ECHO, le: '256' }),
    ).toBe(0);
    expect(
      await sampleValue(registry, 'http_request_size_bytes_bucket', { ...ECHO, le: '1024' }),
    ).toBe(1);
  });

  it('should record the response size from its content-length', async () => {
    const registry = new Registry();
    const { listener } = fw.app({ options: { registry } });
    const { server } = await startServer(listener);

    const res = await request(server).get('/api/users/12345').expect(200);
    await waitForIdle(registry);

    const length = Number(res.headers['content-length']);
    expect(length).toBeGreaterThan(0);
    const labels = { method: 'GET', route: '/api/users/:id' };
    expect(await sampleValue(registry, 'http_response_size_bytes_sum', labels)).toBe(length);
    expect(await sampleValue(registry, 'http_response_size_bytes_count', labels)).toBe(1);
    // A GET without a body has a request size of 0.
    expect(await sampleValue(registry, 'http_request_size_bytes_sum', labels)).toBe(0);
  });

  it('should count the bytes of a chunked request body', async () => {
    const registry = new Registry();
    const { listener } = fw.app({ options: { registry } });
    const { origin } = await startServer(listener);
    const chunks = ['{"title":', '"chunked upload",', '"pad":"', 'y'.repeat(500), '"}'];
    const bytes = chunks.reduce((n, c) => n + Buffer.byteLength(c), 0);

    const res = await rawRequest(origin, '/api/echo', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
      chunks,
      chunkDelayMs: 5,
    });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toEqual({
      received: { title: 'chunked upload', pad: 'y'.repeat(500) },
    });
    await waitForIdle(registry);

    const recorded = await sampleValue(registry, 'http_request_size_bytes_sum', ECHO);
    console.log(`${fw.name}: chunked request body of ${bytes} bytes recorded as ${recorded}`);
    expect(recorded).toBe(bytes);
    expect(await sampleValue(registry, 'http_request_size_bytes_count', ECHO)).toBe(1);
  });

  it('should record the body bytes of a streamed (chunked) response', async () => {
    const registry = new Registry();
    const { listener } = fw.app({ options: { registry } });
    const { origin } = await startServer(listener);
    const bodyBytes = STREAM_CHUNKS.join('').length;

    const res = await rawRequest(origin, '/stream');
    expect(res.status).toBe(200);
    expect(res.headers['transfer-encoding']).toBe('chunked');
    expect(res.headers['content-length']).toBeUndefined();
    expect(res.body).toBe(STREAM_CHUNKS.join(''));
    await waitForIdle(registry);

    const labels = { method: 'GET', route: '/stream' };
    const recorded = await sampleValue(registry, 'http_response_size_bytes_sum', labels);
    // Bytes transferred after the headers: the body plus its chunked framing (each chunk's hex length
    // and two CRLFs, then the terminating `0\r\n\r\n`), never the status line or headers.
    const framing =
      STREAM_CHUNKS.reduce((n, c) => n + Buffer.byteLength(c).toString(16).length + 4, 0) + 5;
    console.log(
      `${fw.name}: streamed response of ${bodyBytes} body bytes (+${framing} framing) recorded as ${recorded}`,
    );
    expect(recorded).toBe(bodyBytes + framing);
    expect(await sampleValue(registry, 'http_response_size_bytes_count', labels)).toBe(1);
  });

  it.each([
    { method: 'HEAD', path: '/api/users/1', route: '/api/users/:id', status: 200 },
    { method: 'GET', path: '/no-content', route: '/no-content', status: 204 },
  ])('should record a response size of 0 for a $status $method', async (c) => {
    const registry = new Registry();
    const { listener } = fw.app({ options: { registry } });
    const { origin } = await startServer(listener);

    const res = await rawRequest(origin, c.path, { method: c.method });
    expect(res.status).toBe(c.status);
    expect(res.body).toBe('');
    await waitForIdle(registry);

    const labels = { method: c.method, route: c.route };
    expect(await sampleValue(registry, 'http_response_size_bytes_count', labels)).toBe(1);
    expect(await sampleValue(registry, 'http_response_size_bytes_sum', labels)).toBe(0);
  });
});
