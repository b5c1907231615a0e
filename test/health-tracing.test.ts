// Readiness on the OTLP exporter's state: startTracing()'s real exporter against a real OTLP/HTTP
// receiver that is stopped and restarted; tracing.exporters() reports the outage and tracingCheck()
// turns it into a readiness `warn` (or `fail` when critical), back to `pass` once spans get through.
import { trace } from '@opentelemetry/api';
import { afterAll, describe, expect, it } from 'vitest';
import { createHealth, tracingCheck, VigilError } from '@vigil/health';
import { type Tracing, startTracing } from '@vigil/tracing';
import { captureLogger, pollFor } from '@vigil/test-utils';
import { type OtlpReceiver, OtlpStore, startOtlpReceiver } from './support/tracing-otlp';

const VARS = [
  'OTEL_EXPORTER_OTLP_ENDPOINT',
  'OTEL_EXPORTER_OTLP_TIMEOUT',
  'OTEL_BSP_SCHEDULE_DELAY',
  'OTEL_TRACES_EXPORTER',
];
const saved = Object.fromEntries(VARS.map((k) => [k, process.env[k]]));
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

let tracing: Tracing | undefined;
let collector: OtlpReceiver | undefined;

afterAll(async () => {
  await tracing?.shutdown();
  await collector?.close();
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
});

function emit(count: number): void {
  const tracer = trace.getTracer('health-tracing');
  for (let i = 0; i < count; i++) tracer.startSpan(`span-${i}`).end();
}

describe('tracingCheck', () => {
  it('should warn on readiness while the OTLP exporter fails, fail when critical, and pass once it recovers', async () => {
    const store = new OtlpStore();
    collector = await startOtlpReceiver(store);
    const port = collector.port;
    for (const k of VARS) delete process.env[k];
    // A refused connection fails the export at once (deadline shorter than the first retry).
    Object.assign(process.env, {
      OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
      OTEL_EXPORTER_OTLP_TIMEOUT: '400',
      OTEL_BSP_SCHEDULE_DELAY: '50',
    });
    tracing = startTracing({
      serviceName: 'health-tracing',
      httpClientSpans: false,
      traceBuffer: false,
      logger: captureLogger().logger,
      registry: false,
    });
    const t = tracing;
    const health = createHealth({
      started: true,
      registry: false,
      shutdown: false,
      readiness: [tracingCheck(t, { intervalMs: 0 })],
    });
    const critical = createHealth({
      started: true,
      registry: false,
      shutdown: false,
      readiness: [tracingCheck(t, { intervalMs: 0, critical: true, name: 'otlp' })],
    });
    try {
      emit(3);
      await pollFor(() => (store.spans.length >= 3 ? true : undefined), 10_000, 20);
      expect(t.exporters()).toEqual([
        { name: 'otlp', failing: false, failingSince: undefined, lostSpans: 0 },
      ]);
      const up = await health.probe('ready');
      expect(up.httpStatus).toBe(200);
      expect(up.report.status).toBe('pass');
      expect(up.report.checks?.['tracing:exporters']?.[0]).toMatchObject({
        status: 'pass',
        observedValue: 1,
      });

      await collector.close();
      const downAt = Date.now();
      emit(4);
      const failing = await pollFor(
        () => t.exporters().find((e) => e.failing && e.lostSpans >= 4),
        10_000,
        20,
      );
      expect(failing?.failingSince).toBeGreaterThanOrEqual(downAt - 1000);
      const down = await health.probe('ready');
      expect(down.httpStatus).toBe(200);
      expect(down.report.status).toBe('warn');
      const detail = down.report.checks?.['tracing:exporters']?.[0];
      expect(detail).toMatchObject({
        status: 'fail',
        observedValue: 4,
        observedUnit: 'lost spans',
      });
      expect(detail?.output).toMatch(/^span exporter "otlp" failing for \d+\.\d s, 4 spans lost$/);
      const downCritical = await critical.probe('ready');
      expect(downCritical.httpStatus).toBe(503);
      expect(downCritical.report.status).toBe('fail');
      // Liveness never looks at the collector.
      expect((await critical.probe('live')).httpStatus).toBe(200);
      console.log(
        `[health] collector down: readiness ${down.httpStatus} ${down.report.status} ("${detail?.output}"), critical ${downCritical.httpStatus}`,
      );

      // The collector comes back on the same port; the next successful export ends the outage.
      for (let attempt = 0; ; attempt++) {
        try {
          collector = await startOtlpReceiver(store, port);
          break;
        } catch (err) {
          if (attempt >= 20) throw err;
          await sleep(50);
        }
      }
      emit(2);
      await pollFor(() => (t.exporters().every((e) => !e.failing) ? true : undefined), 10_000, 20);
      expect((await health.probe('ready')).report.status).toBe('pass');
      expect((await critical.probe('ready')).httpStatus).toBe(200);
    } finally {
      health.close();
      critical.close();
    }
  });

  it('should refuse what is not a tracing setup with a coded error', () => {
    expect(() => tracingCheck({} as never)).toThrow(VigilError);
    expect(() => tracingCheck({} as never)).toThrow(/ERR_VIGIL_HEALTH_INVALID_CLIENT/);
    expect(() => tracingCheck({ exporters: () => [] }, { timeoutMs: 5 } as never)).toThrow(
      /ERR_VIGIL_HEALTH_UNKNOWN_OPTION|timeoutMs/,
    );
  });
});
