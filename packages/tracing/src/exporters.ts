// Span exporters from the `exporter` option or OTEL_TRACES_EXPORTER (a list), OTLP as http/protobuf or
// http/json, each behind its own batch processor and watched: a failure reported once per outage, the
// recovery with the outage's length and losses, and every span counted.
import {
  type Attributes,
  type Counter,
  type MeterProvider,
  createNoopMeter,
} from '@opentelemetry/api';
import { type ExportResult, ExportResultCode } from '@opentelemetry/core';
import { OTLPTraceExporter as OtlpJsonTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as OtlpProtoTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import {
  BatchSpanProcessor,
  type BufferConfig,
  ConsoleSpanExporter,
  type ReadableSpan,
  type SpanExporter,
} from '@opentelemetry/sdk-trace-node';
import { type OptionContext, describeValue, optionError } from '@vigil/core';
import { REPORTED_MARK, type TracingLog } from './diag';
import { envValue } from './env';
import type { ExportCounts } from './export-metrics';

/** Exporter names, as OTEL_TRACES_EXPORTER spells them. */
export type ExporterName = 'otlp' | 'console' | 'none';
/** OTLP encodings Vigil speaks (OTEL_EXPORTER_OTLP_PROTOCOL); `grpc` is not one of them. */
export type OtlpProtocol = 'http/protobuf' | 'http/json';
/** The specification's default OTLP protocol. */
export const DEFAULT_OTLP_PROTOCOL: OtlpProtocol = 'http/protobuf';

const NAMES: readonly ExporterName[] = ['otlp', 'console', 'none'];
const OPTION_EXPECTED = '"otlp", "console", "none", a SpanExporter, or an array of them';
const ENV_EXPECTED = 'a comma-separated list of "otlp" and "console", or "none"';
const NONE_ALONE =
  '"none" means no exporter, so it cannot be listed with others (the OpenTelemetry specification does not define such a list): drop "none", or list it alone.';

/** A span exporter's state, as `Tracing.exporters()` reports it (a readiness check reads it). */
export interface ExporterStatus {
  /** The name its reports and metric series carry (`otlp`, `console`, a class name). */
  readonly name: string;
  /** True between a failed export and the next successful one. */
  readonly failing: boolean;
  /** When the current outage began (ms since the epoch); undefined when not failing. */
  readonly failingSince: number | undefined;
  /** Spans lost in the current outage (failed exports and full-queue drops); 0 when not failing. */
  readonly lostSpans: number;
}

/** One exporter to create, and the name its reports and metric series carry. */
export interface ExporterPlan {
  readonly name: string;
  readonly create: () => SpanExporter;
}

function isSpanExporter(value: unknown): value is SpanExporter {
  if (value === null || typeof value !== 'object') return false;
  const e = value as Record<string, unknown>;
  return typeof e.export === 'function' && typeof e.shutdown === 'function';
}

/** A custom exporter's label: its class name, or `custom`. Bounded by the app's code, not by traffic. */
function customName(exporter: SpanExporter): string {
  const name = (exporter as { constructor?: { name?: unknown } }).constructor?.name;
  return typeof name === 'string' && name !== '' && name !== 'Object' ? name : 'custom';
}

/**
 * The exporters to create, from the `exporter` option (a name, a SpanExporter, or an array of them),
 * else OTEL_TRACES_EXPORTER (comma-separated, case-insensitive), else `otlp` when an OTLP endpoint
 * variable is set, else none. Unknown names, an empty list and `none` beside other names are coded
 * errors; so is an OTLP protocol other than http/protobuf or http/json when `otlp` is chosen.
 */
export function resolveExporters(
  ctx: OptionContext,
  option: unknown,
  env: NodeJS.ProcessEnv,
): ExporterPlan[] {
  const choices: (ExporterName | SpanExporter)[] = [];
  if (option !== undefined) {
    const list: unknown[] = Array.isArray(option) ? option : [option];
    for (const item of list) {
      if (typeof item === 'string' && (NAMES as string[]).includes(item)) {
        choices.push(item as ExporterName);
      } else if (isSpanExporter(item)) {
        choices.push(item);
      } else {
        const hint =
          typeof item === 'string' && item.includes(',')
            ? 'Pass a list as an array: ["otlp", "console"].'
            : undefined;
        throw optionError(ctx, 'INVALID_OPTION', 'exporter', OPTION_EXPECTED, option, hint);
      }
    }
    if (choices.length === 0) {
      throw optionError(
        ctx,
        'INVALID_OPTION',
        'exporter',
        OPTION_EXPECTED,
        option,
        'Use "none" for no exporter.',
      );
    }
    if (choices.includes('none') && choices.length > 1) {
      throw optionError(ctx, 'INVALID_OPTION', 'exporter', OPTION_EXPECTED, option, NONE_ALONE);
    }
  } else {
    const raw = envValue('OTEL_TRACES_EXPORTER', env);
    const names = [
      ...new Set(
        (raw ?? '')
          .split(',')
          .map((s) => s.trim().toLowerCase())
          .filter(Boolean),
      ),
    ];
    for (const name of names) {
      if (!(NAMES as string[]).includes(name)) {
        throw optionError(ctx, 'INVALID_OPTION', 'OTEL_TRACES_EXPORTER', ENV_EXPECTED, raw);
      }
    }
    if (names.includes('none') && names.length > 1) {
      throw optionError(
        ctx,
        'INVALID_OPTION',
        'OTEL_TRACES_EXPORTER',
        ENV_EXPECTED,
        raw,
        NONE_ALONE,
      );
    }
    if (names.length > 0) choices.push(...(names as ExporterName[]));
    else {
      const endpoint =
        envValue('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', env) ??
        envValue('OTEL_EXPORTER_OTLP_ENDPOINT', env);
      choices.push(endpoint !== undefined ? 'otlp' : 'none');
    }
  }

  const plans: ExporterPlan[] = [];
  const seen = new Set<string>();
  for (const choice of choices) {
    if (choice === 'none') continue;
    if (typeof choice !== 'string') {
      plans.push({ name: customName(choice), create: () => choice });
      continue;
    }
    // A name listed twice gives one exporter (the specification deduplicates OTEL_PROPAGATORS alike).
    if (seen.has(choice)) continue;
    seen.add(choice);
    if (choice === 'console') {
      plans.push({ name: 'console', create: () => new ConsoleSpanExporter() });
    } else {
      const protocol = resolveProtocol(ctx, env);
      plans.push({
        name: 'otlp',
        // Both read the endpoint, headers, timeout, compression and certificates from OTEL_* themselves.
        create: () =>
          protocol === 'http/json' ? new OtlpJsonTraceExporter() : new OtlpProtoTraceExporter(),
      });
    }
  }
  return plans;
}

/**
 * OTEL_EXPORTER_OTLP_TRACES_PROTOCOL, else OTEL_EXPORTER_OTLP_PROTOCOL, else http/protobuf (the
 * specification's default). `grpc` is valid OpenTelemetry but not spoken here: a coded error naming the
 * alternative rather than a silent switch to another protocol on the same port.
 */
export function resolveProtocol(ctx: OptionContext, env: NodeJS.ProcessEnv): OtlpProtocol {
  const fromTraces = envValue('OTEL_EXPORTER_OTLP_TRACES_PROTOCOL', env);
  const variable =
    fromTraces !== undefined ? 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL' : 'OTEL_EXPORTER_OTLP_PROTOCOL';
  const raw = fromTraces ?? envValue('OTEL_EXPORTER_OTLP_PROTOCOL', env);
  if (raw === undefined) return DEFAULT_OTLP_PROTOCOL;
  const value = raw.trim().toLowerCase();
  if (value === 'http/protobuf' || value === 'http/json') return value;
  if (value === 'grpc') {
    throw optionError(
      ctx,
      'UNSUPPORTED_PROTOCOL',
      variable,
      '"http/protobuf" or "http/json"',
      raw,
      'Vigil exports OTLP over HTTP only: use http/protobuf (the specification\'s default; collectors take it on port 4318, gRPC is on 4317, so check the endpoint too), or pass a gRPC SpanExporter as the "exporter" option.',
    );
  }
  throw optionError(ctx, 'INVALID_OPTION', variable, '"http/protobuf" or "http/json"', raw);
}

/** A readable one-line cause: Node's dual-stack connect failures are AggregateErrors without a message. */
export function describeExportError(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0) {
    const causes = [...new Set(error.errors.map((e) => describeExportError(e)))];
    return causes.join('; ');
  }
  if (error instanceof Error) {
    const { code } = error as { code?: unknown };
    const text = error.message || (typeof code === 'string' ? code : '') || error.name;
    // OTLPExporterError carries the HTTP status as a number code.
    return typeof code === 'number' ? `${text} (HTTP ${code})` : text;
  }
  if (error === undefined) return 'the export failed';
  return typeof error === 'string' ? error : describeValue(error);
}

