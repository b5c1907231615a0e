// startTracing(): the OpenTelemetry SDK set up the way Vigil recommends, from options and OTEL_* vars.
import {
  type Attributes,
  type Context,
  type Link,
  type SpanKind,
  type TextMapPropagator,
  context as otelContext,
  isSpanContextValid,
  propagation,
  trace,
} from '@opentelemetry/api';
import {
  CompositePropagator,
  W3CBaggagePropagator,
  W3CTraceContextPropagator,
} from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { type Instrumentation, registerInstrumentations } from '@opentelemetry/instrumentation';
import { ExpressInstrumentation } from '@opentelemetry/instrumentation-express';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { KoaInstrumentation } from '@opentelemetry/instrumentation-koa';
import {
  defaultResource,
  envDetector,
  detectResources,
  resourceFromAttributes,
} from '@opentelemetry/resources';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  ConsoleSpanExporter,
  NodeTracerProvider,
  ParentBasedSampler,
  type Sampler,
  type SamplingResult,
  type SpanExporter,
  type SpanProcessor,
  TraceIdRatioBasedSampler,
} from '@opentelemetry/sdk-trace-node';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import {
  VigilError,
  booleanOption,
  looksLikeFrameworkCall,
  notCalledError,
  optionError,
  readOptions,
  setTraceContextProvider,
  stringOption,
} from '@vigil/core';
import { context as errorContext } from './errors';
import { installOutgoingPropagation } from './outgoing';
import { GuardedPropagator, setVigilPropagator } from './propagation';
import { resetContextProbe } from './request-context';
import { UNTRUSTED_PARENT } from './server';
import { TraceBuffer, type TraceBufferOptions } from './trace-buffer';

/** Sampler names as OTEL_TRACES_SAMPLER spells them. */
export type SamplerName =
  | 'always_on'
  | 'always_off'
  | 'traceidratio'
  | 'parentbased_always_on'
  | 'parentbased_always_off'
  | 'parentbased_traceidratio';

/** Options of startTracing(); every one falls back to its standard OTEL_* variable. */
export interface TracingOptions {
  /** `service.name`. Default: `OTEL_SERVICE_NAME`, else OpenTelemetry's `unknown_service:node`. */
  serviceName?: string;
  /** Extra resource attributes (merged over `OTEL_RESOURCE_ATTRIBUTES`). */
  resourceAttributes?: Attributes;
  /** Sampler. Default: `OTEL_TRACES_SAMPLER`, else `parentbased_always_on`. */
  sampler?: SamplerName;
  /** Ratio for the ratio samplers, 0 to 1. Default: `OTEL_TRACES_SAMPLER_ARG`, else 1. */
  samplerRatio?: number;
  /**
   * Where spans go besides the ring buffer: `otlp` (OTLP/HTTP, `OTEL_EXPORTER_OTLP_ENDPOINT` and
   * `OTEL_EXPORTER_OTLP_HEADERS`), `console`, `none`, or a SpanExporter. Default: `OTEL_TRACES_EXPORTER`,
   * else `otlp` when an OTLP endpoint is set, else `none`.
   */
  exporter?: 'otlp' | 'console' | 'none' | SpanExporter;
  /** Keep recent traces in memory for the live page (`false` to turn off). Default: on, 200 traces, 4 MiB. */
  traceBuffer?: boolean | TraceBufferOptions;
  /** Extra span processors (an in-memory exporter in tests, for instance). */
  spanProcessors?: SpanProcessor[];
  /** Client spans for outgoing http/https calls (OpenTelemetry's http instrumentation). Default: `true`. */
  httpClientSpans?: boolean;
  /** Spans for Express and Koa middleware layers, routers and handlers. Costly and noisy. Default: `false`. */
  layerSpans?: boolean;
}

