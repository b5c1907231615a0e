// createAlerting(): the real rule engine over a real prom-client registry, the real dispatcher and
// notifier, on a ManualClock: pending, firing, acknowledged, silenced and resolved as the API shows
// them, stats, deliveries to a webhook, the hand-over to Alertmanager, and the option errors.
import { afterEach, describe, expect, it } from 'vitest';
import { type Alerting, fingerprint } from '@vigil/alerts';
import { fixture, stopFixtures } from './alerting-fixture';

afterEach(stopFixtures);

const names = (alerting: Alerting, filter?: Parameters<Alerting['alerts']>[0]) =>
  alerting
    .alerts(filter)
    .map((a) => `${a.labels.alertname}:${a.status}`)
    .sort();

describe('createAlerting()', () => {
  it('should show pending, then firing, with fingerprints as Alertmanager computes them', async () => {
    const f = fixture();
    f.depth.set(20);
    await f.step(15_000);
    expect(names(f.alerting)).toEqual(['QueueBusy:firing', 'QueueDeep:pending']);
    await f.step(31_000);
    await f.step(15_000);
    expect(names(f.alerting)).toEqual(['QueueBusy:firing', 'QueueDeep:firing']);
    const deep = f.alerting.alerts({ status: 'firing', severity: 'critical' });
    expect(deep).toHaveLength(1);
    expect(deep[0]!.fingerprint).toBe(fingerprint(deep[0]!.labels));
    expect(deep[0]).toMatchObject({
      labels: { alertname: 'QueueDeep', severity: 'critical' },
      annotations: { summary: 'The queue is deep' },
      startsAt: expect.any(String),
    });
  });

  it('should acknowledge and silence firing alerts, and count them in the stats', async () => {
    const f = fixture();
    f.depth.set(20);
    await f.step(15_000);
    await f.step(31_000);
    await f.step(15_000);
    const [deep] = f.alerting.alerts({ status: 'firing', severity: 'critical' });
    const [busy] = f.alerting.alerts({ status: 'firing', severity: 'warning' });
    const acked = f.alerting.acknowledge(deep!.fingerprint, 'alice', 'on it');
    expect(acked).toMatchObject({ status: 'acknowledged', acknowledgement: { by: 'alice' } });
    const silence = f.alerting.silence(busy!.fingerprint, 60, 'bob', 'deploying');
    expect(silence).toMatchObject({ createdBy: 'bob', status: 'active' });
    await f.step(15_000);
    expect(names(f.alerting)).toEqual(['QueueBusy:silenced', 'QueueDeep:acknowledged']);
    expect(f.alerting.silences()).toHaveLength(1);
    expect(f.alerting.stats()).toMatchObject({
      active: 2,
      activeBySeverity: { critical: 1, warning: 1 },
      resolvedLast7Days: 0,
      rulesTotal: 2,
      rulesEnabled: 2,
    });
    expect(f.alerting.expireSilence(silence!.id)).toBe(true);
    await f.step(15_000);
    expect(names(f.alerting, { severity: 'warning' })).toEqual(['QueueBusy:firing']);
    expect(f.alerting.acknowledge('0123456789abcdef', 'x')).toBeUndefined();
    expect(f.alerting.silence('0123456789abcdef', 5, 'x')).toBeUndefined();
    expect(f.alerting.expireSilence('no-such-silence')).toBe(false);
  });

  it('should keep resolved alerts for the stats for 7 days', async () => {
    const f = fixture();
    f.depth.set(20);
    await f.step(15_000);
    await f.step(31_000);
    await f.step(15_000);
    f.depth.set(0);
    await f.step(15_000);
    expect(names(f.alerting, { status: 'resolved' })).toEqual([
      'QueueBusy:resolved',
      'QueueDeep:resolved',
    ]);
    expect(f.alerting.stats()).toMatchObject({ active: 0, resolvedLast7Days: 2 });
    for (let day = 0; day < 8; day++) await f.step(24 * 3600_000);
    expect(f.alerting.stats().resolvedLast7Days).toBe(0);
  });

  it('should count an alert resolved while nobody read the API', async () => {
    const f = fixture();
    f.depth.set(7);
    await f.step(15_000);
    f.depth.set(0);
    await f.step(15_000);
    // Past the engine's and the dispatcher's 15 minutes of resolved alerts.
    for (let i = 0; i < 8; i++) await f.step(5 * 60_000);
    expect(names(f.alerting, { status: 'resolved' })).toEqual(['QueueBusy:resolved']);
    expect(f.alerting.stats().resolvedLast7Days).toBe(1);
  });

  it('should hand over to Alertmanager when ALERTMANAGER_URL is set, notifying nothing itself', () => {
    const saved = process.env.ALERTMANAGER_URL;
    process.env.ALERTMANAGER_URL = 'http://127.0.0.1:9';
    try {
      const f = fixture();
      expect(f.alerting.mode).toBe('alertmanager');
      expect(f.alerting.stats().receivers).toBe(1);
    } finally {
      if (saved === undefined) delete process.env.ALERTMANAGER_URL;
      else process.env.ALERTMANAGER_URL = saved;
    }
    expect(fixture().alerting.mode).toBe('local');
  });
});
