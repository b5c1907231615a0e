// The dispatcher on a ManualClock: Alertmanager's grouping, timers, dedup, inhibition and silences,
// and Vigil's acknowledgements, maintenance windows (cron + time zone, across DST) and escalations.
import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  type AlertmanagerConfigInput,
  type DispatchedAlert,
  type Dispatcher,
  type DispatcherOptions,
  createDispatcher,
  parseAlertmanagerMatchers,
} from '@vigil/alerts';
import { type Delivery, ManualClock, type SilenceView, fingerprint } from '../src/model';

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

  it("should read matcher regexes as Go's RE2 reads them, as rule selectors do", () => {
    const t = setup({
      config: {
        route: {
          receiver: 'default',
          routes: [
            // Go's \s is ASCII whitespace only; POSIX classes; a leading flag group.
            { receiver: 'posix', matchers: ['service=~"[[:alpha:]]+-[[:digit:]]"'] },
            { receiver: 'space', matchers: ['team=~"a\\sb"'] },
            { receiver: 'nocase', matchers: ['env=~"(?i)prod"'] },
          ],
        },
        receivers: [{ name: 'default' }, { name: 'posix' }, { name: 'space' }, { name: 'nocase' }],
      },
    });
    expect(t.d.routesFor({ service: 'api-1' })).toEqual(['posix']);
    expect(t.d.routesFor({ service: 'api-x' })).toEqual(['default']);
    expect(t.d.routesFor({ team: 'a b' })).toEqual(['space']);
    // U+00A0 is whitespace to JavaScript's \s, not to Go's.
    expect(t.d.routesFor({ team: 'a\u00a0b' })).toEqual(['default']);
    expect(t.d.routesFor({ env: 'PROD' })).toEqual(['nocase']);
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

describe('silences', () => {
  it('should keep silenced alerts out of messages until the silence expires', () => {
    const t = setup();
    const down = { alertname: 'Down', service: 'api', severity: 'critical' };
    const s = t.d.addSilence({
      matchers: ['alertname="Down"', 'service=~"api|web"'],
      endsAt: t.clock.now() + H,
      createdBy: 'ops',
      comment: 'deploy',
    });
    expect(s.status).toBe('active');
    expect(s.matchers).toEqual([
      { name: 'alertname', value: 'Down', isRegex: false, isEqual: true },
      { name: 'service', value: 'api|web', isRegex: true, isEqual: true },
    ]);
    const pending = t.d.addSilence({
      matchers: [{ name: 'service', value: 'web', isRegex: false, isEqual: true }],
      startsAt: new Date(t.clock.now() + 2 * H).toISOString(),
      endsAt: new Date(t.clock.now() + 3 * H).toISOString(),
      createdBy: 'ops',
      comment: 'later',
    });
    expect(pending.status).toBe('pending');
    t.fire(down);
    t.clock.advance(5 * M);
    expect(t.take()).toHaveLength(0);
    expect(t.d.get(fingerprint(down))?.silencedBy).toEqual([s.id]);
    expect(t.d.expireSilence(s.id)).toBe(true);
    expect(t.d.expireSilence(s.id)).toBe(false);
    expect(t.d.expireSilence('nope')).toBe(false);
    t.fire(down);
    t.clock.advance(M);
    expect(t.summary(t.take())).toEqual(['notify page firing [Down:firing]']);
    expect(t.d.silences().map((x) => x.status)).toEqual(['expired', 'pending']);
    t.clock.advance(2 * H);
    expect(t.d.silences().map((x) => x.status)).toEqual(['expired', 'active']);
    // Expired silences are forgotten after 120h.
    t.clock.advance(121 * H);
    expect(t.d.silences()).toEqual([]);
  });

  it('should not send the resolution of an alert resolved while silenced and never notified', () => {
    const t = setup();
    const down = { alertname: 'Down', service: 'api', severity: 'critical' };
    t.d.addSilence({
      matchers: ['service="api"'],
      endsAt: t.clock.now() + H,
      createdBy: 'ops',
      comment: 'x',
    });
    t.fire(down);
    t.clock.advance(3 * M);
    t.resolve(down, t.clock.now() - 3 * M);
    t.clock.advance(2 * H);
    expect(t.take()).toHaveLength(0);
  });
});

describe('escalation and acknowledgement (seed 001: repeat every 5m, escalate after 15m)', () => {
  it('should repeat, escalate to oncall-lead after 15m, pause on ack and end it on resolution', () => {
    const t = setup({ escalations: [{ route: 'page', after: '15m', receiver: 'oncall-lead' }] });
    const t0 = t.clock.now();
    const down = { alertname: 'Down', service: 'api', severity: 'critical' };
    const log: string[] = [];
    const run = (until: number, post = true) => {
      while (t.clock.now() < t0 + until) {
        if (post) t.fire(down, t0);
        t.clock.advance(30 * S);
        for (const x of t.take()) {
          log.push(`${(t.clock.now() - t0) / S}s ${x.kind} ${x.receiver} ${x.message.status}`);
        }
      }
    };
    run(22 * M);
    expect(t.d.acknowledge(fingerprint(down), 'alice', 'looking')).toBe(true);
    expect(t.d.acknowledge('0000000000000000', 'alice')).toBe(false);
    for (const x of t.take()) log.push(`ack ${x.kind} ${x.receiver} ${x.message.alerts.length}`);
    expect(t.d.get(fingerprint(down))?.acknowledgement).toMatchObject({
      by: 'alice',
      comment: 'looking',
    });
    run(40 * M);
    t.resolve(down, t0);
    run(45 * M, false);
    expect(log).toEqual([
      '30s notify page firing',
      '390s notify page firing', // 6m30: first tick after repeat_interval (5m) since 30s
      '750s notify page firing',
      '900s notify oncall-lead firing', // 15m after startsAt, not waiting for a tick
      '1110s notify page firing',
      '1230s notify oncall-lead firing', // repeat to the lead, at the tick after 5m
      'ack acknowledge page 1',
      'ack acknowledge oncall-lead 1',
      '2430s notify page resolved', // 40m30: the resolution ends the acknowledgement
      '2430s notify oncall-lead resolved',
    ]);
    expect(t.d.get(fingerprint(down))?.acknowledgement).toBeUndefined();
    // A new firing starts unacknowledged.
    const t1 = t.clock.now();
    t.fire(down, t1);
    t.clock.advance(30 * S);
    const [notified] = t.take();
    expect(t.summary(notified ? [notified] : [])).toEqual(['notify page firing [Down:firing]']);
    expect(t.d.get(fingerprint(down))?.acknowledgement).toBeUndefined();
    expect(t.d.acknowledge(fingerprint(down), 'bob')).toBe(true);
    expect(t.d.acknowledge(fingerprint(down), 'bob')).toBe(true); // idempotent: no second delivery
    const acks = t.take();
    expect(acks.map((x) => `${x.kind} ${x.receiver}`)).toEqual(['acknowledge page']);
    // The acknowledgement names the incident (the group key) and the acknowledged alert.
    expect(acks[0]?.message.groupKey).toBe(notified?.message.groupKey);
    expect(acks[0]?.message.alerts.map((a) => a.fingerprint)).toEqual([fingerprint(down)]);
    // Not posted again, it resolves at its endsAt (10m): the acknowledgement ends, the resolution is sent.
    t.clock.advance(20 * M);
    expect(t.summary(t.take())).toEqual(['notify page resolved [Down:resolved]']);
    expect(t.d.get(fingerprint(down))?.acknowledgement).toBeUndefined();
    expect(t.d.get(fingerprint(down))?.status).toBe('resolved');
    expect(t.d.acknowledge(fingerprint(down), 'bob')).toBe(false);
  });

  it('should not escalate warnings (another route receiver) nor alerts acknowledged before 15m', () => {
    const t = setup({ escalations: [{ route: 'page', after: '15m', receiver: 'oncall-lead' }] });
    const t0 = t.clock.now();
    const down = { alertname: 'Down', service: 'db', severity: 'critical' };
    const slow = { alertname: 'Slow', service: 'web', severity: 'warning' };
    t.fire(down);
    t.fire(slow);
    t.clock.advance(M);
    t.d.acknowledge(fingerprint(down), 'carol');
    for (let i = 0; i < 30; i++) {
      t.fire(down, t0);
      t.fire(slow, t0);
      t.clock.advance(M);
    }
    const got = t.take().map((x) => `${x.kind} ${x.receiver}`);
    expect(got.filter((x) => x.includes('oncall-lead'))).toEqual([]);
    expect(got).toContain('acknowledge page');
  });
});

describe('maintenance windows', () => {
  const gateway = { alertname: 'GatewayDown', service: 'gateway', severity: 'critical' };
  const api = { alertname: 'ApiDown', service: 'api', severity: 'critical' };
  /** Seed 001's window: Sundays from 02:00 Paris time for 2h, for the gateway. */
  const WEEKLY = {
    name: 'weekly',
    schedule: '0 2 * * 0',
    duration: '2h',
    timezone: 'Europe/Paris',
    matchers: ['service="gateway"'],
  };

  it('should mute matching alerts from 02:00 Paris time for 2h, across both DST changes', () => {
    const clock = new ManualClock(Date.parse('2026-03-21T00:00:00Z'));
    const out: Delivery[] = [];
    const d = createDispatcher({
      config: CONFIG,
      deliver: (x) => out.push(x),
      clock,
      maintenance: [WEEKLY],
    });
    const checks: [string, string[]][] = [
      ['2026-03-22T00:59:00Z', []], // Sunday 01:59 CET
      ['2026-03-22T01:00:00Z', ['weekly']], // 02:00 CET
      ['2026-03-22T02:59:00Z', ['weekly']],
      ['2026-03-22T03:00:00Z', []], // 04:00 CET
      ['2026-03-29T00:59:00Z', []], // DST night: 01:59 CET, then clocks jump to 03:00 CEST
      ['2026-03-29T01:00:00Z', ['weekly']], // 03:00 CEST: 02:00 does not exist, the window opens then
      ['2026-03-29T02:59:00Z', ['weekly']],
      ['2026-03-29T03:00:00Z', []],
      ['2026-04-04T23:59:00Z', []], // Sunday 01:59 CEST
      ['2026-04-05T00:00:00Z', ['weekly']], // 02:00 CEST: an hour earlier in UTC than in winter
      ['2026-04-05T01:59:00Z', ['weekly']],
      ['2026-04-05T02:00:00Z', []],
      ['2026-10-24T23:59:00Z', []], // back to winter time: 01:59 CEST
      ['2026-10-25T00:00:00Z', ['weekly']], // the first 02:00 (CEST)
      ['2026-10-25T01:59:00Z', ['weekly']],
      ['2026-10-25T02:00:00Z', []],
      ['2026-11-01T00:59:00Z', []],
      ['2026-11-01T01:00:00Z', ['weekly']], // 02:00 CET
    ];
    const got: [string, string[]][] = [];
    for (const [when] of checks) {
      clock.advance(Date.parse(when) - clock.now());
      d.post([
        { labels: gateway, endsAt: new Date(clock.now() + H).toISOString() },
        { labels: api, endsAt: new Date(clock.now() + H).toISOString() },
      ]);
      got.push([when, [...(d.get(fingerprint(gateway))?.muted ?? [])]]);
      expect(d.get(fingerprint(api))?.muted).toEqual([]);
    }
    expect(got).toEqual(checks);
    d.stop();
  });

  it('should not notify a matching alert during the window, and notify it once the window closes', () => {
    const clock = new ManualClock(Date.parse('2026-03-22T00:30:00Z'));
    const out: Delivery[] = [];
    const d = createDispatcher({
      config: CONFIG,
      deliver: (x) => out.push(x),
      clock,
      maintenance: [WEEKLY],
    });
    const log: string[] = [];
    clock.advance(40 * M); // 01:10Z, 02:10 CET: open
    const start = clock.now();
    while (clock.now() < Date.parse('2026-03-22T03:30:00Z')) {
      d.post([
        {
          labels: gateway,
          startsAt: new Date(start).toISOString(),
          endsAt: new Date(clock.now() + 10 * M).toISOString(),
        },
        {
          labels: api,
          startsAt: new Date(start).toISOString(),
          endsAt: new Date(clock.now() + 10 * M).toISOString(),
        },
      ]);
      clock.advance(M);
      for (const x of out.splice(0))
        log.push(
          `${new Date(clock.now()).toISOString().slice(11, 16)} ${x.receiver} ${x.message.alerts.map((a) => a.labels.alertname).join(',')}`,
        );
    }
    // The first notification of each (repeats follow every 5m + 1m): the gateway only once closed.
    const first = (name: string) => log.find((l) => l.endsWith(name));
    expect([first('ApiDown'), first('GatewayDown')]).toEqual([
      '01:11 page ApiDown',
      '03:01 page GatewayDown',
    ]);
    d.stop();
  });
});

describe('configuration', () => {
  it('should read alertmanager.yml as YAML text, with time intervals muting a route', () => {
    const clock = new ManualClock(Date.parse('2026-01-03T10:00:00Z')); // a Saturday
    const out: Delivery[] = [];
    const d = createDispatcher({
      clock,
      deliver: (x) => out.push(x),
      config: `
global:
  resolve_timeout: 1m
route:
  receiver: default
  routes:
    - receiver: business-hours
      matchers: [ 'team = "web"' ]
      active_time_intervals: [weekdays]
time_intervals:
  - name: weekdays
    time_intervals:
      - weekdays: ['monday:friday']
        times: [{ start_time: '09:00', end_time: '17:00' }]
        location: Europe/Paris
receivers:
  - name: default
  - name: business-hours
    slack_configs: [{ channel: '#web' }]
templates: ['*.tmpl']
`,
    });
    expect(d.routesFor({ team: 'web' })).toEqual(['business-hours']);
    d.post([{ labels: { alertname: 'X', team: 'web' } }]);
    clock.advance(30 * S);
    expect(out).toHaveLength(0);
    // resolve_timeout 1m: an alert without endsAt resolves a minute after its last post.
    expect(d.get(fingerprint({ alertname: 'X', team: 'web' }))?.endsAt).toBe(
      '2026-01-03T10:01:00Z',
    );
    d.stop();
    const monday = new ManualClock(Date.parse('2026-01-05T08:30:00Z')); // 09:30 in Paris
    const d2 = createDispatcher({ clock: monday, deliver: (x) => out.push(x), config: d2Config() });
    d2.post([{ labels: { alertname: 'X', team: 'web' } }]);
    monday.advance(30 * S);
    expect(out.map((x) => x.receiver)).toEqual(['business-hours']);
    d2.stop();
  });

  it.each([
    ['{foo="bar"}', [['foo', '=', 'bar']]],
    ['foo=bar', [['foo', '=', 'bar']]],
    [
      'foo = "bar, baz" , a=~"x.*"',
      [
        ['foo', '=', 'bar, baz'],
        ['a', '=~', 'x.*'],
      ],
    ],
    ['foo="b\\"ar"', [['foo', '=', 'b"ar']]],
    ['foo!~"a|b"', [['foo', '!~', 'a|b']]],
    ['foo!=', [['foo', '!=', '']]],
    ['foo="a\\nb\\x"', [['foo', '=', 'a\nb\\x']]],
  ])('should parse %s as Alertmanager does', (text, expected) => {
    const got = parseAlertmanagerMatchers(text);
    expect(typeof got === 'string' ? got : got.map((m) => [m.name, m.type, m.value])).toEqual(
      expected,
    );
  });

  it.each(['foo="bar', 'foo=b"ar', '1foo=bar', 'foo=~"("', 'foo', 'a=b,,c=d'])(
    'should refuse %s as Alertmanager does',
    (text) => {
      expect(typeof parseAlertmanagerMatchers(text)).toBe('string');
    },
  );

  it('should anchor regular expressions at both ends', () => {
    const d = createDispatcher({
      config: {
        route: { receiver: 'a', routes: [{ receiver: 'b', matchers: ['service=~"api"'] }] },
        receivers: [{ name: 'a' }, { name: 'b' }],
      },
      deliver: () => undefined,
    });
    expect(d.routesFor({ service: 'api' })).toEqual(['b']);
    expect(d.routesFor({ service: 'api-v2' })).toEqual(['a']);
    d.stop();
  });
});

function d2Config(): AlertmanagerConfigInput {
  return {
    route: {
      receiver: 'default',
      routes: [
        {
          receiver: 'business-hours',
          matchers: ['team="web"'],
          active_time_intervals: ['weekdays'],
        },
      ],
    },
    time_intervals: [
      {
        name: 'weekdays',
        time_intervals: [
          {
            weekdays: ['monday:friday'],
            times: [{ start_time: '09:00', end_time: '17:00' }],
            location: 'Europe/Paris',
          },
        ],
      },
    ],
    receivers: [{ name: 'default' }, { name: 'business-hours' }],
  };
}

describe('bounds and faults', () => {
  it('should hold at most maxAlerts alerts, drop invalid ones, and count both', () => {
    const t = setup({ maxAlerts: 100 });
    t.d.post(
      Array.from({ length: 150 }, (_, i) => ({ labels: { alertname: 'Many', i: String(i) } })),
    );
    t.d.post([
      { labels: {} },
      { labels: { 'bad-name': 'x' } },
      { labels: { a: 'b' }, startsAt: 'yesterday' },
    ]);
    expect(t.d.stats()).toMatchObject({ alerts: 100, droppedAlerts: 53 });
    // Resolved alerts are forgotten, making room again.
    t.clock.advance(5 * M + 16 * M + 30 * S);
    expect(t.d.stats().alerts).toBe(0);
    t.d.post([{ labels: { alertname: 'Later' } }]);
    expect(t.d.stats().alerts).toBe(1);
  });

  it('should count a throwing deliver, log once, and retry at the next group_interval', () => {
    const clock = new ManualClock();
    const warnings: object[] = [];
    let fail = true;
    const got: Delivery[] = [];
    const d = createDispatcher({
      config: CONFIG,
      clock,
      logger: { warn: (o) => warnings.push(o) },
      deliver: (x) => {
        if (fail) throw new Error('queue full');
        got.push(x);
      },
    });
    d.post([
      {
        labels: { alertname: 'A', severity: 'warning' },
        endsAt: new Date(clock.now() + H).toISOString(),
      },
    ]);
    clock.advance(30 * S);
    clock.advance(5 * M);
    // Two flushes of two groups (ticket, and audit through continue).
    expect(d.stats().deliveryErrors).toBe(4);
    expect(warnings).toHaveLength(1);
    fail = false;
    clock.advance(5 * M);
    expect(got.map((x) => x.receiver)).toEqual(['ticket', 'audit']);
    d.stop();
    expect(clock.pending).toBe(0);
  });
});

describe('old forms and limits', () => {
  it('should read source_match / target_match_re inhibit rules and match / match_re routes', () => {
    const t = setup({
      config: {
        route: {
          receiver: 'default',
          group_by: ['alertname'],
          routes: [{ receiver: 'page', match: { severity: 'critical' } }],
        },
        inhibit_rules: [
          {
            source_match: { alertname: 'NodeDown' },
            target_match_re: { alertname: 'Disk.*|Cpu.*' },
            equal: ['node'],
          },
        ],
        receivers: [{ name: 'default' }, { name: 'page' }],
      },
    });
    t.fire({ alertname: 'NodeDown', node: 'n1', severity: 'critical' });
    t.fire({ alertname: 'DiskFull', node: 'n1' });
    t.fire({ alertname: 'DiskFull', node: 'n2' });
    t.fire({ alertname: 'DiskFullX', node: 'n1' }); // DiskFullX matches Disk.* anchored: inhibited too
    t.fire({ alertname: 'MemFull', node: 'n1' });
    t.clock.advance(30 * S);
    expect(t.summary(t.take()).sort()).toEqual([
      'notify default firing [DiskFull:firing]',
      'notify default firing [MemFull:firing]',
      'notify page firing [NodeDown:firing]',
    ]);
  });

  it('should hold at most maxSilences, making room by dropping the oldest expired one', () => {
    const t = setup({ maxSilences: 2 });
    const add = (c: string) =>
      t.d.addSilence({
        matchers: ['a="b"'],
        endsAt: t.clock.now() + H,
        createdBy: 'ops',
        comment: c,
      });
    const first = add('1');
    add('2');
    expect(() => add('3')).toThrow(/maxSilences/);
    t.d.expireSilence(first.id);
    add('3');
    expect(t.d.silences().map((s) => s.comment)).toEqual(['2', '3']);
  });
});

describe('hostile input and load', () => {
  it('should never throw on junk posted, and refuse junk silences with coded errors only', () => {
    const t = setup();
    const rnd = (() => {
      let a = 7;
      return () => {
        a = (a * 1103515245 + 12345) % 2147483648;
        return a / 2147483648;
      };
    })();
    const junkValues: unknown[] = [
      null,
      undefined,
      42,
      'x',
      [],
      {},
      NaN,
      { labels: null },
      { labels: [] },
      { labels: { a: 1 } },
      { labels: { 'a-b': 'x' } },
      { labels: { a: 'x'.repeat(16384) } },
      { labels: { __proto__: 'x', a: 'b' } },
      JSON.parse('{"labels":{"__proto__":"x"}}') as unknown,
      { labels: { a: 'b' }, startsAt: 'garbage' },
      { labels: { a: 'b' }, startsAt: '2026-01-01T00:00:00Z', endsAt: '2025-01-01T00:00:00Z' },
      { labels: { a: 'b' }, endsAt: Infinity },
      { labels: { a: 'b' }, annotations: { x: 2 } },
      { labels: { a: 'b' }, generatorURL: 5 },
      { labels: { a: '\u0000\ud800' } },
    ];
    let throws = 0;
    let tried = 0;
    for (let i = 0; i < 2000; i++) {
      const batch = Array.from(
        { length: 1 + Math.floor(rnd() * 4) },
        () => junkValues[Math.floor(rnd() * junkValues.length)],
      );
      tried += batch.length;
      try {
        t.d.post((rnd() < 0.05 ? batch[0] : batch) as never);
      } catch {
        throws++;
      }
    }
    // A label named __proto__ stays a label, with Alertmanager's fingerprint.
    const proto = t.d.alerts().find((a) => Object.keys(a.labels).includes('__proto__'));
    expect(proto?.fingerprint).toBe(
      fingerprint(JSON.parse('{"__proto__":"x"}') as Record<string, string>),
    );
    t.clock.advance(H);
    let uncoded = 0;
    const silences: unknown[] = [
      null,
      {},
      { matchers: [] },
      { matchers: ['a=~".*"'], endsAt: 1 },
      { matchers: [{ name: 1 }] },
      { matchers: ['a="b"'], endsAt: 'x', createdBy: 'a', comment: 'b' },
      { matchers: ['a="b"'], endsAt: Date.now() * 2, createdBy: '', comment: 'b' },
    ];
    for (const s of silences) {
      try {
        t.d.addSilence(s as never);
      } catch (e) {
        if ((e as { code?: string }).code !== 'ERR_VIGIL_ALERTS_DISPATCH_INVALID_SILENCE')
          uncoded++;
      }
    }
    console.log(
      `junk: ${tried} alerts in 2000 posts, ${throws} throws, ${t.d.stats().droppedAlerts} dropped, ${t.d.stats().alerts} kept; ${silences.length} junk silences, ${uncoded} uncoded errors`,
    );
    expect(throws).toBe(0);
    expect(uncoded).toBe(0);
  });

  it('should dispatch 10,000 alerts and return to nothing once they resolve', () => {
    const t = setup();
    const heap0 = process.memoryUsage().heapUsed;
    const alerts = Array.from({ length: 10_000 }, (_, i) => ({
      labels: {
        alertname: `A${i % 10}`,
        service: `s${Math.floor(i / 2) % 100}`,
        severity: i % 2 ? 'warning' : 'critical',
        instance: String(i),
      },
      endsAt: new Date(t.clock.now() + 10 * M).toISOString(),
    }));
    let start = performance.now();
    t.d.post(alerts);
    const postMs = performance.now() - start;
    start = performance.now();
    t.clock.advance(30 * S);
    const flushMs = performance.now() - start;
    const deliveries = t.take();
    start = performance.now();
    const views = t.d.alerts();
    const viewMs = performance.now() - start;
    const inhibited = views.filter((v) => v.inhibitedBy.length > 0).length;
    const stats = t.d.stats();
    const heapMb = (process.memoryUsage().heapUsed - heap0) / 1e6;
    t.clock.advance(H);
    const after = t.d.stats();
    console.log(
      `load: 10000 alerts posted in ${postMs.toFixed(0)} ms, ${stats.groups} groups, first flush ${flushMs.toFixed(0)} ms for ${deliveries.length} messages, alerts() ${viewMs.toFixed(0)} ms (${inhibited} inhibited), heap +${heapMb.toFixed(1)} MB; an hour later: ${after.alerts} alerts, ${after.groups} groups, ${t.clock.pending} timers`,
    );
    expect(stats.alerts).toBe(10_000);
    // ticket and page: one group per alertname and service; audit: one per warning (group_by ...).
    const pairs = (sev: string) =>
      new Set(
        alerts
          .filter((a) => a.labels.severity === sev)
          .map((a) => `${a.labels.alertname} ${a.labels.service}`),
      ).size;
    expect(stats.groups).toBe(pairs('warning') + pairs('critical') + 5000);
    expect(inhibited).toBe(5000);
    expect(after).toMatchObject({ alerts: 0, groups: 0 });
    expect(t.clock.pending).toBe(1);
  });
});

describe('public types', () => {
  it('should type the factory, its options and its views', () => {
    expectTypeOf(createDispatcher).parameter(0).toEqualTypeOf<DispatcherOptions>();
    expectTypeOf(createDispatcher).returns.toEqualTypeOf<Dispatcher>();
    expectTypeOf<Dispatcher['alerts']>().returns.toEqualTypeOf<readonly DispatchedAlert[]>();
    expectTypeOf<DispatchedAlert['status']>().toEqualTypeOf<'firing' | 'resolved'>();
    expectTypeOf<DispatcherOptions['config']>().toEqualTypeOf<AlertmanagerConfigInput | string>();
    expectTypeOf<Dispatcher['addSilence']>().returns.toEqualTypeOf<SilenceView>();
    // @ts-expect-error deliver is required, by the types and at the call
    expect(() => createDispatcher({ config: CONFIG })).toThrow(
      /option "deliver" must be a function/,
    );
  });
});
