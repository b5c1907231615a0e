// The verifier: walks a log's lines, checks every hash and link, and names the first tampering found.
import { booleanOption, optionError, optionNames, readOptions } from '@vigil/core';
import { type ChainedLine, type LineFault, ZERO_HASH, isChained, parseLine } from './chain';
import { context } from './errors';
import type { AuditChainInfo, AuditProblem, AuditVerifyOptions, AuditVerifyResult } from './types';

interface ChainState {
  chain: string;
  nextSeq: number;
  lastHash: string;
  lastLine: number;
  /** Hash and line of the event before the last one, to spot a forged event that links perfectly. */
  beforeHash: string | undefined;
  beforeLine: number | undefined;
  info: { chain: string; line: number; firstSeq: number; lastSeq: number; events: number };
}

type Parsed = ChainedLine | LineFault;

const KNOWN = optionNames<AuditVerifyOptions>({ allowForeign: true, partial: true });

const isBlank = (text: string) => text.trim() === '';
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/**
 * Verifies an audit log given as its text or its lines: every event's hash, seq and link to the event
 * before it. Returns the first problem, classified as modified, inserted, deleted or reordered, with
 * its 1-based line number. A line with `seq: 1` and a zero `prev_hash` starts a new chain (a restart
 * without resume) and is not a problem. Truncation of a log's end cannot be seen from the log alone.
 */
export function verifyAuditLog(
  input: string | readonly string[],
  options?: AuditVerifyOptions,
): AuditVerifyResult {
  const ctx = context('verifyAuditLog');
  const o = readOptions<AuditVerifyOptions>(ctx, options, 1, KNOWN);
  const allowForeign = booleanOption(ctx, 'allowForeign', o.allowForeign, false);
  const partial = booleanOption(ctx, 'partial', o.partial, false);
  let lines: readonly string[];
  if (typeof input === 'string') lines = input.split('\n');
  else if (Array.isArray(input) && input.every((l) => typeof l === 'string')) lines = input;
  else
    throw optionError(
      ctx,
      'INVALID_OPTION',
      'input',
      'the log text or an array of its lines',
      input,
    );
  return new Walk(lines, allowForeign, partial).run();
}

class Walk {
  private readonly cache = new Map<number, Parsed>();
  private readonly seen = new Map<string, ChainState>();
  private readonly chains: ChainState['info'][] = [];
  private cur: ChainState | undefined;
  private events = 0;
  private skipped = 0;

  constructor(
    private readonly lines: readonly string[],
    private readonly allowForeign: boolean,
    private readonly partial: boolean,
  ) {}

  run(): AuditVerifyResult {
    for (let idx = 0; idx < this.lines.length; idx++) {
      const text = this.lines[idx] as string;
      if (isBlank(text)) continue;
      const p = this.at(idx);
      // Lines behind us are never looked at again.
      for (const k of this.cache.keys()) if (k < idx) this.cache.delete(k);
      if (!isChained(p)) {
        if (p.foreign && this.allowForeign) {
          this.skipped++;
          continue;
        }
        return this.fail(this.broken(idx, p));
      }
      if (p.computed !== p.hash) return this.fail(this.badHash(idx));
      const cur = this.cur;
      if (cur === undefined) {
        if (isStart(p) || this.partial) {
          this.begin(idx, p);
          continue;
        }
        const j = this.findLater(idx, p.chain, 1);
        if (j !== -1) {
          return this.fail({
            kind: 'reordered',
            line: idx + 1,
            relatedLine: j + 1,
            expectedSeq: 1,
            foundSeq: p.seq,
            message: `events out of order (expected seq 1, found ${p.seq}; seq 1 is at line ${j + 1})`,
          });
        }
        return this.fail({
          kind: 'deleted',
          line: idx + 1,
          expectedSeq: 1,
          foundSeq: p.seq,
          message: `events deleted at the start: the first event has seq ${p.seq} and does not start a chain (if this file continues an earlier one, verify with --partial)`,
        });
      }
      if (links(p, cur)) {
        this.advance(idx, p, cur);
        continue;
      }
      if (isStart(p) && !this.seen.has(p.chain)) {
        if (this.nextLinksTo(idx, cur)) {
          return this.fail({
            kind: 'inserted',
            line: idx + 1,
            relatedLine: cur.lastLine,
            message: `event inserted: a chain start between line ${cur.lastLine} and the event after it, which links to line ${cur.lastLine}`,
          });
        }
        this.begin(idx, p);
        continue;
      }
      return this.fail(this.badLink(idx, p, cur));
    }
    return this.result(undefined);
  }

  private at(idx: number): Parsed {
    let p = this.cache.get(idx);
    if (p === undefined) {
      p = parseLine(this.lines[idx] as string);
      this.cache.set(idx, p);
    }
    return p;
  }