/** A running tracing setup. */
export interface Tracing {
  readonly provider: NodeTracerProvider;
  /** The ring buffer of recent traces, unless turned off. */
  readonly traces: TraceBuffer | undefined;
  /**
   * A provider for a second service in the same process (same sampler, exporters and buffer, its own
   * `service.name`), to pass as `tracerProvider` to that service's middleware.
   */
  providerFor(serviceName: string): NodeTracerProvider;
  /** Flushes every exporter and unregisters everything. */
  shutdown(): Promise<void>;
}

const KNOWN = [
  'serviceName',
  'resourceAttributes',
  'sampler',
  'samplerRatio',
  'exporter',
  'traceBuffer',
  'spanProcessors',
  'httpClientSpans',
  'layerSpans',
] as const satisfies readonly (keyof TracingOptions)[];

const SAMPLERS =
  /^(always_on|always_off|traceidratio|parentbased_always_on|parentbased_always_off|parentbased_traceidratio)$/;

/**
 * Follows the configured sampler, except for a span whose remote parent came from an untrusted caller
 * (see the middleware's inboundPolicy): its sampled flag is not obeyed, the root sampler decides, so
 * outside callers cannot force every request to be recorded.
 */
export class EdgeAwareSampler implements Sampler {
  constructor(
    private readonly configured: Sampler,
    private readonly root: Sampler,
  ) {}

  shouldSample(
    ctx: Context,
    traceId: string,
    name: string,
    kind: SpanKind,
    attributes: Attributes,
    links: Link[],
  ): SamplingResult {
    const parent = trace.getSpanContext(ctx);
    if (
      ctx.getValue(UNTRUSTED_PARENT) === true &&
      parent?.isRemote === true &&
      isSpanContextValid(parent)
    ) {
      return this.root.shouldSample(ctx, traceId, name, kind, attributes, links);
    }
    return this.configured.shouldSample(ctx, traceId, name, kind, attributes, links);
  }

  toString(): string {
    return `EdgeAwareSampler{${this.configured.toString()}}`;
  }
}

let running: Tracing | undefined;

function buildSampler(name: SamplerName, ratio: number): { configured: Sampler; root: Sampler } {
  const ratioSampler = new TraceIdRatioBasedSampler(ratio);
  switch (name) {
    case 'always_on':
      return { configured: new AlwaysOnSampler(), root: new AlwaysOnSampler() };
    case 'always_off':
      return { configured: new AlwaysOffSampler(), root: new AlwaysOffSampler() };
    case 'traceidratio':
      return { configured: ratioSampler, root: ratioSampler };
    case 'parentbased_always_off':
      return {
        configured: new ParentBasedSampler({ root: new AlwaysOffSampler() }),
        root: new AlwaysOffSampler(),
      };
    case 'parentbased_traceidratio':
      return { configured: new ParentBasedSampler({ root: ratioSampler }), root: ratioSampler };
    default:
      return {
        configured: new ParentBasedSampler({ root: new AlwaysOnSampler() }),
        root: new AlwaysOnSampler(),
      };
  }
}

function buildPropagator(
  spec: string | undefined,
  ctx: ReturnType<typeof errorContext>,
): TextMapPropagator | undefined {
  const names = (spec ?? 'tracecontext,baggage')
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);
  const propagators: TextMapPropagator[] = [];
  for (const name of names) {
    if (name === 'tracecontext') propagators.push(new W3CTraceContextPropagator());
    else if (name === 'baggage') propagators.push(new W3CBaggagePropagator());
    else if (name === 'none') return undefined;
    else {
      throw optionError(
        ctx,
        'INVALID_OPTION',
        'OTEL_PROPAGATORS',
        'a list of "tracecontext", "baggage" or "none"',
        spec,
        'Other propagators (b3, jaeger) need their own packages; register them yourself.',
      );
    }
  }
  return new GuardedPropagator(new CompositePropagator({ propagators }));
}

