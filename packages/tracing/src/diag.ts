// startTracing()'s own log: the `logger` option or process warnings, OTEL_LOG_LEVEL, and OpenTelemetry's
// diagnostic logger (diag) routed through it.
import { formatWithOptions } from 'node:util';
import { type DiagLogger, DiagLogLevel, diag } from '@opentelemetry/api';
import { type OptionContext, emitVigilWarning, hasMethod, optionError } from '@vigil/core';

/** What startTracing() logs to: pino, or anything with these four methods taking `(fields, message)`. */
export interface TracingLogger {
  error(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
}

/** OTEL_LOG_LEVEL values, as the OpenTelemetry JS SDK reads them (case-insensitive there). */
export type LogLevelName = 'none' | 'error' | 'warn' | 'info' | 'debug' | 'verbose' | 'all';

/** The OpenTelemetry diag level of each name. */
export const LOG_LEVELS: Readonly<Record<LogLevelName, DiagLogLevel>> = Object.freeze({
  none: DiagLogLevel.NONE,
  error: DiagLogLevel.ERROR,
  warn: DiagLogLevel.WARN,
  info: DiagLogLevel.INFO,
  debug: DiagLogLevel.DEBUG,
  verbose: DiagLogLevel.VERBOSE,
  all: DiagLogLevel.ALL,
});

/** The specification's default for OTEL_LOG_LEVEL, and OpenTelemetry JS's for diag.setLogger(). */
export const DEFAULT_LOG_LEVEL: LogLevelName = 'info';

/** The level of one line. */
export type LineLevel = 'error' | 'warn' | 'info' | 'debug' | 'verbose';

const COMPONENT = '@vigil/tracing';
const NAMES = Object.keys(LOG_LEVELS) as LogLevelName[];
const MAX_LINE = 2000;

/**
 * Writes startTracing()'s lines at or above its level: to the logger as `(fields, message)`, each with
 * `component: "@vigil/tracing"`, or as process warnings (code `VIGIL_WARNING`) when there is none.
 * Never throws: a broken logger must not break tracing.
 */
export class TracingLog {
  constructor(
    private readonly logger: TracingLogger | undefined,
    readonly level: DiagLogLevel,
  ) {}

  enabled(level: LineLevel): boolean {
    return LOG_LEVELS[level] <= this.level;
  }

