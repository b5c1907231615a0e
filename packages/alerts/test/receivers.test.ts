// The receivers against real local servers: webhook, Slack and PagerDuty payloads checked field by
// field on an HTTP server, email on an SMTP server (auth, from/to, subject, body), and the receiver
// configuration's coded errors, which never show a secret.
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { SMTPServer } from 'smtp-server';
import { afterEach, describe, expect, expectTypeOf, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { parse } from 'yaml';
import { captureLogger, findBinary, pollFor } from '@vigil/test-utils';
import {
  ALERTS_ERROR_CODES,
  type AlertmanagerClient,
  type Notifier,
  type PagerDutyConfig,
  PAGERDUTY_EVENTS_URL,
  type ReceiverConfig,
  createNotifier,
} from '@vigil/alerts';
import type { PostableAlert } from '../src/model';
import { parseSmarthost } from '../src/receivers/config';
import { emailContent } from '../src/receivers/email';
import { subject } from '../src/receivers/templates';
import { type Recorder, alert, message, recorder } from './receivers-support';

const C = ALERTS_ERROR_CODES;
const open: { close(): Promise<void> }[] = [];

afterEach(async () => {
  for (const o of open.splice(0)) await o.close();
});

async function server(): Promise<Recorder> {
  const s = await recorder();
  open.push(s);
  return s;
}

function notifier(receivers: readonly ReceiverConfig[], registry = new Registry()): Notifier {
  const n = createNotifier({
    receivers,
    registry,
    logger: captureLogger().logger,
    queue: { timeoutMs: 2000 },
  });
  open.push(n);
  return n;
}

async function count(registry: Registry, labels: Record<string, string>): Promise<number> {
  const metric = (await registry.getMetricsAsJSON()).find(
    (m) => m.name === 'alerts_notifications_total',
  );
  let total = 0;
  for (const v of metric?.values ?? []) {
    const l = v.labels as Record<string, string>;
    if (Object.entries(labels).every(([k, x]) => l[k] === x)) total += v.value;
  }
  return total;
}

describe('subject', () => {
  it("should render Alertmanager's default subject", () => {
    expect(subject(message())).toBe('[FIRING:2] HighErrorRate (api critical)');
    expect(subject(message([alert('a', 'resolved')]))).toBe(
      '[RESOLVED] HighErrorRate (api critical)',
    );
    const m = { ...message(), commonLabels: { alertname: 'HighErrorRate' } };
    expect(subject(m)).toBe('[FIRING:2] HighErrorRate ');
  });
});

describe('webhook receiver', () => {
  it('should post the Alertmanager webhook v4 JSON exactly', async () => {
    const s = await server();
    const registry = new Registry();
    const n = notifier([{ name: 'team', webhook_configs: [{ url: `${s.url}/hook` }] }], registry);
    const m = message();
    n.deliver({ receiver: 'team', kind: 'notify', message: m });
    await n.flush();
    expect(s.received).toHaveLength(1);
    const r = s.received[0]!;
    expect(r.method).toBe('POST');
    expect(r.path).toBe('/hook');
    expect(r.headers['content-type']).toBe('application/json');
    const body = r.json<Record<string, unknown>>();
    expect(body).toEqual(m);
    expect(body.version).toBe('4');
    expect(body.groupKey).toBe(m.groupKey);
    expect(body.truncatedAlerts).toBe(0);
    expect(body.status).toBe('firing');
    expect(body.receiver).toBe('team');
    expect(body.externalURL).toBe('http://vigil.example');
    expect((body.alerts as { fingerprint: string }[]).map((a) => a.fingerprint)).toEqual(
      m.alerts.map((a) => a.fingerprint),
    );
    expect(
      await count(registry, { receiver: 'team', integration: 'webhook', result: 'success' }),
    ).toBe(1);
  });

  it('should send credentials of the URL as Basic authorization, as Alertmanager does', async () => {
    const s = await server();
    const n = notifier([
      {
        name: 'team',
        webhook_configs: [{ url: s.url.replace('//', '//hook:p%40ss@') + '/x?a=1' }],
      },
    ]);
    n.deliver({ receiver: 'team', kind: 'notify', message: message() });
    await n.flush();
    expect(s.received[0]!.path).toBe('/x?a=1');
    expect(s.received[0]!.headers.authorization).toBe(
      `Basic ${Buffer.from('hook:p@ss').toString('base64')}`,
    );
  });

  it('should cut the alerts to max_alerts and count the rest in truncatedAlerts', async () => {
    const s = await server();
    const n = notifier([{ name: 'team', webhook_configs: [{ url: s.url, max_alerts: 1 }] }]);
    n.deliver({
      receiver: 'team',
      kind: 'notify',
      message: message([alert('a'), alert('b'), alert('c')]),
    });
    await n.flush();
    const body = s.received[0]!.json<{ alerts: unknown[]; truncatedAlerts: number }>();
    expect(body.alerts).toHaveLength(1);
    expect(body.truncatedAlerts).toBe(2);
  });

  it('should send resolved by default, and not when send_resolved is false', async () => {
    const s = await server();
    const n = notifier([
      { name: 'yes', webhook_configs: [{ url: s.url }] },
      { name: 'no', webhook_configs: [{ url: s.url, send_resolved: false }] },
    ]);
    const resolved = message([alert('a', 'resolved')]);
    n.deliver({ receiver: 'yes', kind: 'notify', message: { ...resolved, receiver: 'yes' } });
    n.deliver({ receiver: 'no', kind: 'notify', message: { ...resolved, receiver: 'no' } });
    // A mixed group: the resolved alert is left out, as Alertmanager does.
    n.deliver({
      receiver: 'no',
      kind: 'notify',
      message: { ...message([alert('a'), alert('b', 'resolved')]), receiver: 'no' },
    });
    await n.flush();
    const bodies = s.received.map((r) =>
      r.json<{ receiver: string; status: string; alerts: unknown[] }>(),
    );
    expect(bodies.map((b) => [b.receiver, b.status, b.alerts.length])).toEqual([
      ['yes', 'resolved', 1],
      ['no', 'firing', 1],
    ]);
  });
});

describe('Slack receiver', () => {
  it("should post the attachment Alertmanager's default Slack template renders", async () => {
    const s = await server();
    const n = notifier([
      {
        name: 'team',
        slack_configs: [
          { api_url: `${s.url}/services/T000/B000/XXXX`, channel: '#alerts', send_resolved: true },
        ],
      },
    ]);
    n.deliver({ receiver: 'team', kind: 'notify', message: message() });
    n.deliver({
      receiver: 'team',
      kind: 'notify',
      message: message([alert('a', 'resolved')], 'team', 'other-group'),
    });
    await n.flush();
    expect(s.received).toHaveLength(2);
    expect(s.received[0]!.path).toBe('/services/T000/B000/XXXX');
    const [fired, resolved] = s.received.map((r) =>
      r.json<{ channel: string; username: string; attachments: Record<string, unknown>[] }>(),
    );
    expect(fired!.channel).toBe('#alerts');
    expect(fired!.username).toBe('Alertmanager');
    expect(fired!.attachments).toHaveLength(1);
    const a = fired!.attachments[0]!;
    expect(a.title).toBe('[FIRING:2] HighErrorRate (api critical)');
    expect(a.title_link).toBe('http://vigil.example/#/alerts?receiver=team');
    expect(a.color).toBe('danger');
    expect(a.text).toBe('');
    expect(a.fallback).toBe(
      '[FIRING:2] HighErrorRate (api critical) | http://vigil.example/#/alerts?receiver=team',
    );
    expect(a.mrkdwn_in).toEqual(['fallback', 'pretext', 'text']);
    const b = resolved!.attachments[0]!;
    expect(b.title).toBe('[RESOLVED] HighErrorRate (api critical)');
    expect(b.color).toBe('good');
  });

  it('should not send resolved by default, and use a configured title and text', async () => {
    const s = await server();
    const n = notifier([
      {
        name: 'team',
        slack_configs: [{ api_url: s.url, title: 'Errors', text: 'See the runbook' }],
      },
    ]);
    n.deliver({ receiver: 'team', kind: 'notify', message: message([alert('a', 'resolved')]) });
    n.deliver({ receiver: 'team', kind: 'notify', message: message([alert('a')], 'team', 'g2') });
    await n.flush();
    expect(s.received).toHaveLength(1);
    const body = s.received[0]!.json<{
      channel?: string;
      attachments: Record<string, unknown>[];
    }>();
    expect(body.channel).toBeUndefined();
    expect(body.attachments[0]!.title).toBe('Errors');
    expect(body.attachments[0]!.text).toBe('See the runbook');
  });
});

describe('PagerDuty receiver', () => {
  it('should trigger, acknowledge and resolve one incident per group (Events API v2)', async () => {
    const s = await server();
    s.answer = (_r, res) => {
      res.statusCode = 202;
      res.setHeader('content-type', 'application/json');
      res.end('{"status":"success","message":"Event processed","dedup_key":"x"}');
    };
    const key = 'R0UT1NGKEY0123456789abcdefabcdef';
    const n = notifier([
      { name: 'pager', pagerduty_configs: [{ routing_key: key, url: `${s.url}/v2/enqueue` }] },
    ]);
    const m = message(undefined, 'pager');
    n.deliver({ receiver: 'pager', kind: 'notify', message: m });
    await n.flush();
    n.deliver({ receiver: 'pager', kind: 'acknowledge', message: m });
    await n.flush();
    n.deliver({
      receiver: 'pager',
      kind: 'notify',
      message: message([alert('a', 'resolved'), alert('b', 'resolved')], 'pager'),
    });
    await n.flush();
    const events = s.received.map((r) => r.json<Record<string, unknown>>());
    expect(s.received.every((r) => r.path === '/v2/enqueue')).toBe(true);
    const dedup = createHash('sha256').update(m.groupKey).digest('hex');
    expect(events.map((e) => e.event_action)).toEqual(['trigger', 'acknowledge', 'resolve']);
    for (const e of events) {
      expect(e.routing_key).toBe(key);
      expect(e.dedup_key).toBe(dedup);
    }
    expect(dedup).toMatch(/^[0-9a-f]{64}$/);
    const trigger = events[0]!;
    expect(trigger.client).toBe('Alertmanager');
    expect(trigger.client_url).toBe('http://vigil.example/#/alerts?receiver=pager');
    const payload = trigger.payload as Record<string, unknown>;
    expect(payload.summary).toBe('[FIRING:2] HighErrorRate (api critical)');
    expect(payload.source).toBe('Alertmanager');
    expect(payload.severity).toBe('critical');
    const details = payload.custom_details as Record<string, string>;
    expect(details.num_firing).toBe('2');
    expect(details.num_resolved).toBe('0');
    expect(details.firing).toContain(' - instance = a\n');
    expect(details.firing).toContain(' - summary = Errors above 5%\n');
    expect(details.firing).toContain('Source: http://prometheus.example/graph?g0.expr=x\n');
    expect(details.resolved).toBe('');
    expect(events[1]!.payload).toBeUndefined();
    const resolve = events[2]!.payload as Record<string, unknown>;
    expect(resolve.summary).toBe('[RESOLVED] HighErrorRate (api critical)');
  });

  it('should default to PagerDuty\'s endpoint and severity "error" for other severities', () => {
    expect(PAGERDUTY_EVENTS_URL).toBe('https://events.pagerduty.com/v2/enqueue');
  });

  it('should map a configured severity, and not retry a 400', async () => {
    const s = await server();
    s.answer = (_r, res) => {
      res.statusCode = 400;
      res.end('{"status":"invalid event","errors":["bad"]}');
    };
    const registry = new Registry();
    const n = notifier(
      [
        {
          name: 'pager',
          pagerduty_configs: [{ routing_key: 'k'.repeat(32), url: s.url, severity: 'warning' }],
        },
      ],
      registry,
    );
    n.deliver({ receiver: 'pager', kind: 'notify', message: message(undefined, 'pager') });
    await n.flush();
    expect(s.received).toHaveLength(1);
    expect(s.received[0]!.json<{ payload: { severity: string } }>().payload.severity).toBe(
      'warning',
    );
    expect(await count(registry, { integration: 'pagerduty', result: 'failure' })).toBe(1);
  });
});

describe('email receiver', () => {
  it('should send the alerts over SMTP with auth, from, to, subject and body', async () => {
    const mails: { from: string; to: string[]; raw: string; user?: string }[] = [];
    const auths: { user: string; pass: string }[] = [];
    const smtp = new SMTPServer({
      disabledCommands: ['STARTTLS'],
      allowInsecureAuth: true,
      authMethods: ['PLAIN', 'LOGIN'],
      onAuth(auth, _session, cb) {
        auths.push({ user: auth.username ?? '', pass: auth.password ?? '' });
        if (auth.username === 'alerts' && auth.password === 's3cret-pass')
          cb(null, { user: 'alerts' });
        else cb(new Error('Invalid username or password'));
      },
      onData(stream, session, cb) {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          mails.push({
            from: session.envelope.mailFrom === false ? '' : session.envelope.mailFrom.address,
            to: session.envelope.rcptTo.map((r) => r.address),
            raw: Buffer.concat(chunks).toString('utf8'),
            user: session.user as string | undefined,
          });
          cb();
        });
      },
    });
    await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
    open.push({ close: () => new Promise<void>((resolve) => smtp.close(() => resolve())) });
    const port = (smtp.server.address() as AddressInfo).port;
    process.env.VIGIL_TEST_SMTP_PASSWORD = 's3cret-pass';
    const registry = new Registry();
    const n = notifier(
      [
        {
          name: 'mail',
          email_configs: [
            {
              to: 'oncall@example.com, lead@example.com',
              from: 'alerts@example.com',
              smarthost: `127.0.0.1:${port}`,
              auth_username: 'alerts',
              auth_password: { env: 'VIGIL_TEST_SMTP_PASSWORD' },
              require_tls: false,
            },
          ],
        },
      ],
      registry,
    );
    n.deliver({ receiver: 'mail', kind: 'notify', message: message(undefined, 'mail') });
    await n.flush();
    expect(auths).toEqual([{ user: 'alerts', pass: 's3cret-pass' }]);
    expect(mails).toHaveLength(1);
    const mail = mails[0]!;
    expect(mail.user).toBe('alerts');
    expect(mail.from).toBe('alerts@example.com');
    expect(mail.to).toEqual(['oncall@example.com', 'lead@example.com']);
    // Unfolded headers, then the parts as sent.
    const raw = mail.raw.replace(/\r\n[ \t]+/g, ' ');
    expect(raw).toMatch(/^Subject: \[FIRING:2\] HighErrorRate \(api critical\)\r?$/m);
    expect(raw).toMatch(/^From: alerts@example.com\r?$/m);
    expect(raw).toMatch(/^To: oncall@example.com, lead@example.com\r?$/m);
    expect(raw).toContain('Content-Type: text/plain');
    expect(raw).toContain('Content-Type: text/html');
    const content = emailContent(message(undefined, 'mail'));
    const text = raw.replace(/=\r?\n/g, '').replace(/=3D/g, '=');
    expect(text).toContain('[2] Firing');
    expect(text).toContain(' - instance = a');
    expect(text).toContain(' - instance = b');
    expect(content.html).toContain('<h2>[FIRING:2] HighErrorRate (api critical)</h2>');
    expect(await count(registry, { integration: 'email', result: 'success' })).toBe(1);
  });

  it('should give up on a refused password without retrying, and not log the password', async () => {
    let tries = 0;
    const smtp = new SMTPServer({
      disabledCommands: ['STARTTLS'],
      allowInsecureAuth: true,
      onAuth(_auth, _session, cb) {
        tries++;
        cb(new Error('Invalid username or password'));
      },
    });
    await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
    open.push({ close: () => new Promise<void>((resolve) => smtp.close(() => resolve())) });
    const port = (smtp.server.address() as AddressInfo).port;
    const log = captureLogger();
    const registry = new Registry();
    const n = createNotifier({
      receivers: [
        {
          name: 'mail',
          email_configs: [
            {
              to: 'a@example.com',
              from: 'b@example.com',
              smarthost: `127.0.0.1:${port}`,
              auth_username: 'alerts',
              auth_password: 'wrong-s3cret',
              require_tls: false,
            },
          ],
        },
      ],
      registry,
      logger: log.logger,
    });
    open.push(n);
    n.deliver({ receiver: 'mail', kind: 'notify', message: message(undefined, 'mail') });
    await n.flush();
    expect(tries).toBe(1);
    expect(await count(registry, { integration: 'email', result: 'failure' })).toBe(1);
    expect(log.lines.length).toBe(1);
    expect(JSON.stringify(log.lines)).not.toContain('wrong-s3cret');
    console.log(`email auth failure logged as: ${JSON.stringify(log.lines[0]!.fields)}`);
  });
});

