// Integration: startTracing()'s real OTLP exporters against a real OTLP/HTTP receiver that is stopped
// and restarted, and against a closed port: one failure report per outage, one recovery report, the
// export metrics equal to what the receiver got and what was lost, queue drops counted, and both OTLP
// encodings (http/protobuf by default, http/json on request) decoded to the same spans.
import { type Span, SpanStatusCode, trace } from '@opentelemetry/api';
import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { Registry } from 'prom-client';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  DROPPED_METRIC,
  EXPORTED_METRIC,
  type Tracing,
  type TracingOptions,
  startTracing,
} from '@vigil/tracing';
import { freePort, pollFor } from '@vigil/test-utils';
import { type LogCapture, captureLogger } from '@vigil/test-utils';
import {
  type OtlpReceiver,
  OtlpStore,
  type ReceivedSpan,
  flattenSpans,
  startOtlpReceiver,
} from './support/tracing-otlp';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

// Every variable this file sets, cleared before each setup so a developer's shell does not leak in.
const VARS = [
  'OTEL_EXPORTER_OTLP_ENDPOINT',
  'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT',
  'OTEL_EXPORTER_OTLP_TIMEOUT',
  'OTEL_EXPORTER_OTLP_PROTOCOL',
  'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL',
  'OTEL_TRACES_EXPORTER',
  'OTEL_BSP_SCHEDULE_DELAY',
  'OTEL_BSP_MAX_QUEUE_SIZE',
  'OTEL_BSP_MAX_EXPORT_BATCH_SIZE',
  'OTEL_LOG_LEVEL',
  'OTEL_SDK_DISABLED',
  'OTEL_TRACES_SAMPLER',
];
const saved = Object.fromEntries(VARS.map((k) => [k, process.env[k]]));

// The exporter gives up on a refused connection at once when its deadline is shorter than the first
// retry back-off (about 1 s), so a failed export takes milliseconds, not the default 10 s.
const BASE_ENV = { OTEL_EXPORTER_OTLP_TIMEOUT: '400', OTEL_BSP_SCHEDULE_DELAY: '50' };

let tracing: Tracing | undefined;
const receivers: OtlpReceiver[] = [];

/** startTracing() with `env` set (and every other variable of VARS unset), logging to a capture. */
function start(
  env: Record<string, string>,
  options: TracingOptions = {},
): { log: LogCapture; registry: Registry } {
  for (const k of VARS) delete process.env[k];
  Object.assign(process.env, BASE_ENV, env);
  const log = captureLogger();
  const registry = new Registry();
  tracing = startTracing({
    serviceName: 'export-test',
    httpClientSpans: false,
    traceBuffer: false,
    logger: log.logger,
    registry,
    ...options,
  });
  return { log, registry };
}

async function receiver(store: OtlpStore, port?: number): Promise<OtlpReceiver> {
  // A port just released may take a moment to be free again.
  for (let attempt = 0; ; attempt++) {
    try {
      const r = await startOtlpReceiver(store, port);
      receivers.push(r);
      return r;
    } catch (err) {
      if (attempt >= 20) throw err;
      await sleep(50);
    }
  }
}

/** Ends `count` spans named `<tag>-<i>` right away. */
function emit(tag: string, count: number): string[] {
  const tracer = trace.getTracer('export-test');
  const names: string[] = [];
  for (let i = 0; i < count; i++) {
    const name = `${tag}-${i}`;
    tracer.startSpan(name).end();
    names.push(name);
  }
  return names;
}

/** Counter values by `exporter:outcome` / `exporter:reason`. */
async function counts(registry: Registry, name: string): Promise<Record<string, number>> {
  const metric = registry.getSingleMetric(name);
  if (metric === undefined) return {};
  const data = await metric.get();
  return Object.fromEntries(
    data.values.map((v) => [
      `${String(v.labels.exporter)}:${String(v.labels.outcome ?? v.labels.reason)}`,
      v.value,
    ]),
  );
}

/** Waits until `key` of the counter reaches `value` (bounded); returns the counter. */
async function untilCount(
  registry: Registry,
  name: string,
  key: string,
  value: number,
  timeoutMs = 10_000,
): Promise<Record<string, number>> {
  const reached = await pollFor(
    async () => {
      const c = await counts(registry, name);
      return (c[key] ?? 0) >= value ? c : undefined;
    },
    timeoutMs,
    20,
  );
  return reached ?? (await counts(registry, name));
}

