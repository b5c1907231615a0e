// A logger that keeps what it is given, shaped like pino's methods: (fields, message).
import type { TracingLogger } from '@vigil/tracing';

export type CapturedLevel = 'error' | 'warn' | 'info' | 'debug' | 'trace';

export interface CapturedLine {
  level: CapturedLevel;
  fields: Record<string, unknown>;
  msg: string;
}

export interface LogCapture {
  logger: TracingLogger & { trace(obj: object, msg?: string): void };
  lines: CapturedLine[];
  /** Lines at `level`, optionally only those whose fields include `fields`. */
  at(level: CapturedLevel, fields?: Record<string, unknown>): CapturedLine[];
}

export function captureLogger(): LogCapture {
  const lines: CapturedLine[] = [];
  const method =
    (level: CapturedLevel) =>
    (obj: object, msg?: string): void => {
      lines.push({ level, fields: { ...obj }, msg: msg ?? '' });
    };
  return {
    logger: {
      error: method('error'),
      warn: method('warn'),
      info: method('info'),
      debug: method('debug'),
      trace: method('trace'),
    },
    lines,
    at(level, fields = {}) {
      return lines.filter(
        (l) => l.level === level && Object.entries(fields).every(([k, v]) => l.fields[k] === v),
      );
    },
  };
}
