// The page and its assets, read once from the package (uPlot from node_modules), gzipped once, and
// the strict Content-Security-Policy they are served with.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

/** Everything from the package's own origin; no inline script or style, no framing. */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

export interface Asset {
  contentType: string;
  raw: Buffer;
  gzip: Buffer;
  etag: string;
}

// src/live and dist/live both sit two folders below the package root, where client/ is.
const CLIENT = join(__dirname, '..', '..', 'client');

function asset(contentType: string, raw: Buffer): Asset {
  const gzip = gzipSync(raw, { level: 9 });
  return {
    contentType,
    raw,
    gzip,
    etag: `"${raw.length.toString(36)}-${gzip.length.toString(36)}"`,
  };
}

/** The assets by their path below the base path: '' is the page itself. */
export function loadAssets(basePath: string): Map<string, Asset> {
  const base = basePath === '/' ? '' : basePath;
  const html = readFileSync(join(CLIENT, 'live.html'), 'utf8').replaceAll('{{base}}', base);
  return new Map([
    ['', asset('text/html; charset=utf-8', Buffer.from(html))],
    [
      '/assets/live.mjs',
      asset('text/javascript; charset=utf-8', readFileSync(join(CLIENT, 'live.mjs'))),
    ],
    ['/assets/live.css', asset('text/css; charset=utf-8', readFileSync(join(CLIENT, 'live.css')))],
    [
      '/assets/uplot.js',
      asset(
        'text/javascript; charset=utf-8',
        readFileSync(require.resolve('uplot/dist/uPlot.iife.min.js')),
      ),
    ],
    [
      '/assets/uplot.css',
      asset('text/css; charset=utf-8', readFileSync(require.resolve('uplot/dist/uPlot.min.css'))),
    ],
  ]);
}
