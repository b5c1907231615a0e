// createProblemReporter: each distinct problem logged once, every report counted, never thrown.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createProblemReporter } from '@vigil/core';
import type { MinimalLogger } from '@vigil/core';

interface LoggedCall {
  obj: object;
  msg: string | undefined;
}

function captureLogger(): MinimalLogger & { calls: LoggedCall[] } {
  const calls: LoggedCall[] = [];
  return {
    calls,
    warn(obj, msg) {
      calls.push({ obj, msg });
    },
  };
}

describe('createProblemReporter', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('should log a key once and count every report', () => {
    const logger = captureLogger();
    const reporter = createProblemReporter('@vigil/example', logger);

    reporter.report('hook_failed', new Error('first'));
    reporter.report('hook_failed', new Error('second'));
    reporter.report('hook_failed', 'third');

    expect(reporter.count).toBe(3);
    expect(logger.calls).toEqual([
      {
        obj: { component: '@vigil/example', problem: 'hook_failed', err: 'first' },
        msg: '@vigil/example: hook_failed',
      },
    ]);
  });

  it('should log each distinct key once', () => {
    const logger = captureLogger();
    const reporter = createProblemReporter('@vigil/example', logger);

    reporter.report('a', 'problem a');
    reporter.report('b', new Error('problem b'));
    reporter.report('a', 'again');

    expect(reporter.count).toBe(3);
    expect(logger.calls.map((call) => call.obj)).toEqual([
      { component: '@vigil/example', problem: 'a', err: 'problem a' },
      { component: '@vigil/example', problem: 'b', err: 'problem b' },
    ]);
  });

  it('should not throw when the logger throws', () => {
    const warn = vi.fn(() => {
      throw new Error('logger broke');
    });
    const reporter = createProblemReporter('@vigil/example', { warn });

    expect(() => reporter.report('a', new Error('x'))).not.toThrow();
    expect(() => reporter.report('b', 'y')).not.toThrow();
    expect(warn).toHaveBeenCalledTimes(2);
    expect(reporter.count).toBe(2);
  });

  it.each<[string, unknown]>([
    ['an object without a prototype', Object.create(null)],
    [
      'an object whose toString throws',
      {
        toString(): string {
          throw new Error('no string');
        },
      },
    ],
  ])('should not throw when the problem is %s', (_label, problem) => {
    const logger = captureLogger();
    const reporter = createProblemReporter('@vigil/example', logger);

    expect(() => reporter.report('odd_problem', problem)).not.toThrow();
    expect(reporter.count).toBe(1);
  });

  it('should log at most 100 distinct keys and still count everything', () => {
    const logger = captureLogger();
    const reporter = createProblemReporter('@vigil/example', logger);

    for (let i = 0; i < 1_000; i++) reporter.report(`key-${i}`, 'problem');
    reporter.report('key-0', 'repeat of a logged key');
    reporter.report('key-500', 'repeat of a key that was never logged');
    console.log(
      `problem reporter, 1000 distinct keys: logged=${logger.calls.length} counted=${reporter.count}`,
    );

    expect(logger.calls).toHaveLength(100);
    expect(logger.calls.at(-1)?.obj).toMatchObject({ problem: 'key-99' });
    expect(reporter.count).toBe(1_002);
  });

  it('should emit one process warning per key when no logger is given', () => {
    const emitWarning = vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    const reporter = createProblemReporter('@vigil/example');

    reporter.report('store_error', new Error('redis down'));
    reporter.report('store_error', new Error('redis down'));

    expect(emitWarning).toHaveBeenCalledTimes(1);
    expect(emitWarning).toHaveBeenCalledWith('store_error: redis down', {
      code: 'VIGIL_WARNING',
      detail: '@vigil/example',
    });
    expect(reporter.count).toBe(2);
  });
});
