// The live page in a real browser (Chromium through playwright-core) against the reference app with
// tracing on: no console error or CSP violation, uPlot charts drawn, the routes hit, a waterfall
// across gateway and catalog, the login in the audit tail, health passing, the page's heap flat over
// minutes of updates, and an alert acknowledged from its button. Both the page
// (VIGIL_DASHBOARD_TOKEN) and the alerts API (VIGIL_ALERTS_TOKEN) have a token: the buttons act
// through the page's own endpoints, and a POST from another origin is refused. The page's own
// requests stay out of the app's metrics and request log.
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { context } from '@opentelemetry/api';
import { suppressTracing } from '@opentelemetry/core';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Tracing, startTracing } from '@vigil/tracing';
import { findBinary, pollFor } from '@vigil/test-utils';
import {
  DEMO_USER,
  type ReferenceApp,
  startReferenceApp,
} from '../examples/reference-app/src/index';

const executablePath = findBinary('chromium', 'chromium');
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const DASHBOARD_TOKEN = 'dashboard-token-0123456789';
const ALERTS_TOKEN = 'alerts-token-0123456789abc';

/** The test's own requests: not traced, so the trace buffer holds only the app's traces. */
function clientFetch(url: string, init?: RequestInit): Promise<Response> {
  return context.with(suppressTracing(context.active()), () => fetch(url, init));
}

/** The alerts API, with its own token. */
async function alertsApi(url: string): Promise<AlertJson[]> {
  const res = await clientFetch(url, { headers: { authorization: `Bearer ${ALERTS_TOKEN}` } });
  expect(res.status).toBe(200);
  return ((await res.json()) as { alerts: AlertJson[] }).alerts;
}

interface AlertJson {
  fingerprint: string;
  status: string;
  labels: Record<string, string>;
  acknowledgement?: { by: string };
}

