// Screenshots of the live page for the README: the reference app (built: `npm run build`) with
// tracing and the demo alert windows, driven until an alert fires, shot in Chromium.
// Usage: node packages/dashboards/scripts/screenshots.mjs (Debian package `chromium` on PATH).
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { startTracing } from '@vigil/tracing';

const OUT = join(dirname(fileURLToPath(import.meta.url)), '..', 'docs');
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const executablePath = execFileSync('sh', ['-c', 'command -v chromium'], {
  encoding: 'utf8',
}).trim();
const tracing = startTracing({ serviceName: 'gateway', exporter: 'none' });
// Loaded once tracing is on, so that the app's HTTP modules are instrumented.
const { DEMO_USER, startReferenceApp } =
  await import('../../../examples/reference-app/dist/index.js');
const app = await startReferenceApp({
  port: 0,
  catalogPort: 0,
  tracing,
  alertsDemo: true,
  // The API policy out of the way of the traffic below; the login policy shows limiting.
  rateLimit: { apiLimit: 100_000 },
  logDestination: { write: () => true },
  auditDestination: { write: () => true },
});
const url = app.gatewayUrl;
const send = async (path, init) => {
  const res = await fetch(`${url}${path}`, init);
  await res.arrayBuffer();
};
const json = (body) => ({
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});

const browser = await chromium.launch({
  executablePath,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run'],
});
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await page.goto(`${url}/_vigil`);
  await send('/api/auth/login', json(DEMO_USER));
  for (let i = 0; i < 6; i++) {
    await send('/api/auth/login', json({ username: DEMO_USER.username, password: 'wrong' }));
  }
  // Traffic until the error-rate alert fires (the demo windows: about 15 s), and a little longer.
  const started = Date.now();
  let firing = false;
  for (let i = 0; Date.now() - started < 60_000; i++) {
    await send(`/api/videos/${(i % 5) + 1}`);
    if (i % 3 === 0) await send('/api/fail');
    if (i % 4 === 0) await send(`/api/slow?ms=${20 + (i % 80)}`);
    if (i % 7 === 0) {
      await send(
        '/api/videos',
        json({ title: 't', format: ['mp4', 'webm'][i % 2], sizeBytes: 1e6 }),
      );
    }
    if (!firing && i % 20 === 0) {
      const { alerts } = await (await fetch(`${url}/alerts?status=firing`)).json();
      if (alerts.length > 0) firing = Date.now();
    }
    if (firing && Date.now() - firing > 8000) break;
    await sleep(30);
  }
  await page.screenshot({ path: join(OUT, 'live-page.png') });
  await page.screenshot({ path: join(OUT, 'live-page-full.png'), fullPage: true });
  console.log(`wrote ${join('packages/dashboards/docs', 'live-page.png')} and live-page-full.png`);
} finally {
  await browser.close();
  await app.close();
  await tracing.shutdown();
}
