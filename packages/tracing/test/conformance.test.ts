// Propagation conformance of expressTracing() / koaTracing(): W3C Trace Context (Level 1/2), W3C
// Baggage and request ids, checked on what a real Express 5 / Koa 3 service sends downstream, with and
// without the OpenTelemetry SDK, for trusted callers and for untrusted ones under `continue`.
import { Agent } from 'node:http';
import { SpanKind } from '@opentelemetry/api';
import {
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Tracing, startTracing } from '@vigil/tracing';
import { type Expectation, type Verdict, judge, receivedValue } from './support/conformance-checks';
import {
  type Capture,
  FRAMEWORK_NAMES,
  type FrameworkName,
  type HeaderList,
  type ProbeResult,
  type Service,
  closeConformanceServers,
  downstreamHeader,
  eventually,
  probe,
  startCapture,
  startService,
} from './support/conformance-harness';
import { legalString } from './support/conformance-fuzz';
import { Tally } from './support/conformance-tally';
import {
  UUID,
  baggageMembers,
  parseTraceparent,
  prng,
  tracestateMembers,
} from './support/conformance-w3c';

// The example ids of the Trace Context spec.
const T = '0af7651916cd43dd8448eb211c80319c';
const P = 'b7ad6b7169203331';
const VALID = `00-${T}-${P}-01`;
const TRACESTATE = 'congo=t61rcWkgMzE,rojo=00f067aa0ba902b7';

// ---------------------------------------------------------------------------------------------------
// traceparent: each row is sent with TRACESTATE, which must follow the trace or be dropped with it.

interface TraceparentRow {
  name: string;
  /** The traceparent header lines (more than one: sent as repeated headers). */
  lines: string[];
}

// Seeded, so the random rows are the same on every run.
const random = prng(0x7ace);
const legalBytes = (length: number) => legalString(random, length);
const hexish = (length: number) =>
  Array.from({ length }, () => '0123456789abcdef-'[Math.floor(random() * 17)]).join('');

