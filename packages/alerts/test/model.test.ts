import { describe, expect, it } from 'vitest';
import { ManualClock, compareBytes, fingerprint } from '../src/model';

// FNV-1a 64 with BigInt, written from the algorithm's definition, to check the two-halves version.
function reference(labels: Record<string, string>): string {
  const bytes = new TextEncoder();
  let h = 0xcbf29ce484222325n;
  const add = (b: number) => {
    h ^= BigInt(b);
    h = BigInt.asUintN(64, h * 0x100000001b3n);
  };
  for (const name of Object.keys(labels).sort(compareBytes)) {
    for (const b of bytes.encode(name)) add(b);
    add(0xff);
    for (const b of bytes.encode(labels[name])) add(b);
    add(0xff);
  }
  return h.toString(16).padStart(16, '0');
}

describe('fingerprint', () => {
  it('is the empty label set offset, and ids Alertmanager 0.25 printed for the same labels', () => {
    expect(fingerprint({})).toBe('cbf29ce484222325');
    // Read from a real Alertmanager's GET /api/v2/alerts after posting these label sets.
    expect(fingerprint({ alertname: 'HighErrorRate', severity: 'critical', job: 'gateway' })).toBe(
      'aa946711f1f20a43',
    );
    expect(fingerprint({ b: 'x', a: 'é' })).toBe('26c3dd04d1d0bafc');
  });

  it('agrees with a BigInt FNV-1a on random label sets', () => {
    let seed = 7;
    const rand = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    const alphabet = 'abcXYZ_09é€😀 ';
    const word = () =>
      Array.from(
        { length: Math.floor(rand() * 12) },
        () => alphabet[Math.floor(rand() * alphabet.length)],
      ).join('');
    for (let i = 0; i < 2000; i++) {
      const labels: Record<string, string> = {};
      const n = Math.floor(rand() * 6);
      for (let j = 0; j < n; j++) labels[`l${word().replace(/[^\w]/g, '')}`] = word();
      expect(fingerprint(labels)).toBe(reference(labels));
    }
  });
});

describe('ManualClock', () => {
  it('runs due timers in time order, with now() at each timer, and skips cancelled ones', () => {
    const clock = new ManualClock(1000);
    const seen: string[] = [];
    clock.setTimer(() => seen.push(`b@${clock.now()}`), 20);
    clock.setTimer(() => {
      seen.push(`a@${clock.now()}`);
      clock.setTimer(() => seen.push(`c@${clock.now()}`), 5);
    }, 10);
    const cancelled = clock.setTimer(() => seen.push('never'), 15);
    cancelled.cancel();
    clock.advance(12);
    expect(seen).toEqual(['a@1010']);
    clock.advance(100);
    expect(seen).toEqual(['a@1010', 'c@1015', 'b@1020']);
    expect(clock.now()).toBe(1112);
    expect(clock.pending).toBe(0);
  });
});
