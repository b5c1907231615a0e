// What the logger writes: the line's fields, the hashing rule, chains across restarts, destinations.
import {
  appendFileSync,
  closeSync,
  existsSync,
  openSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type AuditEvent, ZERO_HASH, createAuditLogger, verifyAuditLog } from '@vigil/audit';
import { expectedHash, rehash } from './support/chain';
import { cleanup, loginEvent, memoryLogger, tempDir, track } from './support/memory';

afterEach(cleanup);

const quiet = { signals: false, registry: false, default: false } as const;
const readLines = (file: string) =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l !== '');
const parse = (line: string) => JSON.parse(line) as AuditEvent & Record<string, unknown>;

describe('written lines', () => {
  it('should write the documented fields, in order, and nothing else', () => {
    const { logger, out } = memoryLogger({ service: 'gateway' });
    logger.record({
      metadata: { m: 1 },
      span_id: '00f067aa0ba902b7',
      trace_id: '4bf92f3577b34da6a3ce929d0e0e4736',
      correlation_id: 'corr',
      request_id: 'req',
      client_ip: '192.0.2.1',
      reason: 'why',
      resource: 'user:1',
      action: 'login',
      actor: 'bob',
      outcome: 'success',
      type: 'auth.login',
    });
    expect(Object.keys(parse(out.lines[0] as string))).toEqual([
      'level',
      'time',
      'type',
      'outcome',
      'actor',
      'action',
      'resource',
      'reason',
      'client_ip',
      'request_id',
      'correlation_id',
      'trace_id',
      'span_id',
      'service',
      'metadata',
      'chain',
      'seq',
      'prev_hash',
      'hash',
    ]);
    const minimal = logger.record({ type: 'auth.logout', outcome: 'unknown' });
    expect(Object.keys(minimal)).toEqual([
      'level',
      'time',
      'type',
      'outcome',
      'service',
      'chain',
      'seq',
      'prev_hash',
      'hash',
    ]);
    expect(parse(out.lines[1] as string)).toEqual(minimal);
  });

  it('should stamp time as an ISO string in UTC and level as 30', () => {
    const { logger } = memoryLogger();
    const before = Date.now();
    const event = logger.record(loginEvent());
    expect(event.level).toBe(30);
    expect(event.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(Date.parse(event.time)).toBeGreaterThanOrEqual(before);
  });

  it('should chain events with the documented hash rule', () => {
    const { logger, out } = memoryLogger();
    for (let i = 0; i < 5; i++)
      logger.record({ ...loginEvent(i), metadata: { z: 1, a: [i, { y: 2, b: 1 }] } });
    const events = out.lines.map(parse);
    const chain = events[0]?.chain;
    expect(chain).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    events.forEach((e, i) => {
      expect(e.chain).toBe(chain);
      expect(e.seq).toBe(i + 1);
      expect(e.prev_hash).toBe(i === 0 ? ZERO_HASH : events[i - 1]?.hash);
      expect(e.hash).toBe(expectedHash(e));
    });
  });

  it('should return the event as written, frozen', () => {
    const { logger, out } = memoryLogger();
    const event = logger.record({ ...loginEvent(), metadata: { list: [1] } });
    expect(event).toEqual(parse(out.lines[0] as string));
    expect(Object.isFrozen(event)).toBe(true);
    expect(Object.isFrozen(event.metadata?.list)).toBe(true);
  });

  it('should report head()', () => {
    const { logger } = memoryLogger();
    expect(logger.head()).toBeUndefined();
    logger.record(loginEvent());
    const last = logger.record(loginEvent());
    expect(logger.head()).toEqual({ chain: last.chain, seq: 2, hash: last.hash });
  });

  it('should write metadata nested 16 levels deep in full (pino depth limits do not apply)', () => {
    const { logger, out } = memoryLogger();
    let metadata: Record<string, unknown> = { leaf: 'x' };
    for (let i = 1; i < 16; i++) metadata = { n: metadata, i };
    metadata.list = [1, [2, [3, [4, [5, [6]]]]]];
    const event = logger.record({ ...loginEvent(), metadata });
    expect(parse(out.lines[0] as string).metadata).toEqual(event.metadata);
    expect(verifyAuditLog(out.text).ok).toBe(true);
  });
});

describe('restarts', () => {
  it('should continue the chain of the file it appends to (resume, the default for a path)', async () => {
    const file = join(tempDir(), 'logs', 'audit.log');
    const first = track(createAuditLogger({ ...quiet, destination: file }));
    for (let i = 0; i < 3; i++) first.record(loginEvent(i));
    await first.close();
    const second = track(createAuditLogger({ ...quiet, destination: file }));
    const last = readLines(file).map(parse).at(-1);
    expect(second.head()).toEqual({ chain: last?.chain, seq: 3, hash: last?.hash });
    second.record(loginEvent(3));
    second.record(loginEvent(4));
    await second.close();
    const events = readLines(file).map(parse);
    expect(events.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(new Set(events.map((e) => e.chain)).size).toBe(1);
    expect(verifyAuditLog(readFileSync(file, 'utf8')).summary).toBe('ok: 5 events, 1 chain');
  });

  it('should see events deleted while the process was down, thanks to resume', async () => {
    const file = join(tempDir(), 'audit.log');
    const first = track(createAuditLogger({ ...quiet, destination: file }));
    for (let i = 0; i < 4; i++) first.record(loginEvent(i));
    await first.close();
    const second = track(createAuditLogger({ ...quiet, destination: file }));
    second.record(loginEvent(4));
    await second.close();
    const lines = readLines(file);
    expect(verifyAuditLog([...lines.slice(0, 2), ...lines.slice(3)]).problem).toMatchObject({
      kind: 'deleted',
      line: 3,
    });
  });

  it('should start a new chain with resume: false', async () => {
    const file = join(tempDir(), 'audit.log');
    const first = track(createAuditLogger({ ...quiet, destination: file }));
    for (let i = 0; i < 3; i++) first.record(loginEvent(i));
    await first.close();
    const second = track(createAuditLogger({ ...quiet, destination: file, resume: false }));
    expect(second.head()).toBeUndefined();
    second.record(loginEvent(3));
    await second.close();
    const events = readLines(file).map(parse);
    expect(events[3]).toMatchObject({ seq: 1, prev_hash: ZERO_HASH });
    expect(events[3]?.chain).not.toBe(events[0]?.chain);
    expect(verifyAuditLog(readFileSync(file, 'utf8')).summary).toBe(
      'ok: 4 events, 2 chains (a new chain starts at line 4)',
    );
  });

  it('should start a new chain after a torn last line, close that line, and leave it reported', async () => {
    const file = join(tempDir(), 'audit.log');
    const first = track(createAuditLogger({ ...quiet, destination: file }));
    for (let i = 0; i < 3; i++) first.record(loginEvent(i));
    await first.close();
    const whole = readFileSync(file, 'utf8');
    // A crash in the middle of writing the third line.
    writeFileSync(file, whole.slice(0, whole.length - 60));
    const warn = vi.fn();
    const second = track(createAuditLogger({ ...quiet, destination: file, logger: { warn } }));
    expect(second.head()).toBeUndefined();
    expect(warn).toHaveBeenCalledWith(
      expect.objectContaining({
        problem: 'resume',
        err: 'not resuming: the last line has not JSON; a new chain starts',
      }),
      '@vigil/audit: resume',
    );
    second.record(loginEvent(3));
    await second.close();
    const lines = readLines(file);
    expect(lines).toHaveLength(4);
    expect(parse(lines[3] as string)).toMatchObject({ seq: 1, prev_hash: ZERO_HASH });
    expect(verifyAuditLog(lines).problem).toMatchObject({ kind: 'modified', line: 3 });
  });

  it('should not continue from a last event whose hash does not match', async () => {
    const file = join(tempDir(), 'audit.log');
    const first = track(createAuditLogger({ ...quiet, destination: file }));
    for (let i = 0; i < 2; i++) first.record(loginEvent(i));
    await first.close();
    const lines = readLines(file);
    writeFileSync(file, `${lines[0]}\n${(lines[1] as string).replace('user-1', 'root')}\n`);
    const second = track(createAuditLogger({ ...quiet, destination: file, logger: { warn() {} } }));
    expect(second.head()).toBeUndefined();
  });

  it('should continue a chain whose last line was re-hashed by an intruder (undetectable there; anchor head())', async () => {
    const file = join(tempDir(), 'audit.log');
    const first = track(createAuditLogger({ ...quiet, destination: file }));
    for (let i = 0; i < 2; i++) first.record(loginEvent(i));
    const anchor = first.head();
    await first.close();
    const lines = readLines(file);
    writeFileSync(file, `${lines[0]}\n${rehash(lines[1] as string, (e) => (e.actor = 'root'))}\n`);
    const second = track(createAuditLogger({ ...quiet, destination: file }));
    expect(second.head()?.seq).toBe(2);
    expect(second.head()?.hash).not.toBe(anchor?.hash);
  });

  it('should create a missing file and its directories', async () => {
    const file = join(tempDir(), 'a', 'b', 'audit.log');
    const logger = track(createAuditLogger({ ...quiet, destination: file }));
    logger.record(loginEvent());
    await logger.close();
    expect(existsSync(file)).toBe(true);
    expect(readLines(file)).toHaveLength(1);
  });

  it('should skip blank trailing lines when resuming', async () => {
    const file = join(tempDir(), 'audit.log');
    const first = track(createAuditLogger({ ...quiet, destination: file }));
    first.record(loginEvent());
    await first.close();
    appendFileSync(file, '\n\n');
    const second = track(createAuditLogger({ ...quiet, destination: file }));
    expect(second.head()?.seq).toBe(1);
  });
});

describe('destinations', () => {
  it('should write to a file descriptor', async () => {
    const file = join(tempDir(), 'fd.log');
    const fd = openSync(file, 'a');
    const logger = track(createAuditLogger({ ...quiet, destination: fd }));
    logger.record(loginEvent());
    await logger.flush();
    expect(readLines(file)).toHaveLength(1);
    await logger.close();
    expect(() => closeSync(fd)).toThrow(/EBADF/);
  });

  it('should write to a pino destination the app made, and leave it open on close', async () => {
    const file = join(tempDir(), 'dest.log');
    const dest = pino.destination({ dest: file, sync: true });
    const logger = track(createAuditLogger({ ...quiet, destination: dest }));
    logger.record(loginEvent());
    await logger.close();
    dest.write('still open\n');
    dest.flushSync();
    expect(readLines(file)).toHaveLength(2);
    dest.end();
  });

  it('should have every event in the file once flush() resolves', async () => {
    const file = join(tempDir(), 'flush.log');
    const logger = track(createAuditLogger({ ...quiet, destination: file }));
    for (let i = 0; i < 2000; i++)
      logger.record({ ...loginEvent(i), metadata: { pad: 'x'.repeat(200) } });
    await logger.flush();
    expect(readLines(file)).toHaveLength(2000);
    expect(verifyAuditLog(readFileSync(file, 'utf8')).ok).toBe(true);
  });

  it('should report a write error once instead of crashing', async () => {
    const warn = vi.fn();
    const { EventEmitter } = await import('node:events');
    const stream = Object.assign(new EventEmitter(), { write: () => true });
    const { logger } = memoryLogger({ destination: stream, logger: { warn } });
    logger.record(loginEvent());
    stream.emit('error', new Error('ENOSPC: no space left on device'));
    stream.emit('error', new Error('ENOSPC: no space left on device'));
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn).toHaveBeenCalledWith(
      { component: '@vigil/audit', problem: 'write-error', err: 'ENOSPC: no space left on device' },
      '@vigil/audit: write-error',
    );
  });

  it('should make close() idempotent and closed true', async () => {
    const { logger } = memoryLogger();
    const a = logger.close();
    expect(logger.closed).toBe(true);
    expect(logger.close()).toBe(a);
    await a;
  });
});
