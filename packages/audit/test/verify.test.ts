// verifyAuditLog(): real logger output verifies; each kind of tampering is named at the right line.
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { type AuditTamperKind, ZERO_HASH, verifyAuditLog } from '@vigil/audit';
import { edit, rehash } from './support/chain';
import { cleanup, loginEvent, memoryLogger } from './support/memory';

afterEach(cleanup);

/** Ten events written by a real logger, as lines (line N is index N - 1). */
function writeLog(n = 10, options = {}): string[] {
  const { logger, out } = memoryLogger(options);
  for (let i = 0; i < n; i++) {
    logger.record({ ...loginEvent(i), metadata: { attempt: i, tags: ['a', 'b'] } });
  }
  return out.lines;
}

const hashOf = (line: string) => (JSON.parse(line) as { hash: string }).hash;
const without = (lines: string[], ...lineNumbers: number[]) =>
  lines.filter((_, i) => !lineNumbers.includes(i + 1));
const insertAfter = (lines: string[], lineNumber: number, ...inserted: string[]) => [
  ...lines.slice(0, lineNumber),
  ...inserted,
  ...lines.slice(lineNumber),
];
const at = (lines: string[], lineNumber: number) => lines[lineNumber - 1] as string;

interface TamperCase {
  name: string;
  tamper: (lines: string[]) => string[];
  kind: AuditTamperKind;
  line: number;
  relatedLine?: number;
  message: RegExp;
}