/**
 * Starts the OpenTelemetry SDK: resource, sampler, exporters, the trace buffer, W3C propagation and
 * the http client instrumentation. Call it before the app loads its framework, or use the register
 * entry (`node --require @vigil/tracing/register app.js`).
 * @throws VigilError with an `ERR_VIGIL_TRACING_*` code on invalid options or OTEL_* variables.
 */
export function startTracing(options?: TracingOptions): Tracing {
  const ctx = errorContext('startTracing');
  if (looksLikeFrameworkCall(options, arguments.length)) throw notCalledError(ctx, options);
  const o = readOptions<TracingOptions>(ctx, options, 1, KNOWN);
  if (running !== undefined) {
    throw new VigilError(
      'ERR_VIGIL_TRACING_ALREADY_STARTED',
      'startTracing(): tracing is already started in this process. Call shutdown() on the first setup before starting another. See "Error codes" in the @vigil/tracing README.',
    );
  }
  const env = process.env;

  const samplerFromEnv = o.sampler === undefined && Boolean(env.OTEL_TRACES_SAMPLER);
  const samplerRaw: unknown = o.sampler ?? (env.OTEL_TRACES_SAMPLER || 'parentbased_always_on');
  if (typeof samplerRaw !== 'string' || !SAMPLERS.test(samplerRaw)) {
    throw optionError(
      ctx,
      'INVALID_SAMPLER',
      samplerFromEnv ? 'OTEL_TRACES_SAMPLER' : 'sampler',
      'one of always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off, parentbased_traceidratio',
      samplerRaw,
    );
  }
  const samplerName = samplerRaw as SamplerName;
  const ratioRaw: unknown =
    o.samplerRatio ?? (env.OTEL_TRACES_SAMPLER_ARG ? Number(env.OTEL_TRACES_SAMPLER_ARG) : 1);
  if (typeof ratioRaw !== 'number' || !Number.isFinite(ratioRaw) || ratioRaw < 0 || ratioRaw > 1) {
    throw optionError(
      ctx,
      'INVALID_SAMPLER',
      o.samplerRatio === undefined ? 'OTEL_TRACES_SAMPLER_ARG' : 'samplerRatio',
      'a number from 0 to 1',
      o.samplerRatio ?? env.OTEL_TRACES_SAMPLER_ARG,
    );
  }
  const { configured, root } = buildSampler(samplerName, ratioRaw);

  const otlpEndpoint = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || env.OTEL_EXPORTER_OTLP_ENDPOINT;
  const exporterChoice =
    o.exporter ??
    ((env.OTEL_TRACES_EXPORTER || undefined) as TracingOptions['exporter']) ??
    (otlpEndpoint ? 'otlp' : 'none');
  let exporter: SpanExporter | undefined;
  if (
    typeof exporterChoice === 'object' &&
    exporterChoice !== null &&
    typeof exporterChoice.export === 'function'
  ) {
    exporter = exporterChoice;
  } else if (exporterChoice === 'otlp') {
    exporter = new OTLPTraceExporter();
  } else if (exporterChoice === 'console') {
    exporter = new ConsoleSpanExporter();
  } else if (exporterChoice !== 'none') {
    throw optionError(
      ctx,
      'INVALID_OPTION',
      o.exporter === undefined ? 'OTEL_TRACES_EXPORTER' : 'exporter',
      '"otlp", "console", "none" or a SpanExporter',
      exporterChoice,
    );
  }

  const bufferOption = o.traceBuffer as unknown;
  if (
    bufferOption !== undefined &&
    typeof bufferOption !== 'boolean' &&
    (bufferOption === null || typeof bufferOption !== 'object')
  ) {
    throw optionError(
      ctx,
      'INVALID_OPTION',
      'traceBuffer',
      'a boolean or { maxTraces, maxBytes, maxSpansPerTrace }',
      bufferOption,
    );
  }
  const traces =
    bufferOption === false
      ? undefined
      : new TraceBuffer(typeof bufferOption === 'object' ? bufferOption : {});
  const extra = o.spanProcessors as unknown;
  if (
    extra !== undefined &&
    !(
      Array.isArray(extra) &&
      extra.every((p) => typeof (p as SpanProcessor | null)?.onEnd === 'function')
    )
  ) {
    throw optionError(ctx, 'INVALID_OPTION', 'spanProcessors', 'an array of SpanProcessors', extra);
  }
  const httpClientSpans = booleanOption(ctx, 'httpClientSpans', o.httpClientSpans, true);
  const layerSpans = booleanOption(ctx, 'layerSpans', o.layerSpans, false);
  const propagator = buildPropagator(env.OTEL_PROPAGATORS || undefined, ctx);

  const serviceName = stringOption(ctx, 'serviceName', o.serviceName, '');
  let resource = defaultResource().merge(detectResources({ detectors: [envDetector] }));
  if (o.resourceAttributes) resource = resource.merge(resourceFromAttributes(o.resourceAttributes));
  if (serviceName)
    resource = resource.merge(resourceFromAttributes({ [ATTR_SERVICE_NAME]: serviceName }));

  const spanProcessors: SpanProcessor[] = [];
  if (exporter) spanProcessors.push(new BatchSpanProcessor(exporter));
  if (traces) spanProcessors.push(traces);
  if (Array.isArray(extra)) spanProcessors.push(...(extra as SpanProcessor[]));

  const sampler = new EdgeAwareSampler(configured, root);
  const provider = new NodeTracerProvider({ resource, sampler, spanProcessors });
  const others: NodeTracerProvider[] = [];
  provider.register({ propagator: propagator ?? null });
  setVigilPropagator(propagator ?? new CompositePropagator({ propagators: [] }));

  const instrumentations: Instrumentation[] = [];
  // Server spans come from expressTracing() / koaTracing(), which apply the edge policy and name
  // spans by route template; the http instrumentation only makes client spans.
  if (httpClientSpans)
    instrumentations.push(new HttpInstrumentation({ disableIncomingRequestInstrumentation: true }));
  if (layerSpans) instrumentations.push(new ExpressInstrumentation(), new KoaInstrumentation());
  const unregister = registerInstrumentations({ tracerProvider: provider, instrumentations });
  installOutgoingPropagation();

  setTraceContextProvider(() => {
    const sc = trace.getActiveSpan()?.spanContext();
    if (sc === undefined || !isSpanContextValid(sc)) return undefined;
    return { traceId: sc.traceId, spanId: sc.spanId, sampled: (sc.traceFlags & 1) === 1 };
  });

  const tracing: Tracing = {
    provider,
    traces,
    providerFor(name) {
      if (typeof name !== 'string' || name === '') {
        throw optionError(
          errorContext('providerFor'),
          'INVALID_OPTION',
          'serviceName',
          'a non-empty string',
          name,
        );
      }
      const other = new NodeTracerProvider({
        resource: resource.merge(resourceFromAttributes({ [ATTR_SERVICE_NAME]: name })),
        sampler,
        spanProcessors,
      });
      others.push(other);
      return other;
    },
    shutdown() {
      // Every caller (the register entry's signal handler, the app's own) waits for the same flush.
      shutdownPromise ??= shutdownOnce();
      return shutdownPromise;
    },
  };
  let shutdownPromise: Promise<void> | undefined;
  const shutdownOnce = async (): Promise<void> => {
    if (running === tracing) running = undefined;
    setTraceContextProvider(undefined);
    setVigilPropagator(undefined);
    unregister();
    try {
      // Processors are shared: flush the others first, then shut everything down through the main one.
      await Promise.all(others.map((p) => p.forceFlush()));
      await provider.shutdown();
    } finally {
      trace.disable();
      otelContext.disable();
      propagation.disable();
      resetContextProbe();
    }
  };
  running = tracing;
  return tracing;
}

/** The running setup, if startTracing() was called. */
export function getTracing(): Tracing | undefined {
  return running;
}
