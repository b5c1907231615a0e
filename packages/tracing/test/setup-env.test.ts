// startTracing() and the OpenTelemetry variables users expect: OTEL_SDK_DISABLED, OTEL_LOG_LEVEL and the
// diag logger, OTEL_TRACES_EXPORTER lists, the resource detectors and service.instance.id, the export
// metrics' registry, and the instrumentations option.
import { hostname } from 'node:os';
import { diag, propagation, trace } from '@opentelemetry/api';
import { ExpressInstrumentation } from '@opentelemetry/instrumentation-express';
import { KoaInstrumentation } from '@opentelemetry/instrumentation-koa';
import {
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
  type SpanExporter,
} from '@opentelemetry/sdk-trace-base';
import { Registry, register as globalRegistry } from 'prom-client';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  DROPPED_METRIC,
  EXPORTED_METRIC,
  type RequestContext,
  type TracingOptions,
  getRequestContext,
  getTracing,
  startTracing,
} from '@vigil/tracing';
import { type CapturedLine, captureLogger } from '@vigil/test-utils';
import { FRAMEWORKS, type JsonRoute } from './support/behaviour-apps';
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
  HEX16,
  UUID,
  newSpanId,
  newTraceId,
  parseTraceparent,
  traceparent,
} from './support/behaviour-otel';

const express5 = FRAMEWORKS.find((f) => f.name === 'express5')!;
const VARS = [
  'OTEL_SDK_DISABLED',
  'OTEL_LOG_LEVEL',
  'OTEL_SERVICE_NAME',
  'OTEL_RESOURCE_ATTRIBUTES',
  'OTEL_TRACES_SAMPLER',
  'OTEL_TRACES_SAMPLER_ARG',
  'OTEL_PROPAGATORS',
  'OTEL_TRACES_EXPORTER',
  'OTEL_EXPORTER_OTLP_ENDPOINT',
  'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT',
  'OTEL_EXPORTER_OTLP_PROTOCOL',
  'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL',
  'OTEL_BSP_SCHEDULE_DELAY',
];
const saved = Object.fromEntries(VARS.map((k) => [k, process.env[k]]));

let capture: Capture;
beforeAll(async () => {
  for (const k of VARS) delete process.env[k];
  capture = await startCapture();
});
afterEach(async () => {
  vi.restoreAllMocks();
  await getTracing()?.shutdown();
  for (const k of VARS) delete process.env[k];
});
afterAll(async () => {
  await closeServers();
  for (const [k, v] of Object.entries(saved)) if (v !== undefined) process.env[k] = v;
});