const amtool = findBinary('amtool', 'prometheus-alertmanager');

describe.skipIf(amtool === undefined)('one alertmanager.yml for both', () => {
  it('should take the receivers of a file amtool check-config accepts', async () => {
    const s = await server();
    const dir = mkdtempSync(join(tmpdir(), 'vigil-amyml-'));
    writeFileSync(join(dir, 'slack-url'), `${s.url}/services/T0/B0/FROMFILE\n`);
    writeFileSync(join(dir, 'routing-key'), 'rk-0123456789abcdef0123456789abcd\n');
    writeFileSync(join(dir, 'smtp-password'), 'pw\n');
    const file = join(dir, 'alertmanager.yml');
    writeFileSync(
      file,
      [
        'route:',
        '  receiver: team',
        'receivers:',
        '  - name: team',
        '    webhook_configs:',
        `      - url: ${s.url}/hook`,
        '        max_alerts: 5',
        '    slack_configs:',
        `      - api_url_file: ${join(dir, 'slack-url')}`,
        "        channel: '#alerts'",
        '        send_resolved: true',
        '    pagerduty_configs:',
        `      - routing_key_file: ${join(dir, 'routing-key')}`,
        `        url: ${s.url}/pd`,
        '        severity: warning',
        '    email_configs:',
        '      - to: oncall@example.com',
        '        from: alerts@example.com',
        '        smarthost: 127.0.0.1:9',
        '        auth_username: alerts',
        `        auth_password_file: ${join(dir, 'smtp-password')}`,
        '        require_tls: false',
        '  - name: nobody',
        '',
      ].join('\n'),
    );
    const check = spawnSync(amtool as string, ['check-config', file], { encoding: 'utf8' });
    expect(`${check.stdout}${check.stderr}`).toContain('SUCCESS');
    const config = parse(readFileSync(file, 'utf8')) as { receivers: ReceiverConfig[] };
    const n = createNotifier({
      receivers: config.receivers,
      registry: false,
      logger: captureLogger().logger,
    });
    expect(n.receiverNames()).toEqual(['team', 'nobody']);
    n.deliver({ receiver: 'team', kind: 'notify', message: message() });
    await pollFor(() => (s.received.length === 3 ? true : undefined), 5000);
    await n.close();
    expect(s.received.map((r) => r.path).sort()).toEqual([
      '/hook',
      '/pd',
      '/services/T0/B0/FROMFILE',
    ]);
    const pd = s.received.find((r) => r.path === '/pd')!.json<{ routing_key: string }>();
    expect(pd.routing_key).toBe('rk-0123456789abcdef0123456789abcd');
  });
});

