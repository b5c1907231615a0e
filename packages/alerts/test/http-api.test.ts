// The alerts HTTP API on Express 4 and 5 and Koa 2 and 3 over a real createAlerting() (engine,
// dispatcher, notifier, a prom-client registry, a ManualClock): routes, filters, operator actions,
// audit events, the token, bad and hostile input (400 with coded bodies), and that it is an
// operational endpoint (not rate-limited, not in the app's request metrics).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { type RunningServer, listen, send } from '@vigil/test-utils';
import { type Alerting, type AlertsAuditSink, alertsApi } from '@vigil/alerts';
import { fixture, stopFixtures } from './alerting-fixture';
import { FRAMEWORKS } from './http-apps';
import { fakeService } from './http-service';

type Json = Record<string, unknown> & {
  error?: { code: string; message: string };
};

const TOKEN = 'a-long-enough-secret-token';

interface Harness {
  server: RunningServer;
  service: Alerting;
  registry: Registry;
  /** The fingerprint of the firing alert (QueueBusy). */
  firing: string;
  events: Parameters<AlertsAuditSink['record']>[0][];
  /** The app's request log lines. */
  lines: string[];
  request(
    method: string,
    path: string,
    init?: { body?: string | Buffer; headers?: Record<string, string> },
  ): Promise<{ status: number; headers: Record<string, unknown>; json: Json }>;
}

const running: RunningServer[] = [];
const savedToken = process.env.VIGIL_ALERTS_TOKEN;
beforeEach(() => {
  delete process.env.VIGIL_ALERTS_TOKEN;
});
afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.close()));
  await stopFixtures();
  if (savedToken === undefined) delete process.env.VIGIL_ALERTS_TOKEN;
  else process.env.VIGIL_ALERTS_TOKEN = savedToken;
});

