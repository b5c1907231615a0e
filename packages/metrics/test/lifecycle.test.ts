// Request lifecycle: client aborts before and during the response, and long-lived streams (SSE).
import { Registry } from 'prom-client';
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { ABORTED_STATUS } from '@vigil/metrics';
import { FRAMEWORKS } from './support/frameworks';
import { abortedRequest, closeServers, startServer } from '@vigil/test-utils';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
import { findSamples, sampleValue, sumValues, waitForCount } from '@vigil/test-utils';

afterEach(closeServers);

describe.each(FRAMEWORKS)('metrics middleware on $name', (fw) => {
  describe('client aborts', () => {
    it('should export "aborted" as the status label of abandoned requests', () => {
      expect(ABORTED_STATUS).toBe('aborted');
    });

    // The handler answers 800 ms after the request: far enough after the abort that a loaded machine,
    // delaying the client's timer, does not let the answer arrive first.
    it.each([
      { method: 'GET', path: '/slow?ms=800', route: '/slow' },
      { method: 'HEAD', path: '/slow?ms=800', route: '/slow' },
    ])(
      'should count a $method the client abandons before the answer once, as aborted',
      async ({ method, path, route }) => {
        const registry = new Registry();
        const { listener } = fw.app({ options: { registry } });
        const { origin, received } = await startServer(listener);

        // The client gives up 50 ms after the server has the request; the handler answers at 800 ms.
        const when = received(1).then(() => sleep(50));
        const result = await abortedRequest(origin, path, { method, when });
        expect(result.sawHeaders).toBe(false);
        await waitForCount(registry, 1);
        // The handler still answers at 800 ms; that late answer must not count a second time.
        await new Promise((resolve) => setTimeout(resolve, 850));

        const labels = { method, route, status_code: ABORTED_STATUS };
        expect(await sampleValue(registry, 'http_requests_total', labels)).toBe(1);
        expect(await sumValues(registry, 'http_requests_total')).toBe(1);
        expect(await sampleValue(registry, 'http_request_duration_seconds_count', labels)).toBe(1);
        const seconds = await sampleValue(registry, 'http_request_duration_seconds_sum', labels);
        // Measured to the abort, not to the handler's late answer.
        expect(seconds).toBeGreaterThan(0);
        expect(seconds).toBeLessThan(0.79);
        expect(await sumValues(registry, 'http_requests_in_flight')).toBe(0);
      },
    );

    it('should count a POST abandoned during its body upload once, as aborted', async () => {
      const registry = new Registry();
      const { listener } = fw.app({ options: { registry } });
      const { origin, received } = await startServer(listener);

      await abortedRequest(origin, '/api/echo', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': '100' },
        partialBody: '{"half":',
        when: received(1).then(() => sleep(50)),
      });
      await waitForCount(registry, 1);
      await new Promise((resolve) => setTimeout(resolve, 50));

      const labels = { method: 'POST', route: '/api/echo', status_code: ABORTED_STATUS };
      expect(await sampleValue(registry, 'http_requests_total', labels)).toBe(1);
      expect(await sumValues(registry, 'http_requests_total')).toBe(1);
      expect(await sumValues(registry, 'http_requests_in_flight')).toBe(0);
    });

    it('should leave every method at 0 in flight after a mix of aborts settles', async () => {
      const registry = new Registry();
      const { listener } = fw.app({ options: { registry } });
      const { origin, received } = await startServer(listener);

      // Each client gives up at its own moment once the server has all five requests, long before the
      // slow handlers answer (800 ms).
      const all = received(5);
      await Promise.all([
        abortedRequest(origin, '/slow?ms=800', { method: 'GET', when: all.then(() => sleep(10)) }),
        abortedRequest(origin, '/slow?ms=800', { method: 'GET', when: all.then(() => sleep(60)) }),
        abortedRequest(origin, '/slow?ms=800', { method: 'HEAD', when: all.then(() => sleep(30)) }),
        abortedRequest(origin, '/api/echo', {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'content-length': '64' },
          partialBody: '{',
          when: all.then(() => sleep(40)),
        }),
        abortedRequest(origin, '/stream-forever', { method: 'GET', onFirstChunk: true }),
      ]);
      await waitForCount(registry, 5);
      await new Promise((resolve) => setTimeout(resolve, 850));

      const inFlight = await findSamples(registry, 'http_requests_in_flight');
      console.log(
        `${fw.name}: in flight after 5 aborts settled: ${inFlight.map((s) => `${s.labels.method}=${s.value}`).join(' ')}`,
      );
      expect(inFlight.length).toBeGreaterThanOrEqual(10);
      expect(inFlight.every((s) => s.value === 0)).toBe(true);
      expect(await sumValues(registry, 'http_requests_total')).toBe(5);
      expect(
        await sumValues(registry, 'http_requests_total', { status_code: ABORTED_STATUS }),
      ).toBe(5);
    });

    it('should count a streaming response abandoned mid-stream once, as aborted', async () => {
      const registry = new Registry();
      const { listener } = fw.app({ options: { registry } });
      const { origin } = await startServer(listener);

      const result = await abortedRequest(origin, '/stream-forever', { onFirstChunk: true });
      expect(result.sawHeaders).toBe(true);
      expect(result.bytesReceived).toBeGreaterThan(0);
      await waitForCount(registry, 1);
      await new Promise((resolve) => setTimeout(resolve, 60));

      const labels = { method: 'GET', route: '/stream-forever', status_code: ABORTED_STATUS };
      expect(await sampleValue(registry, 'http_requests_total', labels)).toBe(1);
      expect(await sumValues(registry, 'http_requests_total')).toBe(1);
      expect(await sampleValue(registry, 'http_request_duration_seconds_count', labels)).toBe(1);
      const sizeLabels = { method: 'GET', route: '/stream-forever' };
      expect(await sampleValue(registry, 'http_response_size_bytes_count', sizeLabels)).toBe(1);
      const bytes = await sampleValue(registry, 'http_response_size_bytes_sum', sizeLabels);
      console.log(
        `${fw.name}: mid-stream abort, client got ${result.bytesReceived} body bytes, recorded response size ${bytes}`,
      );
      expect(bytes).toBeGreaterThanOrEqual('first-chunk'.length);
      expect(await sumValues(registry, 'http_requests_in_flight')).toBe(0);
    });
  });

  describe('server-sent events', () => {
    it('should count an SSE response without observing its duration', async () => {
      const registry = new Registry();
      const { listener } = fw.app({ options: { registry } });
      const { server } = await startServer(listener);

      const res = await request(server).get('/sse?ms=300').buffer(true);
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/event-stream/);
      await waitForCount(registry, 1);

      const labels = { method: 'GET', route: '/sse', status_code: '200' };
      expect(await sampleValue(registry, 'http_requests_total', labels)).toBe(1);
      const count = await sampleValue(registry, 'http_request_duration_seconds_count', labels);
      const sum = await sumValues(registry, 'http_request_duration_seconds_sum');
      console.log(`${fw.name}: SSE held 300 ms -> duration _count ${count ?? 0}, _sum ${sum}`);
      expect(count ?? 0).toBe(0);
      expect(sum).toBeLessThan(0.25);
    });

    it('should observe an SSE response when streamingContentTypes is []', async () => {
      const registry = new Registry();
      const { listener } = fw.app({ options: { registry, streamingContentTypes: [] } });
      const { server } = await startServer(listener);

      await request(server).get('/sse?ms=300').buffer(true).expect(200);
      await waitForCount(registry, 1);

      const labels = { method: 'GET', route: '/sse', status_code: '200' };
      expect(await sampleValue(registry, 'http_requests_total', labels)).toBe(1);
      expect(await sampleValue(registry, 'http_request_duration_seconds_count', labels)).toBe(1);
      const sum = await sampleValue(registry, 'http_request_duration_seconds_sum', labels);
      expect(sum).toBeGreaterThanOrEqual(0.25);
    });
  });
});
