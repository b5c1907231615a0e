// The live page on real Express 5 and Koa 3 servers: the page and its assets under a strict CSP, the
// /observability overview, snapshots over server-sent events (also behind compression()), polling,
// the token, the client cap, and its own requests kept out of the metrics it charts.
import { execFileSync } from 'node:child_process';
import { createServer } from 'node:http';
import { Writable } from 'node:stream';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import compression from 'compression';
import express from 'express';
import Koa from 'koa';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import {
  CONTENT_SECURITY_POLICY,
  DASHBOARDS_ERROR_CODES,
  type LivePage,
  livePage,
} from '@vigil/dashboards';
import { createAlerting, defineAlerts, errorRatioAlert } from '@vigil/alerts';
import { expressRequestLogger, requestLoggingStatus } from '@vigil/logging';
import { closeServers, pollFor, startServer } from '@vigil/test-utils';

const pages: LivePage[] = [];
afterEach(async () => {
  for (const p of pages.splice(0)) p.close();
  await closeServers();
});

/** A registry with the HTTP metrics as @vigil/metrics names them, and a tiny recorder over it. */
function appMetrics() {
  const registry = new Registry();
  const requests = new Counter({
    name: 'http_requests_total',
    help: 'requests',
    labelNames: ['method', 'route', 'status_code'],
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'duration',
    labelNames: ['method', 'route', 'status_code'],
    buckets: [0.005, 0.01, 0.05, 0.1, 0.5, 1],
    registers: [registry],
  });
  new Gauge({
    name: 'http_requests_in_flight',
    help: 'in flight',
    labelNames: ['method'],
    registers: [registry],
  });
  const uploads = new Counter({
    name: 'video_uploads_total',
    help: 'uploads',
    labelNames: ['format'],
    registers: [registry],
  });
  const record = (method: string, route: string, status: number, seconds: number) => {
    const labels = { method, route, status_code: String(status) };
    requests.inc(labels);
    duration.observe(labels, seconds);
  };
  return { registry, record, uploads };
}

function make(options: Parameters<typeof livePage>[0]): LivePage {
  const page = livePage(options);
  pages.push(page);
  return page;
}

/** Reads a server-sent-events stream until a snapshot arrives; resolves it with the time it took. */
async function firstSnapshot(url: string, init?: RequestInit) {
  const started = performance.now();
  const controller = new AbortController();
  const res = await fetch(url, { ...init, signal: controller.signal });
  const reader = res.body!.getReader();
  let text = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`stream ended before a snapshot: ${text}`);
      text += Buffer.from(value).toString();
      const m = /event: snapshot\ndata: (.*)\n\n/.exec(text);
      if (m) {
        return { res, ms: performance.now() - started, snapshot: JSON.parse(m[1]!) as Snapshot };
      }
    }
  } finally {
    controller.abort();
  }
}

interface Snapshot {
  service: string;
  routes: { method: string; route: string; total: number; errorRatio: number | null }[];
  series: Record<string, unknown[]>;
  business: { name: string; value: number }[];
  alerts: unknown;
  traces: unknown;
}

