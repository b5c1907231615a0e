// The CPU cost three business recordings add to a request, measured in-process on real Node request
// and response objects, each request ended through Node's real `http.server.response.finish` channel.
// The figure is printed; the bound only catches a gross regression (the benchmark holds the budget).
import { channel } from 'node:diagnostics_channel';
import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { defineBusinessMetrics, metrics, track } from '@vigil/business-metrics';
import { nonZero, sumValues } from './support/samples';

const ROUNDS = 7;
const REQUESTS = 50_000;

describe('recording overhead', () => {
  it('should add about a microsecond of CPU per request for three metrics', async () => {
    const registry = new Registry();
    const { metrics: m } = defineBusinessMetrics(
      {
        api_calls_total: {
          type: 'counter',
          help: 'API calls by kind and outcome',
          labels: { kind: { values: ['read', 'write'] }, outcome: 'outcome' },
        },
        handling_seconds: {
          type: 'histogram',
          help: 'Handling time by route and outcome',
          unit: 'seconds',
          labels: { route: 'route', outcome: 'outcome' },
        },
        page_views_total: {
          type: 'counter',
          help: 'Views by area and outcome',
          labels: { area: { values: ['api', 'web'] }, outcome: 'outcome' },
        },
      },
      { registry },
    );
    const calls = track(m.api_calls_total, {
      labels: ({ req }) => ({ kind: req.method === 'GET' ? 'read' : 'write' }),
    });
    const handling = track(m.handling_seconds);
    const finish = channel('http.server.response.finish');
    const next = () => undefined;
    // One connection, as keep-alive requests share one.
    const socket = new Socket();

    const run = (business: boolean): number => {
      const before = process.cpuUsage();
      for (let i = 0; i < REQUESTS; i++) {
        const req = new IncomingMessage(socket);
        req.method = i % 2 === 0 ? 'GET' : 'POST';
        const res = new ServerResponse(req);
        // What Express's own init middleware links.
        (req as IncomingMessage & { res: ServerResponse }).res = res;
        if (business) {
          calls(req, res, next);
          handling(req, res, next);
          metrics(req).inc(m.page_views_total, { area: 'api' });
        }
        finish.publish({ request: req, response: res, socket, server: undefined });
      }
      const used = process.cpuUsage(before);
      return (used.user + used.system) / REQUESTS;
    };

    run(true);
    run(false);
    const bare: number[] = [];
    const recorded: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      bare.push(run(false));
      recorded.push(run(true));
    }
    const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const marginal = median(recorded) - median(bare);
    console.log(
      `overhead: ${REQUESTS} requests x ${ROUNDS} rounds; req/res/finish alone ${median(bare).toFixed(2)} µs, ` +
        `with 2 track() + 1 metrics(req) ${median(recorded).toFixed(2)} µs: +${marginal.toFixed(2)} µs CPU per request`,
    );
    expect(marginal).toBeLessThan(10);
    // Every request was recorded once per metric: warm-up plus measured rounds.
    const recordedRequests = (ROUNDS + 1) * REQUESTS;
    expect(await sumValues(registry, 'api_calls_total')).toBe(recordedRequests);
    expect(await sumValues(registry, 'handling_seconds_count')).toBe(recordedRequests);
    expect(await nonZero(registry, 'page_views_total')).toEqual([
      `area=api,outcome=success => ${recordedRequests}`,
    ]);
  });
});
