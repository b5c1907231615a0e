// The exposition of real apps after hostile mixed traffic: promtool-clean text, well-formed OpenMetrics.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { setTraceContextProvider } from '@vigil/core';
import { ABORTED_STATUS, OVERFLOW_LABEL_VALUE, negotiate } from '@vigil/metrics';
import { findBinary } from '@vigil/test-utils';
import {
  type Framework,
  type TrafficCase,
  VERSIONS,
  createApp,
  expectedRoutes,
  mixedTraffic,
} from './support/app';
import { type ResponseSummary, type RunningServer, listen, send, pollFor } from '@vigil/test-utils';
import { type Exposition, parseExposition, samplesOf, sumOf } from './support/exposition';

const promtool = findBinary('promtool', 'prometheus');

/** The Accept header Prometheus 2.x sends: OpenMetrics preferred, the text format as a fallback. */
const PROMETHEUS_ACCEPT =
  'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';

interface PromtoolResult {
  status: number | null;
  output: string;
}

function checkMetrics(text: string): PromtoolResult {
  const run = spawnSync(promtool!, ['check', 'metrics'], {
    input: text,
    encoding: 'utf8',
    timeout: 30_000,
  });
  if (run.error) throw run.error;
  return { status: run.status, output: `${run.stdout}${run.stderr}`.trim() };
}

function seriesKey(labels: Record<string, string>): string {
  return `${labels.method} ${labels.route} ${labels.status_code}`;
}

describe('promtool', () => {
  it('should drive the real Express majors it names', () => {
    expect(VERSIONS.express4).toMatch(/^4\./);
    expect(VERSIONS.express5).toMatch(/^5\./);
  });

  it.skipIf(!promtool)('should report problems in a deliberately broken exposition', () => {
    // Proves the checks below are not vacuous: this promtool does lint what Vigil must avoid.
    const broken = [
      '# HELP nodejs_active_handles_total A gauge with a counter suffix.',
      '# TYPE nodejs_active_handles_total gauge',
      'nodejs_active_handles_total 3',
      '',
    ].join('\n');
    const result = checkMetrics(broken);
    console.log(`promtool on a broken exposition: exit ${result.status}, "${result.output}"`);
    expect(result.status).not.toBe(0);
    expect(result.output).toMatch(/_total/);
  });
});