/** The error handed on to the batch processor, marked as reported (see REPORTED_MARK). */
function reportedError(error: unknown): Error {
  const err = error instanceof Error ? error : new Error(describeExportError(error));
  try {
    Object.defineProperty(err, REPORTED_MARK, { value: true, configurable: true });
  } catch {
    // A frozen error: its per-batch copy stays at error level.
  }
  return err;
}

interface Outage {
  /** When the first failed export of the outage started. */
  readonly startedAt: number;
  failedSpans: number;
}

/**
 * Wraps an exporter: counts the spans of every export by outcome, writes one warn line when exports
 * start failing and one info line when one succeeds again (how long it was down, how many spans were
 * lost: those of failed exports and those the batch queue dropped meanwhile). Never throws.
 */
export class MonitoredExporter implements SpanExporter {
  private outage: Outage | undefined;
  private droppedSinceSuccess = 0;

  constructor(
    private readonly inner: SpanExporter,
    readonly name: string,
    private readonly log: TracingLog,
    private readonly counts: ExportCounts,
    private readonly now: () => number = Date.now,
  ) {}

  /** True between a failed export and the next successful one. */
  get failing(): boolean {
    return this.outage !== undefined;
  }

  /** Its state now: failing or not, since when, and the spans lost in the current outage. */
  status(): ExporterStatus {
    const outage = this.outage;
    return outage === undefined
      ? { name: this.name, failing: false, failingSince: undefined, lostSpans: 0 }
      : {
          name: this.name,
          failing: true,
          failingSince: outage.startedAt,
          lostSpans: outage.failedSpans + this.droppedSinceSuccess,
        };
  }

  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    const startedAt = this.now();
    let settled = false;
    const finish = (result: ExportResult): void => {
      if (settled) return;
      settled = true;
      let passed = result;
      try {
        passed = this.record(spans.length, result, startedAt);
      } catch {
        // Counting must not keep the batch processor waiting.
      }
      resultCallback(passed);
    };
    try {
      this.inner.export(spans, finish);
    } catch (err) {
      finish({
        code: ExportResultCode.FAILED,
        error: err instanceof Error ? err : new Error(String(err)),
      });
    }
  }

  /** Spans the batch processor dropped because its queue was full. */
  noteDropped(spans: number): void {
    this.droppedSinceSuccess += spans;
    this.counts.dropped(this.name, 'queue_full', spans);
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve();
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }

  private record(spans: number, result: ExportResult, startedAt: number): ExportResult {
    if (result.code === ExportResultCode.SUCCESS) {
      this.counts.exported(this.name, 'success', spans);
      const outage = this.outage;
      if (outage !== undefined) {
        this.outage = undefined;
        const downMs = Math.max(0, this.now() - outage.startedAt);
        const lost = outage.failedSpans + this.droppedSinceSuccess;
        this.log.write(
          'info',
          `span exporter "${this.name}" recovered after ${(downMs / 1000).toFixed(1)} s; ${lost} spans were lost`,
          {
            exporter: this.name,
            downMs,
            lostSpans: lost,
            failedSpans: outage.failedSpans,
            droppedSpans: this.droppedSinceSuccess,
          },
        );
      }
      this.droppedSinceSuccess = 0;
      return result;
    }
    this.counts.exported(this.name, 'failure', spans);
    const error = reportedError(result.error);
    if (this.outage === undefined) {
      this.outage = { startedAt, failedSpans: spans };
      const cause = describeExportError(result.error);
      this.log.write(
        'warn',
        `span exporter "${this.name}" is failing, spans are lost until it recovers: ${cause}`,
        { exporter: this.name, err: cause, spans },
      );
    } else {
      this.outage.failedSpans += spans;
    }
    return { code: ExportResultCode.FAILED, error };
  }
}

