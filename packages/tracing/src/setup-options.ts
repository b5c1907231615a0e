// startTracing() options and the OTEL_* variables behind them, checked once into a frozen setup plan.
import type { Attributes, TextMapPropagator } from '@opentelemetry/api';
import {
  CompositePropagator,
  W3CBaggagePropagator,
  W3CTraceContextPropagator,
} from '@opentelemetry/core';
import type { Instrumentation } from '@opentelemetry/instrumentation';
import type { SpanExporter, SpanProcessor } from '@opentelemetry/sdk-trace-node';
import {
  type OptionContext,
  booleanOption,
  optionError,
  readOptions,
  stringOption,
  optionNames,
} from '@vigil/core';
import type { Registry } from 'prom-client';
import {
  type LogLevelName,
  type TracingLogger,
  TracingLog,
  invalidLogLevelMessage,
  resolveLogLevel,
  tracingLoggerOption,
} from './diag';
import { envValue, sdkDisabled } from './env';
import { type ExporterName, type ExporterPlan, resolveExporters } from './exporters';
import { type MetricsTarget, resolveRegistry } from './export-metrics';
import { GuardedPropagator } from './propagation';
import { type SamplerChoice, type SamplerName, resolveSampler } from './sampler';
import { TraceBuffer, type TraceBufferOptions } from './trace-buffer';

/** Options of startTracing(); most fall back to their standard OTEL_* variable. */
export interface TracingOptions {
  /** `service.name`. Default: `OTEL_SERVICE_NAME`, else OpenTelemetry's `unknown_service:node`. */
  serviceName?: string;
  /**
   * Extra resource attributes, merged over the detected ones and `OTEL_RESOURCE_ATTRIBUTES` (set
   * `service.instance.id` here to replace the random one). Default: none.
   */
  resourceAttributes?: Attributes;
  /** Sampler. Default: `OTEL_TRACES_SAMPLER`, else `parentbased_always_on`. */
  sampler?: SamplerName;
  /** Ratio for the ratio samplers, 0 to 1. Default: `OTEL_TRACES_SAMPLER_ARG`, else 1. */
  samplerRatio?: number;
  /**
   * Where spans go besides the trace buffer, each behind its own BatchSpanProcessor: `otlp` (protocol
   * from `OTEL_EXPORTER_OTLP_PROTOCOL`, http/protobuf by default), `console`, `none`, a SpanExporter,
   * or an array of these. Default: `OTEL_TRACES_EXPORTER` (comma-separated), else `otlp` when an OTLP
   * endpoint variable is set, else `none`.
   */
  exporter?: ExporterName | SpanExporter | (ExporterName | SpanExporter)[];
  /** Keep recent traces in memory for the live page (`false` to turn off). Default: on, 200 traces, 4 MiB. */
  traceBuffer?: boolean | TraceBufferOptions;
  /** Extra span processors (an in-memory exporter in tests, for instance). Default: none. */
  spanProcessors?: SpanProcessor[];
  /**
   * Client spans for outgoing calls: http/https (OpenTelemetry's http instrumentation) and fetch
   * (its undici instrumentation). Default: `true`.
   */
  httpClientSpans?: boolean;
  /** Spans for Express and Koa middleware layers, routers and handlers. Costly and noisy. Default: `false`. */
  layerSpans?: boolean;
  /**
   * More OpenTelemetry instrumentations (pg, ioredis, mongodb, ...), registered next to Vigil's own as
   * registerInstrumentations() takes them: nested arrays are flattened. Default: none.
   */
  instrumentations?: (Instrumentation | Instrumentation[])[];
  /**
   * Where startTracing() and OpenTelemetry's diagnostics (diag) write: pino, or anything with
   * `error`, `warn`, `info` and `debug` taking `(fields, message)`. Default: process warnings.
   */
  logger?: TracingLogger;
  /** Lowest level written to `logger`. Default: `OTEL_LOG_LEVEL`, else `info`. */
  logLevel?: LogLevelName;
  /**
   * prom-client registry for `tracing_spans_exported_total` and `tracing_spans_dropped_total`;
   * `false` for none. Default: prom-client's global registry when prom-client is installed, else none.
   */
  registry?: Registry | false;
}

/** Everything startTracing() needs, checked. */
export interface SetupPlan {
  /** OTEL_SDK_DISABLED=true: nothing is set up. */
  readonly disabled: boolean;
  readonly log: TracingLog;
  /** Warnings about variables read as their defaults, written once the log is ready. */
  readonly warnings: readonly string[];
  /** undefined for OTEL_PROPAGATORS=none. */
  readonly propagator: TextMapPropagator | undefined;
  readonly sampler: SamplerChoice;
  readonly exporters: readonly ExporterPlan[];
  readonly traces: TraceBuffer | undefined;
  readonly spanProcessors: readonly SpanProcessor[];
  readonly httpClientSpans: boolean;
  readonly layerSpans: boolean;
  readonly instrumentations: readonly Instrumentation[];
  readonly serviceName: string;
  readonly resourceAttributes: Attributes | undefined;
  readonly metrics: MetricsTarget | undefined;
}

const KNOWN = optionNames<TracingOptions>({
  serviceName: true,
  resourceAttributes: true,
  sampler: true,
  samplerRatio: true,
  exporter: true,
  traceBuffer: true,
  spanProcessors: true,
  httpClientSpans: true,
  layerSpans: true,
  instrumentations: true,
  logger: true,
  logLevel: true,
  registry: true,
});

/**
 * Checks every option (always: they are code) and the variables that apply: with OTEL_SDK_DISABLED=true
 * only OTEL_PROPAGATORS and OTEL_LOG_LEVEL, which the specification keeps in effect (propagators) or
 * which say how to report. Throws the coded errors; starts nothing.
 */
