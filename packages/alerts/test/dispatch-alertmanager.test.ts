// The dispatcher against the real thing (Debian's prometheus-alertmanager 0.25 and amtool): the same
// fingerprints for random label sets, the same receivers for label sets over nested, continue, regex,
// negative and per-severity routes (and part 1's generated routes), and the same webhook messages for
// one timeline posted to both.
import { spawnSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify } from 'yaml';
import { type RunningServer, findBinary, freePort, listen, seededRandom } from '@vigil/test-utils';
import { type AlertmanagerConfigInput, createDispatcher } from '@vigil/alerts';
import { type LabelSet, type PostableAlert, type WebhookMessage, fingerprint } from '../src/model';

const alertmanager = findBinary('prometheus-alertmanager', 'prometheus-alertmanager');
const amtool = findBinary('amtool', 'prometheus-alertmanager');

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface RunningAlertmanager {
  readonly url: string;
  stop(): Promise<void>;
  logs(): string;
}

/**
 * Starts prometheus-alertmanager on a loopback port, without clustering, on a temp storage path. A
 * free port can be taken by another test's server before Alertmanager binds it: that start is retried
 * on a new port.
 */
async function startAlertmanager(binary: string, config: string): Promise<RunningAlertmanager> {
  let lastError: Error | undefined;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await startAlertmanagerOnce(binary, config);
    } catch (err) {
      lastError = err instanceof Error ? err : new Error(String(err));
      if (!/address already in use/.test(lastError.message)) break;
    }
  }
  throw lastError ?? new Error('alertmanager did not start');
}