const CASES: TamperCase[] = [
  {
    name: 'a field of line 4 changed',
    tamper: (l) => l.map((x, i) => (i === 3 ? edit(x, (e) => (e.actor = 'mallory')) : x)),
    kind: 'modified',
    line: 4,
    message: /^TAMPERED line 4: event modified: its content does not match its hash$/,
  },
  {
    name: 'metadata of line 4 changed',
    tamper: (l) =>
      l.map((x, i) =>
        i === 3 ? edit(x, (e) => ((e.metadata as { attempt: number }).attempt = 99)) : x,
      ),
    kind: 'modified',
    line: 4,
    message: /event modified/,
  },
  {
    name: 'line 4 changed and its hash recomputed (detected at the next line)',
    tamper: (l) => l.map((x, i) => (i === 3 ? rehash(x, (e) => (e.outcome = 'failure')) : x)),
    kind: 'modified',
    line: 5,
    relatedLine: 4,
    message:
      /^TAMPERED line 5: prev_hash does not match the event at line 4: that event was modified and its hash recomputed/,
  },
  {
    name: 'line 1 changed and its hash recomputed',
    tamper: (l) => l.map((x, i) => (i === 0 ? rehash(x, (e) => (e.actor = 'root')) : x)),
    kind: 'modified',
    line: 2,
    relatedLine: 1,
    message: /line 2: prev_hash does not match the event at line 1/,
  },
  {
    name: "line 4's seq changed and its hash recomputed",
    tamper: (l) => l.map((x, i) => (i === 3 ? rehash(x, (e) => (e.seq = 40)) : x)),
    kind: 'modified',
    line: 4,
    message:
      /event modified: its seq was changed and its hash recomputed \(expected seq 4, found 40\)/,
  },
  {
    name: 'line 4 no longer JSON (torn or overwritten)',
    tamper: (l) => l.map((x, i) => (i === 3 ? x.slice(0, 40) : x)),
    kind: 'modified',
    line: 4,
    message: /^TAMPERED line 4: event modified: the line is not an audit event \(not JSON\)$/,
  },
  {
    name: "line 4's seq made a string",
    tamper: (l) => l.map((x, i) => (i === 3 ? edit(x, (e) => (e.seq = '4')) : x)),
    kind: 'modified',
    line: 4,
    message: /the line is a damaged audit event \(no valid seq\)/,
  },
  {
    name: 'line 1 not JSON',
    tamper: (l) => ['garbage', ...l.slice(1)],
    kind: 'modified',
    line: 1,
    message: /line 1: event modified: the line is not an audit event \(not JSON\)/,
  },
  {
    name: 'the last line cut short',
    tamper: (l) => [...l.slice(0, 9), at(l, 10).slice(0, 100)],
    kind: 'modified',
    line: 10,
    message: /line 10: event modified: the line is not an audit event/,
  },
  {
    name: 'line 4 deleted',
    tamper: (l) => without(l, 4),
    kind: 'deleted',
    line: 4,
    message: /^TAMPERED line 4: event deleted before this line \(expected seq 4, found 5\)$/,
  },
  {
    name: 'lines 4 to 6 deleted',
    tamper: (l) => without(l, 4, 5, 6),
    kind: 'deleted',
    line: 4,
    message: /^TAMPERED line 4: 3 events deleted before this line \(expected seq 4, found 7\)$/,
  },
  {
    name: 'line 1 deleted',
    tamper: (l) => without(l, 1),
    kind: 'deleted',
    line: 1,
    message:
      /^TAMPERED line 1: events deleted at the start: the first event has seq 2 and does not start a chain/,
  },
  {
    name: 'lines 1 and 2 swapped',
    tamper: (l) => [at(l, 2), at(l, 1), ...l.slice(2)],
    kind: 'reordered',
    line: 1,
    relatedLine: 2,
    message:
      /^TAMPERED line 1: events out of order \(expected seq 1, found 2; seq 1 is at line 2\)$/,
  },
  {
    name: 'a non-JSON line inserted after line 3',
    tamper: (l) => insertAfter(l, 3, 'hello world'),
    kind: 'inserted',
    line: 4,
    relatedLine: 3,
    message:
      /^TAMPERED line 4: line inserted: not an audit event \(not JSON\), and the event after it links to line 3$/,
  },
  {
    name: 'a JSON log line inserted after line 3',
    tamper: (l) => insertAfter(l, 3, '{"level":30,"msg":"hi"}'),
    kind: 'inserted',
    line: 4,
    message: /line inserted: not an audit event \(no chain fields\)/,
  },
  {
    name: 'a copy of line 3 inserted after it',
    tamper: (l) => insertAfter(l, 3, at(l, 3)),
    kind: 'inserted',
    line: 4,
    relatedLine: 3,
    message:
      /line 4: event inserted: it does not continue the event at line 3, and the event after it does/,
  },
  {
    name: 'a copy of the last line appended',
    tamper: (l) => [...l, at(l, 10)],
    kind: 'inserted',
    line: 11,
    relatedLine: 10,
    message: /^TAMPERED line 11: event inserted: a copy of the event at line 10$/,
  },
  {
    name: 'a forged event that links perfectly inserted after line 3',
    tamper: (l) =>
      insertAfter(
        l,
        3,
        rehash(at(l, 3), (e) => {
          e.actor = 'mallory';
          e.seq = 4;
          e.prev_hash = hashOf(at(l, 3));
        }),
      ),
    kind: 'inserted',
    line: 4,
    relatedLine: 5,
    message:
      /^TAMPERED line 4: event inserted: line 5 holds the same seq 4 and links to line 3, past this one$/,
  },
  {
    name: 'a forged event with a made-up prev_hash inserted after line 3',
    tamper: (l) =>
      insertAfter(
        l,
        3,
        rehash(at(l, 3), (e) => {
          e.seq = 4;
          e.prev_hash = 'a'.repeat(64);
        }),
      ),
    kind: 'inserted',
    line: 4,
    relatedLine: 3,
    message:
      /event inserted: it does not continue the event at line 3, and the event after it does/,
  },
  {
    name: 'an event with a wrong hash inserted after line 3',
    tamper: (l) =>
      insertAfter(
        l,
        3,
        edit(at(l, 3), (e) => (e.seq = 4)),
      ),
    kind: 'inserted',
    line: 4,
    relatedLine: 3,
    message:
      /event inserted: its hash does not match its content, and the event after it links to line 3/,
  },
  {
    name: 'a forged chain start inserted after line 3',
    tamper: (l) =>
      insertAfter(
        l,
        3,
        rehash(at(l, 3), (e) => {
          e.chain = randomUUID();
          e.seq = 1;
          e.prev_hash = ZERO_HASH;
        }),
      ),
    kind: 'inserted',
    line: 4,
    relatedLine: 3,
    message: /event inserted: a chain start between line 3 and the event after it/,
  },
  {
    name: 'lines 4 and 5 swapped',
    tamper: (l) => [...l.slice(0, 3), at(l, 5), at(l, 4), ...l.slice(5)],
    kind: 'reordered',
    line: 4,
    relatedLine: 5,
    message:
      /^TAMPERED line 4: events out of order \(expected seq 4, found 5; seq 4 is at line 5\)$/,
  },
  {
    name: 'line 4 moved to the end',
    tamper: (l) => [...without(l, 4), at(l, 4)],
    kind: 'reordered',
    line: 4,
    relatedLine: 10,
    message: /events out of order \(expected seq 4, found 5; seq 4 is at line 10\)/,
  },
  {
    name: 'line 8 moved before line 3',
    tamper: (l) => [at(l, 1), at(l, 2), at(l, 8), ...without(l, 1, 2, 8)],
    kind: 'reordered',
    line: 3,
    relatedLine: 4,
    message: /events out of order \(expected seq 3, found 8; seq 3 is at line 4\)/,
  },
];

const tally = { tried: 0, detected: 0, kinds: new Map<string, number>() };
afterAll(() => {
  const kinds = [...tally.kinds].map(([k, n]) => `${k} ${n}`).join(', ');
  console.log(
    `tampering variants tried: ${tally.tried}, detected at the expected line: ${tally.detected} (${kinds})`,
  );
});

