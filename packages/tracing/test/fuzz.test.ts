// Fuzz: 10,000 seeded random traceparent / tracestate / baggage / x-request-id / x-correlation-id
// combinations through real Express 5 and Koa 3 services (every inbound policy), without and with the
// SDK. Set VIGIL_FUZZ_SEED to replay a run; every reported example names its variant index.
import { type Channel, channel } from 'node:diagnostics_channel';
import { Agent, validateHeaderValue } from 'node:http';
import type { Context } from '@opentelemetry/api';
import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type InboundPolicy, type Tracing, startTracing } from '@vigil/tracing';
import { type Expectation, type Problem, judge, short } from './support/conformance-checks';
import { fuzzVariant } from './support/conformance-fuzz';
import { isHeaderLegal } from './support/conformance-w3c';
import {
  type Capture,
  FRAMEWORK_NAMES,
  type HeaderList,
  type Service,
  closeConformanceServers,
  probe,
  runPool,
  startCapture,
  startService,
} from './support/conformance-harness';

const SEED = Number(process.env.VIGIL_FUZZ_SEED ?? 0x5eed) >>> 0;
const VARIANTS_PER_MODE = 5_000;
const CONCURRENCY = 16;
// Codes of a header value refused while being set (Node's http, undici's fetch).
const INVALID_HEADER_CODES = new Set([
  'ERR_INVALID_CHAR',
  'ERR_HTTP_INVALID_HEADER_VALUE',
  'UND_ERR_INVALID_ARG',
]);

const CALLERS: {
  caller: string;
  trusted: boolean;
  policy: InboundPolicy;
  expectation: Expectation;
}[] = [
  {
    caller: 'trusted',
    trusted: true,
    policy: 'continue',
    expectation: { continues: true, forwardsBaggage: true },
  },
  {
    caller: 'untrusted, continue',
    trusted: false,
    policy: 'continue',
    expectation: { continues: true, forwardsBaggage: true },
  },
  {
    caller: 'untrusted, restart',
    trusted: false,
    policy: 'restart',
    expectation: { continues: false, forwardsBaggage: false },
  },
  {
    caller: 'untrusted, ignore',
    trusted: false,
    policy: 'ignore',
    expectation: { continues: false, forwardsBaggage: false },
  },
];
const SETUPS = FRAMEWORK_NAMES.flatMap((framework) =>
  CALLERS.map((c) => ({ ...c, framework, label: `${framework}, ${c.caller}` })),
);

