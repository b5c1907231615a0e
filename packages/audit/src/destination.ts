// Destinations: opening a file for appending, and flushing pino's asynchronous writer without losing
// or reordering a line.
import { closeSync, fstatSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { pino, type DestinationStream } from 'pino';
import { type FileTail, readFileTail } from './chain';

/**
 * The part of pino's SonicBoom writer the flush logic reads. pino.destination() returns one; its
 * flush(cb) does not wait for a write in flight when `minLength` is 0 (the default), and its
 * flushSync() writes the queued data even while an asynchronous write of earlier data is in flight,
 * which puts lines out of order. So flushing here waits for the writer to be idle first.
 */
interface SonicBoomLike {
  _writing: boolean;
  _writingBuf: string | Buffer;
  _len: number;
  sync: boolean;
  destroyed: boolean;
  fd: number;
  flushSync(): void;
  end(): void;
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  once(event: string, listener: (...args: unknown[]) => void): unknown;
}

export function isSonicBoom(stream: unknown): stream is SonicBoomLike {
  if (stream === null || typeof stream !== 'object') return false;
  const s = stream as Record<string, unknown>;
  return (
    typeof s._writing === 'boolean' &&
    typeof s._len === 'number' &&
    typeof s.sync === 'boolean' &&
    typeof s.flushSync === 'function'
  );
}

/** A destination the logger writes to, and whether the logger owns (and so ends) it. */
export interface OpenedDestination {
  readonly stream: DestinationStream;
  readonly owned: boolean;
  /** The tail of the file, for a file path. */
  readonly tail: FileTail | undefined;
}

/**
 * Opens a file path for appending, synchronously, so that a bad path fails at the factory call and the
 * writer is ready before the first signal can arrive. The tail is read through the same descriptor.
 */
export function openFile(path: string, readTail: boolean): OpenedDestination {
  mkdirSync(dirname(path), { recursive: true });
  const fd = openSync(path, 'a+');
  let tail: FileTail | undefined;
  try {
    if (readTail) {
      tail = readFileTail(fd);
      // A torn last line (a crash during a write) is closed off so the next event starts a line of
      // its own; the verifier still reports the torn line.
      if (tail.torn) writeSync(fd, '\n');
    }
  } catch (err) {
    closeSync(fd);
    throw err;
  }
  const stream = pino.destination({ fd, sync: false }) as unknown as DestinationStream;
  if (isSonicBoom(stream)) guardExitFlush(stream, fd);
  return { stream, owned: true, tail };
}

// True once process.exit() (or the end of the event loop) has started the 'exit' handlers.
let exiting = false;
let exitWatched = false;

const EXIT_WAIT_MS = 1000;
const sleep = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/**
 * pino flushes its writer synchronously in an 'exit' handler. If an asynchronous write is in flight
 * then (process.exit() right after a record()), that flush writes the queued lines first and the
 * in-flight chunk may land after them, or never. For a file the logger opened, the size of the file
 * says how much of the in-flight chunk has landed: wait for it (bounded), write what did not land,
 * then the queue, in order.
 */
function guardExitFlush(stream: SonicBoomLike, fd: number): void {
  if (!exitWatched) {
    exitWatched = true;
    // Prepended, so the flag is set before pino's own 'exit' handler runs.
    process.prependListener('exit', () => {
      exiting = true;
    });
  }
  let landed = fstatSync(fd).size;
  stream.on('write', (n) => {
    landed += n as number;
  });
  const flushSync = stream.flushSync.bind(stream);
  stream.flushSync = () => {
    if (exiting && stream._writing && !stream.destroyed) {
      const chunk =
        typeof stream._writingBuf === 'string'
          ? Buffer.from(stream._writingBuf)
          : stream._writingBuf;
      const deadline = Date.now() + EXIT_WAIT_MS;
      let size = fstatSync(fd).size;
      while (size < landed + chunk.length && Date.now() < deadline) {
        sleep(1);
        size = fstatSync(fd).size;
      }
      const done = Math.max(0, Math.min(chunk.length, size - landed));
      if (done < chunk.length) writeSync(fd, chunk.subarray(done));
      landed += chunk.length;
      stream._len = Math.max(0, stream._len - chunk.length);
      stream._writingBuf = '';
      stream._writing = false;
    }
    flushSync();
  };
}

/**
 * An asynchronous pino writer on a file descriptor (standard output by default). close() ends it,
 * closing the descriptor unless it is 1 or 2, as pino.destination() does.
 */
export function openFd(fd: number): OpenedDestination {
  const stream = pino.destination({ fd, sync: false }) as unknown as DestinationStream;
  // Standard output redirected to a file gets the same exit guarantee as a file path.
  if (isSonicBoom(stream) && fstatSync(fd).isFile()) guardExitFlush(stream, fd);
  return { stream, owned: true, tail: undefined };
}

const POLL_MS = 2;

/**
 * Resolves once `stream` has written everything given to it so far, or after `timeoutMs`
 * (resolving `false`). Works for pino's SonicBoom writer, pino transports and Node writables.
 */
export function drain(stream: DestinationStream, timeoutMs: number): Promise<boolean> {
  if (isSonicBoom(stream)) {
    const s = stream;
    return new Promise((resolve) => {
      const started = Date.now();
      const check = () => {
        if (s.destroyed || (!s._writing && s._len === 0)) return resolve(true);
        if (Date.now() - started >= timeoutMs) return resolve(false);
        setTimeout(check, POLL_MS);
      };
      check();
    });
  }
  const generic = stream as DestinationStream & {
    flush?: (cb?: (err?: Error | null) => void) => void;
    writableLength?: number;
    once?: (event: string, listener: () => void) => unknown;
  };
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    const done = () => {
      clearTimeout(timer);
      resolve(true);
    };
    try {
      if (typeof generic.flush === 'function') {
        generic.flush(() => done());
      } else if (typeof generic.writableLength === 'number' && generic.writableLength > 0) {
        generic.once?.('drain', done);
      } else {
        done();
      }
    } catch {
      done();
    }
  });
}

/**
 * Shutdown mode for a signal: from now on pino's writer writes synchronously (once its write in flight,
 * if any, completes), so an event recorded before a response is on disk before the response leaves.
 */
export function writeSynchronously(stream: DestinationStream): void {
  if (isSonicBoom(stream)) stream.sync = true;
}

/** Writes out whatever is queued, synchronously, if the writer can; never throws. */
export function flushQueued(stream: DestinationStream): void {
  const s = stream as { flushSync?: () => void; destroyed?: boolean; _writing?: boolean };
  if (typeof s.flushSync !== 'function' || s.destroyed === true) return;
  // With a write in flight, flushSync would put later lines before it.
  if (isSonicBoom(stream) && stream._writing) return;
  try {
    s.flushSync();
  } catch {
    // Not ready or already closed: nothing more can be done synchronously.
  }
}

/** Ends a writer the logger owns, resolving once it is closed (or after `timeoutMs`). */
export function endStream(stream: DestinationStream, timeoutMs: number): Promise<void> {
  const s = stream as DestinationStream & {
    end?: () => void;
    destroyed?: boolean;
    once?: (event: string, listener: () => void) => unknown;
  };
  if (typeof s.end !== 'function' || s.destroyed === true) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, timeoutMs);
    const done = () => {
      clearTimeout(timer);
      resolve();
    };
    s.once?.('close', done);
    s.once?.('error', done);
    try {
      s.end?.();
    } catch {
      done();
    }
  });
}