const TRACEPARENT_ROWS: TraceparentRow[] = [
  { name: 'valid, sampled', lines: [VALID] },
  { name: 'valid, not sampled', lines: [`00-${T}-${P}-00`] },
  { name: 'valid, random-trace-id flag (Level 2)', lines: [`00-${T}-${P}-03`] },
  { name: 'valid, undefined flag bits 0x09', lines: [`00-${T}-${P}-09`] },
  { name: 'valid, flags ff', lines: [`00-${T}-${P}-ff`] },
  { name: 'valid, flags 10', lines: [`00-${T}-${P}-10`] },
  { name: 'future version 01 with an extra field', lines: [`01-${T}-${P}-01-xyz`] },
  {
    name: 'future version cc with extra fields',
    lines: [`cc-${T}-${P}-01-what-the-future-will-be`],
  },
  { name: 'future version cc without extra fields', lines: [`cc-${T}-${P}-01`] },
  { name: 'leading and trailing spaces (HTTP OWS)', lines: [`  ${VALID}  `] },
  { name: 'leading and trailing tabs (HTTP OWS)', lines: [`\t${VALID}\t`] },
  { name: 'empty', lines: [''] },
  { name: 'version only', lines: ['00'] },
  { name: 'trace id one character short', lines: [`00-${T.slice(1)}-${P}-01`] },
  { name: 'trace id one character long', lines: [`00-${T}a-${P}-01`] },
  { name: 'parent id one character short', lines: [`00-${T}-${P.slice(1)}-01`] },
  { name: 'parent id one character long', lines: [`00-${T}-${P}a-01`] },
  { name: 'flags one character', lines: [`00-${T}-${P}-1`] },
  { name: 'flags three characters', lines: [`00-${T}-${P}-011`] },
  { name: 'upper-case trace id', lines: [`00-${T.toUpperCase()}-${P}-01`] },
  { name: 'upper-case parent id', lines: [`00-${T}-${P.toUpperCase()}-01`] },
  { name: 'upper-case flags', lines: [`00-${T}-${P}-0A`] },
  { name: 'upper-case future version', lines: [`CC-${T}-${P}-01`] },
  { name: 'all-zero trace id', lines: [`00-${'0'.repeat(32)}-${P}-01`] },
  { name: 'all-zero parent id', lines: [`00-${T}-${'0'.repeat(16)}-01`] },
  { name: 'version ff', lines: [`ff-${T}-${P}-01`] },
  { name: 'version 00 with an extra field', lines: [`${VALID}-xyz`] },
  { name: 'version 00 with a trailing dash', lines: [`${VALID}-`] },
  { name: 'future version with extra data not after a dash', lines: [`cc-${T}-${P}-01.xyz`] },
  { name: 'future version cut short', lines: [`cc-${T}-${P}-0`] },
  { name: 'non-hex trace id', lines: [`00-${T.slice(0, 31)}g-${P}-01`] },
  { name: 'non-hex parent id', lines: [`00-${T}-${P.slice(0, 15)}z-01`] },
  { name: 'non-hex version', lines: [`0x-${T}-${P}-01`] },
  { name: 'non-hex flags', lines: [`00-${T}-${P}-0x`] },
  { name: 'underscores for dashes', lines: [`00_${T}_${P}_01`] },
  { name: 'whitespace inside', lines: [`00-${T}-${P}- 1`] },
  { name: 'latin-1 byte in the flags', lines: [`00-${T}-${P}-0\xe9`] },
  { name: 'no-break space (0xA0) before the value: not HTTP OWS', lines: [`\xa0${VALID}`] },
  { name: 'no-break space (0xA0) after the value: not HTTP OWS', lines: [`${VALID}\xa0`] },
  { name: 'duplicated header, same value (joined with ", ")', lines: [VALID, VALID] },
  { name: 'duplicated header, valid then garbage', lines: [VALID, 'garbage'] },
  {
    name: 'duplicated header, future version twice',
    lines: [`cc-${T}-${P}-01`, `cc-${T}-${P}-01`],
  },
  ...Array.from({ length: 4 }, (_, i) => ({
    name: `random bytes #${i + 1} (55 bytes)`,
    lines: [legalBytes(55)],
  })),
  ...Array.from({ length: 4 }, (_, i) => ({
    name: `random bytes #${i + 1} (any length)`,
    lines: [legalBytes(Math.floor(random() * 120))],
  })),
  ...Array.from({ length: 4 }, (_, i) => ({
    name: `random hex and dashes #${i + 1}`,
    lines: [hexish(55)],
  })),
];

// ---------------------------------------------------------------------------------------------------
// tracestate: with a valid traceparent unless the row gives one.

interface TracestateRow {
  name: string;
  lines: string[];
  /** traceparent lines; default [VALID]. */
  traceparent?: string[];
  /** Exactly the members expected downstream, in order; undefined: no tracestate header at all. */
  expected?: string[] | undefined;
  /** When set, only the general rules (at most 32 whole valid members) are checked. */
  bounded?: true;
}

const members = (n: number, prefix = 'k') =>
  Array.from({ length: n }, (_, i) => `${prefix}${i}=v${i}`);
const INVALID_MEMBERS: [string, string][] = [
  ['an upper-case key', 'Rojo=1'],
  ['a key starting with a digit', '1abc=1'],
  ['a space in the key', 'ro jo=1'],
  ['"=" in the value', 'a=b=c'],
  ['a non-ASCII value', 'a=\xe9t\xe9'],
  ['an empty value', 'a='],
  ['an empty key', '=a'],
  ['no "="', 'novalue'],
  ['a tab in the value', 'a=x\ty'],
  ['a system id over 14 characters', 't@abcdefghijklmno=1'],
  ['a key of 257 characters', `${'k'.repeat(257)}=1`],
  ['a value of 257 characters', `k=${'v'.repeat(257)}`],
];

