// startTracing(): the OpenTelemetry SDK set up the way Vigil recommends, from options and OTEL_* vars.
import {
  type TracerProvider,
  ProxyTracerProvider,
  context as otelContext,
  isSpanContextValid,
  propagation,
  trace,
} from '@opentelemetry/api';
import { NodeTracerProvider, type SpanProcessor } from '@opentelemetry/sdk-trace-node';
import { type Instrumentation, registerInstrumentations } from '@opentelemetry/instrumentation';
import { ExpressInstrumentation } from '@opentelemetry/instrumentation-express';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import { KoaInstrumentation } from '@opentelemetry/instrumentation-koa';
import {
  codedError,
  looksLikeFrameworkCall,
  notCalledError,
  optionError,
  setTraceContextProvider,
} from '@vigil/core';
import { installDiag } from './diag';
import { TRACING_ERROR_CODES, context as errorContext } from './errors';
import { exportCounts } from './export-metrics';
import { type ExporterStatus, MonitoredExporter, batchProcessor } from './exporters';
import { installOutgoingPropagation, runFetchPropagationLast } from './outgoing';
import { setVigilPropagator } from './propagation';
import { resetContextProbe } from './request-context';
import { buildResource, withServiceName } from './resource';
import { buildSampler } from './sampler';
import { type SetupPlan, type TracingOptions, noPropagator, resolveSetup } from './setup-options';
import type { TraceBuffer } from './trace-buffer';

export type { TracingOptions };

/** A running tracing setup. */
export interface Tracing {
  /** True when OTEL_SDK_DISABLED=true: no SDK was set up or registered, nothing is recorded. */
  readonly disabled: boolean;
  /** The registered tracer provider; undefined when disabled. */
  readonly provider: NodeTracerProvider | undefined;
  /** The ring buffer of recent traces, unless turned off (or disabled). */
  readonly traces: TraceBuffer | undefined;
  /**
   * A provider for a second service in the same process (same sampler, exporters and buffer, its own
   * `service.name`), to pass as `tracerProvider` to that service's middleware. A no-op provider when
   * disabled.
   */
  providerFor(serviceName: string): TracerProvider;
  /** Flushes every exporter and unregisters everything. */
  shutdown(): Promise<void>;
  /** The span exporters' state, one entry each (none when disabled or with no exporter). */
  exporters(): readonly ExporterStatus[];
}

let running: Tracing | undefined;

/**
 * Adds the app's instrumentations to Vigil's. One that Vigil registers already (same
 * instrumentationName) would patch its module twice: a coded error naming it.
 */
function addInstrumentations(own: Instrumentation[], extra: readonly Instrumentation[]): void {
  const clash = extra.find((i) => own.some((o) => o.instrumentationName === i.instrumentationName));
  if (clash !== undefined) {
    throw optionError(
      errorContext('startTracing'),
      'INVALID_OPTION',
      'instrumentations',
      'instrumentations Vigil does not register already',
      clash.instrumentationName,
      'Vigil registers it (httpClientSpans, layerSpans): turn that option off to register your own, or leave it out.',
    );
  }
  own.push(...extra);
}

/** True when an undici request already carries a traceparent header (set by the app). */
function hasOwnTraceparent(request: { headers?: unknown }): boolean {
  const h = request.headers;
  if (typeof h === 'string') return /(^|\r\n)traceparent:/i.test(h);
  if (Array.isArray(h)) {
    for (let i = 0; i < h.length; i += 2)
      if (String(h[i]).toLowerCase() === 'traceparent') return true;
  }
  return false;
}

/**
 * Starts the OpenTelemetry SDK: resource, sampler, exporters, the trace buffer, W3C propagation, the
 * http client instrumentation and any others given, OpenTelemetry's diagnostics through `logger`, and
 * the export metrics. Call it before the app loads its framework, or use the register entry
 * (`node --require @vigil/tracing/register app.js`). With OTEL_SDK_DISABLED=true it sets up nothing and
 * returns a Tracing whose `disabled` is true.
 * @throws VigilError with an `ERR_VIGIL_TRACING_*` code on invalid options or OTEL_* variables.
 */
export function startTracing(options?: TracingOptions): Tracing {
  const ctx = errorContext('startTracing');
  if (looksLikeFrameworkCall(options, arguments.length)) throw notCalledError(ctx, options);
  const plan = resolveSetup(ctx, options, 1, process.env);
  if (running !== undefined) {
    throw codedError(
      ctx,
      TRACING_ERROR_CODES.ALREADY_STARTED,
      'startTracing(): tracing is already started in this process.',
      'Call shutdown() on the first setup before starting another, or reach it with getTracing().',
    );
  }
  for (const warning of plan.warnings) plan.log.write('warn', warning, { startup: true });
  running = plan.disabled ? startDisabled(plan) : startSdk(plan);
  return running;
}