describe('receiver configuration', () => {
  const secretUrl = 'https://hooks.slack.com/services/T0/B0/SECRETTOKEN123';
  const dir = mkdtempSync(join(tmpdir(), 'vigil-receivers-'));
  const urlFile = join(dir, 'url');
  writeFileSync(urlFile, `${secretUrl}\n`);
  const empty = join(dir, 'empty');
  writeFileSync(empty, '\n');

  function thrown(receivers: unknown): { code: string; message: string } {
    try {
      createNotifier({ receivers: receivers as ReceiverConfig[], registry: false });
    } catch (e) {
      return e as { code: string; message: string };
    }
    throw new Error('expected a throw');
  }

  const cases: [string, unknown, string, RegExp][] = [
    ['not an array', 'x', C.RECEIVER_INVALID_CONFIG, /receivers must be an array of receivers/],
    [
      'a receiver without name',
      [{}],
      C.RECEIVER_INVALID_CONFIG,
      /receivers\[0\]\.name must be a non-empty string/,
    ],
    [
      'an unknown field',
      [{ name: 'a', opsgenie_configs: [] }],
      C.RECEIVER_INVALID_CONFIG,
      /receivers\[0\]\.opsgenie_configs must be one of the supported fields/,
    ],
    [
      'a duplicate name',
      [{ name: 'a' }, { name: 'a' }],
      C.RECEIVER_DUPLICATE_NAME,
      /receivers\[1\]\.name "a" is the name of an earlier receiver/,
    ],
    [
      'a webhook without url',
      [{ name: 'a', webhook_configs: [{}] }],
      C.RECEIVER_MISSING_SECRET,
      /receivers\[0\]\.webhook_configs\[0\] needs "url" or "url_file"/,
    ],
    [
      'an unset environment variable',
      [{ name: 'a', slack_configs: [{ api_url: { env: 'VIGIL_TEST_UNSET_VARIABLE' } }] }],
      C.RECEIVER_MISSING_SECRET,
      /api_url reads the environment variable VIGIL_TEST_UNSET_VARIABLE, which is not set/,
    ],
    [
      'an unreadable file',
      [{ name: 'a', slack_configs: [{ api_url_file: join(dir, 'missing') }] }],
      C.RECEIVER_MISSING_SECRET,
      /api_url_file names ".*missing", which cannot be read \(ENOENT\)/,
    ],
    [
      'an empty file',
      [{ name: 'a', slack_configs: [{ api_url_file: empty }] }],
      C.RECEIVER_MISSING_SECRET,
      /which is empty/,
    ],
    [
      'a url and a url_file',
      [{ name: 'a', slack_configs: [{ api_url: secretUrl, api_url_file: urlFile }] }],
      C.RECEIVER_INVALID_CONFIG,
      /given either "api_url" or "api_url_file", received both/,
    ],
    [
      'a URL of another scheme',
      [{ name: 'a', webhook_configs: [{ url: 'ftp://user:SECRETTOKEN123@host/x' }] }],
      C.RECEIVER_INVALID_URL,
      /url must be an absolute http:\/\/ or https:\/\/ URL, received a URL with the scheme ftp:/,
    ],
    [
      'not a URL',
      [{ name: 'a', slack_configs: [{ api_url: 'SECRETTOKEN123' }] }],
      C.RECEIVER_INVALID_URL,
      /received a value that is not a URL/,
    ],
    [
      'a bad severity',
      [{ name: 'a', pagerduty_configs: [{ routing_key: 'SECRETTOKEN123', severity: 'page' }] }],
      C.RECEIVER_INVALID_CONFIG,
      /severity must be one of critical, error, warning, info, received 'page'/,
    ],
    [
      'a bad smarthost',
      [{ name: 'a', email_configs: [{ to: 'a@b', from: 'c@d', smarthost: 'mail.example.com' }] }],
      C.RECEIVER_INVALID_CONFIG,
      /smarthost must be host:port/,
    ],
    [
      'a username without password',
      [
        {
          name: 'a',
          email_configs: [{ to: 'a@b', from: 'c@d', smarthost: 'h:25', auth_username: 'u' }],
        },
      ],
      C.RECEIVER_MISSING_SECRET,
      /has auth_username and neither "auth_password" nor "auth_password_file"/,
    ],
    [
      'a Go template',
      [{ name: 'a', slack_configs: [{ api_url: secretUrl, title: '{{ .Status }}' }] }],
      C.RECEIVER_INVALID_CONFIG,
      /title must be literal text, received a Go template/,
    ],
    [
      'a secret of the wrong type',
      [{ name: 'a', pagerduty_configs: [{ routing_key: 12345678901234 }] }],
      C.RECEIVER_INVALID_CONFIG,
      /routing_key must be a string or \{ env: "VARIABLE_NAME" \}, received a number/,
    ],
    [
      'a bad max_alerts',
      [{ name: 'a', webhook_configs: [{ url: secretUrl, max_alerts: -1 }] }],
      C.RECEIVER_INVALID_CONFIG,
      /max_alerts must be a whole number/,
    ],
  ];

  it.each(cases)('should refuse %s with a coded error', (_what, receivers, code, pattern) => {
    const e = thrown(receivers);
    expect(e.code).toBe(code);
    expect(e.message).toMatch(pattern);
    expect(e.message.startsWith(`${code}: `)).toBe(true);
    expect(e.message).toContain('README');
    expect(e.message).not.toContain('SECRETTOKEN123');
    expect(e.message).not.toContain('12345678901234');
  });

  it('should read secrets from values, the environment and files', async () => {
    const s = await server();
    const file = join(dir, 'hook');
    writeFileSync(file, `${s.url}/from-file\n`);
    process.env.VIGIL_TEST_HOOK_URL = `${s.url}/from-env`;
    const n = notifier([
      {
        name: 'team',
        webhook_configs: [
          { url: { env: 'VIGIL_TEST_HOOK_URL' } },
          { url_file: file },
          { url: `${s.url}/literal` },
        ],
      },
    ]);
    expect(n.receiverNames()).toEqual(['team']);
    n.deliver({ receiver: 'team', kind: 'notify', message: message() });
    await n.flush();
    expect(s.received.map((r) => r.path).sort()).toEqual(['/from-env', '/from-file', '/literal']);
  });

  it('should parse smarthosts', () => {
    expect(parseSmarthost('smtp.example.com:587')).toEqual({ host: 'smtp.example.com', port: 587 });
    expect(parseSmarthost('[::1]:25')).toEqual({ host: '::1', port: 25 });
    expect(parseSmarthost('h:0')).toBeUndefined();
    expect(parseSmarthost('h')).toBeUndefined();
  });

  it('should refuse bad queue options with the generic option codes', () => {
    expect(() =>
      createNotifier({ receivers: [], registry: false, queue: { maxAttempts: 0 } }),
    ).toThrow(
      /ERR_VIGIL_ALERTS_INVALID_OPTION: createNotifier\(\): option "queue.maxAttempts" must be an integer from 1 to 100/,
    );
  });
});