const TRACESTATE_ROWS: TracestateRow[] = [
  { name: 'two valid members', lines: [TRACESTATE], expected: TRACESTATE.split(',') },
  {
    name: 'a multi-tenant key',
    lines: ['tenant@vendor=x,a=1'],
    expected: ['tenant@vendor=x', 'a=1'],
  },
  {
    name: 'an invalid traceparent (dropped)',
    lines: [TRACESTATE],
    traceparent: [`00-${T.toUpperCase()}-${P}-01`],
    expected: undefined,
  },
  {
    name: 'duplicated traceparent headers (dropped)',
    lines: [TRACESTATE],
    traceparent: [VALID, VALID],
    expected: undefined,
  },
  { name: 'no traceparent (dropped)', lines: [TRACESTATE], traceparent: [], expected: undefined },
  { name: '32 members', lines: [members(32).join(',')], expected: members(32) },
  { name: '33 members', lines: [members(33).join(',')], bounded: true },
  { name: '40 members', lines: [members(40).join(',')], bounded: true },
  {
    name: '40 members over two headers',
    lines: [members(20, 'a').join(','), members(20, 'b').join(',')],
    bounded: true,
  },
  {
    name: 'a key of 256 characters (kept)',
    lines: [`${'k'.repeat(256)}=1,ok=1`],
    expected: [`${'k'.repeat(256)}=1`, 'ok=1'],
  },
  {
    name: 'a value of 256 characters (kept)',
    lines: [`k=${'v'.repeat(256)},ok=1`],
    expected: [`k=${'v'.repeat(256)}`, 'ok=1'],
  },
  ...INVALID_MEMBERS.map(([what, member]) => ({
    name: `a member with ${what} (that member dropped)`,
    lines: [`ok=1,${member},ok2=2`],
    expected: ['ok=1', 'ok2=2'],
  })),
  {
    name: 'members over 512 characters in total (whole members only)',
    lines: [['a', 'b', 'c'].map((k) => `${k}=${'x'.repeat(250)}`).join(',')],
    bounded: true,
  },
  { name: 'an empty member', lines: ['a=1,,b=2'], expected: ['a=1', 'b=2'] },
  { name: 'a whitespace-only member', lines: ['a=1, \t ,b=2'], expected: ['a=1', 'b=2'] },
  { name: 'whitespace around members', lines: [' a=1 ,\tb=2\t'], expected: ['a=1', 'b=2'] },
  { name: 'leading and trailing commas', lines: [',a=1,'], expected: ['a=1'] },
  { name: 'only commas', lines: [',,,'], expected: undefined },
  {
    name: 'duplicated tracestate headers (combined)',
    lines: ['a=1', 'b=2'],
    expected: ['a=1', 'b=2'],
  },
  { name: 'duplicated headers, one invalid', lines: ['a=1', 'B=2'], expected: ['a=1'] },
];

// ---------------------------------------------------------------------------------------------------
// baggage: with a valid traceparent unless the row says otherwise.

interface BaggageRow {
  name: string;
  lines: string[];
  traceparent?: string[];
  /** Exactly the decoded key/value pairs expected downstream; undefined: no baggage header. */
  expected?: Record<string, string> | undefined;
  /** When set, only the general rules are checked. */
  bounded?: true;
}

const kv = (n: number) => Array.from({ length: n }, (_, i) => `k${i}=v${i}`).join(',');