async function startAlertmanagerOnce(binary: string, config: string): Promise<RunningAlertmanager> {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-am-'));
  writeFileSync(join(dir, 'alertmanager.yml'), config);
  const port = await freePort();
  let logs = '';
  const child: ChildProcess = spawn(
    binary,
    [
      `--config.file=${join(dir, 'alertmanager.yml')}`,
      `--storage.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--cluster.listen-address=',
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const append = (b: Buffer) => {
    logs = (logs + b.toString()).slice(-65536);
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([exited, sleep(5000)]);
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    rmSync(dir, { recursive: true, force: true });
  };
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) break;
    try {
      const r = await fetch(`${url}/-/ready`);
      if (r.ok) return { url, stop, logs: () => logs };
    } catch {
      // Not listening yet.
    }
    await sleep(100);
  }
  await stop();
  throw new Error(`alertmanager did not start:\n${logs}`);
}

async function postAlerts(
  am: RunningAlertmanager,
  alerts: readonly PostableAlert[],
): Promise<void> {
  const r = await fetch(`${am.url}/api/v2/alerts`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(alerts),
  });
  if (!r.ok) throw new Error(`POST /api/v2/alerts: ${r.status} ${await r.text()}`);
}

const NAMES = [
  'alertname',
  'job',
  'instance',
  'severity',
  'service',
  'a',
  '_x',
  'Z9',
  'le',
  'path',
];
const VALUES = [
  '',
  'x',
  'critical',
  'é',
  '日本',
  'a b',
  'q"uote',
  'back\\slash',
  'new\nline',
  '{}=,',
  '🚀',
];

const NULL_CONFIG = { route: { receiver: 'null' }, receivers: [{ name: 'null' }] };

describe.skipIf(alertmanager === undefined)('fingerprints against prometheus-alertmanager', () => {
  let am: RunningAlertmanager | undefined;
  beforeAll(async () => {
    am = await startAlertmanager(alertmanager ?? '', stringify(NULL_CONFIG));
  });
  afterAll(async () => am?.stop());

  it('should give the fingerprints Alertmanager gives for 200 random label sets', async () => {
    const rnd = seededRandom(1);
    const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)] as T;
    const sets: LabelSet[] = [];
    const seen = new Set<string>();
    while (sets.length < 200) {
      const labels: Record<string, string> = { alertname: `A${sets.length % 7}` };
      const n = 1 + Math.floor(rnd() * 5);
      for (let i = 0; i < n; i++) {
        const v = pick(VALUES);
        // Prometheus never sends empty values; Alertmanager keeps them, so a few are tried too.
        labels[pick(NAMES)] = v === '' && rnd() < 0.7 ? 'v' : v + (rnd() < 0.5 ? String(i) : '');
      }
      const key = JSON.stringify(Object.entries(labels).sort());
      if (seen.has(key)) continue;
      seen.add(key);
      sets.push(labels);
    }
    const endsAt = new Date(Date.now() + 3600_000).toISOString();
    const alerts = sets.map((labels) => ({ labels, endsAt }));
    await postAlerts(am!, alerts);
    const vigil = createDispatcher({ config: NULL_CONFIG, deliver: () => undefined });
    vigil.post(alerts);
    const r = await fetch(`${am!.url}/api/v2/alerts`);
    const got = (await r.json()) as { labels: Record<string, string>; fingerprint: string }[];
    const byLabels = (a: { labels: LabelSet }) => JSON.stringify(Object.entries(a.labels).sort());
    const ours = new Map(vigil.alerts().map((a) => [byLabels(a), a.fingerprint]));
    vigil.stop();
    let agree = 0;
    let direct = 0;
    const disagree: string[] = [];
    for (const a of got) {
      if (ours.get(byLabels(a)) === a.fingerprint) agree++;
      else
        disagree.push(
          `${byLabels(a)}: alertmanager ${a.fingerprint}, vigil ${ours.get(byLabels(a))}`,
        );
      if (fingerprint(a.labels) === a.fingerprint) direct++;
    }
    const empty = sets.filter((s) => Object.values(s).includes('')).length;
    console.log(
      `fingerprints: ${sets.length} label sets posted (${empty} with an empty value, which Alertmanager drops), ${got.length} returned, ${agree} agree, ${disagree.length} disagree; fingerprint() of the returned labels: ${direct} agree`,
    );
    expect(disagree).toEqual([]);
    expect(got).toHaveLength(200);
    expect(agree).toBe(200);
    expect(direct).toBe(200);
  });
});

/** Nested routes, continue, regex and negative matchers, old and new forms, per-severity routes. */
const ROUTING: AlertmanagerConfigInput = {
  route: {
    receiver: 'default',
    group_by: ['alertname'],
    routes: [
      { receiver: 'audit', matchers: ['env=~"prod|staging"'], continue: true },
      {
        receiver: 'page',
        matchers: ['severity="critical"', 'team!="sandbox"'],
        routes: [
          { receiver: 'db-page', matchers: ['service=~"db-.*"'] },
          { receiver: 'lead', matchers: ['env="prod", team=~"pay.*"'], continue: true },
          { receiver: 'page-eu', match_re: { region: 'eu-.+' } },
        ],
      },
      {
        receiver: 'ticket',
        match: { severity: 'warning' },
        routes: [{ receiver: 'ticket-web', matchers: ['service!~"db-.*|cache"'] }],
      },
      { receiver: 'info', matchers: ['severity=~"info|none"', 'alertname!~"Watchdog"'] },
      { receiver: 'sandbox', matchers: ['team="sandbox"'], continue: true },
      { receiver: 'catch-quoted', matchers: ['service="a\\"b"'] },
    ],
  },
  receivers: [
    'default',
    'audit',
    'page',
    'db-page',
    'lead',
    'page-eu',
    'ticket',
    'ticket-web',
    'info',
    'sandbox',
    'catch-quoted',
  ].map((name) => ({ name })),
};

/** Part 1's generated routes and inhibit rules, completed with a root receiver and the receivers. */
function gatewayConfig(): AlertmanagerConfigInput {
  const generated = parseYaml(
    readFileSync(join(__dirname, '../../../examples/stack/gateway.alertmanager.yml'), 'utf8'),
  ) as {
    route: { routes: AlertmanagerConfigInput['route'][] };
    inhibit_rules: AlertmanagerConfigInput['inhibit_rules'];
  };
  return {
    route: { receiver: 'default', routes: generated.route.routes },
    inhibit_rules: generated.inhibit_rules,
    receivers: [{ name: 'default' }, { name: 'page' }, { name: 'ticket' }],
  };
}

const POOLS: Record<string, readonly string[]> = {
  alertname: ['ApiAvailabilityErrorBudgetBurn', 'HttpErrorRatioHigh', 'Watchdog', 'DiskFull'],
  severity: ['critical', 'warning', 'info', 'none'],
  team: ['payments', 'pay-core', 'sandbox', 'web'],
  env: ['prod', 'staging', 'dev'],
  service: ['db-main', 'db-', 'cache', 'web', 'a"b'],
  region: ['eu-west', 'eu-', 'us-east'],
  burn_tier: ['page-fast', 'ticket-slow'],
};

describe.skipIf(amtool === undefined)('routing against amtool config routes test', () => {
  it.each([
    ['nested, continue, regex, negative and per-severity routes', () => ROUTING, 80],
    ["part 1's examples/stack/gateway.alertmanager.yml", gatewayConfig, 40],
  ] as const)('should route as amtool does: %s', (_name, config, count) => {
    const dir = mkdtempSync(join(tmpdir(), 'vigil-amtool-'));
    try {
      const file = join(dir, 'alertmanager.yml');
      writeFileSync(file, stringify(config()));
      const d = createDispatcher({ config: file, deliver: () => undefined });
      const rnd = seededRandom(count);
      let agree = 0;
      const disagree: string[] = [];
      const seen: string[] = [];
      const receivers = new Set<string>();
      for (let i = 0; i < count; i++) {
        const labels: Record<string, string> = {};
        for (const [name, values] of Object.entries(POOLS)) {
          if (rnd() < 0.6) labels[name] = values[Math.floor(rnd() * values.length)] ?? '';
        }
        if (Object.keys(labels).length === 0) labels.alertname = 'Watchdog';
        const args = Object.entries(labels).map(([k, v]) => `${k}=${JSON.stringify(v)}`);
        const r = spawnSync(
          amtool ?? '',
          ['config', 'routes', 'test', `--config.file=${file}`, ...args],
          {
            encoding: 'utf8',
          },
        );
        if (r.status !== 0) throw new Error(`amtool failed: ${r.stderr}`);
        const theirs = r.stdout.trim();
        const ours = d.routesFor(labels).join(',');
        seen.push(`  {${args.join(', ')}} -> ${theirs}`);
        receivers.add(theirs);
        if (theirs === ours) agree++;
        else disagree.push(`${args.join(' ')}: amtool ${theirs}, vigil ${ours}`);
      }
      d.stop();
      console.log(
        [
          `routing (${_name}): ${count} label sets, ${receivers.size} distinct receiver lists, ${agree} agreements, ${disagree.length} disagreements`,
          ...seen,
        ].join('\n'),
      );
      expect(disagree).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** What a comparison looks at: the whole message but the external URL (Alertmanager's is its host's). */
function digest(m: WebhookMessage): string {
  const sorted = (_k: string, v: unknown): unknown =>
    typeof v === 'object' && v !== null && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1)))
      : v;
  return JSON.stringify({ ...m, externalURL: undefined }, sorted);
}

describe.skipIf(alertmanager === undefined)(
  'one timeline through Vigil and prometheus-alertmanager',
  () => {
    let hook: RunningServer | undefined;
    let am: RunningAlertmanager | undefined;
    const received: { at: number; message: WebhookMessage }[] = [];

    afterAll(async () => {
      await am?.stop();
      await hook?.close();
    });

    it('should deliver the same messages (count, grouping, status, alerts, every field but externalURL)', async () => {
      hook = await listen((req, res) => {
        let body = '';
        req.on('data', (c: Buffer) => (body += c.toString()));
        req.on('end', () => {
          received.push({ at: Date.now(), message: JSON.parse(body) as WebhookMessage });
          res.end();
        });
      });
      const config: AlertmanagerConfigInput = {
        route: {
          receiver: 'hook',
          group_by: ['alertname'],
          group_wait: '1s',
          group_interval: '2s',
          repeat_interval: '3s',
          routes: [
            {
              receiver: 'crit',
              matchers: ['severity="critical"'],
              group_by: ['alertname', 'service'],
              continue: true,
            },
            { receiver: 'each', matchers: ['severity=~"warning|critical"'], group_by: ['...'] },
          ],
        },
        inhibit_rules: [
          {
            source_matchers: ['severity="critical"'],
            target_matchers: ['severity="warning"'],
            equal: ['service'],
          },
        ],
        receivers: ['hook', 'crit', 'each'].map((name) => ({
          name,
          webhook_configs: [{ url: `${hook!.url}/${name}`, send_resolved: true }],
        })),
      };
      am = await startAlertmanager(alertmanager ?? '', stringify(config));
      const vigil: { at: number; message: WebhookMessage }[] = [];
      const d = createDispatcher({
        config,
        deliver: (x) => vigil.push({ at: Date.now(), message: x.message }),
      });
      const t0 = Date.now();
      const iso = (ms: number) => new Date(ms).toISOString();
      const started = new Map<string, number>();
      const firing = (labels: LabelSet, startsAt?: number): PostableAlert => {
        const s = startsAt ?? started.get(fingerprint(labels)) ?? Date.now();
        started.set(fingerprint(labels), s);
        return { labels, startsAt: iso(s), endsAt: iso(Date.now() + 3600_000) };
      };
      const resolved = (labels: LabelSet): PostableAlert => ({
        labels,
        startsAt: iso(started.get(fingerprint(labels)) ?? Date.now()),
        endsAt: iso(Date.now()),
      });
      const both = async (alerts: PostableAlert[]) => {
        d.post(alerts);
        await postAlerts(am!, alerts);
      };
      const at = async (s: number) => sleep(Math.max(0, t0 + s * 1000 - Date.now()));
      const a = (i: number) => ({
        alertname: 'ApiDown',
        service: 'api',
        severity: 'critical',
        instance: String(i),
      });
      const slow = { alertname: 'ApiSlow', service: 'api', severity: 'warning' };
      const info = { alertname: 'Note', severity: 'info' };
      // t=0: two criticals and an inhibited warning; an info alert to the root route, silenced
      // until t=4 (so first notified at the 5s tick).
      const silence = {
        matchers: [{ name: 'alertname', value: 'Note', isRegex: false, isEqual: true }],
        startsAt: iso(t0),
        endsAt: iso(t0 + 4000),
        createdBy: 'test',
        comment: 'the same silence in both',
      };
      d.addSilence(silence);
      const created = await fetch(`${am.url}/api/v2/silences`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(silence),
      });
      expect(created.status).toBe(200);
      await both([firing(a(1)), firing(a(2)), firing(slow), firing(info)]);
      // t=2.5: a new critical joins: notified at the 3s tick.
      await at(2.5);
      await both([firing(a(3))]);
      // t=4.5: instance 1 resolves: notified at the 5s tick, then dropped.
      await at(4.5);
      await both([resolved(a(1))]);
      // t=5.5: an alert that started a minute ago opens a group that flushes at once.
      await at(5.5);
      await both([firing({ alertname: 'Old', severity: 'info' }, Date.now() - 60_000)]);
      // t=9.5: the criticals resolve; the warning is no longer inhibited.
      await at(9.5);
      await both([resolved(a(2)), resolved(a(3))]);
      await at(12.6);
      d.stop();
      const key = (m: WebhookMessage) => `${m.receiver} ${m.groupKey}`;
      const sequences = (xs: { message: WebhookMessage }[]) => {
        const out = new Map<string, string[]>();
        for (const x of xs)
          out.set(key(x.message), [...(out.get(key(x.message)) ?? []), digest(x.message)]);
        return out;
      };
      const theirs = sequences(received);
      const ours = sequences(vigil);
      const groups = [...new Set([...theirs.keys(), ...ours.keys()])].sort();
      let same = 0;
      const lines: string[] = [];
      for (const g of groups) {
        const x = theirs.get(g) ?? [];
        const y = ours.get(g) ?? [];
        const equal = JSON.stringify(x) === JSON.stringify(y);
        if (equal) same++;
        lines.push(
          `${equal ? 'same' : 'DIFF'} ${g}: alertmanager ${x.length} messages, vigil ${y.length}`,
        );
        if (!equal)
          lines.push(`  alertmanager: ${x.join('\n    ')}`, `  vigil:        ${y.join('\n    ')}`);
      }
      const offsets = (xs: { at: number; message: WebhookMessage }[]) =>
        xs
          .map(
            (x) =>
              `${((x.at - t0) / 1000).toFixed(1)}s ${x.message.receiver} ${x.message.status} ${x.message.alerts.length}`,
          )
          .join(', ');
      console.log(
        [
          `timeline: alertmanager sent ${received.length} messages, vigil ${vigil.length}; ${groups.length} groups, ${same} identical`,
          ...lines,
          `alertmanager: ${offsets(received)}`,
          `vigil:        ${offsets(vigil)}`,
        ].join('\n'),
      );
      expect(received.length).toBeGreaterThan(5);
      expect(vigil.map((x) => digest(x.message)).sort()).toEqual(
        received.map((x) => digest(x.message)).sort(),
      );
      expect(same).toBe(groups.length);
    }, 30_000);
  },
);

describe.skipIf(alertmanager === undefined)(
  'group_by inheritance, against prometheus-alertmanager',
  () => {
    it("should inherit ['...'] and treat group_by: [] as absent, as Alertmanager 0.25 does", async () => {
      const messages: string[] = [];
      const hook = await listen((req, res) => {
        let body = '';
        req.on('data', (c: Buffer) => (body += c.toString()));
        req.on('end', () => {
          const m = JSON.parse(body) as WebhookMessage;
          messages.push(`${m.receiver} ${m.groupKey} ${m.alerts.length}`);
          res.end();
        });
      });
      const config = {
        route: {
          receiver: 'r0',
          group_by: ['...'],
          group_wait: '1s',
          routes: [
            { receiver: 'r1', matchers: ['k="inherit"'] },
            { receiver: 'r2', matchers: ['k="empty"'], group_by: [] },
            {
              receiver: 'r3',
              matchers: ['k="named"'],
              group_by: ['alertname'],
              routes: [{ receiver: 'r4', matchers: ['j="child"'] }],
            },
          ],
        },
        receivers: ['r0', 'r1', 'r2', 'r3', 'r4'].map((name) => ({
          name,
          webhook_configs: [{ url: hook.url }],
        })),
      };
      const am = await startAlertmanager(alertmanager ?? '', stringify(config));
      try {
        const ours: string[] = [];
        const d = createDispatcher({
          config,
          deliver: (x) =>
            ours.push(`${x.message.receiver} ${x.message.groupKey} ${x.message.alerts.length}`),
        });
        const alerts: PostableAlert[] = [];
        for (const k of ['inherit', 'empty', 'named']) {
          for (const i of ['1', '2']) {
            alerts.push({
              labels: { alertname: 'X', k, i, ...(k === 'named' ? { j: 'child' } : {}) },
              endsAt: new Date(Date.now() + 60_000).toISOString(),
            });
          }
        }
        d.post(alerts);
        await postAlerts(am, alerts);
        await sleep(2000);
        d.stop();
        console.log(
          `group_by inheritance: alertmanager ${messages.length} messages, vigil ${ours.length}\n  ${messages.sort().join('\n  ')}`,
        );
        expect(ours.sort()).toEqual(messages.sort());
        expect(messages).toHaveLength(5);
      } finally {
        await am.stop();
        await hook.close();
      }
    }, 15_000);
  },
);