export function resolveSetup(
  ctx: OptionContext,
  options: unknown,
  argCount: number,
  env: NodeJS.ProcessEnv,
): SetupPlan {
  const o = readOptions<TracingOptions>(ctx, options, argCount, KNOWN);
  const logger = tracingLoggerOption(ctx, o.logger);
  const logLevel = resolveLogLevel(ctx, o.logLevel, envValue('OTEL_LOG_LEVEL', env));
  const warnings: string[] = [];
  if (logLevel.invalidEnv !== undefined) warnings.push(invalidLogLevelMessage(logLevel.invalidEnv));
  const disabled = sdkDisabled(env);
  if (disabled.invalid !== undefined) {
    warnings.push(
      `OTEL_SDK_DISABLED ${JSON.stringify(disabled.invalid)} is neither true nor false; read as false, the SDK starts`,
    );
  }
  // The SDK's own variables are not read when it is disabled: a kill switch must work even beside a
  // variable that would otherwise stop the start.
  const sdkEnv: NodeJS.ProcessEnv = disabled.value ? {} : env;

  const sampler = resolveSampler(ctx, o.sampler, o.samplerRatio, sdkEnv);
  const exporters = resolveExporters(ctx, o.exporter, sdkEnv);
  const traces = traceBufferOption(ctx, o.traceBuffer);
  const spanProcessors = spanProcessorsOption(ctx, o.spanProcessors);
  const instrumentations = instrumentationsOption(ctx, o.instrumentations);
  const metrics = resolveRegistry(ctx, o.registry);
  const resourceAttributes = o.resourceAttributes as unknown;
  if (
    resourceAttributes !== undefined &&
    (resourceAttributes === null ||
      typeof resourceAttributes !== 'object' ||
      Array.isArray(resourceAttributes))
  ) {
    throw optionError(
      ctx,
      'INVALID_OPTION',
      'resourceAttributes',
      'an object of attributes',
      resourceAttributes,
    );
  }

  return Object.freeze({
    disabled: disabled.value,
    log: new TracingLog(logger, logLevel.level),
    warnings: Object.freeze(warnings),
    propagator: buildPropagator(envValue('OTEL_PROPAGATORS', env), ctx),
    sampler,
    exporters: Object.freeze(exporters),
    traces,
    spanProcessors: Object.freeze(spanProcessors),
    httpClientSpans: booleanOption(ctx, 'httpClientSpans', o.httpClientSpans, true),
    layerSpans: booleanOption(ctx, 'layerSpans', o.layerSpans, false),
    instrumentations: Object.freeze(instrumentations),
    serviceName: stringOption(ctx, 'serviceName', o.serviceName, ''),
    resourceAttributes: resourceAttributes as Attributes | undefined,
    metrics,
  });
}

function traceBufferOption(ctx: OptionContext, value: unknown): TraceBuffer | undefined {
  if (
    value !== undefined &&
    typeof value !== 'boolean' &&
    (value === null || typeof value !== 'object')
  ) {
    throw optionError(
      ctx,
      'INVALID_OPTION',
      'traceBuffer',
      'a boolean or { maxTraces, maxBytes, maxSpansPerTrace }',
      value,
    );
  }
  if (value === false) return undefined;
  return new TraceBuffer(typeof value === 'object' ? value : {});
}

function spanProcessorsOption(ctx: OptionContext, value: unknown): SpanProcessor[] {
  if (value === undefined) return [];
  if (
    !Array.isArray(value) ||
    !value.every((p) => typeof (p as SpanProcessor | null)?.onEnd === 'function')
  ) {
    throw optionError(ctx, 'INVALID_OPTION', 'spanProcessors', 'an array of SpanProcessors', value);
  }
  return [...(value as SpanProcessor[])];
}

function isInstrumentation(value: unknown): value is Instrumentation {
  if (value === null || typeof value !== 'object') return false;
  const i = value as Record<string, unknown>;
  return (
    typeof i.instrumentationName === 'string' &&
    typeof i.enable === 'function' &&
    typeof i.disable === 'function' &&
    typeof i.setTracerProvider === 'function'
  );
}

/** The `instrumentations` option flattened (nested arrays, as registerInstrumentations() takes them). */
function instrumentationsOption(ctx: OptionContext, value: unknown): Instrumentation[] {
  if (value === undefined) return [];
  const expected = 'an array of OpenTelemetry instrumentations (nested arrays are flattened)';
  if (!Array.isArray(value))
    throw optionError(ctx, 'INVALID_OPTION', 'instrumentations', expected, value);
  const flat: unknown[] = value.flat(Infinity);
  for (let i = 0; i < flat.length; i++) {
    if (!isInstrumentation(flat[i])) {
      throw optionError(
        ctx,
        'INVALID_OPTION',
        'instrumentations',
        `${expected}; item ${i} (after flattening) is not one`,
        flat[i],
        'Pass instances: new IORedisInstrumentation(), not the class or a module.',
      );
    }
  }
  return flat as Instrumentation[];
}

/** OTEL_PROPAGATORS (default tracecontext,baggage): Vigil's guarded W3C propagators, or none. */
function buildPropagator(
  spec: string | undefined,
  ctx: OptionContext,
): TextMapPropagator | undefined {
  // Deduplicated, so each propagator is registered once (the specification's rule).
  const names = new Set(
    (spec ?? 'tracecontext,baggage')
      .split(',')
      .map((s) => s.trim().toLowerCase())
      .filter(Boolean),
  );
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

/** A propagator that injects and extracts nothing (OTEL_PROPAGATORS=none). */
export function noPropagator(): TextMapPropagator {
  return new CompositePropagator({ propagators: [] });
}
