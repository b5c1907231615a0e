// startTracing(): resource, sampler, propagators and exporters from options and OTEL_* variables; lifecycle.
import { SpanKind, context, trace } from '@opentelemetry/api';
import {
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
  type SpanExporter,
} from '@opentelemetry/sdk-trace-base';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  type RequestContext,
  type Tracing,
  type TracingOptions,
  getRequestContext,
  getTracing,
  startTracing,
} from '@vigil/tracing';
import {
  type AppSettings,
  type ContextReport,
  FRAMEWORKS,
  type JsonRoute,
} from './support/behaviour-apps';
import {
  type Capture,
  closeServers,
  fetchRaw,
  json,
  startCapture,
  startServer,
  waitFor,
} from './support/behaviour-http';
import {
  newSpanId,
  newTraceId,
  parseTraceparent,
  serverSpans,
  settle,
  traceparent,
} from './support/behaviour-otel';

const express5 = FRAMEWORKS.find((f) => f.name === 'express5')!;
const OTEL_VARS = [
  'OTEL_SERVICE_NAME',
  'OTEL_RESOURCE_ATTRIBUTES',
  'OTEL_TRACES_SAMPLER',
  'OTEL_TRACES_SAMPLER_ARG',
  'OTEL_PROPAGATORS',
  'OTEL_TRACES_EXPORTER',
  'OTEL_EXPORTER_OTLP_ENDPOINT',
  'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT',
];
const savedEnv = Object.fromEntries(OTEL_VARS.map((k) => [k, process.env[k]]));

let capture: Capture;
beforeAll(async () => {
  for (const k of OTEL_VARS) delete process.env[k];
  capture = await startCapture();
});
afterEach(async () => {
  vi.restoreAllMocks();
  await getTracing()?.shutdown();
  for (const k of OTEL_VARS) delete process.env[k];
});
afterAll(async () => {
  await closeServers();
  for (const [k, v] of Object.entries(savedEnv)) if (v !== undefined) process.env[k] = v;
});

interface Started {
  tracing: Tracing;
  exporter: InMemorySpanExporter;
}

