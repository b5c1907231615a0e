// The dispatcher on a ManualClock: Alertmanager's grouping, timers, dedup, inhibition and silences,
// and Vigil's acknowledgements, maintenance windows (cron + time zone, across DST) and escalations.
import { describe, expect, it } from 'vitest';
import { type AlertmanagerConfigInput, createDispatcher } from '@vigil/alerts';
import { type Delivery, ManualClock, fingerprint } from '../src/model';

const S = 1000;
const M = 60 * S;
const H = 60 * M;

/** Seed 001: per-severity routes; critical repeats every 5m and escalates after 15m. */
const CONFIG: AlertmanagerConfigInput = {
  route: {
    receiver: 'default',
    group_by: ['alertname', 'service'],
    routes: [
      {
        receiver: 'page',
        matchers: ['severity="critical"'],
        repeat_interval: '5m',
        group_interval: '1m',
      },
      { receiver: 'ticket', matchers: ['severity="warning"'], continue: true },
      { receiver: 'audit', matchers: ['severity=~"critical|warning"'], group_by: ['...'] },
    ],
  },
  inhibit_rules: [
    {
      source_matchers: ['severity="critical"'],
      target_matchers: ['severity="warning"'],
      equal: ['service'],
    },
  ],
  receivers: [
    { name: 'default' },
    { name: 'page' },
    { name: 'ticket' },
    { name: 'audit' },
    { name: 'oncall-lead' },
  ],
};

function setup(extra: Partial<Parameters<typeof createDispatcher>[0]> = {}) {
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  const out: Delivery[] = [];
  const d = createDispatcher({ config: CONFIG, deliver: (x) => out.push(x), clock, ...extra });
  const iso = (ms: number) => new Date(ms).toISOString();
  /** Posts a firing alert as Prometheus does: endsAt ahead ("valid until"). */
  const fire = (labels: Record<string, string>, startsAt = clock.now()) =>
    d.post([{ labels, startsAt: iso(startsAt), endsAt: iso(clock.now() + 10 * M) }]);
  const resolve = (labels: Record<string, string>, startsAt: number) =>
    d.post([{ labels, startsAt: iso(startsAt), endsAt: iso(clock.now()) }]);
  const take = () => out.splice(0, out.length);
  const summary = (ds: Delivery[]) =>
    ds.map(
      (x) =>
        `${x.kind} ${x.receiver} ${x.message.status} [${x.message.alerts.map((a) => `${a.labels.alertname}${a.labels.instance ?? ''}:${a.status}`).join(' ')}]`,
    );
  return { clock, d, out, fire, resolve, take, summary };
}

