// createLabelGuard: a per-metric cap on distinct label sets, with a single overflow report.
import { describe, expect, it, vi } from 'vitest';
import { OVERFLOW_LABEL_VALUE, createLabelGuard } from '@vigil/core';
import type { LabelOverflowInfo } from '@vigil/core';

describe('createLabelGuard', () => {
  it('should admit distinct keys up to the limit and refuse the next one', () => {
    const guard = createLabelGuard({ metric: 'http_requests_total', limit: 3 });

    expect(['a', 'b', 'c'].map((key) => guard.admit(key))).toEqual([true, true, true]);
    expect(guard.size).toBe(3);
    expect(guard.overflowed).toBe(false);
    expect(guard.admit('d')).toBe(false);
    expect(guard.size).toBe(3);
    expect(guard.overflowed).toBe(true);
  });

  it('should report the overflow exactly once, with the metric and the limit', () => {
    const onOverflow = vi.fn<(info: LabelOverflowInfo) => void>();
    const guard = createLabelGuard({ metric: 'http_requests_total', limit: 2, onOverflow });

    for (let i = 0; i < 50; i++) guard.admit(`key-${i}`);

    expect(onOverflow).toHaveBeenCalledTimes(1);
    expect(onOverflow).toHaveBeenCalledWith({ metric: 'http_requests_total', limit: 2 });
  });

  it('should keep admitting known keys after the overflow', () => {
    const guard = createLabelGuard({ metric: 'm', limit: 2 });
    guard.admit('GET /a 200');
    guard.admit('GET /b 200');

    expect(guard.admit('GET /c 200')).toBe(false);
    expect(guard.admit('GET /a 200')).toBe(true);
    expect(guard.admit('GET /b 200')).toBe(true);
    expect(guard.admit('GET /c 200')).toBe(false);
  });

  it('should forget every key and the overflow on clear()', () => {
    const onOverflow = vi.fn();
    const guard = createLabelGuard({ metric: 'm', limit: 1, onOverflow });
    guard.admit('a');
    guard.admit('b');

    guard.clear();

    expect(guard.size).toBe(0);
    expect(guard.overflowed).toBe(false);
    expect(guard.admit('b')).toBe(true);
    expect(guard.admit('a')).toBe(false);
    // A fresh overflow after clear() is a new event and is reported again.
    expect(onOverflow).toHaveBeenCalledTimes(2);
  });

  it('should refuse every key with a limit of 0', () => {
    const guard = createLabelGuard({ metric: 'm', limit: 0 });

    expect(guard.admit('a')).toBe(false);
    expect(guard.size).toBe(0);
    expect(guard.overflowed).toBe(true);
  });

  it('should not throw when there is no onOverflow hook', () => {
    const guard = createLabelGuard({ metric: 'm', limit: 1 });

    expect(() => ['a', 'b', 'c'].forEach((key) => guard.admit(key))).not.toThrow();
    expect(guard.overflowed).toBe(true);
  });

  it('should stay bounded over 10,000 distinct keys', () => {
    const limit = 1_000;
    const onOverflow = vi.fn();
    const guard = createLabelGuard({ metric: 'http_requests_total', limit, onOverflow });
    let admitted = 0;
    let refused = 0;

    for (let i = 0; i < 10_000; i++) {
      if (guard.admit(`GET|/random/${i.toString(36)}|404`)) admitted++;
      else refused++;
    }
    console.log(
      `label guard, 10000 distinct keys, limit ${limit}: admitted=${admitted} refused=${refused} size=${guard.size} overflowReports=${onOverflow.mock.calls.length}`,
    );

    expect(admitted).toBe(limit);
    expect(refused).toBe(10_000 - limit);
    expect(guard.size).toBe(limit);
    expect(onOverflow).toHaveBeenCalledTimes(1);
  });

  it('should name the overflow label value', () => {
    expect(OVERFLOW_LABEL_VALUE).toBe('__overflow__');
  });
});