/**
 * OTEL_SDK_DISABLED=true: no provider, no instrumentation, no diag logger, no metric. The middleware
 * works as without the SDK; OTEL_PROPAGATORS still applies, as the specification keeps propagators
 * out of the switch.
 */
function startDisabled(plan: SetupPlan): Tracing {
  setVigilPropagator(plan.propagator ?? noPropagator());
  const noop = new ProxyTracerProvider();
  let shutdownPromise: Promise<void> | undefined;
  const tracing: Tracing = {
    disabled: true,
    provider: undefined,
    traces: undefined,
    providerFor(name) {
      checkServiceName(name);
      return noop;
    },
    shutdown() {
      shutdownPromise ??= Promise.resolve().then(() => {
        if (running === tracing) running = undefined;
        setVigilPropagator(undefined);
      });
      return shutdownPromise;
    },
    exporters: () => [],
  };
  return tracing;
}

function checkServiceName(name: unknown): void {
  if (typeof name !== 'string' || name === '') {
    throw optionError(
      errorContext('providerFor'),
      'INVALID_OPTION',
      'serviceName',
      'a non-empty string',
      name,
    );
  }
}

function startSdk(plan: SetupPlan): Tracing {
  const { log, httpClientSpans, layerSpans } = plan;
  // Metrics first: a conflicting metric in the registry throws before anything is registered.
  const counts = exportCounts(
    plan.metrics,
    plan.exporters.map((e) => e.name),
  );
  const monitors = plan.exporters.map(
    (e) => new MonitoredExporter(e.create(), e.name, log, counts),
  );
  // Before the SDK is built, so what OpenTelemetry says while building it is written too.
  const removeDiag = installDiag(log, () => monitors.some((m) => m.failing));

  const spanProcessors: SpanProcessor[] = monitors.map((m) => batchProcessor(m));
  if (plan.traces) spanProcessors.push(plan.traces);
  spanProcessors.push(...plan.spanProcessors);

  const resource = buildResource(plan.serviceName, plan.resourceAttributes);
  const sampler = buildSampler(plan.sampler);
  const provider = new NodeTracerProvider({ resource, sampler, spanProcessors });
  const others: NodeTracerProvider[] = [];

  // Vigil's own instrumentations, then the app's (the `instrumentations` option).
  const instrumentations: Instrumentation[] = [];
  // Server spans come from expressTracing() / koaTracing(), which apply the edge policy and name
  // spans by route template; the http instrumentation only makes client spans.
  if (httpClientSpans) {
    instrumentations.push(
      new HttpInstrumentation({ disableIncomingRequestInstrumentation: true }),
      // fetch (undici): a client span per call, with its duration and status. A call that carries a
      // traceparent of the app's own is left alone, as Vigil leaves any header the app set.
      new UndiciInstrumentation({ ignoreRequestHook: hasOwnTraceparent }),
    );
  }
  if (layerSpans) instrumentations.push(new ExpressInstrumentation(), new KoaInstrumentation());
  try {
    addInstrumentations(instrumentations, plan.instrumentations);
  } catch (err) {
    // Instrumentations patch their modules when constructed: undo that, and the diag logger.
    for (const i of instrumentations) i.disable();
    removeDiag();
    throw err;
  }
  provider.register({ propagator: plan.propagator ?? null });
  setVigilPropagator(plan.propagator ?? noPropagator());
  const unregister = registerInstrumentations({ tracerProvider: provider, instrumentations });
  installOutgoingPropagation();
  runFetchPropagationLast();

  setTraceContextProvider(() => {
    const sc = trace.getActiveSpan()?.spanContext();
    if (sc === undefined || !isSpanContextValid(sc)) return undefined;
    return { traceId: sc.traceId, spanId: sc.spanId, sampled: (sc.traceFlags & 1) === 1 };
  });

  let shutdownPromise: Promise<void> | undefined;
  const tracing: Tracing = {
    disabled: false,
    provider,
    traces: plan.traces,
    providerFor(name) {
      checkServiceName(name);
      const other = new NodeTracerProvider({
        resource: withServiceName(resource, name),
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
    exporters: () => monitors.map((m) => m.status()),
  };
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
      // Last, so a failure of the final flush is still reported.
      removeDiag();
    }
  };
  return tracing;
}

/** The running setup, if startTracing() was called. */
export function getTracing(): Tracing | undefined {
  return running;
}
