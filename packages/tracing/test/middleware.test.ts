// Server spans, request ids and the request context on Express 4, Express 5, Koa 2 and Koa 3.
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { RequestContext, TracingMiddlewareOptions } from '@vigil/tracing';
import {
  type AppSettings,
  BOOM,
  type ContextReport,
  FRAMEWORKS,
  type Framework,
  type TestApp,
  VERSIONS,
} from './support/behaviour-apps';
import {
  type RawResponse,
  abortedRequest,
  closeServers,
  json,
  rawRequest,
  startServer,
} from './support/behaviour-http';
import {
  HEX16,
  HEX32,
  type MemoryTracing,
  TRACEPARENT,
  UUID,
  settle,
  serverSpans,
  startMemoryTracing,
  waitForServerSpan,
  waitForSpan,
} from './support/behaviour-otel';

let otel: MemoryTracing;

beforeAll(() => {
  // No client spans: the test's own requests must reach the server without trace headers.
  otel = startMemoryTracing({ httpClientSpans: false, traceBuffer: false });
});
afterAll(() => otel.tracing.shutdown());
beforeEach(() => otel.exporter.reset());
afterEach(closeServers);

/** Starts `fw`'s app and returns its origin and the errors its handler saw. */
async function serve(
  fw: Framework,
  tracing?: TracingMiddlewareOptions,
  extra: Omit<AppSettings, 'tracing'> = {},
): Promise<{ origin: string; app: TestApp }> {
  const app = fw.app({ ...extra, tracing });
  const { origin } = await startServer(app.listener);
  return { origin, app };
}

const byPath = (path: string) => (s: ReadableSpan) =>
  s.kind === SpanKind.SERVER && s.attributes['url.path'] === path;

const spanFor = (path: string) => waitForSpan(otel.exporter, byPath(path), `the span of ${path}`);

/** The ids a handler should see: those of the server span and of the response. */
function expectedContext(span: ReadableSpan, res: RawResponse, correlationId?: string) {
  const requestId = res.headers['x-request-id'] as string;
  return {
    requestId,
    correlationId: correlationId ?? requestId,
    traceId: span.spanContext().traceId,
    spanId: span.spanContext().spanId,
  } satisfies RequestContext;
}

function expectEveryPoint(report: ContextReport, expected: RequestContext): void {
  expect(report).toEqual({
    sync: expected,
    afterTimeout: expected,
    afterAwait: expected,
    inChain: expected,
  });
}

