// setTraceContextProvider / getActiveTraceContext: how metrics reads the span that tracing keeps active.
import { afterEach, describe, expect, it } from 'vitest';
import { getActiveTraceContext, setTraceContextProvider } from '@vigil/core';
import type { ActiveTraceContext } from '@vigil/core';

const CONTEXT: ActiveTraceContext = {
  traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
  spanId: '00f067aa0ba902b7',
  sampled: true,
};

describe('getActiveTraceContext', () => {
  afterEach(() => {
    setTraceContextProvider(undefined);
  });

  it('should give undefined when no provider is set', () => {
    expect(getActiveTraceContext()).toBeUndefined();
  });

  it('should give what the provider returns', () => {
    setTraceContextProvider(() => CONTEXT);

    expect(getActiveTraceContext()).toEqual(CONTEXT);
  });

  it('should give undefined when the provider has no active span', () => {
    setTraceContextProvider(() => undefined);

    expect(getActiveTraceContext()).toBeUndefined();
  });

  it('should give undefined instead of throwing when the provider throws', () => {
    setTraceContextProvider(() => {
      throw new Error('provider broke');
    });

    expect(() => getActiveTraceContext()).not.toThrow();
    expect(getActiveTraceContext()).toBeUndefined();
  });

  it('should forget the provider when it is set to undefined', () => {
    setTraceContextProvider(() => CONTEXT);
    setTraceContextProvider(undefined);

    expect(getActiveTraceContext()).toBeUndefined();
  });

  it('should use the latest provider', () => {
    setTraceContextProvider(() => CONTEXT);
    setTraceContextProvider(() => ({ ...CONTEXT, sampled: false }));

    expect(getActiveTraceContext()).toEqual({ ...CONTEXT, sampled: false });
  });

  it('should keep the provider on globalThis so that another copy of the package sees it', () => {
    setTraceContextProvider(() => CONTEXT);

    const slot = (globalThis as Record<symbol, unknown>)[Symbol.for('vigil.traceContextProvider')];

    expect(typeof slot).toBe('function');
  });
});
