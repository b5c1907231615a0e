// A pino destination that keeps lines in memory, temp directories, and loggers closed after each test.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type AuditEvent,
  type AuditLogger,
  type AuditLoggerOptions,
  createAuditLogger,
  setDefaultAuditLogger,
} from '@vigil/audit';

/** A destination stream that collects written chunks. */
export class MemoryDestination {
  readonly chunks: string[] = [];
  write(chunk: string): boolean {
    this.chunks.push(chunk);
    return true;
  }
  /** The whole output. */
  get text(): string {
    return this.chunks.join('');
  }
  /** Non-empty lines written. */
  get lines(): string[] {
    return this.text.split('\n').filter((l) => l !== '');
  }
  /** Lines parsed as JSON. */
  get events(): AuditEvent[] {
    return this.lines.map((l) => JSON.parse(l) as AuditEvent);
  }
}

const open = new Set<AuditLogger>();
const dirs: string[] = [];

/**
 * A logger on a memory destination (unless `destination` is given), without signal handlers or the
 * global registry, closed by cleanup().
 */
export function memoryLogger(options: AuditLoggerOptions = {}): {
  logger: AuditLogger;
  out: MemoryDestination;
} {
  const out = new MemoryDestination();
  const logger = createAuditLogger({
    destination: out,
    signals: false,
    registry: false,
    default: false,
    ...options,
  });
  open.add(logger);
  return { logger, out };
}

/** createAuditLogger() with the same test defaults, for loggers a test builds from its own options. */
export function track(logger: AuditLogger): AuditLogger {
  open.add(logger);
  return logger;
}

/** A fresh temporary directory, removed by cleanup(). */
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-audit-'));
  dirs.push(dir);
  return dir;
}

/** Closes every logger the helpers made, clears the default logger, removes temp directories. */
export async function cleanup(): Promise<void> {
  const loggers = [...open];
  open.clear();
  await Promise.all(loggers.map((l) => l.close()));
  setDefaultAuditLogger(undefined);
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** A small valid event. */
export function loginEvent(i = 0): { type: string; outcome: 'success'; actor: string } {
  return { type: 'auth.login', outcome: 'success', actor: `user-${i}` };
}