/** startTracing() with `env` set for the call and an in-memory exporter added. */
function start(options: TracingOptions = {}, env: Record<string, string> = {}): Started {
  Object.assign(process.env, env);
  const exporter = new InMemorySpanExporter();
  const tracing = startTracing({
    httpClientSpans: false,
    ...options,
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  return { tracing, exporter };
}

let tag = 0;
/** A route that calls the capture server with fetch and answers the request context. */
const CALL: Record<string, JsonRoute> = {
  '/call': async (req) => {
    const to = new URL(req.url ?? '/', 'http://x').searchParams.get('to') ?? '/';
    await (await fetch(`${capture.origin}${to}`)).arrayBuffer();
    return { ctx: getRequestContext() };
  },
};

async function app(settings?: AppSettings): Promise<string> {
  return (await startServer(express5.app({ routes: CALL, ...settings }).listener)).origin;
}

async function oneServerSpan(exporter: InMemorySpanExporter): Promise<ReadableSpan> {
  await waitFor(() => serverSpans(exporter).length > 0, 'a server span');
  return serverSpans(exporter)[0]!;
}

/** Serves one request and reports whether a span was recorded for it. */
async function recorded(
  exporter: InMemorySpanExporter,
  headers: Record<string, string> = {},
): Promise<boolean> {
  const origin = await app();
  const res = await fetchRaw(origin, '/ctx', headers);
  expect(res.status).toBe(200);
  // The span ends when the response closes, a moment after the client has it.
  for (let waited = 0; serverSpans(exporter).length === 0 && waited < 300; waited += 10)
    await settle(10);
  return serverSpans(exporter).length > 0;
}

type Env = Record<string, string>;
type Headers = Record<string, string>;

describe('startTracing resource', () => {
  it.each<{ label: string; env: Env; options: TracingOptions; name: string }>([
    {
      label: 'OTEL_SERVICE_NAME',
      env: { OTEL_SERVICE_NAME: 'from-env' },
      options: {},
      name: 'from-env',
    },
    { label: 'serviceName', env: {}, options: { serviceName: 'from-option' }, name: 'from-option' },
    {
      label: 'serviceName over OTEL_SERVICE_NAME',
      env: { OTEL_SERVICE_NAME: 'from-env' },
      options: { serviceName: 'from-option' },
      name: 'from-option',
    },
  ])('should set service.name from $label', async ({ env, options, name }) => {
    const { exporter } = start(options, env);
    expect(await recorded(exporter)).toBe(true);
    const span = await oneServerSpan(exporter);
    expect(span.resource.attributes['service.name']).toBe(name);
  });

  it('should fall back to OpenTelemetry’s unknown_service name', async () => {
    const { exporter } = start();
    await recorded(exporter);
    const span = await oneServerSpan(exporter);
    expect(String(span.resource.attributes['service.name'])).toMatch(/^unknown_service/);
  });

  it('should read OTEL_RESOURCE_ATTRIBUTES, resourceAttributes merged over them', async () => {
    const { exporter } = start(
      { resourceAttributes: { team: 'core' } },
      { OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment.name=test,team=edge,region=eu-1' },
    );
    await recorded(exporter);
    const span = await oneServerSpan(exporter);
    expect(span.resource.attributes).toMatchObject({
      'deployment.environment.name': 'test',
      region: 'eu-1',
      team: 'core',
    });
  });
});

describe('startTracing sampler', () => {
  it.each<{ label: string; env: Env; headers: Headers; sampled: boolean }>([
    {
      label: 'always_off',
      env: { OTEL_TRACES_SAMPLER: 'always_off' },
      headers: {},
      sampled: false,
    },
    {
      label: 'traceidratio with ratio 0',
      env: { OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '0' },
      headers: {},
      sampled: false,
    },
    {
      label: 'traceidratio with ratio 1',
      env: { OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '1' },
      headers: {},
      sampled: true,
    },
    { label: 'the default, for a root span', env: {}, headers: {}, sampled: true },
    {
      label: 'the default (parentbased_always_on), under an unsampled trusted parent',
      env: {},
      headers: { traceparent: traceparent(newTraceId(), newSpanId(), '00') },
      sampled: false,
    },
    {
      label: 'the default (parentbased_always_on), under a sampled trusted parent',
      env: {},
      headers: { traceparent: traceparent(newTraceId(), newSpanId(), '01') },
      sampled: true,
    },
    {
      label: 'always_on, under an unsampled trusted parent',
      env: { OTEL_TRACES_SAMPLER: 'always_on' },
      headers: { traceparent: traceparent(newTraceId(), newSpanId(), '00') },
      sampled: true,
    },
  ])('should record spans as $label decides ($sampled)', async ({ env, headers, sampled }) => {
    const { exporter } = start({}, env);
    expect(await recorded(exporter, headers)).toBe(sampled);
  });

  it('should still give the request ids and trace ids when nothing is sampled', async () => {
    const { exporter } = start({}, { OTEL_TRACES_SAMPLER: 'always_off' });
    const origin = await app();
    const res = await fetchRaw(origin, '/ctx');
    const ctx = json<ContextReport>(res).sync!;
    expect(ctx.requestId).toBe(res.headers['x-request-id']);
    expect(ctx.traceId).toMatch(/^[0-9a-f]{32}$/);
    await settle(40);
    expect(exporter.getFinishedSpans()).toHaveLength(0);
  });

  it('should take the sampler option over OTEL_TRACES_SAMPLER', async () => {
    const { exporter } = start({ sampler: 'always_on' }, { OTEL_TRACES_SAMPLER: 'always_off' });
    expect(await recorded(exporter)).toBe(true);
  });
});

describe('startTracing propagators', () => {
  async function downstream(env: Record<string, string>) {
    const { exporter } = start({}, env);
    const origin = await app({ tracing: { baggageAttributes: ['tenant'] } });
    const traceId = newTraceId();
    const to = `/down/${++tag}`;
    const res = await fetchRaw(origin, `/call?to=${encodeURIComponent(to)}`, {
      traceparent: traceparent(traceId),
      baggage: 'tenant=acme',
    });
    expect(res.status).toBe(200);
    const span = await oneServerSpan(exporter);
    const got = capture.only(to).headers;
    return { traceId, span, got, ctx: json<{ ctx: RequestContext }>(res).ctx };
  }

  it('should propagate trace context and baggage by default', async () => {
    const { traceId, span, got } = await downstream({});
    expect(span.spanContext().traceId).toBe(traceId);
    expect(span.attributes['baggage.tenant']).toBe('acme');
    expect(parseTraceparent(got.traceparent)?.traceId).toBe(traceId);
    expect(got.baggage).toBe('tenant=acme');
  });

  it('should propagate no baggage with OTEL_PROPAGATORS=tracecontext', async () => {
    const { traceId, span, got } = await downstream({ OTEL_PROPAGATORS: 'tracecontext' });
    expect(span.spanContext().traceId).toBe(traceId);
    expect(span.attributes['baggage.tenant']).toBeUndefined();
    expect(parseTraceparent(got.traceparent)?.traceId).toBe(traceId);
    expect(got.baggage).toBeUndefined();
  });

  it('should neither read nor send trace context with OTEL_PROPAGATORS=none', async () => {
    const { traceId, span, got, ctx } = await downstream({ OTEL_PROPAGATORS: 'none' });
    expect(span.spanContext().traceId).not.toBe(traceId);
    expect(span.parentSpanContext).toBeUndefined();
    expect(got.traceparent).toBeUndefined();
    expect(got.baggage).toBeUndefined();
    // The ids are Vigil's own and still travel.
    expect(got['x-request-id']).toBe(ctx.requestId);
  });

  it('should reject an unsupported propagator (b3) with a coded error naming the variable', () => {
    process.env.OTEL_PROPAGATORS = 'tracecontext,b3';
    expect(() => startTracing()).toThrowError(
      expect.objectContaining({
        code: 'ERR_VIGIL_TRACING_INVALID_OPTION',
        message: expect.stringMatching(/OTEL_PROPAGATORS.*'tracecontext,b3'.*b3, jaeger.*README/),
      }),
    );
    expect(getTracing()).toBeUndefined();
  });
});

describe('startTracing exporters', () => {
  it('should print spans with OTEL_TRACES_EXPORTER=console', async () => {
    const dir = vi.spyOn(console, 'dir').mockImplementation(() => undefined);
    const { exporter, tracing } = start({}, { OTEL_TRACES_EXPORTER: 'console' });
    await recorded(exporter);
    await tracing.shutdown();
    const printed = dir.mock.calls.map((c) => c[0] as { name?: string; kind?: number });
    expect(printed).toContainEqual(
      expect.objectContaining({ name: 'GET /ctx', kind: SpanKind.SERVER }),
    );
  });

  it('should print nothing with OTEL_TRACES_EXPORTER=none', async () => {
    const dir = vi.spyOn(console, 'dir').mockImplementation(() => undefined);
    const { exporter, tracing } = start({}, { OTEL_TRACES_EXPORTER: 'none' });
    expect(await recorded(exporter)).toBe(true);
    await tracing.shutdown();
    expect(dir).not.toHaveBeenCalled();
  });

  it('should post OTLP/HTTP to OTEL_EXPORTER_OTLP_ENDPOINT when it is set', async () => {
    const collector = await startCapture();
    const { exporter, tracing } = start({}, { OTEL_EXPORTER_OTLP_ENDPOINT: collector.origin });
    await recorded(exporter);
    await tracing.shutdown();
    const posts = collector.seen.filter((c) => c.url === '/v1/traces');
    expect(posts.length).toBeGreaterThanOrEqual(1);
  });

  it('should flush a custom exporter behind its BatchSpanProcessor on shutdown()', async () => {
    const exported: ReadableSpan[] = [];
    let shutdowns = 0;
    const custom: SpanExporter = {
      export(spans, done) {
        exported.push(...spans);
        done({ code: 0 });
      },
      shutdown() {
        shutdowns++;
        return Promise.resolve();
      },
    };
    const { exporter, tracing } = start({ exporter: custom });
    expect(await recorded(exporter)).toBe(true);
    // The batch processor waits seconds before exporting: only the flush can have sent it by now.
    expect(exported).toHaveLength(0);
    await tracing.shutdown();
    expect(exported.map((s) => s.name)).toEqual(['GET /ctx']);
    expect(shutdowns).toBe(1);
  });
});

describe('startTracing lifecycle', () => {
  it('should refuse a second startTracing() while the first runs', () => {
    start();
    expect(() => startTracing()).toThrowError(
      expect.objectContaining({ code: 'ERR_VIGIL_TRACING_ALREADY_STARTED' }),
    );
  });

  it('should unregister everything on shutdown(), and start again afterwards', async () => {
    const { tracing } = start();
    expect(getTracing()).toBe(tracing);
    await tracing.shutdown();
    expect(getTracing()).toBeUndefined();
    const span = trace.getTracer('after').startSpan('probe');
    expect(span.isRecording()).toBe(false);
    // No context manager any more: a span set as active is not seen as active.
    expect(context.with(trace.setSpan(context.active(), span), () => trace.getActiveSpan())).toBe(
      undefined,
    );
    expect(trace.getActiveSpan()).toBeUndefined();
    const again = start();
    expect(getTracing()).toBe(again.tracing);
    expect(await recorded(again.exporter)).toBe(true);
  });

  it('should keep request ids and getRequestContext() working after shutdown()', async () => {
    const { tracing, exporter } = start();
    const origin = await app();
    await fetchRaw(origin, '/ctx');
    await oneServerSpan(exporter);
    await tracing.shutdown();
    const res = await fetchRaw(origin, '/ctx', { 'x-request-id': 'after-shutdown' });
    expect(res.headers['x-request-id']).toBe('after-shutdown');
    expect(json<ContextReport>(res).sync?.requestId).toBe('after-shutdown');
  });

  it('should let a middleware created before startTracing() trace with each SDK started later', async () => {
    const origin = await app();
    const first = start();
    expect(await fetchRaw(origin, '/ctx').then((r) => r.status)).toBe(200);
    await oneServerSpan(first.exporter);
    // An InMemorySpanExporter forgets its spans when shut down: count before.
    const firstCount = serverSpans(first.exporter).length;
    await first.tracing.shutdown();
    const second = start();
    await fetchRaw(origin, '/ctx');
    await waitFor(
      () => serverSpans(second.exporter).length === 1,
      'the span of the restarted SDK',
      1000,
    );
    expect(firstCount).toBe(1);
  });
});

describe('providerFor', () => {
  it('should give a second service its own service.name in the same trace buffer', async () => {
    const { tracing, exporter } = start({ serviceName: 'gateway' });
    const catalog = await app({ tracing: { tracerProvider: tracing.providerFor('catalog') } });
    const gatewayRoutes: Record<string, JsonRoute> = {
      '/gw': async () => {
        await (await fetch(`${catalog}/api/users/9`)).arrayBuffer();
        return { ctx: getRequestContext() };
      },
    };
    const gateway = (await startServer(express5.app({ routes: gatewayRoutes }).listener)).origin;
    const res = await fetchRaw(gateway, '/gw');
    const { traceId } = json<{ ctx: RequestContext }>(res).ctx;
    await waitFor(() => serverSpans(exporter).length === 2, 'two server spans');
    const services = Object.fromEntries(
      serverSpans(exporter).map((s) => [s.name, s.resource.attributes['service.name']]),
    );
    expect(services).toEqual({ 'GET /gw': 'gateway', 'GET /api/users/:id': 'catalog' });
    const spans = tracing.traces!.get(traceId!)!;
    expect(spans.map((s) => s.service).sort()).toEqual(['catalog', 'gateway']);
    const summary = tracing.traces!.recent().find((t) => t.traceId === traceId)!;
    expect(summary.services.sort()).toEqual(['catalog', 'gateway']);
    expect(summary.rootName).toBe('GET /gw');
  });
});