const names = (spans: ReceivedSpan[]) => spans.map((s) => s.name).sort();

afterEach(async () => {
  await tracing?.shutdown();
  tracing = undefined;
});

afterAll(async () => {
  await Promise.all(receivers.map((r) => r.close()));
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
});

describe('a collector that goes away and comes back', () => {
  it('should report each outage once, its recovery once, and count what arrived and what was lost', async () => {
    const store = new OtlpStore();
    let collector = await receiver(store);
    const port = collector.port;
    const { log, registry } = start({ OTEL_EXPORTER_OTLP_ENDPOINT: collector.url });
    const sent: Record<'delivered' | 'lost', string[]> = { delivered: [], lost: [] };

    sent.delivered.push(...emit('up', 10));
    let c = await untilCount(registry, EXPORTED_METRIC, 'otlp:success', 10);
    const warnsWhileUp = log.at('warn').length + log.at('error').length;

    const outages: { failedBatches: number; lost: number }[] = [];
    for (const outage of [1, 2]) {
      await collector.close();
      const before = c['otlp:failure'] ?? 0;
      // Several batches during each outage: each fails on its own.
      let batches = 0;
      for (const size of outage === 1 ? [5, 4, 3] : [2, 2]) {
        sent.lost.push(...emit(`down${outage}-${batches}`, size));
        c = await untilCount(registry, EXPORTED_METRIC, 'otlp:failure', sent.lost.length);
        batches++;
        await sleep(80);
      }
      outages.push({ failedBatches: batches, lost: (c['otlp:failure'] ?? 0) - before });
      collector = await receiver(store, port);
      sent.delivered.push(...emit(`back${outage}`, 3));
      c = await untilCount(registry, EXPORTED_METRIC, 'otlp:success', sent.delivered.length);
    }
    await sleep(200);
    c = await counts(registry, EXPORTED_METRIC);
    const drops = await counts(registry, DROPPED_METRIC);

    const failing = log.at('warn', { exporter: 'otlp' });
    const recovered = log.at('info', { exporter: 'otlp' });
    const otherProblems = log.lines.filter(
      (l) => l.level !== 'debug' && l.level !== 'trace' && l.fields.exporter === undefined,
    );
    console.log(
      `[export] spans sent ${sent.delivered.length + sent.lost.length} (${sent.delivered.length} with the collector up, ` +
        `${sent.lost.length} during 2 outages of ${outages.map((o) => o.failedBatches).join(' and ')} failed batches); ` +
        `received ${store.spans.length}; ${EXPORTED_METRIC} success ${c['otlp:success']} failure ${c['otlp:failure']}; ` +
        `${DROPPED_METRIC} ${drops['otlp:queue_full']}; failure reports ${failing.length}, recovery reports ` +
        `${recovered.length} (${recovered.map((l) => `${String(l.fields.lostSpans)} lost in ${String(l.fields.downMs)} ms`).join(', ')}); ` +
        `other info/warn/error lines ${otherProblems.length}, debug lines ${log.at('debug').length}`,
    );

    expect(warnsWhileUp).toBe(0);
    expect(names(store.spans)).toEqual([...sent.delivered].sort());
    expect(c['otlp:success']).toBe(store.spans.length);
    expect(c['otlp:failure']).toBe(sent.lost.length);
    expect(drops['otlp:queue_full']).toBe(0);
    expect(failing).toHaveLength(2);
    for (const line of failing) {
      expect(line.msg).toContain('span exporter "otlp" is failing');
      expect(line.msg).toContain('ECONNREFUSED');
      expect(line.fields.err).toContain(`127.0.0.1:${port}`);
    }
    expect(recovered).toHaveLength(2);
    expect(recovered.map((l) => l.fields.lostSpans)).toEqual(outages.map((o) => o.lost));
    expect(recovered.map((l) => l.fields.failedSpans)).toEqual([12, 4]);
    for (const line of recovered) {
      expect(line.msg).toMatch(
        /^span exporter "otlp" recovered after \d+\.\d s; \d+ spans were lost$/,
      );
      expect(line.fields.downMs).toBeGreaterThan(0);
    }
    // Nothing else at info or above: OpenTelemetry's per-batch lines went to debug.
    expect(otherProblems).toEqual([]);
  });
});