describe.each(FRAMEWORKS)('alerts API on $name', (framework) => {
  async function harness(
    settings: { bodyParser?: boolean; token?: string; limit?: number } = {},
  ): Promise<Harness> {
    // QueueBusy fires at once (above 5), QueueDeep is pending (above 10, not yet for 30 s).
    const f = fixture();
    f.depth.set(20);
    await f.step(15_000);
    const service = f.alerting;
    const firing = service.alerts({ status: 'firing' })[0]!.fingerprint;
    // The app's own registry: the API's requests must not show in its request metrics.
    const registry = new Registry();
    const events: Harness['events'] = [];
    const lines: string[] = [];
    const api = alertsApi(service, {
      audit: { record: (e) => events.push(e) },
      ...(settings.token === undefined ? {} : { token: settings.token }),
    });
    const server = await listen(
      framework.app({
        api,
        registry,
        log: { write: (line: string) => lines.push(line) },
        bodyParser: settings.bodyParser,
        ...(settings.limit === undefined ? {} : { limit: settings.limit }),
      }),
    );
    running.push(server);
    return {
      server,
      service,
      registry,
      firing,
      events,
      lines,
      async request(method, path, init = {}) {
        const r = await send(server.port, {
          method,
          path,
          body: init.body,
          headers: init.headers,
        });
        let json: Json = {};
        try {
          json = r.body === '' ? {} : (JSON.parse(r.body) as Json);
        } catch {
          json = { raw: r.body };
        }
        return { status: r.status as number, headers: r.headers, json };
      },
    };
  }

  it('should list alerts in the seed shape with the request correlation id', async () => {
    const h = await harness();
    const r = await h.request('GET', '/alerts', { headers: { 'x-correlation-id': 'corr-123' } });
    expect(r.status).toBe(200);
    expect(r.headers['cache-control']).toBe('no-store');
    expect(Object.keys(r.json).slice(0, 3)).toEqual(['timestamp', 'correlation_id', 'service']);
    expect(r.json.correlation_id).toBe('corr-123');
    expect(r.json.service).toBe('queue-service');
    expect(r.json.total_count).toBe(2);
    const alerts = r.json.alerts as Record<string, unknown>[];
    for (const a of alerts) {
      expect(a).toMatchObject({
        fingerprint: expect.stringMatching(/^[0-9a-f]{16}$/),
        labels: { alertname: expect.any(String), severity: expect.any(String) },
        annotations: expect.any(Object),
        status: expect.any(String),
        startsAt: expect.any(String),
      });
    }
  });

  it.each([
    ['status=firing', ['QueueBusy']],
    ['status=pending', ['QueueDeep']],
    ['severity=critical', ['QueueDeep']],
    ['status=firing&severity=critical', []],
    ['status=acknowledged', []],
    ['', ['QueueBusy', 'QueueDeep']],
  ])('should filter GET /alerts?%s', async (query, names) => {
    const h = await harness();
    const r = await h.request('GET', `/alerts?${query}`);
    expect(r.status).toBe(200);
    const alerts = r.json.alerts as { labels: { alertname: string } }[];
    expect(alerts.map((a) => a.labels.alertname).sort()).toEqual(names);
  });

  it('should serve stats, rules and silences', async () => {
    const h = await harness();
    const stats = await h.request('GET', '/alerts/stats');
    expect(stats.status).toBe(200);
    expect(stats.json.alert_statistics).toEqual({
      active_alerts: 2,
      resolved_alerts_last_7_days: 0,
      active_by_severity: { critical: 1, warning: 1 },
      total_rules: 2,
      enabled_rules: 2,
      // The generated routes' receivers: default, page (critical) and ticket (warning).
      notification_channels: 3,
    });
    const rules = await h.request('GET', '/alerts/rules');
    expect(rules.json).toMatchObject({ total_count: 2 });
    expect((rules.json.rules as { name: string }[]).map((r) => r.name).sort()).toEqual([
      'QueueBusy',
      'QueueDeep',
    ]);
    const silences = await h.request('GET', '/alerts/silences/');
    expect(silences.json).toMatchObject({ silences: [], total_count: 0 });
  });

  it('should acknowledge from the query, audit it, and show the alert acknowledged', async () => {
    const h = await harness();
    const fp = h.firing;
    const r = await h.request(
      'POST',
      `/alerts/${fp}/acknowledge?acknowledged_by=alice&comment=looking`,
      { headers: { 'x-request-id': 'req-42' } },
    );
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({
      status: 'success',
      message: `Alert ${fp} acknowledged by alice`,
      alert: { fingerprint: fp, status: 'acknowledged', acknowledgement: { by: 'alice' } },
    });
    expect(h.events).toEqual([
      expect.objectContaining({
        type: 'alerts.acknowledge',
        outcome: 'success',
        actor: 'alice',
        action: 'acknowledge',
        resource: `alert:${fp}`,
        request_id: 'req-42',
        metadata: { alertname: 'QueueBusy', severity: 'warning', comment: 'looking' },
      }),
    ]);
    const acked = await h.request('GET', '/alerts?status=acknowledged');
    expect((acked.json.alerts as unknown[]).length).toBe(1);
  });

  it.each([false, true])(
    'should read a JSON and a form body (body parser mounted: %s)',
    async (bodyParser) => {
      const h = await harness({ bodyParser });
      const fp = h.firing;
      const json = await h.request('POST', `/alerts/${fp}/acknowledge`, {
        body: JSON.stringify({ acknowledged_by: 'bob', comment: 'on it' }),
        headers: { 'content-type': 'application/json' },
      });
      expect(json.status).toBe(200);
      expect(json.json.message).toBe(`Alert ${fp} acknowledged by bob`);
      const form = await h.request('POST', `/alerts/${fp}/silence`, {
        body: 'duration_minutes=30&created_by=carol',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });
      expect(form.status).toBe(200);
      expect(form.json).toMatchObject({
        message: `Alert ${fp} silenced for 30 minutes`,
        silence: { createdBy: 'carol', status: 'active' },
      });
    },
  );

  it('should silence for duration_minutes, list the silence and expire it once', async () => {
    const h = await harness();
    const fp = h.firing;
    const r = await h.request('POST', `/alerts/${fp}/silence?duration_minutes=60`);
    expect(r.status).toBe(200);
    const silence = r.json.silence as { id: string; startsAt: string; endsAt: string };
    expect(Date.parse(silence.endsAt) - Date.parse(silence.startsAt)).toBe(3_600_000);
    const silenced = await h.request('GET', '/alerts?status=silenced');
    expect((silenced.json.alerts as unknown[]).length).toBe(1);
    const listed = await h.request('GET', '/alerts/silences');
    expect(listed.json.total_count).toBe(1);
    const del = await h.request('DELETE', `/alerts/silences/${silence.id}`);
    expect(del.status).toBe(200);
    const again = await h.request('DELETE', `/alerts/silences/${silence.id}`);
    expect(again.status).toBe(404);
    expect(again.json.error?.code).toBe('silence_not_found');
    expect(h.events.map((e) => `${e.type}:${e.outcome}`)).toEqual([
      'alerts.silence:success',
      'alerts.silence_expire:success',
      'alerts.silence_expire:failure',
    ]);
  });

  it('should answer an unknown fingerprint with 404 and audit the failed attempt', async () => {
    const h = await harness();
    const r = await h.request('POST', '/alerts/0123456789abcdef/acknowledge?acknowledged_by=x');
    expect(r.status).toBe(404);
    expect(r.json.error).toEqual({
      code: 'alert_not_found',
      message: 'No alert has the fingerprint 0123456789abcdef.',
    });
    expect(h.events[0]).toMatchObject({ type: 'alerts.acknowledge', outcome: 'failure' });
  });

  const fp = '0123456789abcdef';
  it.each([
    ['GET', '/alerts?status=suppressed', 'invalid_status'],
    ['GET', '/alerts?status=firing&status=pending', 'duplicate_parameter'],
    ['GET', '/alerts?limit=5', 'unknown_parameter'],
    ['GET', '/alerts?severity=%3Cscript%3E', 'invalid_severity'],
    ['GET', '/alerts?__proto__=x', 'forbidden_parameter'],
    ['POST', `/alerts/${fp}/acknowledge`, 'missing_parameter'],
    ['POST', `/alerts/${fp}/acknowledge?acknowledged_by=`, 'invalid_parameter'],
    ['POST', `/alerts/${fp}/acknowledge?acknowledged_by=a%0Ab`, 'invalid_parameter'],
    ['POST', `/alerts/${fp}/acknowledge?acknowledged_by=${'x'.repeat(129)}`, 'invalid_parameter'],
    ['POST', `/alerts/${fp}/silence`, 'missing_parameter'],
    ['POST', `/alerts/${fp}/silence?duration_minutes=0`, 'invalid_duration'],
    ['POST', `/alerts/${fp}/silence?duration_minutes=1441`, 'invalid_duration'],
    ['POST', `/alerts/${fp}/silence?duration_minutes=1.5`, 'invalid_duration'],
    ['POST', `/alerts/${fp}/silence?duration_minutes=-5`, 'invalid_duration'],
    ['POST', `/alerts/${fp}/silence?duration_minutes=1e3`, 'invalid_duration'],
    ['POST', '/alerts/NOT-A-FINGERPRINT/acknowledge?acknowledged_by=a', 'invalid_fingerprint'],
    ['POST', '/alerts/0123456789ABCDEF/silence?duration_minutes=5', 'invalid_fingerprint'],
    ['POST', '/alerts/%ZZ/acknowledge', 'invalid_path'],
    ['DELETE', `/alerts/silences/${'%20'.repeat(3)}`, 'invalid_silence_id'],
  ])('should answer %s %s with 400 %s', async (method, path, code) => {
    const h = await harness();
    const r = await h.request(method, path);
    expect(r.status).toBe(400);
    expect(r.json.error?.code).toBe(code);
    expect(r.json.error?.message).toEqual(expect.any(String));
    expect(r.json.correlation_id).toEqual(expect.any(String));
  });

  it.each([
    ['a huge body', 'application/json', Buffer.alloc(100_000, 0x20), 'body_too_large'],
    [
      'non-UTF-8 bytes',
      'application/json',
      Buffer.from([0x7b, 0xff, 0xfe, 0x7d]),
      'invalid_encoding',
    ],
    ['broken JSON', 'application/json', '{"acknowledged_by": ', 'invalid_json'],
    ['a JSON array', 'application/json', '["alice"]', 'invalid_body'],
    ['a JSON string', 'application/json', '"alice"', 'invalid_body'],
    [
      'a prototype-pollution key',
      'application/json',
      '{"acknowledged_by":"a","__proto__":{"polluted":true}}',
      'forbidden_parameter',
    ],
    [
      'a constructor key',
      'application/json',
      '{"constructor":{"prototype":{}}}',
      'forbidden_parameter',
    ],
    ['a nested value', 'application/json', '{"acknowledged_by":{"$gt":""}}', 'invalid_parameter'],
    [
      'an unknown field',
      'application/json',
      '{"acknowledged_by":"a","admin":"yes"}',
      'unknown_parameter',
    ],
    ['XML', 'application/xml', '<ack/>', 'unsupported_content_type'],
  ])('should answer %s with 400 and never throw', async (_what, type, body, code) => {
    // Without a body parser the API reads the body; with one, the parser's own answer is the app's.
    const h = await harness();
    const r = await h.request('POST', `/alerts/${fp}/acknowledge`, {
      body,
      headers: { 'content-type': type },
    });
    expect(r.status).toBe(400);
    expect(r.json.error?.code).toBe(code);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(h.events).toEqual([]);
  });

  it('should refuse a body a parser already read when it holds a forbidden key', async () => {
    const h = await harness({ bodyParser: true });
    const r = await h.request('POST', `/alerts/${fp}/acknowledge`, {
      body: '{"acknowledged_by":"a","__proto__":{"polluted":true}}',
      headers: { 'content-type': 'application/json' },
    });
    expect(r.status).toBe(400);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it.each([
    ['GET', `/alerts/${fp}/acknowledge`, 'POST'],
    ['PUT', '/alerts', 'GET, HEAD'],
    ['POST', '/alerts/stats', 'GET, HEAD'],
    ['GET', '/alerts/silences/abc', 'DELETE'],
  ])('should answer %s %s with 405 and Allow: %s', async (method, path, allow) => {
    const h = await harness();
    const r = await h.request(method, path);
    expect(r.status).toBe(405);
    expect(r.headers.allow).toBe(allow);
  });

  it('should answer unknown paths under /alerts with 404 and pass others on', async () => {
    const h = await harness({ limit: 100 });
    const r = await h.request('GET', '/alerts/nothing/here');
    expect(r.status).toBe(404);
    expect(r.json.error?.code).toBe('not_found');
    const app = await h.request('GET', '/api/ping');
    expect(app.json).toEqual({ pong: true });
  });

  it('should answer 401 without the token and learn nothing, 200 with it', async () => {
    const h = await harness({ token: TOKEN });
    for (const path of ['/alerts', '/alerts/stats', '/alerts/unknown/path']) {
      const r = await h.request('GET', path);
      expect(r.status).toBe(401);
      expect(r.headers['www-authenticate']).toBe('Bearer');
      expect(r.json).toEqual({});
    }
    const wrong = await h.request('POST', `/alerts/${h.firing}/acknowledge?acknowledged_by=a`, {
      headers: { authorization: 'Bearer wrong-token-of-some-length' },
    });
    expect(wrong.status).toBe(401);
    expect(h.events).toEqual([]);
    const right = await h.request('GET', '/alerts', {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(right.status).toBe(200);
  });

  it('should take the token from VIGIL_ALERTS_TOKEN', async () => {
    process.env.VIGIL_ALERTS_TOKEN = TOKEN;
    const h = await harness();
    expect((await h.request('GET', '/alerts')).status).toBe(401);
    const r = await h.request('GET', '/alerts', { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(r.status).toBe(200);
  });

  it('should never be rate-limited, counted in the request metrics or logged', async () => {
    const h = await harness({ limit: 1 });
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++) statuses.push((await h.request('GET', '/alerts')).status);
    statuses.push((await h.request('POST', `/alerts/${fp}/silence?duration_minutes=0`)).status);
    expect(statuses).toEqual([...Array<number>(10).fill(200), 400]);
    expect((await h.request('GET', '/api/ping')).status).toBe(200);
    expect((await h.request('GET', '/api/ping')).status).toBe(429);
    const counted = await h.registry.getSingleMetric('http_requests_total')?.get();
    const routes = (counted?.values ?? []).map((v) => String(v.labels.route));
    expect(routes.every((r) => !r.startsWith('/alerts'))).toBe(true);
    const total = (counted?.values ?? []).reduce((n, v) => n + v.value, 0);
    expect(total).toBe(2);
    const logged = h.lines.map((l) =>
      String((JSON.parse(l) as { req?: { url?: string } }).req?.url),
    );
    expect(logged.filter((u) => u.startsWith('/api/ping'))).toHaveLength(2);
    expect(logged.filter((u) => u.startsWith('/alerts'))).toEqual([]);
  });
});

describe('alertsApi() options', () => {
  it('should refuse a token shorter than 16 characters, naming VIGIL_ALERTS_TOKEN', () => {
    process.env.VIGIL_ALERTS_TOKEN = 'short';
    expect(() => alertsApi(fakeService())).toThrow(
      /ERR_VIGIL_ALERTS_INVALID_OPTION: alertsApi\(\): option "token" must be a string of at least 16 characters, received '\(VIGIL_ALERTS_TOKEN\)'/,
    );
  });

  it('should refuse an audit sink without record()', () => {
    expect(() => alertsApi(fakeService(), { audit: {} as never })).toThrow(
      /ERR_VIGIL_ALERTS_INVALID_OPTION: alertsApi\(\): option "audit" must be an audit logger/,
    );
  });
});