const BAGGAGE_ROWS: BaggageRow[] = [
  { name: 'plain members', lines: ['a=1,b=2'], expected: { a: '1', b: '2' } },
  { name: 'a bad escape %zz (member skipped)', lines: ['bad=%zz,ok=1'], expected: { ok: '1' } },
  {
    name: 'a trailing "%" in 100% (member skipped)',
    lines: ['bad=100%,ok=1'],
    expected: { ok: '1' },
  },
  {
    name: 'truncated UTF-8 %E2%82 (member skipped)',
    lines: ['bad=%E2%82,ok=1'],
    expected: { ok: '1' },
  },
  {
    name: 'an encoded lone surrogate (member skipped)',
    lines: ['bad=%ED%A0%80,ok=1'],
    expected: { ok: '1' },
  },
  {
    name: 'a bad escape in the key (member skipped)',
    lines: ['%zz=1,ok=1'],
    expected: { ok: '1' },
  },
  {
    name: 'a value decoding to CR/LF (re-encoded)',
    lines: ['crlf=%0D%0A,ok=1'],
    expected: { crlf: '\r\n', ok: '1' },
  },
  {
    name: 'a CR/LF header-injection attempt',
    lines: ['x=1%0D%0AX-Injected:%20yes%0D%0A,ok=1'],
    expected: { x: '1\r\nX-Injected: yes\r\n', ok: '1' },
  },
  { name: 'a value decoding to NUL', lines: ['nul=%00,ok=1'], expected: { nul: '\0', ok: '1' } },
  { name: 'properties', lines: ['a=1;prop=x;flag,b=2'], expected: { a: '1', b: '2' } },
  {
    name: 'properties with escapes and spaces',
    lines: ['a=1 ; p = %0D%0A ; q,b=2'],
    expected: { a: '1', b: '2' },
  },
  {
    name: 'whitespace around keys, values and members',
    lines: [' a = 1 ,\tb=2\t'],
    expected: { a: '1', b: '2' },
  },
  { name: 'a member without "="', lines: ['novalue,ok=1'], expected: { ok: '1' } },
  { name: 'an empty member', lines: ['a=1,,b=2'], expected: { a: '1', b: '2' } },
  { name: 'percent-encoded UTF-8', lines: ['city=Z%C3%BCrich'], expected: { city: 'Zürich' } },
  { name: 'a raw latin-1 byte in a value', lines: ['city=Z\xfcrich,ok=1'], bounded: true },
  { name: '64 members', lines: [kv(64)], bounded: true },
  { name: '65 members (at most 64 propagated)', lines: [kv(65)], bounded: true },
  { name: '100 members (at most 64 propagated)', lines: [kv(100)], bounded: true },
  { name: '200 members (at most 64 propagated)', lines: [kv(200)], bounded: true },
  {
    name: '100 members over two headers',
    lines: [kv(50), kv(100).split(',').slice(50).join(',')],
    bounded: true,
  },
  {
    name: 'more than 8192 bytes (whole members only)',
    lines: [['a', 'b', 'c'].map((k) => `${k}=${'x'.repeat(3000)}`).join(',')],
    bounded: true,
  },
  {
    name: 'one member over 8192 bytes',
    lines: [`ok=1,big=${'x'.repeat(9000)}`],
    expected: { ok: '1' },
  },
  {
    name: 'duplicated baggage headers (combined)',
    lines: ['a=1', 'b=2'],
    expected: { a: '1', b: '2' },
  },
  {
    name: 'no traceparent (baggage stands alone)',
    lines: ['a=1'],
    traceparent: [],
    expected: { a: '1' },
  },
  {
    name: 'an invalid traceparent',
    lines: ['a=1'],
    traceparent: ['garbage'],
    expected: { a: '1' },
  },
  { name: 'only separators', lines: [',;,='], expected: undefined },
];

// ---------------------------------------------------------------------------------------------------
// x-request-id / x-correlation-id.

interface IdRow {
  name: string;
  headers: HeaderList;
  /** The request id kept, or null for a generated one. */
  requestId: string | null;
  /** The correlation id kept, or null when it must equal the request id. */
  correlationId: string | null;
}