describe.each<Framework>(['express5', 'express4', 'koa'])(
  'exposition after mixed traffic (%s)',
  (framework) => {
    const registry = new Registry();
    const cases: TrafficCase[] = mixedTraffic(framework);
    const responses: ResponseSummary[] = [];
    let server: RunningServer;
    let text: string;
    let openMetrics: string;

    beforeAll(async () => {
      // A sampled trace on every request, so that the OpenMetrics scrape carries exemplars.
      setTraceContextProvider(() => ({
        traceId: randomBytes(16).toString('hex'),
        spanId: randomBytes(8).toString('hex'),
        sampled: true,
      }));
      server = await listen(
        createApp(framework, { registry, metrics: { collectDefaultMetrics: true } }),
      );
      // One at a time, so that every response can be checked against its case.
      for (const c of cases) responses.push(await send(server.port, c.spec));
      // Aborted requests are recorded when the server sees the socket close, a moment after the client.
      const counted = await pollFor(async () => {
        const json = await registry.getSingleMetric('http_requests_total')?.get();
        const total = json?.values.reduce((n, v) => n + v.value, 0) ?? 0;
        return total >= cases.length ? total : undefined;
      }, 5_000);
      expect(counted).toBe(cases.length);
      const plain = await send(server.port, { path: '/metrics' });
      const om = await send(server.port, {
        path: '/metrics',
        headers: { accept: PROMETHEUS_ACCEPT },
      });
      expect(plain.status).toBe(200);
      expect(plain.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
      expect(om.status).toBe(200);
      expect(om.headers['content-type']).toMatch(/^application\/openmetrics-text; version=1\.0\.0/);
      text = plain.body;
      openMetrics = om.body;
    });

    afterAll(async () => {
      setTraceContextProvider(undefined);
      await server?.close();
    });

    it('should answer every request with the status its case expects', () => {
      const got = cases.map((c, i) => `${c.name}: ${String(responses[i]?.status)}`);
      const want = cases.map(
        (c) => `${c.name}: ${c.expected.status === ABORTED_STATUS ? 'aborted' : c.expected.status}`,
      );
      expect(got).toEqual(want);
    });

    it('should count every request once, under its method, route template and status', () => {
      const exposition = parseExposition(text, false);
      const actual = new Map<string, number>();
      for (const s of samplesOf(exposition, 'http_requests_total'))
        actual.set(seriesKey(s.labels), s.value);
      const expected = new Map<string, number>();
      for (const c of cases) {
        const key = `${c.expected.method} ${c.expected.route} ${c.expected.status}`;
        expected.set(key, (expected.get(key) ?? 0) + 1);
      }
      expect(Object.fromEntries(actual)).toEqual(Object.fromEntries(expected));
      expect(sumOf(exposition, 'http_requests_total')).toBe(cases.length);
      // The scrapes themselves are operational and never recorded.
      expect([...actual.keys()].some((k) => k.includes('/metrics'))).toBe(false);
      expect(text).not.toContain(OVERFLOW_LABEL_VALUE);
    });

    it('should bring the in-flight gauge back to zero once every request is over', async () => {
      const inFlight = await registry.getSingleMetric('http_requests_in_flight')!.get();
      expect(inFlight.values.length).toBeGreaterThan(0);
      expect(inFlight.values.filter((v) => v.value !== 0)).toEqual([]);
    });

    it("should not count a scrape of the app's own /metrics as a request in flight", () => {
      // Operational endpoints never appear in the app's request metrics unless asked (ARCHITECTURE.md);
      // an idle app scraped through its own /metrics must show nothing in flight.
      const inFlight = samplesOf(parseExposition(text, false), 'http_requests_in_flight');
      expect(inFlight.length).toBeGreaterThan(0);
      expect(
        inFlight.filter((s) => s.value !== 0).map((s) => `${s.labels.method}=${s.value}`),
      ).toEqual([]);
    });

    it('should escape route templates so they read back exactly (text and OpenMetrics)', () => {
      const routesIn = (e: Exposition) =>
        [...new Set(e.samples.filter((s) => s.name.startsWith('http_')).map((s) => s.labels.route))]
          .filter((r): r is string => r !== undefined)
          .sort();
      const want = expectedRoutes(cases);
      expect(routesIn(parseExposition(text, false))).toEqual(want);
      expect(routesIn(parseExposition(openMetrics, true))).toEqual(want);
      // Raw paths never become labels.
      expect(text).not.toContain('segment1');
      expect(text).not.toContain('%ZZ');
    });

    it('should measure request bodies exactly and response bodies as transferred', () => {
      // Per (method, route): the body bytes the client sent, and the body bytes it received. Series
      // holding an aborted request are left out: how much of its body left the server is unknown.
      // Chunked responses are measured as transferred, chunk framing included, so they are compared
      // as a range: at least the body, at most the body plus generous framing.
      const e = parseExposition(text, false);
      const sent = new Map<string, number>();
      const received = new Map<string, number>();
      const partial = new Set<string>();
      const chunked = new Set<string>();
      cases.forEach((c, i) => {
        const key = `${c.expected.method} ${c.expected.route}`;
        const body = c.spec.body === undefined ? 0 : Buffer.byteLength(c.spec.body);
        sent.set(key, (sent.get(key) ?? 0) + body);
        received.set(key, (received.get(key) ?? 0) + (responses[i]?.bytes ?? 0));
        if (c.expected.status === ABORTED_STATUS) partial.add(key);
        if (responses[i]?.headers['transfer-encoding'] === 'chunked') chunked.add(key);
      });
      const measuredOut = Object.fromEntries(
        samplesOf(e, 'http_response_size_bytes_sum').map(
          (s) => [`${s.labels.method} ${s.labels.route}`, s.value] as const,
        ),
      );
      for (const key of chunked) {
        if (partial.has(key)) continue;
        const body = received.get(key) ?? 0;
        expect(measuredOut[key]).toBeGreaterThan(body);
        expect(measuredOut[key]).toBeLessThanOrEqual(body + 64);
      }
      const measured = (name: string) =>
        Object.fromEntries(
          samplesOf(e, name)
            .map((s) => [`${s.labels.method} ${s.labels.route}`, s.value] as const)
            .filter(([key]) => !partial.has(key)),
        );
      const without = (m: Map<string, number>, skip: Set<string> = new Set()) =>
        Object.fromEntries([...m].filter(([key]) => !partial.has(key) && !skip.has(key)));
      const measuredExact = (name: string) =>
        Object.fromEntries(Object.entries(measured(name)).filter(([key]) => !chunked.has(key)));
      expect(measured('http_request_size_bytes_sum')).toEqual(without(sent));
      expect(measuredExact('http_response_size_bytes_sum')).toEqual(without(received, chunked));
      console.log(`[${framework}] chunked responses measured as transferred: ${chunked.size}`);
    });

    it('should not observe the duration of server-sent events', () => {
      const e = parseExposition(text, false);
      const events = samplesOf(e, 'http_request_duration_seconds_count').filter(
        (s) => s.labels.route === '/events',
      );
      const counted = samplesOf(e, 'http_requests_total').filter(
        (s) => s.labels.route === '/events',
      );
      expect(counted.map((s) => s.value)).toEqual([1]);
      expect(events.reduce((n, s) => n + s.value, 0)).toBe(0);
    });

    describe.skipIf(!promtool)('promtool check metrics', () => {
      it('should find zero problems in the Prometheus text format', () => {
        const result = checkMetrics(text);
        const problems = result.output === '' ? 0 : result.output.split('\n').length;
        console.log(
          `[${framework}] promtool check metrics: ${text.split('\n').length - 1} lines checked, ${problems} problems` +
            (problems ? `\n${result.output}` : ''),
        );
        expect(result.output).toBe('');
        expect(result.status).toBe(0);
      });

      it('should also accept the scrape when the scraper asks for nothing in particular', async () => {
        const again = await send(server.port, { path: '/metrics', headers: { accept: '*/*' } });
        expect(again.headers['content-type']).toMatch(/^text\/plain/);
        const result = checkMetrics(again.body);
        expect(result.output).toBe('');
        expect(result.status).toBe(0);
      });
    });

    describe('OpenMetrics scrape', () => {
      it('should be chosen for the Accept header Prometheus sends', () => {
        expect(negotiate(PROMETHEUS_ACCEPT)).toBe('openmetrics');
      });

      it('should follow the OpenMetrics format (families, suffixes, exemplars, # EOF)', () => {
        const om = parseExposition(openMetrics, true);
        const counters = [...om.families.values()].filter((f) => f.type === 'counter');
        const exemplars = om.samples.filter((s) => s.exemplar !== undefined);
        console.log(
          `[${framework}] OpenMetrics: ${om.lineCount} lines, ${om.families.size} families ` +
            `(${counters.length} counters), ${exemplars.length} exemplars, ${om.problems.length} problems` +
            (om.problems.length ? `\n${om.problems.join('\n')}` : ''),
        );
        expect(om.problems).toEqual([]);
        expect(openMetrics.endsWith('\n# EOF\n')).toBe(true);
        expect(openMetrics.indexOf('# EOF')).toBe(openMetrics.length - '# EOF\n'.length);
        // Every counter family `x` has only `x_total` samples.
        expect(counters.map((f) => f.name)).toContain('http_requests');
        for (const family of counters) {
          expect(family.name).not.toMatch(/_total$/);
          expect(family.samples.filter((s) => s.name !== `${family.name}_total`)).toEqual([]);
        }
        // Exemplars: on duration buckets, with the trace ids of the request, value inside the bucket.
        expect(exemplars.length).toBeGreaterThan(0);
        for (const s of exemplars) {
          expect(s.name).toBe('http_request_duration_seconds_bucket');
          expect(Object.keys(s.exemplar!.labels).sort()).toEqual(['span_id', 'trace_id']);
          expect(s.exemplar!.labels.trace_id).toMatch(/^[0-9a-f]{32}$/);
          expect(s.exemplar!.labels.span_id).toMatch(/^[0-9a-f]{16}$/);
          expect(s.exemplar!.value).toBeLessThanOrEqual(Number(s.labels.le));
          expect(s.exemplar!.timestamp).toBeGreaterThan(1e9);
        }
        const exemplarLine = openMetrics.split('\n').find((l) => l.includes(' # {'));
        expect(exemplarLine).toMatch(
          /^http_request_duration_seconds_bucket\{[^#]*\} \d+ # \{trace_id="[0-9a-f]{32}",span_id="[0-9a-f]{16}"\} [0-9.e-]+ \d+(\.\d+)?$/,
        );
      });

      it('should carry the same series and values as the text format', () => {
        const plain = parseExposition(text, false);
        const om = parseExposition(openMetrics, true);
        const view = (e: Exposition) =>
          e.samples
            .filter((s) => s.name.startsWith('http_'))
            .map((s) => `${s.name}${JSON.stringify(s.labels)} ${s.value}`)
            .sort();
        expect(view(om)).toEqual(view(plain));
      });
    });
  },
);