describe('livePage() on Express 5', () => {
  async function serve(extra?: (app: express.Express) => void, options?: object) {
    const m = appMetrics();
    const page = make({ registry: m.registry, service: 'shop', ...options });
    const app = express();
    extra?.(app);
    app.use(page.express());
    app.get('/api/items/:id', (_req, res) => {
      res.json({ ok: true });
    });
    const { port } = await startServer(app);
    m.record('GET', '/api/items/:id', 200, 0.004);
    m.record('GET', '/api/items/:id', 200, 0.02);
    m.record('GET', '/api/fail', 500, 0.002);
    m.uploads.inc({ format: 'mp4' }, 3);
    return { url: `http://127.0.0.1:${port}`, page, ...m };
  }

  it('should serve the page and every asset with the strict CSP, under 100 KB gzipped', async () => {
    const { url, page } = await serve();
    const res = await fetch(`${url}/_vigil`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-security-policy')).toBe(CONTENT_SECURITY_POLICY);
    expect(CONTENT_SECURITY_POLICY).toContain("default-src 'none'");
    expect(CONTENT_SECURITY_POLICY).toContain("connect-src 'self'");
    const html = await res.text();
    // No inline script or style: every <script> has a src, no style attribute anywhere.
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(html).not.toMatch(/\sstyle=/);
    // Every asset from the page's own path: the icon is `data:` so the browser fetches none.
    const assets = [...html.matchAll(/(?:src|href)="([^"]+)"/g)]
      .map((m) => m[1]!)
      .filter((a) => a !== 'data:,');
    expect(assets.every((a) => a.startsWith('/_vigil/assets/'))).toBe(true);
    expect(assets).toEqual(
      expect.arrayContaining([
        '/_vigil/assets/uplot.js',
        '/_vigil/assets/uplot.css',
        '/_vigil/assets/live.mjs',
        '/_vigil/assets/live.css',
      ]),
    );
    for (const path of assets) {
      const a = await fetch(`${url}${path}`, { headers: { 'accept-encoding': 'gzip' } });
      expect(a.status, path).toBe(200);
      expect(a.headers.get('content-security-policy')).toBe(CONTENT_SECURITY_POLICY);
      expect(a.headers.get('content-encoding')).toBe('gzip');
    }
    console.log(`live page + assets: ${page.size.raw} bytes raw, ${page.size.gzip} bytes gzipped`);
    expect(page.size.gzip).toBeLessThan(100 * 1024);
  });

  it('should answer GET /observability with the overview of metrics, tracing, alerting, logging and health', async () => {
    const { url } = await serve();
    const res = await fetch(`${url}/observability`, {
      headers: { 'x-correlation-id': 'corr-123' },
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      correlation_id: 'corr-123',
      service: 'shop',
      observability: {
        metrics: {
          status: 'active',
          summary: { total_requests: 3, failed_requests: 1, successful_requests: 2 },
        },
        tracing: { status: 'disabled' },
        alerting: { status: 'disabled' },
        logging: { status: 'unknown' },
        health: { status: 'disabled' },
      },
      health: { overall_status: 'healthy', components: { metrics: 'healthy' } },
    });
    expect(Date.parse(body.timestamp as string)).not.toBeNaN();
  });

  it('should push a snapshot with the routes seen over server-sent events within 2 s', async () => {
    const { url } = await serve();
    const { res, ms, snapshot } = await firstSnapshot(`${url}/_vigil/events`);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(res.headers.get('cache-control')).toBe('no-store, no-transform');
    console.log(`first SSE snapshot after ${ms.toFixed(0)} ms`);
    expect(ms).toBeLessThan(2000);
    expect(snapshot.service).toBe('shop');
    expect(snapshot.routes.map((r) => r.route).sort()).toEqual(['/api/fail', '/api/items/:id']);
    expect(snapshot.routes.find((r) => r.route === '/api/fail')?.errorRatio).toBe(1);
    expect(snapshot.business.find((b) => b.name === 'video_uploads_total')?.value).toBe(3);
    expect(snapshot.alerts).toBeNull();
  });

  it('should sample again for a client who comes after everyone left and the sampler stopped', async () => {
    const { url } = await serve(undefined, { intervalMs: 500 });
    await firstSnapshot(`${url}/_vigil/events`);
    // The only client has left: the next tick finds nobody watching and stops the sampler.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    for (let visit = 2; visit <= 3; visit++) {
      const { ms, snapshot } = await firstSnapshot(`${url}/_vigil/events`);
      console.log(
        `visit ${visit} after the sampler stopped: first snapshot after ${ms.toFixed(0)} ms`,
      );
      expect(snapshot.service).toBe('shop');
      await new Promise((resolve) => setTimeout(resolve, 1500));
    }
  });

  it('should still deliver events promptly behind compression()', async () => {
    const { url, record } = await serve((app) => app.use(compression()));
    const controller = new AbortController();
    const res = await fetch(`${url}/_vigil/events`, {
      headers: { 'accept-encoding': 'gzip' },
      signal: controller.signal,
    });
    const reader = res.body!.getReader();
    const seen: number[] = [];
    const started = performance.now();
    let text = '';
    // Two snapshots: the first at once, the next one interval later, each arriving when sent.
    while (seen.length < 2) {
      const { value } = await reader.read();
      text += Buffer.from(value as Uint8Array).toString();
      const count = text.split('event: snapshot').length - 1;
      while (seen.length < count) seen.push(performance.now() - started);
      record('GET', '/api/items/:id', 200, 0.01);
    }
    controller.abort();
    console.log(
      `behind compression(): snapshots at ${seen.map((t) => t.toFixed(0)).join(', ')} ms`,
    );
    expect(seen[1]).toBeLessThan(2500);
  });

  it('should answer polling at /_vigil/snapshot', async () => {
    const { url } = await serve();
    const res = await fetch(`${url}/_vigil/snapshot`);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const s = (await res.json()) as Snapshot;
    expect(s.routes).toHaveLength(2);
  });

  it('should chart points one interval apart, at the exact second they were taken', async () => {
    const { url } = await serve(undefined, { intervalMs: 500 });
    const series = await pollFor(
      async () => {
        const s = (await (await fetch(`${url}/_vigil/snapshot`)).json()) as Snapshot;
        const t = s.series.t as number[];
        return t.length >= 4 ? t : undefined;
      },
      15_000,
      200,
    );
    expect(series).toBeDefined();
    const t = series!;
    const now = Date.now() / 1000;
    // Whole seconds since the epoch, close to now, never going back, spanning the samples taken.
    expect(t.every((x) => Number.isInteger(x) && Math.abs(x - now) < 60)).toBe(true);
    expect(t.every((x, i) => i === 0 || x >= t[i - 1]!)).toBe(true);
    expect(t.at(-1)! - t[0]!).toBeGreaterThanOrEqual(1);
  });

  it('should answer 503 past maxClients live streams, and count them down when they leave', async () => {
    const { url, page } = await serve(undefined, { maxClients: 2 });
    const controllers = [new AbortController(), new AbortController()];
    for (const c of controllers) {
      const r = await fetch(`${url}/_vigil/events`, { signal: c.signal });
      expect(r.status).toBe(200);
    }
    expect(page.clients).toBe(2);
    const third = await fetch(`${url}/_vigil/events`);
    expect(third.status).toBe(503);
    expect(third.headers.get('retry-after')).toBe('5');
    for (const c of controllers) c.abort();
    await expect.poll(() => page.clients).toBe(0);
  });

  it('should pass other paths below /_vigil on to the app, and refuse other methods', async () => {
    const { url } = await serve((app) => {
      app.get('/_vigil/traces', (_req, res) => {
        res.json(['app']);
      });
    });
    expect(await (await fetch(`${url}/_vigil/traces`)).json()).toEqual(['app']);
    const post = await fetch(`${url}/_vigil/snapshot`, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
  });

  describe('with a token', () => {
    const token = 'live-page-token-0123456789';

    it('should answer 401 without it, and learn nothing', async () => {
      const { url } = await serve(undefined, { token });
      for (const path of [
        '/_vigil',
        '/_vigil/events',
        '/_vigil/snapshot',
        '/_vigil/assets/live.mjs',
        '/observability',
      ]) {
        const res = await fetch(`${url}${path}`);
        expect(res.status, path).toBe(401);
        expect(res.headers.get('www-authenticate')).toBe('Bearer');
        expect(await res.text()).toBe('');
      }
      expect((await fetch(`${url}/_vigil?token=wrong-token-0123456789`)).status).toBe(401);
    });

    it('should accept the bearer token, and trade ?token= on the page for an HttpOnly cookie', async () => {
      const { url } = await serve(undefined, { token });
      const bearer = { authorization: `Bearer ${token}` };
      expect((await fetch(`${url}/observability`, { headers: bearer })).status).toBe(200);
      const login = await fetch(`${url}/_vigil?token=${token}`, { redirect: 'manual' });
      expect(login.status).toBe(303);
      expect(login.headers.get('location')).toBe('/_vigil');
      const cookie = login.headers.get('set-cookie')!;
      expect(cookie).toMatch(
        /^vigil_dashboard=[0-9a-f]{64}; Path=\/_vigil; HttpOnly; SameSite=Strict$/,
      );
      expect(cookie).not.toContain(token);
      const pair = cookie.split(';')[0]!;
      for (const path of ['/_vigil', '/_vigil/assets/uplot.js', '/_vigil/snapshot']) {
        expect((await fetch(`${url}${path}`, { headers: { cookie: pair } })).status, path).toBe(
          200,
        );
      }
      const { snapshot } = await firstSnapshot(`${url}/_vigil/events`, {
        headers: { cookie: pair },
      });
      expect(snapshot.routes.length).toBe(2);
    });

    it('should take the token from VIGIL_DASHBOARD_TOKEN', async () => {
      process.env.VIGIL_DASHBOARD_TOKEN = token;
      try {
        const { url } = await serve();
        expect((await fetch(`${url}/_vigil`)).status).toBe(401);
      } finally {
        delete process.env.VIGIL_DASHBOARD_TOKEN;
      }
    });
  });
});

describe('livePage() on Koa', () => {
  it('should serve the page, the overview and the events', async () => {
    const m = appMetrics();
    const page = make({ registry: m.registry, service: 'koa-shop' });
    const app = new Koa();
    app.use(page.koa());
    app.use((ctx) => {
      ctx.body = { ok: true };
    });
    // eslint-disable-next-line @typescript-eslint/no-misused-promises -- Koa's callback is a listener
    const { port } = await startServer(app.callback());
    const url = `http://127.0.0.1:${port}`;
    m.record('GET', '/things/:id', 200, 0.01);
    const res = await fetch(`${url}/_vigil`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-security-policy')).toBe(CONTENT_SECURITY_POLICY);
    expect(
      ((await (await fetch(`${url}/observability`)).json()) as { service: string }).service,
    ).toBe('koa-shop');
    const { snapshot } = await firstSnapshot(`${url}/_vigil/events`);
    expect(snapshot.routes.map((r) => r.route)).toEqual(['/things/:id']);
    expect(await (await fetch(`${url}/other`)).json()).toEqual({ ok: true });
  });
});

describe("the page's alert actions", () => {
  const TOKEN = 'page-token-0123456789';

  it("should take them with the page's token, from its own origin only, and answer each refusal", async () => {
    const m = appMetrics();
    // A real in-process alerting with no firing alert: actions on an unknown fingerprint are 404.
    const alerting = createAlerting({
      rules: defineAlerts({ name: 'shop', alerts: [errorRatioAlert()] }),
      service: 'shop',
      registry: m.registry,
    });
    const page = livePage({ registry: m.registry, alerting, token: TOKEN });
    pages.push(page);
    const app = express();
    app.use(page.express());
    const { port } = await startServer(app);
    const base = `http://127.0.0.1:${port}/_vigil`;
    const action = `${base}/alerts/0123abcd/acknowledge`;
    const bearer = { authorization: `Bearer ${TOKEN}` };
    const login = await fetch(`${base}?token=${TOKEN}`, { redirect: 'manual' });
    const cookie = login.headers.get('set-cookie')!.split(';')[0]!;

    // The snapshot points the buttons at the page's own actions.
    const snap = (await (await fetch(`${base}/snapshot`, { headers: bearer })).json()) as {
      alerts: { api: string };
    };
    expect(snap.alerts.api).toBe('/_vigil/alerts');

    const post = (url: string, headers: Record<string, string>) =>
      fetch(url, { method: 'POST', headers });
    const statuses = {
      noToken: (await post(action, {})).status,
      get: (await fetch(action, { headers: bearer })).status,
      crossSite: (await post(action, { cookie, 'sec-fetch-site': 'same-site' })).status,
      foreignOrigin: (await post(action, { cookie, origin: 'http://evil.example' })).status,
      nullOrigin: (await post(action, { cookie, origin: 'null' })).status,
      sameOrigin: (await post(action, { cookie, 'sec-fetch-site': 'same-origin' })).status,
      ownOrigin: (await post(action, { cookie, origin: `http://127.0.0.1:${port}` })).status,
      bearer: (await post(action, bearer)).status,
      badMinutes: (await post(`${base}/alerts/0123abcd/silence?minutes=0`, bearer)).status,
      notAFingerprint: (await post(`${base}/alerts/ZZ/acknowledge`, bearer)).status,
    };
    expect(statuses).toEqual({
      noToken: 401,
      get: 405,
      crossSite: 403,
      foreignOrigin: 403,
      nullOrigin: 403,
      // Admitted, and no alert has that fingerprint.
      sameOrigin: 404,
      ownOrigin: 404,
      bearer: 404,
      badMinutes: 400,
      // Not a path of the page: passed on to the app, which has no such route.
      notAFingerprint: 404,
    });
  });
});

describe('livePage() and @vigil/logging', () => {
  it('should report the request loggers in /observability when given requestLoggingStatus', async () => {
    const m = appMetrics();
    const page = livePage({ registry: m.registry, logging: requestLoggingStatus });
    pages.push(page);
    const app = express();
    app.use(
      expressRequestLogger({ destination: new Writable({ write: (_c, _e, done) => done() }) }),
    );
    app.use(page.express());
    app.get('/api/x', (_req, res) => {
      res.send('x');
    });
    const { port } = await startServer(app);
    await (await fetch(`http://127.0.0.1:${port}/api/x`)).text();
    const body = (await (await fetch(`http://127.0.0.1:${port}/observability`)).json()) as {
      observability: { logging: Record<string, unknown> };
      health: { components: Record<string, string> };
    };
    expect(body.observability.logging).toMatchObject({
      status: 'active',
      log_level: 'info',
      request_loggers: expect.any(Number),
      write_failures: 0,
    });
    expect(body.observability.logging.lines_written).toBeGreaterThanOrEqual(1);
    expect(body.health.components.logging).toBe('healthy');
    expect(() => livePage({ registry: m.registry, logging: {} as never })).toThrow(
      expect.objectContaining({ code: DASHBOARDS_ERROR_CODES.INVALID_OPTION }),
    );
  });
});

describe('livePage() without a framework', () => {
  it('should serve the page from handler() on node:http, 404 elsewhere', async () => {
    const m = appMetrics();
    const page = livePage({ registry: m.registry, service: 'plain' });
    pages.push(page);
    const server = createServer(page.handler());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      expect((await fetch(`${url}/_vigil`)).status).toBe(200);
      const snap = (await (await fetch(`${url}/_vigil/snapshot`)).json()) as Snapshot;
      expect(snap.service).toBe('plain');
      expect((await fetch(`${url}/elsewhere`)).status).toBe(404);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('should listen() on a port of its own, and close with live streams open', async () => {
    const m = appMetrics();
    const page = livePage({ registry: m.registry, service: 'own-port' });
    const server = await page.listen({ port: 0 });
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/_vigil$/);
    expect((await fetch(server.url)).status).toBe(200);
    const events = await fetch(`${server.url}/events`);
    expect(events.status).toBe(200);
    expect(page.clients).toBe(1);
    const observability = await fetch(server.url.replace(/\/_vigil$/, '/observability'));
    expect(((await observability.json()) as { service: string }).service).toBe('own-port');
    await server.close();
    expect(page.clients).toBe(0);
    await events.body?.cancel();
  });

  it('should reject listen() options that are not a port and a host', async () => {
    const page = livePage({ registry: new Registry() });
    await expect(page.listen({ port: 'x' as never })).rejects.toThrow(
      expect.objectContaining({ code: DASHBOARDS_ERROR_CODES.INVALID_OPTION }),
    );
    await expect(page.listen({ prot: 1 } as never)).rejects.toThrow(
      expect.objectContaining({ code: DASHBOARDS_ERROR_CODES.UNKNOWN_OPTION }),
    );
  });
});

describe('livePage() options', () => {
  it('should pin the code and message of a missing registry', () => {
    expect(() => livePage({} as never)).toThrow(
      expect.objectContaining({ code: DASHBOARDS_ERROR_CODES.INVALID_OPTION }),
    );
    expect(() => livePage({} as never)).toThrow(/registry/);
  });

  it('should reject a short token and an alerting object that is not one', () => {
    const registry = new Registry();
    expect(() => livePage({ registry, token: 'short' })).toThrow(/at least 16 characters/);
    expect(() => livePage({ registry, alerting: {} as never })).toThrow(/alerting/);
  });

  it('should explain livePage mounted without ()', () => {
    expect(() => (livePage as (...a: unknown[]) => unknown)({}, {}, () => {})).toThrow(
      expect.objectContaining({ code: DASHBOARDS_ERROR_CODES.NOT_CALLED }),
    );
  });
});

describe('the package entry', () => {
  it('should not load the Grafana foundation SDK when only the live page is mounted', () => {
    const script = `
      const { livePage } = require('@vigil/dashboards');
      const { Registry } = require('prom-client');
      const express = require('express');
      const page = livePage({ registry: new Registry() });
      express().use(page.express());
      const sdk = Object.keys(require.cache).filter((k) => k.includes('grafana-foundation-sdk'));
      require('@vigil/dashboards').grafanaDashboards({ service: 'x' });
      const after = Object.keys(require.cache).filter((k) => k.includes('grafana-foundation-sdk'));
      page.close();
      console.log(JSON.stringify({ before: sdk.length, after: after.length }));
    `;
    // The built package, as an app loads it (the build runs before the tests).
    const out = execFileSync(process.execPath, ['-e', script], {
      cwd: join(__dirname, '..'),
      encoding: 'utf8',
    });
    const { before, after } = JSON.parse(out) as { before: number; after: number };
    console.log(`SDK modules loaded: ${before} with the live page only, ${after} after a render`);
    expect(before).toBe(0);
    expect(after).toBeGreaterThan(0);
  });
});