const SAFE_UUID = '3f2504e0-4f89-41d3-9a0c-0305e82c3301';
const ID_ROWS: IdRow[] = [
  {
    name: 'a UUID (kept)',
    headers: [['x-request-id', SAFE_UUID]],
    requestId: SAFE_UUID,
    correlationId: null,
  },
  {
    name: 'a safe id with . : - (kept)',
    headers: [['x-request-id', 'req-42.a:b']],
    requestId: 'req-42.a:b',
    correlationId: null,
  },
  {
    name: '128 safe characters (kept)',
    headers: [['x-request-id', 'a'.repeat(128)]],
    requestId: 'a'.repeat(128),
    correlationId: null,
  },
  {
    name: 'a safe id with HTTP OWS around it (kept)',
    headers: [['x-request-id', '  req-7\t']],
    requestId: 'req-7',
    correlationId: null,
  },
  { name: 'no header', headers: [], requestId: null, correlationId: null },
  {
    name: '129 safe characters',
    headers: [['x-request-id', 'a'.repeat(129)]],
    requestId: null,
    correlationId: null,
  },
  {
    name: 'a 16 KiB value',
    headers: [['x-request-id', 'r'.repeat(16 * 1024)]],
    requestId: null,
    correlationId: null,
  },
  {
    name: 'spaces',
    headers: [['x-request-id', 'forged id']],
    requestId: null,
    correlationId: null,
  },
  {
    name: 'log-field forging with "="',
    headers: [['x-request-id', 'forged level=error msg=pwned']],
    requestId: null,
    correlationId: null,
  },
  {
    name: 'a bare "="',
    headers: [['x-request-id', 'forged=1']],
    requestId: null,
    correlationId: null,
  },
  {
    name: 'double quotes',
    headers: [['x-request-id', '"forged-quoted"']],
    requestId: null,
    correlationId: null,
  },
  {
    name: 'single quotes',
    headers: [['x-request-id', "'forged-quoted'"]],
    requestId: null,
    correlationId: null,
  },
  {
    name: 'markup',
    headers: [['x-request-id', '<script>forged()</script>']],
    requestId: null,
    correlationId: null,
  },
  {
    name: 'non-ASCII (UTF-8 bytes)',
    headers: [['x-request-id', Buffer.from('forgéd-ïd').toString('latin1')]],
    requestId: null,
    correlationId: null,
  },
  {
    name: 'a latin-1 byte',
    headers: [['x-request-id', 'forged\xff']],
    requestId: null,
    correlationId: null,
  },
  {
    name: 'a tab inside',
    headers: [['x-request-id', 'forged\tid']],
    requestId: null,
    correlationId: null,
  },
  { name: 'an empty value', headers: [['x-request-id', '']], requestId: null, correlationId: null },
  {
    name: 'a duplicated header',
    headers: [
      ['x-request-id', 'forged-a'],
      ['x-request-id', 'forged-b'],
    ],
    requestId: null,
    correlationId: null,
  },
  {
    name: 'a duplicated header with the same safe value',
    headers: [
      ['x-request-id', 'forged-a'],
      ['x-request-id', 'forged-a'],
    ],
    requestId: null,
    correlationId: null,
  },
  {
    name: 'a safe correlation id (kept)',
    headers: [
      ['x-request-id', 'req-1'],
      ['x-correlation-id', 'corr-1'],
    ],
    requestId: 'req-1',
    correlationId: 'corr-1',
  },
  {
    name: 'a correlation id without a request id (kept)',
    headers: [['x-correlation-id', 'corr-2']],
    requestId: null,
    correlationId: 'corr-2',
  },
  {
    name: 'a correlation id with spaces',
    headers: [
      ['x-request-id', 'req-2'],
      ['x-correlation-id', 'forged corr'],
    ],
    requestId: 'req-2',
    correlationId: null,
  },
  {
    name: 'a 16 KiB correlation id',
    headers: [['x-correlation-id', 'c'.repeat(16 * 1024)]],
    requestId: null,
    correlationId: null,
  },
  {
    name: 'a correlation id with markup',
    headers: [['x-correlation-id', '<b>forged</b>']],
    requestId: null,
    correlationId: null,
  },
  {
    name: 'a non-ASCII correlation id',
    headers: [['x-correlation-id', Buffer.from('corré').toString('latin1')]],
    requestId: null,
    correlationId: null,
  },
  {
    name: 'a duplicated correlation id',
    headers: [
      ['x-correlation-id', 'corr-a'],
      ['x-correlation-id', 'corr-b'],
    ],
    requestId: null,
    correlationId: null,
  },
  {
    name: 'an empty correlation id',
    headers: [['x-correlation-id', '']],
    requestId: null,
    correlationId: null,
  },
  {
    name: 'both unsafe',
    headers: [
      ['x-request-id', 'forged id'],
      ['x-correlation-id', 'forged=corr'],
    ],
    requestId: null,
    correlationId: null,
  },
];