/** Counts spans the SDK records, without keeping them. */
class CountingProcessor implements SpanProcessor {
  ended = 0;
  onStart(_span: Span, _ctx: Context): void {}
  onEnd(_span: ReadableSpan): void {
    this.ended++;
  }
  forceFlush(): Promise<void> {
    return Promise.resolve();
  }
  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

interface Example {
  index: number;
  service: string;
  detail: string;
  headers: HeaderList;
}

class Kinds {
  readonly counts = new Map<string, number>();
  readonly examples = new Map<string, Example>();
  add(problems: Problem[], index: number, service: string, headers: HeaderList): void {
    for (const kind of new Set(problems.map((p) => p.kind))) {
      this.counts.set(kind, (this.counts.get(kind) ?? 0) + 1);
      if (!this.examples.has(kind)) {
        const detail = problems.find((p) => p.kind === kind)?.detail ?? '';
        this.examples.set(kind, { index, service, detail, headers });
      }
    }
  }
  summary(): Record<string, number> {
    return Object.fromEntries(this.counts);
  }
  describe(): string[] {
    return [...this.examples].map(
      ([kind, e]) =>
        `  ${kind}: ${this.counts.get(kind)} variants; e.g. #${e.index} on ${e.service}: ${e.detail}\n` +
        `    sent ${e.headers
          .map(([n, v]) => `${n}: ${short(v)}`)
          .join(' | ')
          .slice(0, 400)}`,
    );
  }
}

const MODES = [
  { name: 'without the SDK', sdk: false, seed: SEED },
  { name: 'with the SDK', sdk: true, seed: (SEED + 1) >>> 0 },
] as const;

describe.each(MODES)('propagation fuzz $name', (mode) => {
  const counting = new CountingProcessor();
  const services: { label: string; expectation: Expectation; service: Service }[] = [];
  const uncaught: unknown[] = [];
  const onUncaught = (err: unknown) => uncaught.push(err);
  // Values refused while the service added them to its fetch() calls (Vigil swallows those errors,
  // so they are caught here, before undici sees them).
  const refused: { name: string; value: string; code: string }[] = [];
  const undiciCreate: Channel = channel('undici:request:create');
  const watchUndici = (message: unknown) => {
    const request = (message as { request?: { addHeader?: (k: string, v: string) => unknown } })
      .request;
    const original = request?.addHeader;
    if (request === undefined || typeof original !== 'function') return;
    request.addHeader = function checkedAddHeader(name: string, value: string) {
      try {
        validateHeaderValue(name, value);
      } catch (err) {
        refused.push({ name, value, code: String((err as { code?: unknown }).code) });
      }
      return original.call(this, name, value);
    };
  };
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  let tracing: Tracing | undefined;
  let capture: Capture;

  beforeAll(async () => {
    process.on('uncaughtException', onUncaught);
    process.on('unhandledRejection', onUncaught);
    // Subscribed before any middleware exists, so this runs before Vigil's own subscriber.
    undiciCreate.subscribe(watchUndici);
    if (mode.sdk) {
      tracing = startTracing({ exporter: 'none', traceBuffer: false, spanProcessors: [counting] });
    }
    capture = await startCapture();
    for (const s of SETUPS) {
      const options = s.trusted ? {} : { trustedProxies: [], inboundPolicy: s.policy };
      const service = await startService({ framework: s.framework, capture, options });
      services.push({ label: s.label, expectation: s.expectation, service });
    }
  });

  afterAll(async () => {
    undiciCreate.unsubscribe(watchUndici);
    process.off('uncaughtException', onUncaught);
    process.off('unhandledRejection', onUncaught);
    agent.destroy();
    await closeConformanceServers();
    await tracing?.shutdown();
  });

  it(`should serve ${VARIANTS_PER_MODE} hostile variants with 200s, no crash and no invalid header`, async () => {
    const started = performance.now();
    const statuses = new Map<number, number>();
    const errorCodes = new Map<string, number>();
    const kinds = new Kinds();
    const httpKinds = new Kinds();
    let crashes = 0;
    let continued = 0;
    let restarted = 0;
    let inboundValid = 0;
    let illegalGenerated = 0;

    const task = async (index: number) => {
      const { headers, service: pickService } = fuzzVariant(mode.seed, index);
      if (headers.some(([, v]) => !isHeaderLegal(v))) illegalGenerated++;
      const target = services[pickService % services.length] as (typeof services)[number];
      const result = await probe(target.service.origin, `/probe/${index}`, headers, agent);
      const verdict = judge(headers, result, target.expectation);
      statuses.set(result.status, (statuses.get(result.status) ?? 0) + 1);
      for (const code of [
        ...(result.body?.errors ?? []),
        ...(result.error ? [result.error] : []),
      ]) {
        errorCodes.set(code, (errorCodes.get(code) ?? 0) + 1);
      }
      if (verdict.crashed) crashes++;
      if (verdict.continued) continued++;
      else restarted++;
      if (verdict.inboundValid) inboundValid++;
      kinds.add(verdict.problems, index, target.label, headers);
      httpKinds.add(verdict.httpProblems, index, target.label, headers);
    };
    const callsBefore = capture.count;
    await runPool(VARIANTS_PER_MODE, CONCURRENCY, task);
    const elapsed = performance.now() - started;

    const appErrors = services.reduce((n, s) => n + s.service.appErrors.length, 0);
    const warnings = services.reduce((n, s) => n + s.service.warnings.length, 0);
    const invalidChar =
      refused.length +
      [...errorCodes].reduce((n, [code, c]) => n + (INVALID_HEADER_CODES.has(code) ? c : 0), 0);
    const downstreamCalls = capture.count - callsBefore;
    console.log(
      [
        `[fuzz ${mode.name}] seed ${mode.seed}, ${VARIANTS_PER_MODE} variants tried on ${services.length} services, concurrency ${CONCURRENCY}`,
        `  responses by status: ${JSON.stringify(Object.fromEntries(statuses))}`,
        `  crashes: ${crashes} (app errors ${appErrors}, middleware warnings ${warnings}, uncaught ${uncaught.length})`,
        `  ERR_INVALID_CHAR and other refused header values: ${invalidChar} (outgoing call errors ${JSON.stringify(Object.fromEntries(errorCodes))})`,
        `  inbound traceparent valid: ${inboundValid}; traces continued: ${continued}, restarted: ${restarted}`,
        `  downstream calls: ${downstreamCalls} (expected ${VARIANTS_PER_MODE * 2})`,
        `  server spans recorded: ${mode.sdk ? counting.ended : 'n/a (no SDK)'}`,
        `  elapsed: ${(elapsed / 1000).toFixed(1)} s (${Math.round((VARIANTS_PER_MODE / elapsed) * 1000)} variants/s)`,
        `  conformance problems (fetch path): ${JSON.stringify(kinds.summary())}`,
        ...kinds.describe(),
        `  conformance problems (http.request path): ${JSON.stringify(httpKinds.summary())}`,
        ...httpKinds.describe(),
      ].join('\n'),
    );

    // Robustness: never a crash, never a refused header, every call made.
    expect(illegalGenerated).toBe(0);
    expect(uncaught).toEqual([]);
    expect(Object.fromEntries(statuses)).toEqual({ 200: VARIANTS_PER_MODE });
    expect(crashes).toBe(0);
    expect(appErrors + warnings).toBe(0);
    expect(invalidChar).toBe(0);
    expect(downstreamCalls).toBe(VARIANTS_PER_MODE * 2);
    // Conformance: each kind of problem is a separate (soft) failure, named with its first example.
    for (const [path, found] of [
      ['fetch', kinds],
      ['http.request', httpKinds],
    ] as const) {
      for (const [kind, count] of found.counts) {
        const e = found.examples.get(kind);
        expect
          .soft(count, `${path}: ${kind} (e.g. #${e?.index} on ${e?.service}: ${e?.detail})`)
          .toBe(0);
      }
    }
  }, 120_000);
});
