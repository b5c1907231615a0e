// The bound on what a request logger's destination holds in memory: a real pino.destination()
// (SonicBoom, asynchronous) to a file, given more lines in one turn of the event loop than its bound,
// as a server faster than its disk would give it; what it dropped is counted, what it kept is written.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_MAX_PENDING_BYTES,
  expressRequestLogger,
  requestLoggingStatus,
} from '@vigil/logging';

const dir = mkdtempSync(join(tmpdir(), 'vigil-log-bound-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The lines in `file` so far. */
function linesOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return text === '' ? [] : text.trimEnd().split('\n');
}

describe('the bound on the destination', () => {
  it('should give a SonicBoom without maxLength the default bound, and keep one the app set', () => {
    const unbounded = pino.destination({ dest: join(dir, 'a.log'), sync: false });
    expressRequestLogger({ destination: unbounded });
    expect((unbounded as unknown as { maxLength: number }).maxLength).toBe(
      DEFAULT_MAX_PENDING_BYTES,
    );
    const own = pino.destination({ dest: join(dir, 'b.log'), sync: false, maxLength: 1024 });
    expressRequestLogger({ destination: own });
    expect((own as unknown as { maxLength: number }).maxLength).toBe(1024);
    // Many request loggers on one destination: one listener for its drops.
    for (let i = 0; i < 20; i++) expressRequestLogger({ destination: own });
    expect(own.listenerCount('drop')).toBe(1);
  });

  it('should bound standard output, where pino writes when no destination is given', () => {
    const { logger } = expressRequestLogger();
    const stream = (logger as unknown as Record<symbol, { maxLength?: number; sync?: boolean }>)[
      pino.symbols.streamSym
    ];
    expect(stream?.sync).toBe(false);
    expect(stream?.maxLength).toBe(DEFAULT_MAX_PENDING_BYTES);
  });

  it('should leave a synchronous SonicBoom and any other stream as they are', () => {
    const sync = pino.destination({ dest: join(dir, 'sync.log'), sync: true });
    expressRequestLogger({ destination: sync });
    expect((sync as unknown as { maxLength: number }).maxLength).toBe(0);
    const sink = new Writable({ write: (_chunk, _enc, done) => done() });
    expressRequestLogger({ destination: sink });
    expect('maxLength' in sink).toBe(false);
  });

  it('should drop what goes beyond the bound, count it, warn once, and write the rest', async () => {
    const file = join(dir, 'flood.log');
    const limit = 256 * 1024;
    const destination = pino.destination({ dest: file, sync: false, maxLength: limit });
    // Open first, as a server's log file is by the time load comes.
    await new Promise((resolve) => destination.once('ready', resolve));
    const { logger } = expressRequestLogger({ destination });
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.message);
    process.on('warning', onWarning);
    const before = requestLoggingStatus().dropped;
    // About 1 MB in one turn: SonicBoom writes at most one chunk meanwhile, so most must wait.
    const total = 4000;
    const padding = 'x'.repeat(200);
    for (let i = 0; i < total; i++) logger.info({ i, padding }, 'line');
    const dropped = requestLoggingStatus().dropped - before;
    // SonicBoom writes what it kept on later turns.
    await expect.poll(() => linesOf(file).length, { timeout: 10_000 }).toBe(total - dropped);
    process.off('warning', onWarning);
    const written = linesOf(file);
    console.log(
      `flood of ${total} lines into a ${limit}-byte bound: ${dropped} dropped, ${written.length} written`,
    );
    expect(dropped).toBeGreaterThan(0);
    // Whole lines only, in order.
    const numbers = written.map((line) => (JSON.parse(line) as { i: number }).i);
    expect(numbers).toEqual([...numbers].sort((a, b) => a - b));
    expect(warnings.filter((m) => m.includes('the log destination fell behind'))).toHaveLength(1);
  });
});
