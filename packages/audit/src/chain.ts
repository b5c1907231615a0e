// The hash chain: canonical serialisation, the hashing rule, parsing a line back, and a file's last event.
import { createHash } from 'node:crypto';
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { configure } from 'safe-stable-stringify';

/** `prev_hash` of the first event of a chain. */
export const ZERO_HASH = '0'.repeat(64);

const HEX64 = /^[0-9a-f]{64}$/;

// Sorted keys (UTF-16 code unit order, as Array.prototype.sort), no whitespace, JSON escaping; throws
// on anything JSON cannot represent instead of writing something the verifier would read differently.
const canonicalJson = configure({ deterministic: true, strict: true });

/** The canonical serialisation of an event without its `hash`. */
export function canonical(event: object): string {
  const text = canonicalJson(event);
  if (typeof text !== 'string') throw new TypeError('event is not serialisable');
  return text;
}

/** `hash = hex(sha256(prev_hash + canonical(event without hash)))`, over UTF-8. */
export function chainHash(prevHash: string, eventWithoutHash: object): string {
  return createHash('sha256')
    .update(prevHash + canonical(eventWithoutHash), 'utf8')
    .digest('hex');
}

/** Names of the chain fields, written last on every line. */
export const CHAIN_FIELDS = ['chain', 'seq', 'prev_hash', 'hash'] as const;

/** A parsed line that carries well-formed chain fields. */
export interface ChainedLine {
  readonly chain: string;
  readonly seq: number;
  readonly prevHash: string;
  readonly hash: string;
  /** The hash recomputed from the line's content. */
  readonly computed: string;
}

/** Why a line is not a chained audit event. */
export type LineFault =
  | { readonly foreign: true; readonly reason: string }
  | { readonly foreign: false; readonly reason: string };

/**
 * Parses one line. Returns the chain fields and the recomputed hash, or a fault: `foreign` when the
 * line has nothing of an audit event (not JSON, or no chain field at all), otherwise a damaged event.
 */
export function parseLine(text: string): ChainedLine | LineFault {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { foreign: true, reason: 'not JSON' };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return { foreign: true, reason: 'not a JSON object' };
  }
  const obj = value as Record<string, unknown>;
  if (!CHAIN_FIELDS.some((f) => f in obj)) return { foreign: true, reason: 'no chain fields' };
  const { chain, seq, prev_hash: prevHash, hash } = obj;
  if (typeof chain !== 'string' || chain === '') return { foreign: false, reason: 'no chain id' };
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 1) {
    return { foreign: false, reason: 'no valid seq' };
  }
  if (typeof prevHash !== 'string' || !HEX64.test(prevHash)) {
    return { foreign: false, reason: 'no valid prev_hash' };
  }
  if (typeof hash !== 'string' || !HEX64.test(hash))
    return { foreign: false, reason: 'no valid hash' };
  delete obj.hash;
  let computed: string;
  try {
    computed = chainHash(prevHash, obj);
  } catch {
    return { foreign: false, reason: 'content that cannot be hashed' };
  }
  return { chain, seq, prevHash, hash, computed };
}

export function isChained(parsed: ChainedLine | LineFault): parsed is ChainedLine {
  return 'computed' in parsed;
}

/** What resume found at the end of a file. */
export interface FileTail {
  /** The last line's chain position, when it is an intact event. */
  readonly last: ChainedLine | undefined;
  /** True when the file is non-empty and does not end with a newline (a torn last write). */
  readonly torn: boolean;
  /** Why the last line cannot be continued, when it cannot. */
  readonly reason: string | undefined;
}

const CHUNK = 64 * 1024;
const MAX_TAIL = 1024 * 1024;

/** Reads the last non-empty line of an open file (read backwards, at most 1 MiB). */
export function readFileTail(fd: number): FileTail {
  const size = fstatSync(fd).size;
  if (size === 0) return { last: undefined, torn: false, reason: undefined };
  let end = size;
  let buffer = Buffer.alloc(0);
  let torn = false;
  let first = true;
  while (end > 0 && size - end < MAX_TAIL) {
    const start = Math.max(0, end - CHUNK);
    const chunk = Buffer.alloc(end - start);
    readSync(fd, chunk, 0, chunk.length, start);
    if (first) {
      torn = chunk[chunk.length - 1] !== 0x0a;
      first = false;
    }
    buffer = Buffer.concat([chunk, buffer]);
    end = start;
    const text = buffer.toString('utf8').replace(/\s+$/, '');
    const nl = text.lastIndexOf('\n');
    if (nl !== -1 || end === 0) {
      const line = text.slice(nl + 1);
      if (line === '') return { last: undefined, torn, reason: undefined };
      const parsed = parseLine(line);
      if (!isChained(parsed))
        return { last: undefined, torn, reason: `the last line has ${parsed.reason}` };
      if (parsed.computed !== parsed.hash) {
        return { last: undefined, torn, reason: 'the last event does not match its hash' };
      }
      return { last: parsed, torn, reason: undefined };
    }
  }
  return { last: undefined, torn, reason: 'the last line is longer than 1 MiB' };
}

/** Opens `path` read-only and reads its tail; a missing file has none. */
export function readPathTail(path: string): FileTail {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      return { last: undefined, torn: false, reason: undefined };
    }
    throw err;
  }
  try {
    return readFileTail(fd);
  } finally {
    closeSync(fd);
  }
}
