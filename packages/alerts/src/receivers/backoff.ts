// Waiting between attempts: exponential backoff with jitter on an injectable clock, cancellable at close.
import type { Clock } from '../model';

/** First wait, in milliseconds; each next one doubles. */
export const BACKOFF_BASE_MS = 500;
/** The longest wait between two attempts. */
export const BACKOFF_MAX_MS = 30_000;

/**
 * The wait before attempt `attempt + 1`: 500 ms doubled per attempt, capped at 30 s, drawn at random
 * between half and all of it so that receivers coming back are not hit by every sender at once. A
 * Retry-After the server sent is honoured up to the cap.
 */
export function backoffMs(
  attempt: number,
  retryAfterMs?: number,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** Math.max(0, attempt - 1));
  const wait = ceiling / 2 + (random() * ceiling) / 2;
  return retryAfterMs === undefined ? wait : Math.max(wait, Math.min(retryAfterMs, BACKOFF_MAX_MS));
}

/** Sleeps on a clock; cancel() ends every sleep at once (they resolve `false`). */
export class Sleeper {
  readonly #clock: Clock;
  readonly #sleeping = new Set<() => void>();

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** Resolves true after `ms`, or false if cancelled first. */
  sleep(ms: number): Promise<boolean> {
    return this.start(ms).woke;
  }

  /** A sleep of `ms` that cancel() ends early, `woke` then resolving false. */
  start(ms: number): { woke: Promise<boolean>; cancel: () => void } {
    let cancel: () => void = () => undefined;
    const woke = new Promise<boolean>((resolve) => {
      const wake = (done: boolean) => {
        this.#sleeping.delete(cancel);
        resolve(done);
      };
      const timer = this.#clock.setTimer(() => wake(true), ms);
      cancel = () => {
        if (!this.#sleeping.has(cancel)) return;
        timer.cancel();
        wake(false);
      };
      this.#sleeping.add(cancel);
    });
    return { woke, cancel: () => cancel() };
  }

  /** Ends every sleep now. */
  cancelAll(): void {
    for (const cancel of [...this.#sleeping]) cancel();
  }
}

/** An AbortController aborted after `ms` with a TimeoutError, its timer cleared by done(). */
export function attemptSignal(
  ms: number,
  parent: AbortSignal,
): { signal: AbortSignal; done: () => void } {
  const controller = new AbortController();
  const onParent = () => controller.abort(parent.reason);
  if (parent.aborted) onParent();
  else parent.addEventListener('abort', onParent, { once: true });
  // A plain timer rather than AbortSignal.timeout(): cleared when the attempt ends, so nothing of a
  // finished attempt stays alive for the rest of the timeout.
  const timer = setTimeout(
    () => controller.abort(new DOMException('The attempt timed out', 'TimeoutError')),
    ms,
  );
  timer.unref();
  return {
    signal: controller.signal,
    done: () => {
      clearTimeout(timer);
      parent.removeEventListener('abort', onParent);
    },
  };
}