describe.each(FRAMEWORKS)('$name tracing middleware', (fw) => {
  it('should run on the installed major of the framework', () => {
    const major = { express4: '4', express5: '5', koa2: '2', koa3: '3' }[fw.name];
    expect(VERSIONS[fw.name].split('.')[0]).toBe(major);
  });

  describe('server span', () => {
    it.each([
      { path: '/api/users/42', name: 'GET /api/users/:id', route: '/api/users/:id' },
      {
        path: '/orgs/acme/teams/red',
        name: 'GET /orgs/:org/teams/:team',
        route: '/orgs/:org/teams/:team',
      },
      { path: '/ctx', name: 'GET /ctx', route: '/ctx' },
    ])('should name the span $name for $path', async ({ path, name, route }) => {
      const { origin } = await serve(fw);
      const res = await rawRequest(origin, path);
      expect(res.status).toBe(200);
      const span = await spanFor(path);
      expect(span.name).toBe(name);
      expect(span.kind).toBe(SpanKind.SERVER);
      expect(span.attributes['http.route']).toBe(route);
    });

    it('should record the HTTP attributes and never the query string', async () => {
      const { origin } = await serve(fw);
      const res = await rawRequest(origin, '/api/users/7?token=secret&x=1', {
        headers: { 'user-agent': 'behaviour-test/1.0' },
      });
      expect(res.status).toBe(200);
      const span = await spanFor('/api/users/7');
      expect(span.attributes).toMatchObject({
        'http.request.method': 'GET',
        'http.route': '/api/users/:id',
        'http.response.status_code': 200,
        'url.path': '/api/users/7',
        'url.scheme': 'http',
        'client.address': '127.0.0.1',
        'user_agent.original': 'behaviour-test/1.0',
      });
      expect(span.status.code).toBe(SpanStatusCode.UNSET);
      const everything = JSON.stringify({
        name: span.name,
        attributes: span.attributes,
        events: span.events,
      });
      expect(everything).not.toContain('secret');
      expect(everything).not.toContain('token');
    });

    it('should name a 404 after its method only, without a route', async () => {
      const { origin } = await serve(fw);
      const res = await rawRequest(origin, '/no/such/page');
      expect(res.status).toBe(404);
      const span = await spanFor('/no/such/page');
      expect(span.name).toBe('GET');
      expect(span.attributes['http.route']).toBeUndefined();
      expect(span.attributes['http.response.status_code']).toBe(404);
      expect(span.status.code).toBe(SpanStatusCode.UNSET);
    });

    it.each([
      // @koa/router's allowedMethods() answers an unknown method with 501 Not Implemented.
      { path: '/nowhere', name: 'HTTP', status: fw.kind === 'koa' ? 501 : 404, route: undefined },
      { path: '/any', name: 'HTTP /any', status: 200, route: '/any' },
    ])(
      'should name a request with an unknown method $name and record _OTHER ($path)',
      async ({ path, name, status, route }) => {
        const { origin } = await serve(fw);
        const res = await rawRequest(origin, path, { method: 'PURGE' });
        expect(res.status).toBe(status);
        const span = await spanFor(path);
        expect(span.name).toBe(name);
        expect(span.attributes['http.request.method']).toBe('_OTHER');
        expect(span.attributes['http.route']).toBe(route);
      },
    );
  });

  describe('errors', () => {
    const cases = [
      { route: '/sync-throw', on: () => true },
      { route: '/async-reject', on: (f: Framework) => f.asyncErrors },
      { route: '/next-error', on: (f: Framework) => f.kind === 'express' },
    ].filter((c) => c.on(fw));

    // Koa: the app's error middleware mounted after koaTracing() (the documented "mount it first"
    // order), before it, or Koa's own error handling.
    const placements =
      fw.kind === 'koa' ? (['inside', 'outside', 'none'] as const) : (['express'] as const);
    const table = cases.flatMap((c) => placements.map((handler) => ({ ...c, handler })));

    it.each(table)(
      'should mark the span ERROR with the exception event for $route, and the app handler still runs (error handler: $handler)',
      async ({ route, handler }) => {
        const { origin, app } = await serve(fw, undefined, {
          koaErrorHandler: handler === 'express' ? undefined : handler,
        });
        const res = await rawRequest(origin, route);
        expect(res.status).toBe(500);
        if (handler === 'none') expect(res.body).toBe('Internal Server Error');
        else expect(json(res)).toEqual({ handled: true, error: BOOM });
        expect(res.headers['x-request-id']).toMatch(UUID);
        expect(app.errors).toHaveLength(1);
        const span = await spanFor(route);
        expect(span.name).toBe(`GET ${route}`);
        expect(span.status.code).toBe(SpanStatusCode.ERROR);
        expect(span.attributes['http.response.status_code']).toBe(500);
        expect(span.attributes['error.type']).toBe('500');
        const exceptions = span.events.filter((e) => e.name === 'exception');
        expect(exceptions, 'exception events').toHaveLength(1);
        expect(exceptions[0]!.attributes?.['exception.message']).toBe(BOOM);
      },
    );

    it('should mark a 5xx answered without an error object ERROR', async () => {
      const { origin, app } = await serve(fw);
      const res = await rawRequest(origin, '/fail-500');
      expect(res.status).toBe(500);
      const span = await spanFor('/fail-500');
      expect(span.status.code).toBe(SpanStatusCode.ERROR);
      expect(span.attributes['error.type']).toBe('500');
      expect(span.events.filter((e) => e.name === 'exception')).toHaveLength(0);
      expect(app.errors).toHaveLength(0);
    });

    it('should end the span of a request the client aborted with error.type=aborted', async () => {
      let entered!: () => void;
      const held = new Promise<void>((resolve) => (entered = resolve));
      const { origin } = await serve(fw, undefined, { onHold: () => entered() });
      await abortedRequest(origin, '/hold', held);
      const span = await spanFor('/hold');
      expect(span.name).toBe('GET /hold');
      expect(span.attributes['error.type']).toBe('aborted');
      expect(span.status.code).toBe(SpanStatusCode.ERROR);
      expect(span.attributes['http.response.status_code']).toBeUndefined();
      expect(span.ended).toBe(true);
    });
  });

  describe('request ids', () => {
    it.each([
      { label: 'absent', sent: undefined, echoed: false },
      { label: 'a safe id', sent: 'req-42.a:b_c', echoed: true },
      { label: 'a UUID', sent: '6f1c1e9a-7a53-4c39-9c1e-0d2b8f8a1b11', echoed: true },
      { label: 'spaces and =', sent: 'a b=c', echoed: false },
      { label: 'markup', sent: '<script>alert(1)</script>', echoed: false },
      { label: '129 characters', sent: 'a'.repeat(129), echoed: false },
      { label: 'non-ASCII', sent: 'id-é', echoed: false },
    ])('should answer x-request-id when the caller sent $label', async ({ sent, echoed }) => {
      const { origin } = await serve(fw);
      const headers: Record<string, string> = {};
      if (sent !== undefined) headers['x-request-id'] = sent;
      // Node refuses to send non-latin1 header values; the raw bytes still make the point.
      if (sent === 'id-é') headers['x-request-id'] = Buffer.from(sent).toString('latin1');
      const res = await rawRequest(origin, '/ctx', { headers });
      const id = res.headers['x-request-id'];
      if (echoed) expect(id).toBe(sent);
      else expect(id).toMatch(UUID);
      const report = json<ContextReport>(res);
      expect(report.sync?.requestId).toBe(id);
      expect(report.sync?.correlationId).toBe(id);
    });

    it.each([
      { path: '/no/such/page', status: 404 },
      { path: '/sync-throw', status: 500 },
      { path: '/metrics', status: 200 },
      { path: '/ops', status: 200 },
    ])('should send x-request-id on every response ($path)', async ({ path, status }) => {
      const { origin } = await serve(fw);
      const res = await rawRequest(origin, path);
      expect(res.status).toBe(status);
      expect(res.headers['x-request-id']).toMatch(UUID);
    });

    it('should keep a safe x-correlation-id apart from the request id', async () => {
      const { origin } = await serve(fw);
      const res = await rawRequest(origin, '/ctx', {
        headers: { 'x-request-id': 'r-1', 'x-correlation-id': 'flow-7' },
      });
      const span = await spanFor('/ctx');
      expectEveryPoint(json<ContextReport>(res), expectedContext(span, res, 'flow-7'));
    });
  });

  describe('request context', () => {
    it('should give the same ids synchronously, after a timer, an await and in a promise chain', async () => {
      const { origin } = await serve(fw);
      const res = await rawRequest(origin, '/ctx?ms=5');
      const span = await spanFor('/ctx');
      const expected = expectedContext(span, res);
      expect(expected.requestId).toMatch(UUID);
      expect(expected.traceId).toMatch(HEX32);
      expect(expected.spanId).toMatch(HEX16);
      expectEveryPoint(json<ContextReport>(res), expected);
    });

    it.each(['/api/users/1', '/orgs/o/teams/t'])(
      'should give the ids of the server span inside a routed handler (%s)',
      async (path) => {
        const { origin } = await serve(fw);
        const res = await rawRequest(origin, path);
        const span = await spanFor(path);
        expectEveryPoint(json<ContextReport>(res), expectedContext(span, res));
      },
    );

    it('should never let 50 interleaved requests see each other’s context', async () => {
      const { origin } = await serve(fw);
      const N = 50;
      const results = await Promise.all(
        Array.from({ length: N }, async (_, i) => {
          const ms = Math.floor(Math.random() * 20);
          const res = await rawRequest(origin, `/ctx?ms=${ms}`, {
            headers: { 'x-request-id': `req-${i}`, 'x-correlation-id': `corr-${i}` },
          });
          return { i, res, report: json<ContextReport>(res) };
        }),
      );
      const spans = new Map<string, ReadableSpan>();
      for (let waited = 0; serverSpans(otel.exporter).length < N && waited < 3000; waited += 10)
        await settle(10);
      for (const s of serverSpans(otel.exporter)) spans.set(s.spanContext().spanId, s);
      expect(spans.size).toBe(N);
      let mismatches = 0;
      for (const { i, res, report } of results) {
        expect(res.headers['x-request-id']).toBe(`req-${i}`);
        const span = spans.get(report.sync?.spanId ?? '');
        expect(span, `server span of request ${i}`).toBeDefined();
        const expected = expectedContext(span!, res, `corr-${i}`);
        for (const point of Object.values(report)) if (!equalContext(point, expected)) mismatches++;
        expectEveryPoint(report, expected);
      }
      const traceIds = new Set(results.map((r) => r.report.sync?.traceId));
      expect(traceIds.size).toBe(N);
      console.log(
        `${fw.name}: ${N} interleaved requests, ${N * 4} context reads, ${mismatches} mismatches`,
      );
    });
  });

  describe('ignored and operational paths', () => {
    it.each(['/metrics', '/health/live'])(
      'should give %s request ids but no span (default ignorePaths)',
      async (path) => {
        const { origin } = await serve(fw);
        const res = await rawRequest(origin, path);
        expect(res.status).toBe(200);
        const report = json<ContextReport>(res);
        expect(report.sync?.requestId).toBe(res.headers['x-request-id']);
        expect(report.sync?.traceId).toBeUndefined();
        expect(report.sync?.spanId).toBeUndefined();
        await rawRequest(origin, '/ctx');
        await spanFor('/ctx');
        await settle(50);
        expect(otel.exporter.getFinishedSpans().map((s) => s.attributes['url.path'])).toEqual([
          '/ctx',
        ]);
      },
    );

    it('should export no span for a request an operational handler marked', async () => {
      const { origin } = await serve(fw);
      const res = await rawRequest(origin, '/ops');
      expect(res.status).toBe(200);
      expect(json(res)).toEqual({ operational: true });
      await rawRequest(origin, '/ctx');
      await spanFor('/ctx');
      await settle(50);
      expect(otel.exporter.getFinishedSpans().filter(byPath('/ops'))).toHaveLength(0);
    });
  });

  describe('baggage attributes', () => {
    it('should copy only the listed baggage keys, values cut at 256 characters', async () => {
      const { origin } = await serve(fw, { baggageAttributes: ['tenant'] });
      const long = 't'.repeat(300);
      await rawRequest(origin, '/ctx', {
        headers: { baggage: `tenant=${long},user=alice,secret=s3cr3t` },
      });
      const span = await spanFor('/ctx');
      expect(span.attributes['baggage.tenant']).toBe('t'.repeat(256));
      const keys = Object.keys(span.attributes).filter((k) => k.startsWith('baggage.'));
      expect(keys).toEqual(['baggage.tenant']);
      const values = JSON.stringify(span.attributes);
      expect(values).not.toContain('alice');
      expect(values).not.toContain('s3cr3t');
    });

    it('should copy no baggage at all by default', async () => {
      const { origin } = await serve(fw);
      await rawRequest(origin, '/ctx', { headers: { baggage: 'tenant=acme,user=alice' } });
      const span = await spanFor('/ctx');
      expect(JSON.stringify(span.attributes)).not.toMatch(/acme|alice|baggage/);
    });
  });

  describe('spanAttributes hook', () => {
    it('should add the attributes the hook returns, with the request (and Koa context)', async () => {
      const seen: { url: string | undefined; hasCtx: boolean }[] = [];
      const { origin } = await serve(fw, {
        spanAttributes: ({ req, ctx }) => {
          seen.push({ url: req.url, hasCtx: ctx !== undefined });
          return { 'app.plan': 'gold', 'app.shard': 3 };
        },
      });
      await rawRequest(origin, '/api/users/5?q=1');
      const span = await spanFor('/api/users/5');
      expect(span.attributes).toMatchObject({ 'app.plan': 'gold', 'app.shard': 3 });
      expect(seen).toEqual([{ url: '/api/users/5?q=1', hasCtx: fw.kind === 'koa' }]);
    });

    it('should report a throwing hook once to the logger and still serve every request', async () => {
      const warnings: { obj: object; msg: string | undefined }[] = [];
      const logger = { warn: (obj: object, msg?: string) => warnings.push({ obj, msg }) };
      const { origin } = await serve(fw, {
        logger,
        spanAttributes: () => {
          throw new Error('hook exploded');
        },
      });
      for (let i = 0; i < 3; i++) {
        const res = await rawRequest(origin, `/api/users/${i}`);
        expect(res.status).toBe(200);
        await spanFor(`/api/users/${i}`);
      }
      expect(warnings).toHaveLength(1);
      expect(JSON.stringify(warnings[0])).toContain('hook exploded');
      expect(JSON.stringify(warnings[0])).toContain('@vigil/tracing');
    });

    it('should keep at most 32 hook attributes', async () => {
      const { origin } = await serve(fw, {
        spanAttributes: () =>
          Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`hook.a${i}`, i])),
      });
      await rawRequest(origin, '/ctx');
      const span = await spanFor('/ctx');
      const kept = Object.keys(span.attributes).filter((k) => k.startsWith('hook.'));
      expect(kept).toHaveLength(32);
      expect(span.attributes['http.request.method']).toBe('GET');
    });
  });

  describe('traceresponse', () => {
    it('should send a valid traceresponse header matching the span when asked', async () => {
      const { origin } = await serve(fw, { traceResponse: true });
      const res = await rawRequest(origin, '/ctx');
      const header = res.headers['traceresponse'] as string;
      expect(header).toMatch(TRACEPARENT);
      const span = await spanFor('/ctx');
      const sc = span.spanContext();
      // Sampled, and (Level 2) the random-trace-id flag: the trace was started here, its id is random.
      expect(header).toBe(`00-${sc.traceId}-${sc.spanId}-03`);
      const again = await waitForServerSpan(otel.exporter, sc.traceId);
      expect(again).toBe(span);
    });

    it('should send no traceresponse header by default', async () => {
      const { origin } = await serve(fw);
      const res = await rawRequest(origin, '/ctx');
      expect(res.headers['traceresponse']).toBeUndefined();
    });
  });
});

function equalContext(a: RequestContext | undefined, b: RequestContext): boolean {
  return (
    a !== undefined &&
    a.requestId === b.requestId &&
    a.correlationId === b.correlationId &&
    a.traceId === b.traceId &&
    a.spanId === b.spanId
  );
}
