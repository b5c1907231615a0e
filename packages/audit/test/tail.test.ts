// recent(): a bounded, frozen tail of the events written, oldest first.
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_TAIL_SIZE } from '@vigil/audit';
import { cleanup, loginEvent, memoryLogger } from './support/memory';

afterEach(cleanup);

describe('recent()', () => {
  it(`should keep the last ${DEFAULT_TAIL_SIZE} events by default, oldest first`, () => {
    const { logger } = memoryLogger();
    expect(logger.recent()).toEqual([]);
    for (let i = 0; i < 250; i++) logger.record(loginEvent(i));
    const tail = logger.recent();
    expect(tail).toHaveLength(100);
    expect(tail[0]?.seq).toBe(151);
    expect(tail.at(-1)?.seq).toBe(250);
  });

  it('should return the last limit events', () => {
    const { logger } = memoryLogger({ tailSize: 10 });
    for (let i = 0; i < 25; i++) logger.record(loginEvent(i));
    expect(logger.recent(3).map((e) => e.seq)).toEqual([23, 24, 25]);
    expect(logger.recent(0)).toEqual([]);
    expect(logger.recent(50).map((e) => e.seq)).toEqual([16, 17, 18, 19, 20, 21, 22, 23, 24, 25]);
  });

  it('should keep fewer events than its size until it fills', () => {
    const { logger } = memoryLogger({ tailSize: 3 });
    logger.record(loginEvent(1));
    logger.record(loginEvent(2));
    expect(logger.recent().map((e) => e.actor)).toEqual(['user-1', 'user-2']);
  });

  it('should keep nothing with tailSize: 0', () => {
    const { logger } = memoryLogger({ tailSize: 0 });
    logger.record(loginEvent());
    expect(logger.recent()).toEqual([]);
    expect(logger.recent(5)).toEqual([]);
  });

  it('should hand out frozen events and a frozen list', () => {
    const { logger, out } = memoryLogger();
    logger.record({ ...loginEvent(), metadata: { nested: { a: 1 } } });
    const tail = logger.recent();
    expect(Object.isFrozen(tail)).toBe(true);
    expect(() => {
      (tail[0]?.metadata?.nested as Record<string, unknown>).a = 2;
    }).toThrow(TypeError);
    expect(logger.recent()[0]).toEqual(out.events[0]);
  });
});