describe.skipIf(!executablePath)('the live page in Chromium', () => {
  let tracing: Tracing;
  let app: ReferenceApp;
  let browser: Browser;
  const logLines: string[] = [];
  const savedEnv = {
    dashboard: process.env.VIGIL_DASHBOARD_TOKEN,
    alerts: process.env.VIGIL_ALERTS_TOKEN,
  };

  beforeAll(async () => {
    process.env.VIGIL_DASHBOARD_TOKEN = DASHBOARD_TOKEN;
    process.env.VIGIL_ALERTS_TOKEN = ALERTS_TOKEN;
    tracing = startTracing({ serviceName: 'gateway', exporter: 'none' });
    app = await startReferenceApp({
      port: 0,
      catalogPort: 0,
      tracing,
      alertsDemo: true,
      logDestination: { write: (line: string) => logLines.push(line) },
      auditDestination: { write: () => true },
    });
    browser = await chromium.launch({
      executablePath,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  });
  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await tracing?.shutdown();
    for (const [name, value] of [
      ['VIGIL_DASHBOARD_TOKEN', savedEnv.dashboard],
      ['VIGIL_ALERTS_TOKEN', savedEnv.alerts],
    ] as const) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });

  it('should show the app live, with no console error or CSP violation', async () => {
    const url = app.gatewayUrl;
    // Traffic: a trace across both services, an upload, failures, a login.
    for (let i = 1; i <= 3; i++) await (await clientFetch(`${url}/api/videos/${i}`)).arrayBuffer();
    await (
      await clientFetch(`${url}/api/videos`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ title: 't', format: 'mp4', sizeBytes: 1000 }),
      })
    ).arrayBuffer();
    for (let i = 0; i < 5; i++) await (await clientFetch(`${url}/api/fail`)).arrayBuffer();
    const login = await clientFetch(`${url}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(DEMO_USER),
    });
    expect(login.status).toBe(200);

    const page = await browser.newPage();
    const problems: string[] = [];
    page.on('console', (msg) => {
      if (msg.type() === 'error' || msg.type() === 'warning') problems.push(msg.text());
    });
    page.on('pageerror', (error) => problems.push(String(error)));
    page.on('response', (r) => {
      if (r.status() >= 400) problems.push(`${r.status()} ${r.url()}`);
    });
    page.on('requestfailed', (r) => {
      if (!r.url().endsWith('/_vigil/events')) problems.push(`request failed: ${r.url()}`);
    });
    const started = performance.now();
    // The token once in the address: the page answers 303 with its cookie.
    await page.goto(`${url}/_vigil?token=${DASHBOARD_TOKEN}`);
    expect(new URL(page.url()).search).toBe('');
    await page.waitForSelector('body[data-snapshots]');
    const firstMs = Number(await page.getAttribute('body', 'data-first-snapshot-ms'));
    console.log(
      `first snapshot drawn ${firstMs} ms after navigation start (${(performance.now() - started).toFixed(0)} ms from goto)`,
    );

    // What the browser fetched for the page, as it arrived (gzipped), the event stream aside.
    // (A string: the tests compile without the DOM library.)
    const transferred = await page.evaluate<{ name: string; bytes: number }[]>(`[
      ...performance.getEntriesByType('navigation'),
      ...performance.getEntriesByType('resource'),
    ]
      .filter((e) => !e.name.endsWith('/events'))
      .map((e) => ({ name: e.name, bytes: e.encodedBodySize }))`);
    const total = transferred.reduce((n, e) => n + e.bytes, 0);
    console.log(
      `page + assets as transferred: ${total} bytes (${transferred.map((e) => `${new URL(e.name).pathname} ${e.bytes}`).join(', ')})`,
    );
    expect(transferred.length).toBe(5);
    expect(total).toBeLessThan(100 * 1024);

    // uPlot draws on canvases: four charts.
    expect(await page.locator('.uplot canvas').count()).toBeGreaterThanOrEqual(4);
    await expect.poll(() => page.locator('#conn').textContent()).toBe('live');
    const routes = await page.locator('#routes tbody td:nth-child(2)').allTextContents();
    expect(routes).toEqual(
      expect.arrayContaining(['/api/videos/:id', '/api/videos', '/api/fail', '/api/auth/login']),
    );
    expect(routes.some((r) => r.startsWith('/_vigil') || r === '/observability')).toBe(false);

    // The waterfall of the latest trace across services: gateway and catalog spans.
    await expect
      .poll(
        async () =>
          new Set(
            await page.evaluate<string[]>(
              `[...document.querySelectorAll('.span-row')].map((r) => r.dataset.service)`,
            ),
          ),
      )
      .toEqual(new Set(['gateway', 'catalog']));
    const spans = await page.locator('.span-row').count();
    console.log(`waterfall: ${spans} spans`);
    expect(spans).toBeGreaterThanOrEqual(2);

    expect(await page.locator('#audit tbody').textContent()).toContain('auth.login');
    await expect
      .poll(() => page.locator('#health .health-status').allTextContents(), { timeout: 10_000 })
      .toContain('pass');
    expect(await page.locator('#business tbody').textContent()).toContain('mp4');

    // The page's own requests (the page, assets, events, overview) are neither counted nor logged.
    const overview = (await (
      await clientFetch(`${url}/observability`, {
        headers: { authorization: `Bearer ${DASHBOARD_TOKEN}` },
      })
    ).json()) as { observability: { logging: Record<string, unknown> } };
    // The request logger's state, from @vigil/logging's requestLoggingStatus.
    expect(overview.observability.logging).toMatchObject({
      status: 'active',
      log_level: 'info',
      write_failures: 0,
    });
    expect(overview.observability.logging.lines_written).toBeGreaterThanOrEqual(
      logLines.filter((l) => l.includes('"request completed"')).length,
    );
    console.log(`/observability logging: ${JSON.stringify(overview.observability.logging)}`);
    const metrics = await (await clientFetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(/http_requests_total\{[^}]*route="\/api\/fail"/);
    expect(metrics).not.toMatch(/route="\/_vigil/);
    expect(metrics).not.toMatch(/route="\/observability"/);
    expect(logLines.some((l) => l.includes('/api/fail'))).toBe(true);
    expect(logLines.filter((l) => l.includes('/_vigil') || l.includes('/observability'))).toEqual(
      [],
    );

    expect(problems).toEqual([]);
    await page.close();
  }, 60_000);

  it("should keep the page's heap, DOM and listeners flat over minutes of live updates", async () => {
    const url = app.gatewayUrl;
    const minutes = Number(process.env.VIGIL_LIVE_HEAP_MINUTES ?? 3);
    const profile = await browser.newContext();
    const page = await profile.newPage();
    await page.goto(`${url}/_vigil?token=${DASHBOARD_TOKEN}`);
    await page.waitForSelector('body[data-snapshots]');
    const cdp = await profile.newCDPSession(page);
    await cdp.send('Performance.enable');
    const measure = async () => {
      await cdp.send('HeapProfiler.collectGarbage');
      const { metrics } = await cdp.send('Performance.getMetrics');
      const get = (name: string) => metrics.find((m) => m.name === name)?.value ?? NaN;
      return {
        heap: get('JSHeapUsedSize'),
        nodes: get('Nodes'),
        listeners: get('JSEventListeners'),
        snapshots: Number(await page.getAttribute('body', 'data-snapshots')),
      };
    };
    // Traffic all along, over varied routes, so every table and chart changes at each snapshot.
    let running = true;
    const traffic = (async () => {
      const paths = ['/api/videos/1', '/api/fail', '/api/slow?ms=20', '/api/videos/2'];
      for (let i = 0; running; i++) {
        await (await clientFetch(`${url}${paths[i % paths.length]}`)).arrayBuffer();
        await sleep(40);
      }
    })();
    const samples: Awaited<ReturnType<typeof measure>>[] = [];
    const started = performance.now();
    // A first sample once the page has warmed up, then one every 30 s.
    await sleep(20_000);
    samples.push(await measure());
    while (performance.now() - started < minutes * 60_000) {
      await sleep(30_000);
      samples.push(await measure());
    }
    running = false;
    await traffic;
    await profile.close();
    const first = samples[0]!;
    const last = samples.at(-1)!;
    const mb = (b: number) => (b / 1024 / 1024).toFixed(2);
    console.log(
      `live page over ${minutes} min (${last.snapshots - first.snapshots} snapshots drawn after warm-up): ` +
        `JS heap after GC ${samples.map((x) => mb(x.heap)).join(' -> ')} MB; ` +
        `DOM nodes ${samples.map((x) => x.nodes).join(' -> ')}; ` +
        `listeners ${samples.map((x) => x.listeners).join(' -> ')}`,
    );
    expect(last.snapshots - first.snapshots).toBeGreaterThan(minutes * 30);
    // Flat: what may grow is the chart history filling its ring (300 points a series at most).
    expect(Math.max(...samples.map((x) => x.heap)) - first.heap).toBeLessThan(2 * 1024 * 1024);
    expect(last.nodes).toBeLessThan(first.nodes * 1.5 + 200);
    expect(last.listeners).toBeLessThan(first.listeners * 1.5 + 50);
  }, 600_000);

  it("should acknowledge a firing alert from its button, with the page's token only, and refuse another origin", async () => {
    const url = app.gatewayUrl;
    // One browser profile for the page and the other origin's page, so the cookie is there to abuse.
    const profile = await browser.newContext();
    const page = await profile.newPage();
    const problems: string[] = [];
    page.on('console', (msg) => {
      if (msg.type() === 'error') problems.push(msg.text());
    });
    page.on('response', (r) => {
      if (r.status() >= 400) problems.push(`${r.status()} ${r.url()}`);
    });
    await page.goto(`${url}/_vigil?token=${DASHBOARD_TOKEN}`);
    // Without its token, the alerts API refuses: the page's buttons do not go through it.
    expect((await clientFetch(`${url}/alerts`)).status).toBe(401);
    // The demo rules: the error-rate alert fires after about 15 s of failures.
    const started = performance.now();
    const firing = await pollFor(
      async () => {
        await (await clientFetch(`${url}/api/fail`)).arrayBuffer();
        return (await alertsApi(`${url}/alerts?status=firing`))[0];
      },
      75_000,
      500,
    );
    expect(firing, 'no alert fired within 75 s').toBeDefined();
    if (firing === undefined) return;
    console.log(
      `alert ${firing.labels.alertname} firing after ${((performance.now() - started) / 1000).toFixed(1)} s`,
    );
    const row = page.locator(`#alerts tr[data-fingerprint="${firing.fingerprint}"]`);
    await row.waitFor();
    // The page was open before the alert fired: its "no active alert" note is gone with the row.
    expect(await page.locator('#alerts-note').textContent()).toBe('');

    // Cross-site request forgery: a page of another origin (another port of the same host, so the
    // SameSite=Strict cookie is sent) posts to the page's action; it is refused and nothing changes.
    const other: Server = createServer((_req, res) => {
      res.setHeader('Content-Type', 'text/html');
      res.end('<!doctype html><title>other origin</title>');
    });
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
    const otherUrl = `http://127.0.0.1:${(other.address() as AddressInfo).port}/`;
    const attacker = await profile.newPage();
    const refused: number[] = [];
    attacker.on('response', (r) => {
      if (r.url().includes('/acknowledge')) refused.push(r.status());
    });
    await attacker.goto(otherUrl);
    const action = `${url}/_vigil/alerts/${firing.fingerprint}/acknowledge`;
    await attacker.evaluate(
      `fetch(${JSON.stringify(action)}, { method: 'POST', mode: 'no-cors', credentials: 'include' }).catch(() => {})`,
    );
    await expect.poll(() => refused, { timeout: 5000 }).toEqual([403]);
    await attacker.close();
    await new Promise<void>((resolve) => other.close(() => resolve()));
    // The same forgery outside a browser, with the page's cookie and a foreign Origin.
    const cookie = (await profile.cookies(`${url}/_vigil`)).find(
      (c) => c.name === 'vigil_dashboard',
    );
    expect(cookie).toBeDefined();
    const forged = await clientFetch(action, {
      method: 'POST',
      headers: { cookie: `vigil_dashboard=${cookie?.value}`, origin: 'http://evil.example' },
    });
    expect(forged.status).toBe(403);
    const untouched = (await alertsApi(`${url}/alerts`)).find(
      (a) => a.fingerprint === firing.fingerprint,
    );
    expect(untouched?.acknowledgement).toBeUndefined();
    console.log(`cross-origin acknowledge: browser ${refused.join(',')}, forged ${forged.status}`);

    await row.locator('button.alert-acknowledge').click();
    const acked = await pollFor(
      async () =>
        (await alertsApi(`${url}/alerts`)).find(
          (a) => a.fingerprint === firing.fingerprint && a.acknowledgement,
        ),
      5000,
      200,
    );
    expect(acked?.acknowledgement?.by).toBe('live-page');
    await expect
      .poll(() => row.locator('.alert-status').textContent(), { timeout: 5000 })
      .toBe('acknowledged');
    expect(await page.locator('#alerts-note').textContent()).toBe('acknowledge: done');
    expect(problems).toEqual([]);
    await profile.close();
  }, 120_000);
});
