// Request-time problem reporting: each distinct problem is logged once per instance, never thrown.

/** The part of a pino-like logger Vigil needs. */
export interface MinimalLogger {
  warn(obj: object, msg?: string): void;
}

export interface ProblemReporter {
  /** Logs `problem` once for this `key`; later reports with the same key are counted only. */
  report(key: string, problem: unknown): void;
  /** How many problems were reported, including repeats. */
  readonly count: number;
}

const MAX_KEYS = 100;

/**
 * Writes one Vigil process warning: code `VIGIL_WARNING`, the component as its detail. The default
 * destination of every Vigil package's reports when no logger is given.
 */
export function emitVigilWarning(component: string, message: string): void {
  process.emitWarning(message, { code: 'VIGIL_WARNING', detail: component });
}

/** Creates a reporter that writes to `logger`, or to process warnings when none is given. */
export function createProblemReporter(component: string, logger?: MinimalLogger): ProblemReporter {
  const seen = new Set<string>();
  let count = 0;
  return {
    report(key, problem) {
      count++;
      // The key set is bounded so a flood of distinct problems cannot grow memory.
      if (seen.has(key) || seen.size >= MAX_KEYS) return;
      seen.add(key);
      try {
        const message = problem instanceof Error ? problem.message : String(problem);
        if (logger) logger.warn({ component, problem: key, err: message }, `${component}: ${key}`);
        else emitVigilWarning(component, `${key}: ${message}`);
      } catch {
        // A broken logger must not break the request either.
      }
    },
    get count() {
      return count;
    },
  };
}