/** startTracing() with `env` set, an in-memory exporter added and the client spans off. */
function start(options: TracingOptions = {}, env: Record<string, string> = {}) {
  Object.assign(process.env, env);
  const exporter = new InMemorySpanExporter();
  const tracing = startTracing({
    httpClientSpans: false,
    registry: false,
    ...options,
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  return { tracing, exporter };
}

/** One span ended through the global tracer, as the exporter received it. */
async function oneSpan(exporter: InMemorySpanExporter, name = 'probe'): Promise<ReadableSpan> {
  trace.getTracer('setup-env').startSpan(name).end();
  await waitFor(() => exporter.getFinishedSpans().some((s) => s.name === name), `span ${name}`);
  return exporter.getFinishedSpans().find((s) => s.name === name)!;
}

let tag = 0;
const CALL: Record<string, JsonRoute> = {
  '/call': async (req) => {
    const to = new URL(req.url ?? '/', 'http://x').searchParams.get('to') ?? '/';
    await (await fetch(`${capture.origin}${to}`)).arrayBuffer();
    return { ctx: getRequestContext() };
  },
};

describe('OTEL_SDK_DISABLED', () => {
  it.each(['true', 'TRUE', ' True '])(
    'should set up nothing for %j and still give request ids and W3C propagation',
    async (value) => {
      const { tracing, exporter } = start(
        { instrumentations: [new KoaInstrumentation({ enabled: false })] },
        // Read only when the SDK is on: the switch works beside a value that would stop the start.
        { OTEL_SDK_DISABLED: value, OTEL_TRACES_SAMPLER: 'sometimes' },
      );
      expect(tracing.disabled).toBe(true);
      expect(tracing.provider).toBeUndefined();
      expect(tracing.traces).toBeUndefined();
      expect(getTracing()).toBe(tracing);
      // Nothing registered with OpenTelemetry's API.
      expect(trace.getTracer('x').startSpan('y').isRecording()).toBe(false);
      expect(propagation.fields()).toEqual([]);

      const origin = (await startServer(express5.app({ routes: CALL }).listener)).origin;
      const traceId = newTraceId();
      const parent = newSpanId();
      const to = `/disabled/${++tag}`;
      const res = await fetchRaw(origin, `/call?to=${to}`, {
        traceparent: traceparent(traceId, parent),
        'x-request-id': 'req-disabled',
      });
      const ctx = json<{ ctx: RequestContext }>(res).ctx;
      const sent = parseTraceparent(capture.only(to).headers.traceparent);
      expect(res.headers['x-request-id']).toBe('req-disabled');
      expect(ctx.traceId).toBe(traceId);
      expect(ctx.spanId).toMatch(HEX16);
      expect(ctx.spanId).not.toBe(parent);
      // The caller's trace, with a parent-id of the call's own (W3C Trace Context §3.2.2.3).
      expect(sent?.traceId).toBe(traceId);
      expect(sent?.parentId).toMatch(HEX16);
      expect([ctx.spanId, parent]).not.toContain(sent?.parentId);
      expect(capture.only(to).headers['x-request-id']).toBe('req-disabled');
      expect(exporter.getFinishedSpans()).toEqual([]);

      const other = tracing.providerFor('other').getTracer('x').startSpan('y');
      expect(other.isRecording()).toBe(false);
      await tracing.shutdown();
      expect(getTracing()).toBeUndefined();
      // The SDK starts normally afterwards.
      delete process.env.OTEL_SDK_DISABLED;
      delete process.env.OTEL_TRACES_SAMPLER;
      const again = start();
      expect(again.tracing.disabled).toBe(false);
      expect((await oneSpan(again.exporter)).name).toBe('probe');
    },
  );

  it('should leave the instrumentations it was given off', () => {
    const koa = new KoaInstrumentation({ enabled: false });
    start({ instrumentations: [koa] }, { OTEL_SDK_DISABLED: 'true' });
    expect(koa.isEnabled()).toBe(false);
  });

  it('should still check the options (they are code)', () => {
    process.env.OTEL_SDK_DISABLED = 'true';
    expect(() => startTracing({ sampler: 'sometimes' as 'always_on' })).toThrowError(
      expect.objectContaining({ code: 'ERR_VIGIL_TRACING_INVALID_SAMPLER' }),
    );
    expect(getTracing()).toBeUndefined();
  });

  it('should keep OTEL_PROPAGATORS in effect, as the specification says', async () => {
    start({}, { OTEL_SDK_DISABLED: 'true', OTEL_PROPAGATORS: 'tracecontext' });
    const origin = (await startServer(express5.app({ routes: CALL }).listener)).origin;
    const to = `/disabled/${++tag}`;
    const traceId = newTraceId();
    await fetchRaw(origin, `/call?to=${to}`, { traceparent: traceparent(traceId), baggage: 'k=v' });
    expect(parseTraceparent(capture.only(to).headers.traceparent)?.traceId).toBe(traceId);
    expect(capture.only(to).headers.baggage).toBeUndefined();
  });

  it.each(['1', 'yes', 'on'])(
    'should start the SDK for %j, with one warning that it was read as false',
    async (value) => {
      const log = captureLogger();
      const { tracing, exporter } = start({ logger: log.logger }, { OTEL_SDK_DISABLED: value });
      expect(tracing.disabled).toBe(false);
      expect(await oneSpan(exporter)).toBeDefined();
      expect(log.at('warn')).toEqual([
        {
          level: 'warn',
          fields: { component: '@vigil/tracing', startup: true },
          msg: `OTEL_SDK_DISABLED ${JSON.stringify(value)} is neither true nor false; read as false, the SDK starts`,
        },
      ]);
    },
  );
});

describe('OTEL_LOG_LEVEL and the diag logger', () => {
  /** Writes one diag line per level and returns what reached the logger. */
  function probe(options: TracingOptions, env: Record<string, string>): CapturedLine[] {
    const log = captureLogger();
    start({ logger: log.logger, ...options }, env);
    for (const level of ['error', 'warn', 'info', 'debug', 'verbose'] as const)
      diag[level](`diag ${level}`);
    return log.lines.filter((l) => l.msg.startsWith('diag '));
  }
  const levels = (lines: CapturedLine[]) => lines.map((l) => l.level);

  it.each<{ env: Record<string, string>; options: TracingOptions; written: string[] }>([
    { env: {}, options: {}, written: ['error', 'warn', 'info'] },
    { env: { OTEL_LOG_LEVEL: 'none' }, options: {}, written: [] },
    { env: { OTEL_LOG_LEVEL: 'error' }, options: {}, written: ['error'] },
    { env: { OTEL_LOG_LEVEL: 'warn' }, options: {}, written: ['error', 'warn'] },
    { env: { OTEL_LOG_LEVEL: 'DEBUG' }, options: {}, written: ['error', 'warn', 'info', 'debug'] },
    // verbose lines go to pino's trace() when the logger has one.
    {
      env: { OTEL_LOG_LEVEL: 'verbose' },
      options: {},
      written: ['error', 'warn', 'info', 'debug', 'trace'],
    },
    {
      env: { OTEL_LOG_LEVEL: 'all' },
      options: {},
      written: ['error', 'warn', 'info', 'debug', 'trace'],
    },
    { env: { OTEL_LOG_LEVEL: 'debug' }, options: { logLevel: 'error' }, written: ['error'] },
  ])(
    'should write $written for OTEL_LOG_LEVEL $env.OTEL_LOG_LEVEL and logLevel $options.logLevel',
    ({ env, options, written }) => {
      const lines = probe(options, env);
      expect(levels(lines)).toEqual(written);
      for (const line of lines)
        expect(line.fields).toEqual({ component: '@vigil/tracing', source: 'opentelemetry' });
    },
  );

  it('should ignore an unknown OTEL_LOG_LEVEL with one warning and use info', () => {
    const log = captureLogger();
    start({ logger: log.logger }, { OTEL_LOG_LEVEL: 'loud' });
    diag.info('diag info');
    diag.debug('diag debug');
    expect(log.lines.map((l) => [l.level, l.msg])).toEqual([
      [
        'warn',
        'OTEL_LOG_LEVEL "loud" is not one of none, error, warn, info, debug, verbose, all; using info',
      ],
      ['info', 'diag info'],
    ]);
  });

  it('should write to process warnings without a logger', async () => {
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    try {
      start();
      diag.warn('diag says %s', 'hello');
      diag.debug('not at info');
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('warning', onWarning);
    }
    const ours = warnings.filter((w) => (w as Error & { code?: string }).code === 'VIGIL_WARNING');
    expect(ours.map((w) => w.message)).toEqual(['diag says hello']);
  });

  it('should remove its diag logger on shutdown()', async () => {
    const log = captureLogger();
    const { tracing } = start({ logger: log.logger });
    await tracing.shutdown();
    diag.error('after shutdown');
    expect(log.lines.filter((l) => l.msg === 'after shutdown')).toEqual([]);
  });

  it('should cut long diag lines and apply printf arguments', () => {
    const log = captureLogger();
    start({ logger: log.logger });
    diag.warn('big %s', 'x'.repeat(5000), { nested: { deeper: { deepest: { bottom: 1 } } } });
    const line = log.at('warn').find((l) => l.msg.startsWith('big '))!;
    expect(line.msg.length).toBeLessThanOrEqual(2003);
    expect(line.msg.endsWith('...')).toBe(true);
  });
});

describe('the resource', () => {
  it('should carry host, os, process and a per-process service.instance.id, without the command line', async () => {
    const { exporter, tracing } = start(
      {},
      { OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment.name=test' },
    );
    const first = (await oneSpan(exporter)).resource;
    await first.waitForAsyncAttributes?.();
    const attrs = first.attributes;
    await tracing.shutdown();
    const again = start();
    const second = (await oneSpan(again.exporter, 'second')).resource.attributes;
    console.log(
      `[resource] ${Object.keys(attrs).sort().join(', ')}; service.instance.id ${String(attrs['service.instance.id'])} ` +
        `(after a restart: ${String(second['service.instance.id'])})`,
    );
    expect(attrs).toMatchObject({
      'host.name': hostname(),
      'os.type': 'linux',
      'process.pid': process.pid,
      'process.runtime.name': 'nodejs',
      'process.runtime.version': process.versions.node,
      'deployment.environment.name': 'test',
      'telemetry.sdk.language': 'nodejs',
    });
    expect(attrs['host.arch']).toEqual(expect.any(String));
    expect(attrs['os.version']).toEqual(expect.any(String));
    expect(attrs['process.executable.path']).toBe(process.execPath);
    expect(attrs['service.instance.id']).toMatch(UUID);
    expect(attrs).not.toHaveProperty('process.command_args');
    expect(second['service.instance.id']).toBe(attrs['service.instance.id']);
  });

  it.each<{ label: string; env: Record<string, string>; options: TracingOptions; id: string }>([
    {
      label: 'OTEL_RESOURCE_ATTRIBUTES',
      env: { OTEL_RESOURCE_ATTRIBUTES: 'service.instance.id=replica-7' },
      options: {},
      id: 'replica-7',
    },
    {
      label: 'resourceAttributes, over OTEL_RESOURCE_ATTRIBUTES',
      env: { OTEL_RESOURCE_ATTRIBUTES: 'service.instance.id=replica-7' },
      options: { resourceAttributes: { 'service.instance.id': 'pod-a1' } },
      id: 'pod-a1',
    },
  ])('should take service.instance.id from $label', async ({ env, options, id }) => {
    const { exporter } = start(options, env);
    expect((await oneSpan(exporter)).resource.attributes['service.instance.id']).toBe(id);
  });
});

describe('OTEL_TRACES_EXPORTER and the exporter option', () => {
  /** Console lines and OTLP posts after one span, with the metric series the setup created. */
  async function exported(options: TracingOptions, env: Record<string, string>) {
    const collector = await startCapture();
    const dir = vi.spyOn(console, 'dir').mockImplementation(() => undefined);
    const registry = new Registry();
    // A capture server, not a collector: its JSON answer to a protobuf export is a diag warning.
    const { tracing, exporter } = start(
      { registry, logger: captureLogger().logger, ...options },
      { OTEL_EXPORTER_OTLP_ENDPOINT: collector.origin, ...env },
    );
    await oneSpan(exporter);
    await tracing.shutdown();
    const printed = dir.mock.calls.map((c) => (c[0] as { name?: string }).name);
    const posts = collector.seen.filter((c) => c.url === '/v1/traces');
    const series = ((await registry.getSingleMetric(EXPORTED_METRIC)?.get())?.values ?? []).map(
      (v) => `${String(v.labels.exporter)}:${String(v.labels.outcome)}=${v.value}`,
    );
    return { printed, posts: posts.map((p) => p.headers['content-type']), series: series.sort() };
  }

  it.each<{
    label: string;
    env: Record<string, string>;
    options: TracingOptions;
    printed: number;
    posts: string[];
  }>([
    {
      label: 'otlp,console',
      env: { OTEL_TRACES_EXPORTER: 'otlp,console' },
      options: {},
      printed: 1,
      posts: ['application/x-protobuf'],
    },
    {
      label: ' Console , OTLP ,console',
      env: { OTEL_TRACES_EXPORTER: ' Console , OTLP ,console' },
      options: {},
      printed: 1,
      posts: ['application/x-protobuf'],
    },
    { label: 'none', env: { OTEL_TRACES_EXPORTER: 'none' }, options: {}, printed: 0, posts: [] },
    {
      label: 'unset, with an endpoint',
      env: {},
      options: {},
      printed: 0,
      posts: ['application/x-protobuf'],
    },
    {
      label: 'unset, http/json',
      env: { OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' },
      options: {},
      printed: 0,
      posts: ['application/json'],
    },
    {
      label: 'the option ["console", "otlp"]',
      env: { OTEL_TRACES_EXPORTER: 'none' },
      options: { exporter: ['console', 'otlp'] },
      printed: 1,
      posts: ['application/x-protobuf'],
    },
    {
      label: 'the option "none"',
      env: { OTEL_TRACES_EXPORTER: 'console' },
      options: { exporter: 'none' },
      printed: 0,
      posts: [],
    },
  ])('should export as $label says', async ({ env, options, printed, posts }) => {
    const got = await exported(options, env);
    expect(got.printed).toHaveLength(printed);
    expect(got.posts).toEqual(posts);
    const expected = [
      ...(posts.length > 0 ? ['otlp:failure=0', 'otlp:success=1'] : []),
      ...(printed > 0 ? ['console:failure=0', 'console:success=1'] : []),
    ].sort();
    expect(got.series).toEqual(expected);
  });

  it('should name a custom exporter by its class in the metric', async () => {
    class CollectingExporter implements SpanExporter {
      readonly spans: ReadableSpan[] = [];
      export(spans: ReadableSpan[], done: (r: { code: number }) => void): void {
        this.spans.push(...spans);
        done({ code: 0 });
      }
      shutdown(): Promise<void> {
        return Promise.resolve();
      }
    }
    const custom = new CollectingExporter();
    const got = await exported({ exporter: [custom, 'console'] }, { OTEL_TRACES_EXPORTER: 'otlp' });
    expect(custom.spans.map((s) => s.name)).toEqual(['probe']);
    expect(got.series).toEqual([
      'CollectingExporter:failure=0',
      'CollectingExporter:success=1',
      'console:failure=0',
      'console:success=1',
    ]);
  });
});

describe('the registry option', () => {
  it("should default to prom-client's global registry, and reuse its counters on a restart", async () => {
    const dir = vi.spyOn(console, 'dir').mockImplementation(() => undefined);
    const value = async () =>
      (await globalRegistry.getSingleMetric(EXPORTED_METRIC)?.get())?.values.find(
        (v) => v.labels.exporter === 'console' && v.labels.outcome === 'success',
      )?.value ?? 0;
    const before = await value();
    for (let round = 0; round < 2; round++) {
      const { tracing, exporter } = start({ registry: undefined, exporter: 'console' });
      await oneSpan(exporter);
      await tracing.shutdown();
    }
    expect(dir).toHaveBeenCalledTimes(2);
    expect((await value()) - before).toBe(2);
    expect(globalRegistry.getSingleMetric(DROPPED_METRIC)).toBeDefined();
  });

  it('should count nothing with registry: false', async () => {
    vi.spyOn(console, 'dir').mockImplementation(() => undefined);
    const registerMetric = vi.spyOn(globalRegistry, 'registerMetric');
    const before = await globalRegistry.getMetricsAsJSON();
    const { tracing, exporter } = start({ registry: false, exporter: 'console' });
    await oneSpan(exporter);
    await tracing.shutdown();
    expect(registerMetric).not.toHaveBeenCalled();
    expect(await globalRegistry.getMetricsAsJSON()).toEqual(before);
  });
});

describe('the instrumentations option', () => {
  it('should register nested instrumentations next to Vigil’s, and unregister them on shutdown()', async () => {
    const koa = new KoaInstrumentation({ enabled: false });
    const express = new ExpressInstrumentation({ enabled: false });
    const { tracing } = start({ httpClientSpans: true, instrumentations: [koa, [express]] });
    expect([koa.isEnabled(), express.isEnabled()]).toEqual([true, true]);
    await tracing.shutdown();
    expect([koa.isEnabled(), express.isEnabled()]).toEqual([false, false]);
  });
});
