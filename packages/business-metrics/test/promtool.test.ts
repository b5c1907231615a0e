// The /metrics exposition of real apps recording business metrics next to @vigil/metrics, after mixed
// traffic (successes, failures, aborts, overflowing values), checked by `promtool check metrics`.
import { spawnSync } from 'node:child_process';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  expressMetrics,
  expressMetricsHandler,
  koaMetrics,
  koaMetricsHandler,
} from '@vigil/metrics';
import Router from '@koa/router';
import { FRAMEWORKS, type ShopCatalogue, shopCatalogue } from './support/apps';
import {
  Gate,
  abortedRequest,
  closeServers,
  findBinary,
  rawRequest,
  sleep,
  startServer,
} from '@vigil/test-utils';
import { captureLogs } from './support/logs';
import { settle, sumValues } from './support/samples';

const promtool = findBinary('promtool', 'prometheus');

function checkMetrics(text: string): { status: number | null; output: string } {
  const run = spawnSync(promtool!, ['check', 'metrics'], {
    input: text,
    encoding: 'utf8',
    timeout: 30_000,
  });
  if (run.error) throw run.error;
  return { status: run.status, output: `${run.stdout}${run.stderr}`.trim() };
}

describe('promtool', () => {
  it.skipIf(!promtool)('should report problems in a deliberately broken exposition', () => {
    // Proves the checks below are not vacuous: this promtool lints what the catalogue rules forbid.
    const broken = [
      '# HELP uploads A counter without _total.',
      '# TYPE uploads counter',
      'uploads 3',
      '',
    ].join('\n');
    const result = checkMetrics(broken);
    console.log(`promtool on a broken exposition: exit ${result.status}, "${result.output}"`);
    expect(result.status).not.toBe(0);
    expect(result.output).toMatch(/_total/);
  });
});

describe.each(FRAMEWORKS.filter((f) => f.name === 'express5' || f.name === 'koa3'))(
  'exposition after mixed traffic on $name',
  (fw) => {
    const registry = new Registry();
    const gate = new Gate();
    let catalogue: ShopCatalogue;
    let text: string;

    beforeAll(async () => {
      catalogue = shopCatalogue(registry, captureLogs().logger);
      const app = fw.app(catalogue, gate, {
        express: (a) => {
          a.use(expressMetrics({ registry }));
          a.get('/metrics', expressMetricsHandler({ registry }));
        },
        koa: (a) => {
          a.use(koaMetrics({ registry }));
          const router = new Router();
          router.get('/metrics', koaMetricsHandler({ registry }));
          a.use(router.routes());
        },
      });
      const { origin, received } = await startServer(app.listener);
      const uploads = [
        { format: 'mp4', size: 1_000_000 },
        { format: 'webm', size: 20_000 },
        { format: 'avi', status: 400 },
        { format: 'mov', fail: 'throw' },
        { format: 'mp4', fail: 'async' },
        { format: 'webm\n"quoted"\\', status: 422 },
      ];
      for (const json of uploads) await rawRequest(origin, '/api/videos', { json });
      await rawRequest(origin, '/api/orders/pro', { json: {} });
      await rawRequest(origin, '/api/orders/gold', { json: {} });
      await rawRequest(origin, '/api/streams/1/start', { method: 'POST' });
      await rawRequest(origin, '/api/scoped', { json: { format: 'mov', times: 2, size: 5 } });
      // A kept value with a quote, a newline and a backslash must be escaped in the exposition.
      const odd = encodeURIComponent('fw "0"\n\\');
      for (let i = 0; i < 8; i++) {
        await rawRequest(origin, `/api/generate/${i === 0 ? odd : `fw-${i}`}`, { method: 'POST' });
      }
      await abortedRequest(origin, '/api/gate', { when: received(18).then(() => sleep(20)) });
      await settle(registry, 'uploads_total', uploads.length + 2 + 1);
      gate.open();
      const reply = await rawRequest(origin, '/metrics');
      expect(reply.status).toBe(200);
      text = reply.body;
    });

    afterAll(closeServers);

    it('should record the traffic it was sent', async () => {
      expect(await sumValues(registry, 'uploads_total', { outcome: 'aborted' })).toBe(1);
      expect(await sumValues(registry, 'generation_failures_total')).toBe(8);
      expect(await sumValues(registry, 'orders_created_total')).toBe(2);
    });

    it('should expose every business metric with its help and type next to the HTTP metrics', () => {
      for (const d of catalogue.describe()) {
        expect(text).toContain(`# HELP ${d.name} ${d.help}`);
        expect(text).toContain(`# TYPE ${d.name} ${d.type}`);
      }
      expect(text).toContain('# TYPE http_requests_total counter');
      expect(text).toContain('format="__overflow__"');
      expect(text).toContain('framework="fw \\"0\\"\\n\\\\"');
    });

    it.skipIf(!promtool)('should pass promtool check metrics', () => {
      const result = checkMetrics(text);
      console.log(
        `promtool check metrics (${fw.name}, ${text.split('\n').length} lines): exit ${result.status}${result.output ? `, "${result.output}"` : ', no findings'}`,
      );
      expect(result.output).toBe('');
      expect(result.status).toBe(0);
    });
  },
);