  write(level: LineLevel, message: string, fields: Record<string, unknown> = {}): void {
    if (!this.enabled(level)) return;
    try {
      const logger = this.logger;
      if (logger === undefined) {
        emitVigilWarning(COMPONENT, message);
        return;
      }
      const line = { component: COMPONENT, ...fields };
      if (level !== 'verbose') {
        logger[level](line, message);
        return;
      }
      // pino has trace() below debug(); other loggers get verbose lines at debug.
      const trace = (logger as { trace?: unknown }).trace;
      if (typeof trace === 'function')
        (trace as TracingLogger['debug']).call(logger, line, message);
      else logger.debug(line, message);
    } catch {
      // Nothing to report it to.
    }
  }
}

/** The `logger` option: undefined, or an object with error(), warn(), info() and debug(). */
export function tracingLoggerOption(ctx: OptionContext, value: unknown): TracingLogger | undefined {
  if (value === undefined) return undefined;
  const missing = ['error', 'warn', 'info', 'debug'].filter((m) => !hasMethod(value, m));
  if (missing.length > 0) {
    throw optionError(
      ctx,
      'INVALID_OPTION',
      'logger',
      `a logger with error(), warn(), info() and debug() methods (pino works; missing: ${missing.map((m) => `${m}()`).join(', ')})`,
      value,
    );
  }
  return value as TracingLogger;
}

/** The resolved level; `invalidEnv` holds an OTEL_LOG_LEVEL value that was ignored. */
export interface ResolvedLogLevel {
  readonly name: LogLevelName;
  readonly level: DiagLogLevel;
  readonly invalidEnv: string | undefined;
}

/**
 * The `logLevel` option (a coded error when invalid: it is code), else OTEL_LOG_LEVEL, else `info`.
 * An OTEL_LOG_LEVEL the SDK does not recognise is ignored with a warning, as the OpenTelemetry
 * environment specification requires of enum variables ("MUST generate a warning and gracefully
 * ignore the setting").
 */
export function resolveLogLevel(
  ctx: OptionContext,
  option: unknown,
  env: string | undefined,
): ResolvedLogLevel {
  if (option !== undefined) {
    if (typeof option !== 'string' || !(NAMES as string[]).includes(option)) {
      throw optionError(ctx, 'INVALID_OPTION', 'logLevel', `one of ${NAMES.join(', ')}`, option);
    }
    return {
      name: option as LogLevelName,
      level: LOG_LEVELS[option as LogLevelName],
      invalidEnv: undefined,
    };
  }
  const raw = env?.trim().toLowerCase() ?? '';
  if (raw === '') return { name: DEFAULT_LOG_LEVEL, level: LOG_LEVELS.info, invalidEnv: undefined };
  if ((NAMES as string[]).includes(raw)) {
    return {
      name: raw as LogLevelName,
      level: LOG_LEVELS[raw as LogLevelName],
      invalidEnv: undefined,
    };
  }
  return { name: DEFAULT_LOG_LEVEL, level: LOG_LEVELS.info, invalidEnv: env };
}

/** The warning written for an ignored OTEL_LOG_LEVEL. */
export function invalidLogLevelMessage(value: string): string {
  return `OTEL_LOG_LEVEL ${JSON.stringify(value)} is not one of ${NAMES.join(', ')}; using ${DEFAULT_LOG_LEVEL}`;
}

/**
 * Marks an export error Vigil has already reported, so its per-batch copy that OpenTelemetry's batch
 * processor passes to the global error handler (which writes `diag.error(JSON of the error)`) is
 * written at debug. A property, not a WeakSet: the handler lives in whichever copy of
 * @opentelemetry/core the processor loaded, which need not be the one Vigil imports.
 */
export const REPORTED_MARK = 'vigilExportReported';

// OpenTelemetry's OTLP transport writes each failed export at info ("Export failed after maximum
// retry attempts", "Export retry time ... exceeds remaining timeout"). Vigil reports every failure
// outcome itself, once per outage, so these per-batch lines go to debug.
const PER_EXPORT = /^Export (failed|retry time)/;
// The batch processor warns each time it resumes queueing after a full queue; during an outage Vigil's
// recovery line counts those spans, so the repeats go to debug then.
const QUEUE_DROPS = /^Dropped \d+ spans because maxQueueSize reached/;

/** The level a diag line is written at: OpenTelemetry's, or debug for the per-batch repeats above. */
export function diagLineLevel(level: LineLevel, message: string, inOutage: boolean): LineLevel {
  if (level === 'debug' || level === 'verbose') return level;
  if (PER_EXPORT.test(message)) return 'debug';
  if (level === 'error' && message.includes(`"${REPORTED_MARK}":"true"`)) return 'debug';
  if (inOutage && QUEUE_DROPS.test(message)) return 'debug';
  return level;
}

/** OpenTelemetry's diag lines, formatted (printf-style arguments applied) and bounded in length. */
class DiagBridge implements DiagLogger {
  constructor(
    private readonly log: TracingLog,
    private readonly inOutage: () => boolean,
  ) {}

  error(message: string, ...args: unknown[]): void {
    this.forward('error', message, args);
  }
  warn(message: string, ...args: unknown[]): void {
    this.forward('warn', message, args);
  }
  info(message: string, ...args: unknown[]): void {
    this.forward('info', message, args);
  }
  debug(message: string, ...args: unknown[]): void {
    this.forward('debug', message, args);
  }
  verbose(message: string, ...args: unknown[]): void {
    this.forward('verbose', message, args);
  }

  private forward(level: LineLevel, message: unknown, args: unknown[]): void {
    const first = typeof message === 'string' ? message : String(message);
    const at = diagLineLevel(level, first, this.inOutage());
    if (!this.log.enabled(at)) return;
    let text: string;
    try {
      // Debug lines carry whole span batches: depth and lengths are cut so one line stays small.
      text = formatWithOptions(
        { depth: 2, breakLength: Infinity, maxArrayLength: 10, maxStringLength: 200 },
        first,
        ...args,
      );
    } catch {
      text = first;
    }
    if (text.length > MAX_LINE) text = `${text.slice(0, MAX_LINE)}...`;
    this.log.write(at, text, { source: 'opentelemetry' });
  }
}

/**
 * Routes OpenTelemetry's diag through `log` at its level (replacing any diag logger set before).
 * Returns the function that removes it again.
 */
export function installDiag(log: TracingLog, inOutage: () => boolean): () => void {
  diag.setLogger(new DiagBridge(log, inOutage), {
    logLevel: log.level,
    suppressOverrideMessage: true,
  });
  return () => diag.disable();
}