describe('verifyAuditLog()', () => {
  it('should find a real log intact', () => {
    const lines = writeLog();
    const result = verifyAuditLog(lines);
    expect(result).toMatchObject({ ok: true, events: 10, skipped: 0, problem: undefined });
    expect(result.summary).toBe('ok: 10 events, 1 chain');
    expect(result.chains).toEqual([
      { chain: JSON.parse(at(lines, 1)).chain, line: 1, firstSeq: 1, lastSeq: 10, events: 10 },
    ]);
    expect(verifyAuditLog(`${lines.join('\n')}\n`)).toEqual(result);
  });

  it.each(CASES)('should report $kind at line $line: $name', (c) => {
    tally.tried++;
    const result = verifyAuditLog(c.tamper(writeLog()));
    expect(result.ok).toBe(false);
    expect(result.problem).toMatchObject({ kind: c.kind, line: c.line });
    if (c.relatedLine !== undefined) expect(result.problem?.relatedLine).toBe(c.relatedLine);
    expect(result.summary).toMatch(c.message);
    expect(result.summary).toBe(`TAMPERED line ${c.line}: ${result.problem?.message}`);
    tally.detected++;
    tally.kinds.set(c.kind, (tally.kinds.get(c.kind) ?? 0) + 1);
  });

  it('should not see the last lines removed (the chain cannot tell; anchor head() elsewhere)', () => {
    const result = verifyAuditLog(writeLog().slice(0, 7));
    expect(result).toMatchObject({ ok: true, events: 7 });
  });

  it('should accept a file that continues a chain with partial', () => {
    const lines = without(writeLog(), 1, 2, 3);
    expect(verifyAuditLog(lines).problem?.kind).toBe('deleted');
    const result = verifyAuditLog(lines, { partial: true });
    expect(result.ok).toBe(true);
    expect(result.summary).toMatch(
      /^ok: 7 events, 1 chain \(the first event continues chain [0-9a-f-]{36} at seq 4\)$/,
    );
  });

  it('should skip other log lines with allowForeign, and only those', () => {
    const lines = insertAfter(writeLog(), 3, '{"level":30,"msg":"listening"}', 'plain text', '');
    const result = verifyAuditLog(lines, { allowForeign: true });
    expect(result.summary).toBe('ok: 10 events, 1 chain (2 other lines skipped)');
    // A damaged event is not foreign.
    const damaged = lines.map((x, i) => (i === 7 ? edit(x, (e) => (e.prev_hash = 'x')) : x));
    expect(verifyAuditLog(damaged, { allowForeign: true }).problem).toMatchObject({
      kind: 'modified',
      line: 8,
    });
  });

  it('should ignore blank lines and CRLF line ends', () => {
    const lines = writeLog();
    const text = `\n${lines.join('\r\n\r\n')}\r\n\n`;
    expect(verifyAuditLog(text).summary).toBe('ok: 10 events, 1 chain');
  });

  describe('restarts', () => {
    it('should report a new chain, not tampering', () => {
      const lines = [...writeLog(10), ...writeLog(5), ...writeLog(3)];
      const result = verifyAuditLog(lines);
      expect(result.summary).toBe('ok: 18 events, 3 chains (new chains start at lines 11, 16)');
      expect(result.chains.map((c) => [c.line, c.firstSeq, c.lastSeq])).toEqual([
        [1, 1, 10],
        [11, 1, 5],
        [16, 1, 3],
      ]);
      expect(verifyAuditLog([...writeLog(4), ...writeLog(2)]).summary).toBe(
        'ok: 6 events, 2 chains (a new chain starts at line 5)',
      );
    });

    it("should report a new chain's first event deleted", () => {
      const lines = without([...writeLog(10), ...writeLog(5)], 11);
      expect(verifyAuditLog(lines).problem).toMatchObject({
        kind: 'deleted',
        line: 11,
        message: 'events deleted before this line: a new chain begins here at seq 2 instead of 1',
      });
    });

    it('should report an event of a finished chain moved after a newer chain started', () => {
      const lines = [...writeLog(10), ...writeLog(5)];
      const moved = [...without(lines, 10), at(lines, 10)];
      expect(verifyAuditLog(moved).problem).toMatchObject({
        kind: 'reordered',
        line: 15,
        relatedLine: 9,
      });
    });

    it("should report a copy of an earlier chain's event", () => {
      const lines = [...writeLog(10), ...writeLog(5)];
      expect(
        verifyAuditLog([...lines.slice(0, 12), at(lines, 4), ...lines.slice(12)]).problem,
      ).toMatchObject({
        kind: 'inserted',
        line: 13,
      });
    });

    it('should report an event from another log', () => {
      const lines = insertAfter(writeLog(), 5, at(writeLog(), 5));
      expect(verifyAuditLog(lines).problem).toMatchObject({ kind: 'inserted', line: 6 });
    });
  });

  it('should verify a long log, and say how fast', () => {
    const lines = writeLog(20_000, { tailSize: 0 });
    const started = process.hrtime.bigint();
    const result = verifyAuditLog(lines);
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    expect(result.summary).toBe('ok: 20000 events, 1 chain');
    console.log(
      `verified 20000 events (${Math.round(lines.join('\n').length / 1024)} KiB) in ${ms.toFixed(0)} ms`,
    );
  });
});