describe('createDispatcher', () => {
  it('should group, wait, notify changes, repeat and send resolved once, as Alertmanager', () => {
    const t = setup();
    const t0 = t.clock.now();
    const w = { alertname: 'DiskFull', service: 'db', severity: 'warning' };
    t.fire({ ...w, instance: 'a' });
    t.fire({ ...w, instance: 'b' });
    t.clock.advance(29 * S);
    expect(t.take().filter((x) => x.receiver === 'ticket')).toHaveLength(0);
    t.clock.advance(1 * S);
    const first = t.take().filter((x) => x.receiver === 'ticket');
    expect(t.summary(first)).toEqual(['notify ticket firing [DiskFulla:firing DiskFullb:firing]']);
    expect(first[0]?.message.groupKey).toBe(
      '{}/{severity="warning"}:{alertname="DiskFull", service="db"}',
    );
    expect(first[0]?.message.groupLabels).toEqual({ alertname: 'DiskFull', service: 'db' });
    expect(first[0]?.message.commonLabels).toEqual(w);
    expect(first[0]?.message.alerts[0]?.endsAt).toBe('0001-01-01T00:00:00Z');
    expect(first[0]?.message.alerts[0]?.fingerprint).toBe(fingerprint({ ...w, instance: 'a' }));
    // A third alert joins; it is sent at the next group_interval tick (5m30s), not before.
    t.clock.advance(60 * S);
    t.fire({ ...w, instance: 'c' });
    t.clock.advance(4 * M - S);
    expect(t.take().filter((x) => x.receiver === 'ticket')).toHaveLength(0);
    t.clock.advance(S);
    expect(t.summary(t.take().filter((x) => x.receiver === 'ticket'))).toEqual([
      'notify ticket firing [DiskFulla:firing DiskFullb:firing DiskFullc:firing]',
    ]);
    // Keep them firing (Prometheus re-sends); nothing new until repeat_interval (4h) has passed.
    let repeats = 0;
    while (t.clock.now() < t0 + 4 * H + 15 * M) {
      for (const i of ['a', 'b', 'c']) t.fire({ ...w, instance: i }, t0);
      t.clock.advance(M);
      repeats += t.take().filter((x) => x.receiver === 'ticket').length;
    }
    expect(repeats).toBe(1);
    // b resolves: a resolved notification at the next tick, then b is dropped from the group.
    t.resolve({ ...w, instance: 'b' }, t0);
    for (const i of ['a', 'c']) t.fire({ ...w, instance: i }, t0);
    t.clock.advance(5 * M);
    const resolved = t.take().filter((x) => x.receiver === 'ticket');
    expect(t.summary(resolved)).toEqual([
      'notify ticket firing [DiskFulla:firing DiskFullb:resolved DiskFullc:firing]',
    ]);
    expect(resolved[0]?.message.alerts[1]?.endsAt).toBe(
      new Date(t.clock.now() - 5 * M).toISOString().replace('.000', ''),
    );
    for (const i of ['a', 'c']) t.fire({ ...w, instance: i }, t0);
    t.clock.advance(5 * M);
    expect(t.take().filter((x) => x.receiver === 'ticket')).toHaveLength(0);
    // Not posted again: they end at their endsAt (10m after the last post) and resolve on their own.
    t.clock.advance(15 * M);
    expect(t.summary(t.take().filter((x) => x.receiver === 'ticket'))).toEqual([
      'notify ticket resolved [DiskFulla:resolved DiskFullc:resolved]',
    ]);
    t.clock.advance(H);
    expect(t.take()).toHaveLength(0);
    expect(t.d.stats().groups).toBe(0);
    expect(t.d.alerts()).toHaveLength(0);
    t.d.stop();
  });

  it('should route per severity, with continue and group_by ["..."], as routesFor says', () => {
    const t = setup();
    expect(t.d.routesFor({ severity: 'critical' })).toEqual(['page']);
    expect(t.d.routesFor({ severity: 'info' })).toEqual(['default']);
    const t2 = setup({
      config: {
        ...CONFIG,
        route: {
          ...CONFIG.route,
          routes: [
            { receiver: 'audit', match_re: { severity: '.+' }, continue: true },
            ...(CONFIG.route.routes ?? []),
          ],
        },
      },
    });
    expect(t2.d.routesFor({ severity: 'critical' })).toEqual(['audit', 'page']);
    t2.fire({ alertname: 'X', severity: 'info', service: 's' });
    t2.clock.advance(30 * S);
    expect(t2.summary(t2.take())).toEqual(['notify audit firing [X:firing]']);
  });

  it('should inhibit warnings while a critical of the same service fires, and not the alert itself', () => {
    const t = setup();
    t.fire({ alertname: 'Down', service: 'api', severity: 'critical' });
    t.fire({ alertname: 'Slow', service: 'api', severity: 'warning' });
    t.fire({ alertname: 'Slow', service: 'web', severity: 'warning' });
    t.clock.advance(30 * S);
    const got = t.summary(t.take()).sort();
    expect(got).toEqual([
      'notify audit firing [Slow:firing]',
      'notify page firing [Down:firing]',
      'notify ticket firing [Slow:firing]',
    ]);
    const slowApi = t.d.get(
      fingerprint({ alertname: 'Slow', service: 'api', severity: 'warning' }),
    );
    expect(slowApi?.inhibitedBy).toEqual([
      fingerprint({ alertname: 'Down', service: 'api', severity: 'critical' }),
    ]);
    expect(slowApi?.receivers).toEqual(['ticket', 'audit']);
  });
});
