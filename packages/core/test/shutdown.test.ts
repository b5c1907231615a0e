// The shutdown hub's phases: drain tasks run first, flush tasks once every drain task has settled.
import { afterEach, describe, expect, it } from 'vitest';
import { onShutdownSignal } from '@vigil/core';

const cleanup: (() => void)[] = [];
afterEach(() => {
  for (const undo of cleanup.splice(0)) undo();
});

describe('onShutdownSignal', () => {
  it('should start the flush tasks once the drain tasks have settled', async () => {
    // A listener of the app's own: the hub then runs its tasks and leaves the process alone.
    const app = () => undefined;
    process.on('SIGTERM', app);
    cleanup.push(() => process.removeListener('SIGTERM', app));
    const events: string[] = [];
    let finishDrain: () => void = () => undefined;
    const flushed = new Promise<void>((resolve) => {
      cleanup.push(
        onShutdownSignal(() => {
          events.push('flush');
          resolve();
        }),
      );
    });
    cleanup.push(
      onShutdownSignal(
        () =>
          new Promise<void>((resolve) => {
            events.push('drain start');
            finishDrain = () => {
              events.push('drain end');
              resolve();
            };
          }),
        { phase: 'drain' },
      ),
    );
    process.emit('SIGTERM', 'SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(events).toEqual(['drain start']);
    finishDrain();
    await flushed;
    expect(events).toEqual(['drain start', 'drain end', 'flush']);
  });

  it('should unregister a drain task', async () => {
    const app = () => undefined;
    process.on('SIGINT', app);
    cleanup.push(() => process.removeListener('SIGINT', app));
    let drained = 0;
    const undo = onShutdownSignal(() => void drained++, { phase: 'drain' });
    const flushed = new Promise<void>((resolve) => cleanup.push(onShutdownSignal(resolve)));
    undo();
    process.emit('SIGINT', 'SIGINT');
    await flushed;
    expect(drained).toBe(0);
  });
});
