// Integration: the umbrella's register entry, `node --require vigil/register` and `--import
// vigil/register`, in a child process running the built packages: tracing starts from the OTEL_*
// variables before the app's modules load, vigil(app) uses that setup, and a request exports its
// server span and the client span of its outgoing call (which needs node:http instrumented before the
// app took `get` from it) to an OTLP receiver started here.
import { randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningServer, listen, pollFor, send } from '@vigil/test-utils';
import {
  FixtureProcess,
  OTEL_VARIABLES_CLEARED,
  type OtlpReceiver,
  OtlpStore,
  type ReceivedSpan,
  SPAN_KIND,
  startOtlpReceiver,
} from './support/tracing-otlp';

// Test files compile as CommonJS (no import.meta); Vitest provides __dirname.
const ROOT = join(__dirname, '..');
const fixture = (ext: 'cjs' | 'mjs') => join(__dirname, 'fixtures', `vigil-register-app.${ext}`);
const SERVICE_NAME = 'vigil-register-test';

interface Listening {
  port: number;
  startedBeforeApp: boolean;
  sameTracing: boolean;
  fromRegister: boolean;
}

/** One child process with its receiver and downstream, and what the downstream was sent. */
interface Run {
  store: OtlpStore;
  service: FixtureProcess;
  listening: Listening;
  downstreamHeaders: IncomingHttpHeaders[];
}

const processes: FixtureProcess[] = [];
const servers: (RunningServer | OtlpReceiver)[] = [];

afterAll(async () => {
  await Promise.all(processes.map((p) => p.kill()));
  await Promise.all(servers.map((s) => s.close()));
});

/** Starts a receiver, a downstream and `node ...args` exporting to the receiver; waits until it listens. */
async function start(args: string[]): Promise<Run> {
  const store = new OtlpStore();
  const collector = await startOtlpReceiver(store);
  const downstreamHeaders: IncomingHttpHeaders[] = [];
  const downstream = await listen((req, res) => {
    downstreamHeaders.push(req.headers);
    res.end('ok');
  });
  servers.push(collector, downstream);
  const service = new FixtureProcess(args, {
    cwd: ROOT,
    env: {
      OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
      OTEL_SERVICE_NAME: SERVICE_NAME,
      OTEL_BSP_SCHEDULE_DELAY: '100',
      DOWNSTREAM_URL: downstream.url,
      ...OTEL_VARIABLES_CLEARED,
    },
  });
  processes.push(service);
  const listening = (await service.waitFor('listening', 15_000)) as unknown as Listening;
  return { store, service, listening, downstreamHeaders };
}

/** GET /items/:id with a fresh sampled traceparent; the spans of its trace once both have arrived. */
async function traced(run: Run, id: string) {
  const traceId = randomBytes(16).toString('hex');
  const parentId = randomBytes(8).toString('hex');
  const response = await send(run.listening.port, {
    path: `/items/${id}`,
    headers: { traceparent: `00-${traceId}-${parentId}-01` },
  });
  const spans = await pollFor(() => {
    const found = run.store.spans.filter((s) => s.traceId === traceId);
    return found.some((s) => s.kind === SPAN_KIND.SERVER) &&
      found.some((s) => s.kind === SPAN_KIND.CLIENT)
      ? found
      : undefined;
  }, 5_000);
  return { traceId, parentId, response, spans: spans ?? [] };
}

const ofKind = (spans: ReceivedSpan[], kind: number) => spans.filter((s) => s.kind === kind);

/** The traceparent of the last call the downstream received. */
const lastTraceparent = (run: Run): string | undefined => {
  const value = run.downstreamHeaders.at(-1)?.traceparent;
  return typeof value === 'string' ? value : undefined;
};

describe.each([
  ['--require', 'cjs'],
  ['--import', 'mjs'],
] as const)('node %s vigil/register', (flag, ext) => {
  let run: Run;

  beforeAll(async () => {
    run = await start([flag, 'vigil/register', fixture(ext)]);
  });

  it('should start tracing before the app loads, and vigil(app) should use that setup', () => {
    console.log(`[vigil/register] ${flag}: ${JSON.stringify(run.listening)}`);
    expect(run.listening).toMatchObject({
      startedBeforeApp: true,
      sameTracing: true,
      fromRegister: true,
    });
  });

  it("should export a request's server span and the client span of its outgoing call", async () => {
    const { traceId, parentId, response, spans } = await traced(run, '42');
    console.log(
      `[vigil/register] ${flag}: status ${response.status}, spans ${spans
        .map((s) => `${s.name} (kind ${s.kind}, ${s.scope})`)
        .join(', ')}; downstream traceparent ${lastTraceparent(run)}`,
    );
    expect(response.status, run.service.stderr).toBe(200);
    expect(JSON.parse(response.body)).toEqual({ id: '42', downstream: 200 });

    const [server, ...moreServer] = ofKind(spans, SPAN_KIND.SERVER);
    expect(moreServer).toEqual([]);
    expect(server).toMatchObject({ name: 'GET /items/:id', parentSpanId: parentId });
    expect(server?.resource['service.name']).toBe(SERVICE_NAME);

    // OpenTelemetry's http instrumentation patched node:http before the app took `get` from it.
    const [client, ...moreClient] = ofKind(spans, SPAN_KIND.CLIENT);
    expect(moreClient).toEqual([]);
    expect(client?.parentSpanId).toBe(server?.spanId);
    expect(client?.scope).toBe('@opentelemetry/instrumentation-http');
    expect(lastTraceparent(run)).toBe(`00-${traceId}-${client?.spanId}-01`);
    expect(run.store.problems).toEqual([]);
  });
});

describe('the same app without the register entry (control)', () => {
  // vigil(app) starts tracing itself after the app took `get` from node:http: server spans as
  // before, but no client span and no propagation on that call. What the entry exists for.
  it('should export the server span only', async () => {
    const run = await start([fixture('cjs')]);
    expect(run.listening).toMatchObject({
      startedBeforeApp: false,
      sameTracing: true,
      fromRegister: false,
    });
    const traceId = randomBytes(16).toString('hex');
    const response = await send(run.listening.port, {
      path: '/items/7',
      headers: { traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-01` },
    });
    expect(response.status, run.service.stderr).toBe(200);
    const spans = await pollFor(() => {
      const found = run.store.spans.filter((s) => s.traceId === traceId);
      return found.length > 0 ? found : undefined;
    }, 5_000);
    // One more batch interval, so a late client span would show up too.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const all = run.store.spans.filter((s) => s.traceId === traceId);
    console.log(
      `[vigil/register] no entry: spans ${all.map((s) => `${s.name} (kind ${s.kind})`).join(', ')}; downstream traceparent ${lastTraceparent(run)}`,
    );
    expect(spans).toBeDefined();
    expect(ofKind(all, SPAN_KIND.SERVER)).toHaveLength(1);
    expect(ofKind(all, SPAN_KIND.CLIENT)).toEqual([]);
    expect(lastTraceparent(run)).toBeUndefined();
  });
});