// ---------------------------------------------------------------------------------------------------

const MODES = [
  { name: 'without the SDK', sdk: false },
  { name: 'with the SDK', sdk: true },
] as const;

const CALLERS = [
  { caller: 'a trusted caller', trusted: true },
  { caller: 'an untrusted caller under continue', trusted: false },
] as const;

const SETUPS = FRAMEWORK_NAMES.flatMap((framework) =>
  CALLERS.map((c) => ({ framework, ...c, label: `${framework}, ${c.caller}` })),
);

// Both trusted and untrusted-under-continue callers get the whole W3C behaviour.
const EXPECTATION: Expectation = { continues: true, forwardsBaggage: true };

/** No problem on either downstream call (fetch and http.request). */
const CLEAN = { fetch: [], http: [] };

const lines = (name: string, values: readonly string[]): HeaderList =>
  values.map((v) => [name, v] as const);

describe.each(MODES)('@vigil/tracing propagation $name', (mode) => {
  const exporter = new InMemorySpanExporter();
  const tally = new Tally();
  const services = new Map<string, Service>();
  const agent = new Agent({ keepAlive: true, maxSockets: 8 });
  const uncaught: unknown[] = [];
  const onUncaught = (err: unknown) => uncaught.push(err);
  let tracing: Tracing | undefined;
  let capture: Capture;
  let seq = 0;

  beforeAll(async () => {
    process.on('uncaughtException', onUncaught);
    process.on('unhandledRejection', onUncaught);
    if (mode.sdk) {
      tracing = startTracing({
        exporter: 'none',
        spanProcessors: [new SimpleSpanProcessor(exporter)],
      });
    }
    capture = await startCapture();
    for (const s of SETUPS) {
      const options = s.trusted ? {} : { trustedProxies: [], inboundPolicy: 'continue' as const };
      services.set(s.label, await startService({ framework: s.framework, capture, options }));
    }
  });

  afterAll(async () => {
    process.off('uncaughtException', onUncaught);
    process.off('unhandledRejection', onUncaught);
    agent.destroy();
    await closeConformanceServers();
    await tracing?.shutdown();
  });

  /** Sends one variant, judges it and counts it under `klass`. */
  async function send(
    label: string,
    klass: string,
    headers: HeaderList,
  ): Promise<{ result: ProbeResult; verdict: Verdict; service: Service }> {
    const service = services.get(label) as Service;
    const before = service.appErrors.length + service.warnings.length;
    const result = await probe(service.origin, `/probe/${++seq}`, headers, agent);
    const verdict = judge(headers, result, EXPECTATION);
    const after = service.appErrors.length + service.warnings.length;
    if (after !== before) {
      verdict.crashed = true;
      verdict.problems.push({
        kind: 'crash',
        detail: `app errors / middleware warnings: ${JSON.stringify([...service.appErrors, ...service.warnings].slice(before))}`,
      });
    }
    tally.add(label, klass, verdict);
    return { result, verdict, service };
  }

  /** The exported server span with this id (only sampled spans are exported). */
  async function serverSpan(spanId: string | undefined): Promise<ReadableSpan | undefined> {
    return eventually(() =>
      exporter.getFinishedSpans().find((s) => s.spanContext().spanId === spanId),
    );
  }

  describe.each(SETUPS)('on $label', ({ label, trusted }) => {
    describe('traceparent', () => {
      it.each(TRACEPARENT_ROWS)('should follow the spec for $name', async (row) => {
        const headers: HeaderList = [
          ...lines('traceparent', row.lines),
          ['tracestate', TRACESTATE],
        ];
        const { result, verdict } = await send(label, 'traceparent', headers);
        expect({ fetch: verdict.problems, http: verdict.httpProblems }).toEqual(CLEAN);
        const inbound = parseTraceparent(receivedValue(headers, 'traceparent'));
        const ds = parseTraceparent(downstreamHeader(result.body?.fetch, 'traceparent'));
        const tracestate = downstreamHeader(result.body?.fetch, 'tracestate');
        if (inbound !== undefined) {
          // Valid: same trace id, the server span as the new parent, tracestate kept as sent.
          expect(verdict.continued).toBe(true);
          expect(ds?.traceId).toBe(T);
          expect(ds?.parentId).not.toBe(P);
          expect(ds?.parentId).toBe(result.body?.before?.spanId);
          expect(tracestate).toBe(TRACESTATE);
          const sampled = parseInt(inbound.flags, 16) & 1;
          // A trusted caller's sampled flag is obeyed; an untrusted one's is not (Vigil's sampler decides).
          if (trusted) expect(parseInt(ds?.flags ?? 'zz', 16) & 1).toBe(sampled);
        } else {
          // Invalid: a fresh trace, tracestate dropped.
          expect(verdict.continued).toBe(false);
          expect(ds?.traceId).toMatch(/^[0-9a-f]{32}$/);
          expect(ds?.traceId).not.toBe(T);
          expect(tracestate).toBeUndefined();
        }
        if (mode.sdk && ds !== undefined && (parseInt(ds.flags, 16) & 1) === 1) {
          const span = await serverSpan(ds.parentId);
          expect(span?.kind).toBe(SpanKind.SERVER);
          expect(span?.spanContext().traceId).toBe(ds.traceId);
          expect(span?.parentSpanContext?.spanId).toBe(inbound === undefined ? undefined : P);
        }
      });
    });

    describe('tracestate', () => {
      it.each(TRACESTATE_ROWS)('should handle $name', async (row) => {
        const headers: HeaderList = [
          ...lines('traceparent', row.traceparent ?? [VALID]),
          ...lines('tracestate', row.lines),
        ];
        const { result, verdict } = await send(label, 'tracestate', headers);
        expect({ fetch: verdict.problems, http: verdict.httpProblems }).toEqual(CLEAN);
        const tracestate = downstreamHeader(result.body?.fetch, 'tracestate');
        if (row.bounded) {
          // General rules (whole valid inbound members, at most 32) are part of verdict.problems.
          expect(tracestateMembers(tracestate).length).toBeGreaterThan(0);
          expect(tracestateMembers(tracestate).length).toBeLessThanOrEqual(32);
        } else if (row.expected === undefined) {
          expect(tracestate).toBeUndefined();
        } else {
          expect(tracestateMembers(tracestate)).toEqual(row.expected);
        }
      });
    });

    describe('baggage', () => {
      it.each(BAGGAGE_ROWS)('should handle $name', async (row) => {
        const headers: HeaderList = [
          ...lines('traceparent', row.traceparent ?? [VALID]),
          ...lines('baggage', row.lines),
        ];
        const { result, verdict } = await send(label, 'baggage', headers);
        // Never throws, never a 5xx, never a raw CR/LF or decoded value, never a partial member,
        // at most 64 members and 8192 bytes: all part of the verdict.
        expect({ fetch: verdict.problems, http: verdict.httpProblems }).toEqual(CLEAN);
        expect(result.status).toBe(200);
        const baggage = downstreamHeader(result.body?.fetch, 'baggage');
        if (baggage !== undefined) {
          expect(baggage).not.toMatch(/[\r\n]/);
          expect(baggageMembers(baggage).length).toBeLessThanOrEqual(64);
          expect(Buffer.byteLength(baggage, 'latin1')).toBeLessThanOrEqual(8192);
        }
        expect(result.body?.fetch?.headers['x-injected']).toBeUndefined();
        if (row.bounded) {
          expect(baggage).toBeDefined();
        } else if (row.expected === undefined) {
          expect(baggage).toBeUndefined();
        } else {
          const decoded = Object.fromEntries(
            baggageMembers(baggage).map((m) => [
              m.key ?? `?${m.rawKey}`,
              m.value ?? `?${m.rawValue}`,
            ]),
          );
          expect(decoded).toEqual(row.expected);
        }
      });
    });

    describe('x-request-id and x-correlation-id', () => {
      it.each(ID_ROWS)('should handle $name', async (row) => {
        const headers: HeaderList = [['traceparent', VALID], ...row.headers];
        const { result, verdict } = await send(label, 'request ids', headers);
        expect({ fetch: verdict.problems, http: verdict.httpProblems }).toEqual(CLEAN);
        const ctx = result.body?.before;
        const requestId = ctx?.requestId;
        // The response header, the downstream header and getRequestContext() carry the same id.
        expect(result.headers['x-request-id']).toBe(requestId);
        expect(downstreamHeader(result.body?.fetch, 'x-request-id')).toBe(requestId);
        expect(downstreamHeader(result.body?.fetch, 'x-correlation-id')).toBe(ctx?.correlationId);
        if (row.requestId === null) {
          expect(requestId).toMatch(UUID);
        } else {
          expect(requestId).toBe(row.requestId);
        }
        expect(ctx?.correlationId).toBe(row.correlationId ?? requestId);
        if (mode.sdk) {
          // The rejected raw values never reach the span.
          const rejected = row.headers
            .map(([, v]) => v.trim())
            .filter((v) => v.length >= 4 && v !== row.requestId && v !== row.correlationId);
          const span = await serverSpan(ctx?.spanId);
          expect(span).toBeDefined();
          const texts = Object.values(span?.attributes ?? {}).map((v) => JSON.stringify(v));
          for (const raw of rejected) {
            for (const text of texts) expect(text).not.toContain(raw);
          }
          expect(span?.name).toBe('GET /probe/:id');
        }
      });
    });
  });

  describe.each(FRAMEWORK_NAMES)('http.request() on %s', (framework: FrameworkName) => {
    it('should carry the same trace context, baggage and ids as fetch()', async () => {
      const headers: HeaderList = [
        ['traceparent', VALID],
        ['tracestate', TRACESTATE],
        ['baggage', 'a=1,b=%0D%0A'],
        ['x-request-id', 'req-http-1'],
        ['x-correlation-id', 'corr-http-1'],
      ];
      const { result, verdict } = await send(
        `${framework}, a trusted caller`,
        'http.request',
        headers,
      );
      expect({ fetch: verdict.problems, http: verdict.httpProblems }).toEqual(CLEAN);
      const viaHttp = result.body?.http;
      const viaFetch = result.body?.fetch;
      expect(parseTraceparent(downstreamHeader(viaHttp, 'traceparent'))?.traceId).toBe(T);
      for (const name of ['tracestate', 'baggage', 'x-request-id', 'x-correlation-id']) {
        expect({ name, value: downstreamHeader(viaHttp, name) }).toEqual({
          name,
          value: downstreamHeader(viaFetch, name),
        });
      }
    });
  });

  it('should have served every variant without a crash (figures)', () => {
    const lines = tally.lines(mode.name);
    const total = tally.total();
    lines.push(
      `[${mode.name}] total: ${total.tried} variants, ${total.crashes} crashes, ${total.continued} continued, ` +
        `${total.restarted} restarted, ${total.nonConforming} non-conforming, ${uncaught.length} uncaught errors, ` +
        `${capture.count} downstream calls`,
    );
    console.log(lines.join('\n'));
    expect(total.tried).toBeGreaterThan(0);
    expect(total.crashes).toBe(0);
    expect(uncaught).toEqual([]);
    // Every variant made its two downstream calls.
    expect(capture.count).toBe(total.tried * 2);
  });
});