describe('an exporter pointed at a closed port', () => {
  it('should report the failure once however many batches fail, and show each at debug with OTEL_LOG_LEVEL=debug', async () => {
    const port = await freePort();
    const { log, registry } = start({
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`,
      OTEL_LOG_LEVEL: 'debug',
    });
    let lost = 0;
    const batches = 4;
    for (let b = 0; b < batches; b++) {
      lost += emit(`closed-${b}`, 3).length;
      await untilCount(registry, EXPORTED_METRIC, 'otlp:failure', lost);
      await sleep(80);
    }
    await tracing?.shutdown();
    const c = await counts(registry, EXPORTED_METRIC);
    const failing = log.at('warn', { exporter: 'otlp' });
    const above = log.lines.filter((l) => l.level !== 'debug' && l.level !== 'trace');
    // OpenTelemetry's own lines about each failed batch, now visible at debug.
    const perBatch = log.lines.filter(
      (l) =>
        l.level === 'debug' &&
        l.fields.source === 'opentelemetry' &&
        /^Export (failed|retry time)/.test(l.msg),
    );
    const reportedCopies = log.lines.filter(
      (l) =>
        l.level === 'debug' &&
        l.msg.includes('ECONNREFUSED') &&
        l.msg.includes('vigilExportReported'),
    );
    console.log(
      `[export] closed port ${port}: spans ${lost} in ${batches} batches; ${EXPORTED_METRIC} success ` +
        `${c['otlp:success']} failure ${c['otlp:failure']}; lines at info or above ${above.length} ` +
        `(failure reports ${failing.length}); debug lines ${log.at('debug').length}, of which ` +
        `"Export failed / retry time..." ${perBatch.length} and the batch processor's error copies ${reportedCopies.length}`,
    );

    expect(c['otlp:success']).toBe(0);
    expect(c['otlp:failure']).toBe(lost);
    expect(above).toEqual(failing);
    expect(failing).toHaveLength(1);
    expect(failing[0]!.fields).toMatchObject({
      component: '@vigil/tracing',
      exporter: 'otlp',
      spans: 3,
    });
    expect(failing[0]!.msg).toContain(`ECONNREFUSED 127.0.0.1:${port}`);
    expect(log.at('info')).toEqual([]);
    expect(perBatch.length).toBeGreaterThanOrEqual(batches);
    expect(reportedCopies.length).toBeGreaterThanOrEqual(batches);
  });

  it('should write nothing with OTEL_LOG_LEVEL=none, and still count the lost spans', async () => {
    const port = await freePort();
    const { log, registry } = start({
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`,
      OTEL_LOG_LEVEL: 'NONE',
    });
    const lost = emit('silent', 5).length;
    const c = await untilCount(registry, EXPORTED_METRIC, 'otlp:failure', lost);
    expect(c['otlp:failure']).toBe(lost);
    expect(log.lines).toEqual([]);
  });
});

describe('a full batch queue while the collector is down', () => {
  it('should count the spans the queue drops and include them in the recovery line', async () => {
    const store = new OtlpStore();
    const collector = await receiver(store);
    const port = collector.port;
    await collector.close();
    const { log, registry } = start({
      OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
      OTEL_BSP_MAX_QUEUE_SIZE: '4',
      OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '2',
    });
    // Ended at once: the queue holds 4, one batch of 2 is in flight, the rest is dropped.
    const burst = emit('burst', 40).length;
    const settled = await pollFor(
      async () => {
        const e = await counts(registry, EXPORTED_METRIC);
        const d = await counts(registry, DROPPED_METRIC);
        return (e['otlp:failure'] ?? 0) + (d['otlp:queue_full'] ?? 0) >= burst
          ? { e, d }
          : undefined;
      },
      10_000,
      20,
    );
    await receiver(store, port);
    emit('after', 1);
    const e = await untilCount(registry, EXPORTED_METRIC, 'otlp:success', 1);
    const d = await counts(registry, DROPPED_METRIC);
    const recovered = log.at('info', { exporter: 'otlp' });
    const warns = log.lines.filter((l) => l.level === 'warn' || l.level === 'error');
    console.log(
      `[export] queue of 4, batches of 2, ${burst} spans ended with the collector down: failed ` +
        `${e['otlp:failure']}, dropped (queue_full) ${d['otlp:queue_full']}, received afterwards ` +
        `${store.spans.length} (${names(store.spans).join(', ')}); warn/error lines ${warns.length}; recovery line: ` +
        `${recovered.map((l) => l.msg).join(' | ')}`,
    );

    expect(settled).toBeDefined();
    expect(d['otlp:queue_full']).toBeGreaterThan(0);
    expect((e['otlp:failure'] ?? 0) + (d['otlp:queue_full'] ?? 0)).toBe(burst);
    expect(names(store.spans)).toEqual(['after-0']);
    expect(e['otlp:success']).toBe(1);
    expect(warns).toHaveLength(1);
    expect(recovered).toHaveLength(1);
    expect(recovered[0]!.fields).toMatchObject({
      lostSpans: burst,
      failedSpans: e['otlp:failure'],
      droppedSpans: d['otlp:queue_full'],
    });
  });
});

/** A span with every attribute type, an event, a link and an error status. */
function richSpan(tag: string): void {
  const tracer = trace.getTracer('export-test');
  const linked = tracer.startSpan(`${tag}-linked`);
  linked.end();
  const span: Span = tracer.startSpan(`${tag}-rich`, {
    attributes: {
      text: 'héllo',
      count: 42,
      negative: -7,
      ratio: 0.25,
      flag: true,
      list: ['a', 'b'],
      numbers: [1, 2, 3],
    },
    links: [{ context: linked.spanContext(), attributes: { why: 'retry' } }],
  });
  span.addEvent('step', { at: 3 });
  span.setStatus({ code: SpanStatusCode.ERROR, message: 'broken' });
  span.end();
}

describe('OTLP encodings', () => {
  it.each<{ env: Record<string, string>; expected: string }>([
    { env: {}, expected: 'protobuf' },
    { env: { OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' }, expected: 'json' },
    { env: { OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf' }, expected: 'protobuf' },
    {
      env: {
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
        OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json',
      },
      expected: 'json',
    },
  ])('should post $expected for $env', async ({ env, expected }) => {
    const store = new OtlpStore();
    const collector = await receiver(store);
    start({ OTEL_EXPORTER_OTLP_ENDPOINT: collector.url, ...env });
    richSpan('enc');
    await tracing?.shutdown();
    expect(store.problems).toEqual([]);
    expect(store.requests.map((r) => r.encoding)).toEqual([expected]);
    expect(names(store.spans)).toEqual(['enc-linked', 'enc-rich']);
    const rich = store.spans.find((s) => s.name === 'enc-rich')!;
    expect(rich.attributes).toEqual({
      text: 'héllo',
      count: 42,
      negative: -7,
      ratio: 0.25,
      flag: true,
      list: JSON.stringify({
        arrayValue: { values: [{ stringValue: 'a' }, { stringValue: 'b' }] },
      }),
      numbers: JSON.stringify({
        arrayValue: { values: [{ intValue: 1 }, { intValue: 2 }, { intValue: 3 }] },
      }),
    });
    expect(rich.resource['service.name']).toBe('export-test');
  });

  it('should decode the same spans from a protobuf and a JSON exporter given as a list', async () => {
    const store = new OtlpStore();
    const collector = await receiver(store);
    for (const k of VARS) delete process.env[k];
    const url = `${collector.url}/v1/traces`;
    const { registry } = start(
      {},
      { exporter: [new ProtoExporter({ url }), new JsonExporter({ url })] },
    );
    richSpan('both');
    await tracing?.shutdown();
    const by = (encoding: string) =>
      store.requests
        .filter((r) => r.encoding === encoding)
        .flatMap((r) => flattenSpans(r.body, 0))
        .sort((a, b) => a.spanId.localeCompare(b.spanId));
    const proto = by('protobuf');
    const json = by('json');
    const c = await counts(registry, EXPORTED_METRIC);
    console.log(
      `[export] one setup, two exporters: protobuf ${proto.length} spans, json ${json.length} spans, ` +
        `identical ${JSON.stringify(proto) === JSON.stringify(json)}; ${EXPORTED_METRIC} ${JSON.stringify(c)}`,
    );
    expect(store.problems).toEqual([]);
    expect(proto).toHaveLength(2);
    expect(proto).toEqual(json);
    expect(c['OTLPTraceExporter:success']).toBe(4);
  });
});
