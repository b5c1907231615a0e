// Runs one check: a result cached for its interval, one call in flight at a time (a probe storm
// shares it), a timeout, and nothing thrown whatever the check does.
import type { ProblemReporter } from '@vigil/core';
import type { CheckFunctionResult, CheckResult, HealthCheck, HealthStatus } from './types';

/** A check's latest outcome. */
export interface Outcome {
  readonly result: CheckResult;
  /** Latency of the run, in seconds (the timeout when it timed out). */
  readonly seconds: number;
  /** performance.now() when it was observed. */
  readonly at: number;
}

const STATUSES: readonly string[] = ['pass', 'warn', 'fail'];

function errorText(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.length > 200 ? `${text.slice(0, 197)}...` : text;
}

/** Turns what a check function gave into the draft's check object. */
function toResult(check: HealthCheck, value: CheckFunctionResult, ms: number): CheckResult {
  const result: CheckResult = { status: 'pass', time: new Date().toISOString() };
  if (check.componentType !== undefined) result.componentType = check.componentType;
  if (value === false) {
    result.status = 'fail';
  } else if (value !== null && typeof value === 'object') {
    if (value.status !== undefined) {
      result.status = STATUSES.includes(value.status) ? value.status : 'fail';
    }
    if (value.observedValue !== undefined) {
      result.observedValue = value.observedValue;
      if (typeof value.observedUnit === 'string') result.observedUnit = value.observedUnit;
    }
    if (typeof value.output === 'string' && value.output !== '' && result.status !== 'pass') {
      result.output = value.output;
    }
  }
  if (result.observedValue === undefined && check.measurement === 'responseTime') {
    result.observedValue = Math.round(ms * 100) / 100;
    result.observedUnit = 'ms';
  }
  return result;
}

export class CheckRunner {
  private latest: Outcome | undefined;
  private running: Promise<Outcome> | undefined;
  /** The call of the check still pending, even past its timeout: no second call is stacked on it. */
  private pending: Promise<unknown> | undefined;
  private pendingSince = 0;

  constructor(
    readonly check: HealthCheck,
    private readonly reporter: ProblemReporter,
    private readonly observe: (check: HealthCheck, outcome: Outcome) => void,
  ) {}

  /** The cached outcome while it is fresh, else a new run (shared by concurrent callers). */
  evaluate(): Promise<Outcome> {
    const latest = this.latest;
    if (latest !== undefined && performance.now() - latest.at < this.check.intervalMs) {
      return Promise.resolve(latest);
    }
    this.running ??= this.runOnce().then((outcome) => {
      this.latest = outcome;
      this.running = undefined;
      try {
        this.observe(this.check, outcome);
      } catch (error) {
        this.reporter.report('metrics', error);
      }
      return outcome;
    });
    return this.running;
  }

  private runOnce(): Promise<Outcome> {
    const { check } = this;
    const started = performance.now();
    const timedOut = (since: number): Outcome => ({
      result: {
        ...(check.componentType === undefined ? {} : { componentType: check.componentType }),
        status: 'fail',
        time: new Date().toISOString(),
        output: `timed out after ${check.timeoutMs} ms${since > check.timeoutMs * 1.5 ? ` (one call pending for ${Math.round(since)} ms)` : ''}`,
      },
      seconds: check.timeoutMs / 1000,
      at: performance.now(),
    });
    // A call that never settled is still the one in flight: report it timed out again rather than
    // stack one more call per interval on a dependency that hangs.
    if (this.pending !== undefined) {
      return Promise.resolve(timedOut(started - this.pendingSince));
    }
    let call: Promise<CheckFunctionResult>;
    try {
      call = Promise.resolve(check.run());
    } catch (error) {
      call = Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    const tracked = call.then(
      () => undefined,
      () => undefined,
    );
    this.pending = tracked;
    this.pendingSince = started;
    void tracked.then(() => {
      if (this.pending === tracked) this.pending = undefined;
    });
    return new Promise<Outcome>((resolve) => {
      const timer = setTimeout(
        () => resolve(timedOut(performance.now() - started)),
        check.timeoutMs,
      );
      call.then(
        (value) => {
          clearTimeout(timer);
          const ms = performance.now() - started;
          resolve({
            result: toResult(check, value, ms),
            seconds: ms / 1000,
            at: performance.now(),
          });
        },
        (error: unknown) => {
          clearTimeout(timer);
          const ms = performance.now() - started;
          const result: CheckResult = {
            ...(check.componentType === undefined ? {} : { componentType: check.componentType }),
            status: 'fail',
            time: new Date().toISOString(),
            output: errorText(error),
          };
          resolve({ result, seconds: ms / 1000, at: performance.now() });
        },
      );
    });
  }
}

/** The overall status of a probe's outcomes: a critical failure fails, any other problem warns. */
export function overall(
  outcomes: readonly { check: HealthCheck; outcome: Outcome }[],
): HealthStatus {
  let status: HealthStatus = 'pass';
  for (const { check, outcome } of outcomes) {
    const s = outcome.result.status;
    if (s === 'fail' && check.critical) return 'fail';
    if (s !== 'pass') status = 'warn';
  }
  return status;
}