describe('nodemailer', () => {
  it('should be loaded only when an email is sent', () => {
    const script = `
      const { createNotifier } = require(${JSON.stringify(join(__dirname, '..', 'dist', 'index.js'))});
      const loaded = () => Object.keys(require.cache).some((k) => k.includes('/nodemailer/'));
      const n = createNotifier({
        receivers: [
          { name: 'hook', webhook_configs: [{ url: 'http://127.0.0.1:9/' }] },
          { name: 'mail', email_configs: [{ to: 'a@example.com', from: 'b@example.com', smarthost: '127.0.0.1:9', require_tls: false }] },
        ],
        registry: false,
        logger: { warn() {} },
      });
      const message = { version: '4', groupKey: 'g', truncatedAlerts: 0, status: 'firing', receiver: 'x', groupLabels: {}, commonLabels: {}, commonAnnotations: {}, externalURL: 'http://e', alerts: [{ status: 'firing', labels: { a: 'b' }, annotations: {}, startsAt: '', endsAt: '', generatorURL: '', fingerprint: '' }] };
      n.deliver({ receiver: 'hook', kind: 'notify', message });
      console.log(loaded());
      n.deliver({ receiver: 'mail', kind: 'notify', message });
      setTimeout(() => {
        console.log(loaded());
        void n.close();
      }, 500);
    `;
    const out = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 20_000 });
    expect(out.stderr).toBe('');
    expect(out.stdout.trim().split('\n')).toEqual(['false', 'true']);
  });
});

describe('public types', () => {
  it('should type the API the facade codes against', () => {
    expectTypeOf(createNotifier)
      .parameter(0)
      .toMatchTypeOf<{ receivers: readonly ReceiverConfig[] }>();
    expectTypeOf<Notifier['deliver']>().returns.toEqualTypeOf<void>();
    expectTypeOf<Notifier['flush']>().returns.toEqualTypeOf<Promise<void>>();
    expectTypeOf<Notifier['receiverNames']>().returns.toEqualTypeOf<readonly string[]>();
    expectTypeOf<AlertmanagerClient['send']>()
      .parameter(0)
      .toEqualTypeOf<readonly PostableAlert[]>();
    expectTypeOf<ReceiverConfig>().toMatchTypeOf<{ name: string }>();
    // @ts-expect-error PagerDuty has four severities
    const bad: PagerDutyConfig = { routing_key: 'k', severity: 'page' };
    expect(bad).toBeDefined();
  });
});