  /** The next line after `idx` that the walk would check, or -1. */
  private nextIndex(idx: number): number {
    for (let j = idx + 1; j < this.lines.length; j++) {
      if (isBlank(this.lines[j] as string)) continue;
      const p = this.at(j);
      if (!isChained(p) && p.foreign && this.allowForeign) continue;
      return j;
    }
    return -1;
  }

  /** True when the next event is intact and continues `state`: the line at `idx` is in the way. */
  private nextLinksTo(idx: number, state: ChainState): boolean {
    const j = this.nextIndex(idx);
    if (j === -1) return false;
    const n = this.at(j);
    return isChained(n) && n.computed === n.hash && links(n, state);
  }

  /** Line index of the first later line of `chain` with `seq`, or -1. */
  private findLater(idx: number, chain: string, seq: number): number {
    for (let j = idx + 1; j < this.lines.length; j++) {
      const text = this.lines[j] as string;
      if (!text.includes(chain)) continue;
      try {
        const v = JSON.parse(text) as { chain?: unknown; seq?: unknown };
        if (v.chain === chain && v.seq === seq) return j;
      } catch {
        // not an event: keep looking
      }
    }
    return -1;
  }

  private begin(idx: number, p: ChainedLine): void {
    const info = { chain: p.chain, line: idx + 1, firstSeq: p.seq, lastSeq: p.seq, events: 1 };
    this.chains.push(info);
    this.cur = {
      chain: p.chain,
      nextSeq: p.seq + 1,
      lastHash: p.hash,
      lastLine: idx + 1,
      beforeHash: undefined,
      beforeLine: undefined,
      info,
    };
    this.seen.set(p.chain, this.cur);
    this.events++;
  }

  private advance(idx: number, p: ChainedLine, cur: ChainState): void {
    cur.nextSeq = p.seq + 1;
    cur.beforeHash = cur.lastHash;
    cur.beforeLine = cur.lastLine;
    cur.lastHash = p.hash;
    cur.lastLine = idx + 1;
    cur.info.lastSeq = p.seq;
    cur.info.events++;
    this.events++;
  }

  private broken(idx: number, p: LineFault): AuditProblem {
    const what = p.foreign
      ? `not an audit event (${p.reason})`
      : `a damaged audit event (${p.reason})`;
    const cur = this.cur;
    if (cur !== undefined && this.nextLinksTo(idx, cur)) {
      return {
        kind: 'inserted',
        line: idx + 1,
        relatedLine: cur.lastLine,
        message: `line inserted: ${what}, and the event after it links to line ${cur.lastLine}`,
      };
    }
    return { kind: 'modified', line: idx + 1, message: `event modified: the line is ${what}` };
  }

  private badHash(idx: number): AuditProblem {
    const cur = this.cur;
    if (cur !== undefined && this.nextLinksTo(idx, cur)) {
      return {
        kind: 'inserted',
        line: idx + 1,
        relatedLine: cur.lastLine,
        message: `event inserted: its hash does not match its content, and the event after it links to line ${cur.lastLine}`,
      };
    }
    return {
      kind: 'modified',
      line: idx + 1,
      message: 'event modified: its content does not match its hash',
    };
  }

