// A pino logger writing parsed JSON lines into an array, to assert on what was logged and how often.
import pino from 'pino';

export interface LogLine {
  level: number;
  msg: string;
  component?: string;
  problem?: string;
  err?: string;
}

export interface CapturedLogger {
  logger: pino.Logger;
  lines: LogLine[];
  /** Lines whose `problem` includes `text`. */
  problems(text: string): LogLine[];
}

export function captureLogs(): CapturedLogger {
  const lines: LogLine[] = [];
  const logger = pino(
    { level: 'debug' },
    {
      write(line: string) {
        lines.push(JSON.parse(line) as LogLine);
      },
    },
  );
  return {
    logger,
    lines,
    problems: (text) => lines.filter((l) => l.problem?.includes(text)),
  };
}