// The batch processor's self-observability counter: it counts each span it has finished with, and
// marks with `error.type: queue_full` the ones it dropped because its queue was full.
const PROCESSED_SPANS = 'otel.sdk.processor.span.processed';

/** A meter provider that hears only the batch processor's queue_full drops. */
function dropListener(monitor: MonitoredExporter): MeterProvider {
  const listening: Pick<Counter, 'add'> = {
    add(value: number, attributes?: Attributes) {
      if (attributes?.['error.type'] === 'queue_full') monitor.noteDropped(value);
    },
  };
  const meter = Object.assign(
    Object.create(createNoopMeter()) as ReturnType<typeof createNoopMeter>,
    {
      createCounter(name: string) {
        return name === PROCESSED_SPANS ? listening : createNoopMeter().createCounter(name);
      },
    },
  );
  return { getMeter: () => meter };
}

/**
 * The batch processor in front of `monitor`. Its OTEL_BSP_* variables are read by the processor itself;
 * `selfObsMeterProvider` is how OpenTelemetry reports queue drops (experimental in SDK 2.x, not in
 * BufferConfig's type yet, passed through to the processor: a test pins that drops are still counted).
 */
export function batchProcessor(monitor: MonitoredExporter): BatchSpanProcessor {
  const config = { selfObsMeterProvider: dropListener(monitor) } as BufferConfig;
  return new BatchSpanProcessor(monitor, config);
}
