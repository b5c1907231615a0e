// Integration: @vigil/tracing exporting over real OTLP/HTTP from a separate service process (built
// packages, test/fixtures/tracing-otlp-*.cjs) to a receiver started here; the collector goes away and
// comes back; the `--require @vigil/tracing/register` entry.
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ResponseSummary, runPool, send, pollFor } from '@vigil/test-utils';
import {
  FixtureProcess,
  OTEL_VARIABLES_CLEARED,
  type OtlpReceiver,
  OtlpStore,
  type ReceivedSpan,
  SPAN_KIND,
  STATUS_CODE,
  startOtlpReceiver,
} from './support/tracing-otlp';

// Test files compile as CommonJS (no import.meta); Vitest provides __dirname.
const ROOT = join(__dirname, '..');
const APP = join(__dirname, 'fixtures', 'tracing-otlp-app.cjs');
const REGISTER_APP = join(__dirname, 'fixtures', 'tracing-otlp-register-app.cjs');

const ITEM_REQUESTS = 16;
const BOOM_REQUESTS = 4;
const OUTAGE_REQUESTS = 30;
const AFTER_RESTART_REQUESTS = 5;
const BATCH_DELAY_MS = 200;
// The exporter's own deadline is 10 s per export (retries included); this leaves room for one more batch.
const ARRIVAL_BUDGET_MS = 15_000;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function serviceEnv(receiverPort: number): Record<string, string> {
  return {
    OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${receiverPort}`,
    OTEL_SERVICE_NAME: 'otlp-test',
    OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment=test',
    OTEL_BSP_SCHEDULE_DELAY: String(BATCH_DELAY_MS),
    ...OTEL_VARIABLES_CLEARED,
  };
}

/** A fresh W3C traceparent (sampled) and the ids in it. */
function newTraceparent(): { header: string; traceId: string; parentId: string } {
  const traceId = randomBytes(16).toString('hex');
  const parentId = randomBytes(8).toString('hex');
  return { header: `00-${traceId}-${parentId}-01`, traceId, parentId };
}

interface Sent {
  path: string;
  traceId: string;
  parentId: string;
  response: ResponseSummary;
}

/** GETs `path` on the service with a fresh traceparent. */
async function get(port: number, path: string): Promise<Sent> {
  const tp = newTraceparent();
  const response = await send(port, { path, headers: { traceparent: tp.header } });
  return { path, traceId: tp.traceId, parentId: tp.parentId, response };
}

/** Server spans of the store whose trace id is one of `sent`'s. */
function spansOf(store: OtlpStore, sent: readonly Sent[]): ReceivedSpan[] {
  const ids = new Set(sent.map((s) => s.traceId));
  return store.serverSpans().filter((s) => ids.has(s.traceId));
}

/** Waits until every request of `sent` has its server span in `store`; returns how long it took. */
async function waitForSpans(
  store: OtlpStore,
  sent: readonly Sent[],
  timeoutMs = ARRIVAL_BUDGET_MS,
): Promise<number | undefined> {
  const started = Date.now();
  const ok = await pollFor(
    () => (spansOf(store, sent).length >= sent.length ? true : undefined),
    timeoutMs,
    25,
  );
  return ok === true ? Date.now() - started : undefined;
}

/** True when nothing listens on 127.0.0.1:`port` (the connection is refused). */
function portClosed(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
}

/** Starts a receiver on `port`, retrying briefly if the port is not free yet. */
async function restartReceiver(store: OtlpStore, port: number): Promise<OtlpReceiver> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 20; attempt++) {
    try {
      return await startOtlpReceiver(store, port);
    } catch (err) {
      lastError = err;
      await sleep(50);
    }
  }
  throw lastError;
}

interface Stopped {
  uncaughtExceptions: number;
  unhandledRejections: number;
  warnings: string[];
  shutdownMs: number;
  shutdownError: string | undefined;
}

/** SIGTERM, then the fixture's `stopped` line and its exit. */
async function terminate(
  service: FixtureProcess,
): Promise<{ stopped: Stopped; exit: FixtureProcess['exited'] }> {
  service.signal('SIGTERM');
  const stopped = (await service.waitFor('stopped', 15_000)) as unknown as Stopped;
  const exit = await service.waitForExit(5_000);
  return { stopped, exit };
}

const processes = new Set<FixtureProcess>();
const receivers = new Set<OtlpReceiver>();

function startService(args: string[], receiverPort: number): FixtureProcess {
  const service = new FixtureProcess(args, { cwd: ROOT, env: serviceEnv(receiverPort) });
  processes.add(service);
  return service;
}

async function receiver(store: OtlpStore, port?: number): Promise<OtlpReceiver> {
  const r =
    port === undefined ? await startOtlpReceiver(store) : await restartReceiver(store, port);
  receivers.add(r);
  return r;
}

afterAll(async () => {
  await Promise.all([...processes].map((p) => p.kill()));
  await Promise.all([...receivers].map((r) => r.close()));
});

describe('OTLP/HTTP export from a service process', () => {
  const store = new OtlpStore();
  let collector: OtlpReceiver;
  let service: FixtureProcess;
  let port: number;
  let sentTotal = 0;

  beforeAll(async () => {
    collector = await receiver(store);
    service = startService([APP], collector.port);
    port = (await service.waitFor('listening', 15_000)).port as number;
  });

  it('should export exactly one server span per request, with resource, route, status and trace ids', async () => {
    const sent: Sent[] = [];
    for (let i = 0; i < ITEM_REQUESTS; i++) sent.push(await get(port, `/items/${1000 + i}`));
    for (let i = 0; i < BOOM_REQUESTS; i++) sent.push(await get(port, '/boom'));
    sentTotal += sent.length;

    const ms = await waitForSpans(store, sent);
    // One more batch interval (and then some), so a duplicate or a stray span would show up too.
    await sleep(BATCH_DELAY_MS * 3);
    const server = store.serverSpans();
    console.log(
      `[otlp] requests sent ${sent.length}, export requests ${store.requests.length}, spans received ` +
        `${store.spans.length} (server ${server.length}) in ${ms ?? 'never'} ms; receiver problems ${store.problems.length}`,
    );

    expect(sent.map((s) => s.response.status)).toEqual([
      ...Array<number>(ITEM_REQUESTS).fill(200),
      ...Array<number>(BOOM_REQUESTS).fill(500),
    ]);
    expect(store.problems).toEqual([]);
    // OTEL_EXPORTER_OTLP_PROTOCOL is unset: the specification's default, http/protobuf.
    expect(new Set(store.requests.map((r) => r.encoding))).toEqual(new Set(['protobuf']));
    expect(server).toHaveLength(sent.length);
    expect(store.spans).toHaveLength(sent.length);

    for (const s of sent) {
      const spans = server.filter((x) => x.traceId === s.traceId);
      expect(spans, `${s.path} trace ${s.traceId}`).toHaveLength(1);
      const span = spans[0]!;
      expect(span.parentSpanId).toBe(s.parentId);
      expect(span.spanId).toMatch(/^[0-9a-f]{16}$/);
      expect(span.spanId).not.toBe(s.parentId);
      expect(span.resource['service.name']).toBe('otlp-test');
      expect(span.resource['deployment.environment']).toBe('test');
      expect(span.scope).toBe('@vigil/tracing');
      expect(span.attributes['http.request.method']).toBe('GET');
      expect(span.attributes['url.path']).toBe(s.path);
      if (s.path.startsWith('/items/')) {
        expect(span.name).toBe('GET /items/:id');
        expect(span.attributes['http.route']).toBe('/items/:id');
        expect(span.attributes['http.response.status_code']).toBe(200);
        expect(span.status.code).toBe(STATUS_CODE.UNSET);
        expect(span.events).toEqual([]);
        // The handler saw the same trace the span was exported under.
        const body = JSON.parse(s.response.body) as {
          context: { traceId: string; spanId: string };
        };
        expect(body.context).toMatchObject({ traceId: s.traceId, spanId: span.spanId });
      } else {
        expect(span.name).toBe('GET /boom');
        expect(span.attributes['http.route']).toBe('/boom');
        expect(span.attributes['http.response.status_code']).toBe(500);
        expect(span.attributes['error.type']).toBe('500');
        expect(span.status.code).toBe(STATUS_CODE.ERROR);
        expect(span.status.message).toBe('boom from /boom');
        const exceptions = span.events.filter((e) => e.name === 'exception');
        expect(exceptions).toHaveLength(1);
        expect(exceptions[0]!.attributes).toMatchObject({
          'exception.type': 'Error',
          'exception.message': 'boom from /boom',
        });
        expect(String(exceptions[0]!.attributes['exception.stacktrace'])).toContain('boom');
      }
      expect(span.kind).toBe(SPAN_KIND.SERVER);
    }
  });

  it('should serve every request while the collector is unreachable and export again once it is back', async () => {
    const collectorPort = collector.port;
    const before = store.spans.length;
    await collector.close();
    const closed = await portClosed(collectorPort);

    const down: Sent[] = [];
    const latencies: number[] = [];
    await runPool(OUTAGE_REQUESTS, 5, async (i) => {
      const started = performance.now();
      down.push(await get(port, `/items/down-${i}`));
      latencies.push(performance.now() - started);
    });
    sentTotal += down.length;
    // Several batch intervals pass with the collector gone, so exports really fail and are retried.
    await sleep(BATCH_DELAY_MS * 5);
    const servedWhileDown = down.filter((s) => s.response.status === 200).length;
    const spansWhileDown = store.spans.length - before;
    const aliveWhileDown = service.exited === undefined;

    collector = await receiver(store, collectorPort);
    const restartedAt = Date.now();
    const after: Sent[] = [];
    for (let i = 0; i < AFTER_RESTART_REQUESTS; i++)
      after.push(await get(port, `/items/after-${i}`));
    sentTotal += after.length;
    const afterMs = await waitForSpans(store, after);
    const downMs = await waitForSpans(store, down);
    await sleep(BATCH_DELAY_MS * 3);

    const deliveredDown = spansOf(store, down);
    const deliveredAfter = spansOf(store, after);
    // Arrival times relative to the restart: the first batch (a retried one), the last outage span.
    const since = (spans: ReceivedSpan[], pick: (times: number[]) => number) =>
      spans.length === 0 ? 'never' : `${pick(spans.map((x) => x.receivedAt)) - restartedAt} ms`;
    console.log(
      `[otlp] collector down (port ${collectorPort} refused: ${closed}): requests served while down ` +
        `${servedWhileDown}/${down.length} (latency max ${Math.max(...latencies).toFixed(1)} ms), spans ` +
        `received while down ${spansWhileDown}, process alive ${aliveWhileDown}; after restart: first ` +
        `spans arrived in ${since(store.spans.slice(before), (t) => Math.min(...t))}, outage spans ` +
        `delivered ${deliveredDown.length}/${down.length} (last in ${since(deliveredDown, (t) => Math.max(...t))}), ` +
        `new spans ${deliveredAfter.length}/${after.length} (last in ${since(deliveredAfter, (t) => Math.max(...t))}); ` +
        `requests sent so far ${sentTotal}, spans received ${store.spans.length}`,
    );

    expect(closed).toBe(true);
    expect(servedWhileDown).toBe(OUTAGE_REQUESTS);
    for (const s of down) {
      const body = JSON.parse(s.response.body) as { context: { traceId: string } };
      expect(body.context.traceId).toBe(s.traceId);
    }
    expect(spansWhileDown).toBe(0);
    expect(aliveWhileDown).toBe(true);
    expect(service.exited).toBeUndefined();
    expect(afterMs, 'spans of requests sent after the restart').not.toBeUndefined();
    expect(deliveredAfter).toHaveLength(after.length);
    // The batch processor drops a batch whose export failed, so outage spans arriving at all means the
    // exporter retried it; the outage was shorter than its 10 s deadline, so none may be lost.
    expect(downMs, 'spans of requests served while the collector was down').not.toBeUndefined();
    expect(deliveredDown).toHaveLength(down.length);
    expect(store.serverSpans()).toHaveLength(sentTotal);
    expect(store.problems).toEqual([]);
  });

  it('should flush pending spans on SIGTERM and exit with no process errors', async () => {
    const last: Sent[] = [];
    for (let i = 0; i < 3; i++) last.push(await get(port, `/items/last-${i}`));
    sentTotal += last.length;
    // Right away: the spans are still waiting for the batch timer, only shutdown() can send them.
    const { stopped, exit } = await terminate(service);
    const flushed = spansOf(store, last);
    const errors = stopped.uncaughtExceptions + stopped.unhandledRejections;
    console.log(
      `[otlp] SIGTERM: shutdown ${stopped.shutdownMs} ms, exit ${JSON.stringify(exit)}, pending spans ` +
        `flushed ${flushed.length}/${last.length}; requests sent ${sentTotal}, server spans received ` +
        `${store.serverSpans().length}; process errors ${errors} (uncaught ${stopped.uncaughtExceptions}, ` +
        `unhandled ${stopped.unhandledRejections}), warnings ${stopped.warnings.length}`,
    );

    expect(stopped.shutdownError).toBeUndefined();
    expect(errors, service.stderr).toBe(0);
    expect(stopped.warnings).toEqual([]);
    expect(exit).toEqual({ code: 0, signal: null });
    expect(flushed).toHaveLength(last.length);
    expect(store.serverSpans()).toHaveLength(sentTotal);
  });
});

describe('the register entry (node --require @vigil/tracing/register)', () => {
  const store = new OtlpStore();
  let service: FixtureProcess;
  let port: number;

  beforeAll(async () => {
    const collector = await receiver(store);
    service = startService(['--require', '@vigil/tracing/register', REGISTER_APP], collector.port);
    port = (await service.waitFor('listening', 15_000)).port as number;
  });

  it('should start tracing from OTEL_* variables and export server spans', async () => {
    const sent: Sent[] = [];
    for (let i = 0; i < 5; i++) sent.push(await get(port, `/items/${i}`));
    sent.push(await get(port, '/boom'));
    const ms = await waitForSpans(store, sent);
    const spans = spansOf(store, sent);
    console.log(
      `[otlp] register entry: requests sent ${sent.length}, server spans received ${spans.length} ` +
        `in ${ms ?? 'never'} ms`,
    );

    expect(ms).not.toBeUndefined();
    expect(spans).toHaveLength(sent.length);
    for (const s of sent) {
      const span = spans.find((x) => x.traceId === s.traceId);
      expect(span?.parentSpanId).toBe(s.parentId);
      expect(span?.resource['service.name']).toBe('otlp-test');
      expect(span?.resource['deployment.environment']).toBe('test');
      expect(span?.name).toBe(s.path === '/boom' ? 'GET /boom' : 'GET /items/:id');
    }
    expect(store.problems).toEqual([]);
  });

  it("should flush pending spans when the app's own SIGTERM handler awaits tracing.shutdown()", async () => {
    // register.ts promises that an app's own graceful shutdown keeps control; this app awaits
    // getTracing().shutdown() and then exits, as the startTracing() fixture above does successfully.
    const last: Sent[] = [];
    for (let i = 0; i < 3; i++) last.push(await get(port, `/items/last-${i}`));
    const { stopped, exit } = await terminate(service);
    // Whatever was flushed has arrived by the time the process has exited; a little grace anyway.
    await sleep(BATCH_DELAY_MS);
    const flushed = spansOf(store, last);
    const errors = stopped.uncaughtExceptions + stopped.unhandledRejections;
    console.log(
      `[otlp] register entry SIGTERM: app's shutdown() resolved in ${stopped.shutdownMs} ms, exit ` +
        `${JSON.stringify(exit)}, pending spans flushed ${flushed.length}/${last.length}, process errors ${errors}`,
    );

    expect(errors, service.stderr).toBe(0);
    expect(exit).toEqual({ code: 0, signal: null });
    expect(flushed).toHaveLength(last.length);
  });
});