  private badLink(idx: number, p: ChainedLine, cur: ChainState): AuditProblem {
    const line = idx + 1;
    const expectedSeq = cur.nextSeq;
    const foundSeq = p.seq;
    const sameChain = p.chain === cur.chain;
    if (sameChain && foundSeq > expectedSeq) {
      // A real event of this chain that is out of place links to the event numbered just before it,
      // wherever that one is; a forged event does not.
      const k = this.findLater(idx, cur.chain, foundSeq - 1);
      const before = k === -1 ? undefined : this.at(k);
      if (before !== undefined && isChained(before) && before.hash === p.prevHash) {
        return this.reordered(idx, p, cur);
      }
      if (p.prevHash === cur.lastHash) {
        return {
          kind: 'modified',
          line,
          expectedSeq,
          foundSeq,
          message: `event modified: its seq was changed and its hash recomputed (expected seq ${expectedSeq}, found ${foundSeq})`,
        };
      }
    }
    if (this.nextLinksTo(idx, cur)) {
      return {
        kind: 'inserted',
        line,
        relatedLine: cur.lastLine,
        foundSeq,
        message: `event inserted: it does not continue the event at line ${cur.lastLine}, and the event after it does`,
      };
    }
    if (sameChain) {
      if (foundSeq === expectedSeq) {
        return {
          kind: 'modified',
          line,
          relatedLine: cur.lastLine,
          expectedSeq,
          foundSeq,
          message: `prev_hash does not match the event at line ${cur.lastLine}: that event was modified and its hash recomputed (or this line's prev_hash was changed)`,
        };
      }
      if (foundSeq > expectedSeq) {
        if (this.findLater(idx, cur.chain, expectedSeq) !== -1) return this.reordered(idx, p, cur);
        const missing = foundSeq - expectedSeq;
        return {
          kind: 'deleted',
          line,
          expectedSeq,
          foundSeq,
          message: `${missing === 1 ? 'event' : `${missing} events`} deleted before this line (expected seq ${expectedSeq}, found ${foundSeq})`,
        };
      }
      if (p.hash === cur.lastHash) {
        return {
          kind: 'inserted',
          line,
          relatedLine: cur.lastLine,
          expectedSeq,
          foundSeq,
          message: `event inserted: a copy of the event at line ${cur.lastLine}`,
        };
      }
      if (
        foundSeq === expectedSeq - 1 &&
        cur.beforeLine !== undefined &&
        p.prevHash === cur.beforeHash
      ) {
        // The event at cur.lastLine links perfectly but this one, the real holder of its seq, links
        // past it: it was forged and inserted, its hash computed like the logger would.
        return {
          kind: 'inserted',
          line: cur.lastLine,
          relatedLine: line,
          expectedSeq: foundSeq,
          foundSeq,
          message: `event inserted: line ${line} holds the same seq ${foundSeq} and links to line ${cur.beforeLine}, past this one`,
        };
      }
      return {
        kind: 'inserted',
        line,
        expectedSeq,
        foundSeq,
        message: `event inserted: seq ${foundSeq} repeats an earlier position of the chain (expected seq ${expectedSeq})`,
      };
    }
    const earlier = this.seen.get(p.chain);
    if (earlier !== undefined) {
      if (foundSeq === earlier.nextSeq && p.prevHash === earlier.lastHash) {
        return {
          kind: 'reordered',
          line,
          relatedLine: earlier.lastLine,
          foundSeq,
          message: `events out of order: this event continues the chain that ends at line ${earlier.lastLine}, but a newer chain started after it`,
        };
      }
      return {
        kind: 'inserted',
        line,
        foundSeq,
        message: `event inserted: seq ${foundSeq} of an earlier chain does not fit here (expected seq ${expectedSeq} of the current chain)`,
      };
    }
    const j = this.nextIndex(idx);
    const n = j === -1 ? undefined : this.at(j);
    if (
      n !== undefined &&
      isChained(n) &&
      n.computed === n.hash &&
      n.chain === p.chain &&
      n.seq === foundSeq + 1 &&
      n.prevHash === p.hash
    ) {
      return {
        kind: 'deleted',
        line,
        foundSeq,
        message: `events deleted before this line: a new chain begins here at seq ${foundSeq} instead of 1`,
      };
    }
    return {
      kind: 'inserted',
      line,
      foundSeq,
      message: `event inserted: it belongs to no chain of this log (expected seq ${expectedSeq} of the current chain)`,
    };
  }

  private reordered(idx: number, p: ChainedLine, cur: ChainState): AuditProblem {
    const expectedSeq = cur.nextSeq;
    const j = this.findLater(idx, cur.chain, expectedSeq);
    const where = j === -1 ? '' : `; seq ${expectedSeq} is at line ${j + 1}`;
    return {
      kind: 'reordered',
      line: idx + 1,
      ...(j === -1 ? {} : { relatedLine: j + 1 }),
      expectedSeq,
      foundSeq: p.seq,
      message: `events out of order (expected seq ${expectedSeq}, found ${p.seq}${where})`,
    };
  }

  private fail(problem: AuditProblem): AuditVerifyResult {
    return this.result(problem);
  }

  private result(problem: AuditProblem | undefined): AuditVerifyResult {
    const chains: AuditChainInfo[] = this.chains.map((c) => Object.freeze({ ...c }));
    let summary: string;
    if (problem !== undefined) {
      summary = `TAMPERED line ${problem.line}: ${problem.message}`;
    } else {
      const notes: string[] = [];
      const first = chains[0];
      if (first !== undefined && first.firstSeq !== 1) {
        notes.push(`the first event continues chain ${first.chain} at seq ${first.firstSeq}`);
      }
      const starts = chains.slice(1).map((c) => c.line);
      if (starts.length === 1) notes.push(`a new chain starts at line ${starts[0]}`);
      else if (starts.length > 1) {
        const shown = starts.slice(0, 5).join(', ');
        notes.push(`new chains start at lines ${shown}${starts.length > 5 ? ', ...' : ''}`);
      }
      if (this.skipped > 0) notes.push(`${plural(this.skipped, 'other line')} skipped`);
      summary = `ok: ${plural(this.events, 'event')}, ${plural(chains.length, 'chain')}${
        notes.length > 0 ? ` (${notes.join('; ')})` : ''
      }`;
    }
    return Object.freeze({
      ok: problem === undefined,
      events: this.events,
      chains: Object.freeze(chains),
      skipped: this.skipped,
      problem: problem === undefined ? undefined : Object.freeze(problem),
      summary,
    });
  }
}

function isStart(p: ChainedLine): boolean {
  return p.seq === 1 && p.prevHash === ZERO_HASH;
}

function links(p: ChainedLine, state: ChainState): boolean {
  return p.chain === state.chain && p.seq === state.nextSeq && p.prevHash === state.lastHash;
}
