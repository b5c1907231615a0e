// audit_events_total{type, outcome} in a real prom-client registry, bounded by the type label guard.
import { Counter, Registry, register as globalRegistry } from 'prom-client';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { OVERFLOW_LABEL_VALUE, createAuditLogger } from '@vigil/audit';
import { MemoryDestination, cleanup, memoryLogger, track } from './support/memory';

afterEach(cleanup);

async function samples(registry: Registry): Promise<Record<string, number>> {
  const metric = await registry.getSingleMetric('audit_events_total')?.get();
  const out: Record<string, number> = {};
  for (const v of metric?.values ?? []) out[`${v.labels.type}/${v.labels.outcome}`] = v.value;
  return out;
}

describe('audit_events_total', () => {
  it('should count events by type and outcome', async () => {
    const registry = new Registry();
    const { logger } = memoryLogger({ registry });
    logger.record({ type: 'auth.login', outcome: 'success' });
    logger.record({ type: 'auth.login', outcome: 'success' });
    logger.record({ type: 'auth.login', outcome: 'failure' });
    logger.record({ type: 'rate_limit.exceeded', outcome: 'denied' });
    expect(() => logger.record({ type: 'auth.login', outcome: 'nope' as 'success' })).toThrow();
    expect(await samples(registry)).toEqual({
      'auth.login/success': 2,
      'auth.login/failure': 1,
      'rate_limit.exceeded/denied': 1,
    });
    const text = await registry.metrics();
    expect(text).toContain('# TYPE audit_events_total counter');
    expect(text).toContain('audit_events_total{type="auth.login",outcome="success"} 2');
  });

  it('should count types beyond maxTypes as __overflow__ and warn once', async () => {
    const registry = new Registry();
    const warn = vi.fn();
    const { logger } = memoryLogger({ registry, maxTypes: 2, logger: { warn } });
    for (const type of ['a.one', 'a.two', 'a.three', 'a.four', 'a.one']) {
      logger.record({ type, outcome: 'success' });
    }
    expect(await samples(registry)).toEqual({
      'a.one/success': 2,
      'a.two/success': 1,
      [`${OVERFLOW_LABEL_VALUE}/success`]: 2,
    });
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn.mock.calls[0]?.[0]).toMatchObject({ problem: 'type-overflow' });
    // The events themselves keep their real type.
    expect(logger.recent().map((e) => e.type)).toEqual([
      'a.one',
      'a.two',
      'a.three',
      'a.four',
      'a.one',
    ]);
  });

  it('should share one counter between loggers on the same registry', async () => {
    const registry = new Registry();
    memoryLogger({ registry }).logger.record({ type: 'a.b', outcome: 'success' });
    memoryLogger({ registry }).logger.record({ type: 'a.b', outcome: 'success' });
    expect(await samples(registry)).toEqual({ 'a.b/success': 2 });
  });

  it('should reuse a compatible counter the app registered itself', async () => {
    const registry = new Registry();
    const own = new Counter({
      name: 'audit_events_total',
      help: 'mine',
      labelNames: ['outcome', 'type'],
      registers: [registry],
    });
    memoryLogger({ registry }).logger.record({ type: 'a.b', outcome: 'error' });
    expect((await own.get()).values).toEqual([
      { labels: { type: 'a.b', outcome: 'error' }, value: 1 },
    ]);
  });

  it('should register nothing with registry: false', async () => {
    const before = (await globalRegistry.getMetricsAsJSON()).length;
    memoryLogger({ registry: false }).logger.record({ type: 'a.b', outcome: 'success' });
    expect(globalRegistry.getSingleMetric('audit_events_total')).toBeUndefined();
    expect((await globalRegistry.getMetricsAsJSON()).length).toBe(before);
  });

  it("should use prom-client's global registry by default", async () => {
    try {
      const logger = track(
        createAuditLogger({ destination: new MemoryDestination(), signals: false, default: false }),
      );
      logger.record({ type: 'a.b', outcome: 'unknown' });
      expect(await samples(globalRegistry)).toEqual({ 'a.b/unknown': 1 });
    } finally {
      globalRegistry.removeSingleMetric('audit_events_total');
    }
  });

  it('should still write the event when counting fails', () => {
    const warn = vi.fn();
    const registry = new Registry();
    const { logger, out } = memoryLogger({ registry, logger: { warn } });
    // The registered instrument (@vigil/core's counter) finds a series per label set: break that.
    const counter = registry.getSingleMetric('audit_events_total') as unknown as {
      child(): unknown;
    };
    vi.spyOn(counter, 'child').mockImplementation(() => {
      throw new Error('broken counter');
    });
    logger.record({ type: 'a.b', outcome: 'success' });
    expect(out.lines).toHaveLength(1);
    expect(warn).toHaveBeenCalledWith(
      expect.objectContaining({ problem: 'metric', err: 'broken counter' }),
      '@vigil/audit: metric',
    );
  });
});
