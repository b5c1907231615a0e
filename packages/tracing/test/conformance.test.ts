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

// Every printable ASCII character a tracestate value may hold (§3.3.1.3.2): 0x20-0x7E but "," and "=".
const TS_ALL_VALUE_CHARS = [
  ...Array.from({ length: 0x2b - 0x20 + 1 }, (_, i) => String.fromCharCode(0x20 + i)),
  ...Array.from({ length: 0x3c - 0x2d + 1 }, (_, i) => String.fromCharCode(0x2d + i)),
  ...Array.from({ length: 0x7e - 0x3e + 1 }, (_, i) => String.fromCharCode(0x3e + i)),
].join('');

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
  { name: '§3.2.2.5 valid, sampled', lines: [VALID] },
  { name: '§3.2.2.5 valid, not sampled', lines: [`00-${T}-${P}-00`] },
  { name: '§3.2.2.5.2 valid, random-trace-id flag (Level 2), sampled', lines: [`00-${T}-${P}-03`] },
  {
    name: '§3.2.2.5.2 valid, random-trace-id flag (Level 2), not sampled',
    lines: [`00-${T}-${P}-02`],
  },
  { name: '§3.2.2.5.3 valid, undefined flag bits 0x09', lines: [`00-${T}-${P}-09`] },
  { name: '§3.2.2.5.3 valid, flags ff', lines: [`00-${T}-${P}-ff`] },
  { name: '§3.2.2.5.3 valid, flags 10', lines: [`00-${T}-${P}-10`] },
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
  expected: string[] | undefined;
}

const members = (n: number, prefix = 'k') =>
  Array.from({ length: n }, (_, i) => `${prefix}${i}=v${i}`);
// Members that break a Level 2 rule (§3.3.1.3): the whole header is dropped for any one of them.
const INVALID_MEMBERS: [string, string][] = [
  ['§3.3.1.3.1 an upper-case key', 'Rojo=1'],
  ['§3.3.1.3.1 a simple key starting with a digit', '1abc=1'],
  ['§3.3.1.3.1 a space in the key', 'ro jo=1'],
  ['§3.3.1.3.1 a dot in the key', 'foo.bar=1'],
  ['§3.3.1.3.1 a key of 257 characters', `${'k'.repeat(257)}=1`],
  ['§3.3.1.3.1 a tenant id of 242 characters', `${'t'.repeat(242)}@v=1`],
  ['§3.3.1.3.1 a system id of 15 characters', `t@${'v'.repeat(15)}=1`],
  ['§3.3.1.3.1 an empty system id', 'foo@=1'],
  ['§3.3.1.3.1 an empty tenant id', '@foo=1'],
  ['§3.3.1.3.1 two @ in a row', 'foo@@bar=1'],
  ['§3.3.1.3.1 two @', 'foo@bar@baz=1'],
  ['§3.3.1.3.1 a system id starting with a digit', 'tenant@1vendor=1'],
  ['§3.3.1.3.1 an empty key', '=a'],
  ['§3.3.1.3.2 "=" in the value', 'a=b=c'],
  ['§3.3.1.3.2 a non-ASCII value', 'a=\xe9t\xe9'],
  ['§3.3.1.3.2 an empty value', 'a='],
  ['§3.3.1.3.2 a tab in the value', 'a=x\ty'],
  ['§3.3.1.3.2 a value of 257 characters', `k=${'v'.repeat(257)}`],
  ['§3.3.1.2 no "="', 'novalue'],
];

const TRACESTATE_ROWS: TracestateRow[] = [
  { name: '§3.3.1 two valid members', lines: [TRACESTATE], expected: TRACESTATE.split(',') },
  {
    name: '§3.3.1.3.1 a multi-tenant key',
    lines: ['tenant@vendor=x,a=1'],
    expected: ['tenant@vendor=x', 'a=1'],
  },
  {
    name: '§3.3.1.3.1 a multi-tenant key with a digit-led tenant id',
    lines: ['1tenant@vendor=x'],
    expected: ['1tenant@vendor=x'],
  },
  {
    name: '§3.3.1.3.1 a tenant id of 241 and a system id of 14 characters (kept)',
    lines: ['foo=1', `${'t'.repeat(241)}@${'v'.repeat(14)}=1`],
    expected: ['foo=1', `${'t'.repeat(241)}@${'v'.repeat(14)}=1`],
  },
  {
    name: '§3.3.1.3.1 a key of 256 characters (kept)',
    lines: [`${'k'.repeat(256)}=1,ok=1`],
    expected: [`${'k'.repeat(256)}=1`, 'ok=1'],
  },
  {
    name: '§3.3.1.3.1 every character a key may hold',
    lines: ['abcdefghijklmnopqrstuvwxyz0123456789_-*/=1'],
    expected: ['abcdefghijklmnopqrstuvwxyz0123456789_-*/=1'],
  },
  {
    name: '§3.3.1.3.2 every character a value may hold',
    lines: [`k=${TS_ALL_VALUE_CHARS}`],
    expected: [`k=${TS_ALL_VALUE_CHARS}`],
  },
  {
    name: '§3.3.1.3.2 a value of 256 characters (kept)',
    lines: [`k=${'v'.repeat(256)},ok=1`],
    expected: [`k=${'v'.repeat(256)}`, 'ok=1'],
  },
  {
    name: '§3.3.1.3.2 a value with a leading space (kept as part of the value)',
    lines: ['a= x'],
    expected: ['a= x'],
  },
  {
    name: '§3.3 an invalid traceparent (tracestate not parsed)',
    lines: [TRACESTATE],
    traceparent: [`00-${T.toUpperCase()}-${P}-01`],
    expected: undefined,
  },
  {
    name: '§3.3 duplicated traceparent headers (tracestate not parsed)',
    lines: [TRACESTATE],
    traceparent: [VALID, VALID],
    expected: undefined,
  },
  {
    name: '§3.3 no traceparent (tracestate not parsed)',
    lines: [TRACESTATE],
    traceparent: [],
    expected: undefined,
  },
  { name: '§3.3.1.1 32 members (kept)', lines: [members(32).join(',')], expected: members(32) },
  {
    name: '§3.3.1.1 32 members over four header lines (kept, combined in order)',
    lines: [0, 10, 20, 30].map((start) =>
      members(32)
        .slice(start, start + 10)
        .join(','),
    ),
    expected: members(32),
  },
  {
    name: '§3.3.1.1 33 members (header invalid)',
    lines: [members(33).join(',')],
    expected: undefined,
  },
  {
    name: '§3.3.1.1 33 members over four header lines (header invalid)',
    lines: [0, 10, 20, 30].map((start) =>
      members(33)
        .slice(start, start + 10)
        .join(','),
    ),
    expected: undefined,
  },
  {
    name: '§3.3.1.1 40 members (header invalid)',
    lines: [members(40).join(',')],
    expected: undefined,
  },
  ...INVALID_MEMBERS.map(([what, member]) => ({
    name: `${what} (header invalid)`,
    lines: [`ok=1,${member},ok2=2`],
    expected: undefined,
  })),
  ...INVALID_MEMBERS.map(([what, member]) => ({
    name: `${what} on a second header line (header invalid)`,
    lines: ['ok=1', member],
    expected: undefined,
  })),
  {
    name: '§3.3.1.4 a key given twice (header invalid)',
    lines: ['foo=1,foo=2'],
    expected: undefined,
  },
  {
    name: '§3.3.1.4 a key given twice with one value (header invalid)',
    lines: ['foo=1,foo=1'],
    expected: undefined,
  },
  {
    name: '§3.3.1.4 a key given twice over two header lines (header invalid)',
    lines: ['foo=1', 'foo=2'],
    expected: undefined,
  },
  {
    name: '§3.3.1.5 members over 512 characters in total (kept whole)',
    lines: [['a', 'b', 'c'].map((k) => `${k}=${'x'.repeat(250)}`).join(',')],
    expected: ['a', 'b', 'c'].map((k) => `${k}=${'x'.repeat(250)}`),
  },
  { name: '§3.3.1.2 an empty member', lines: ['a=1,,b=2'], expected: ['a=1', 'b=2'] },
  { name: '§3.3.1.2 a whitespace-only member', lines: ['a=1, \t ,b=2'], expected: ['a=1', 'b=2'] },
  {
    name: '§3.3.1.2 whitespace around members',
    lines: [' a=1 ,\tb=2\t'],
    expected: ['a=1', 'b=2'],
  },
  {
    name: '§3.3.1.2 spaces and tabs around every member',
    lines: ['foo=1 \t , \t bar=2, \t baz=3'],
    expected: ['foo=1', 'bar=2', 'baz=3'],
  },
  { name: '§3.3.1.2 leading and trailing commas', lines: [',a=1,'], expected: ['a=1'] },
  { name: '§3.3.1.2 only commas', lines: [',,,'], expected: undefined },
  { name: '§3.3.1.2 an empty header', lines: [''], expected: undefined },
  {
    name: '§3.3.1.2 an empty header line after one member',
    lines: ['foo=1', ''],
    expected: ['foo=1'],
  },
  {
    name: '§3.3.1.2 an empty header line before one member',
    lines: ['', 'foo=1'],
    expected: ['foo=1'],
  },
  {
    name: '§3.3.1 several header lines (combined in order)',
    lines: ['foo=1,bar=2', 'rojo=1,congo=2', 'baz=3'],
    expected: ['foo=1', 'bar=2', 'rojo=1', 'congo=2', 'baz=3'],
  },
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

  /** The exported span with this id (only sampled spans are exported). */
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
        const serverSpanId = result.body?.before?.spanId;
        const viaHttp = parseTraceparent(downstreamHeader(result.body?.http, 'traceparent'));
        // §3.2.2.3: each call carries the id of its own client span: not the server span's, not the
        // caller's, and not shared by the two calls.
        expect(ds?.parentId).not.toBe(serverSpanId);
        expect(viaHttp?.parentId).not.toBe(serverSpanId);
        expect(viaHttp?.parentId).not.toBe(ds?.parentId);
        expect(viaHttp?.traceId).toBe(ds?.traceId);
        const flags = parseInt(ds?.flags ?? 'zz', 16);
        if (inbound !== undefined) {
          // Valid: same trace id, a new parent, tracestate kept as sent.
          expect(verdict.continued).toBe(true);
          expect(ds?.traceId).toBe(T);
          expect(ds?.parentId).not.toBe(P);
          expect(tracestate).toBe(TRACESTATE);
          const inboundFlags = parseInt(inbound.flags, 16);
          // A trusted caller's sampled flag is obeyed; an untrusted one's is not (Vigil's sampler decides).
          if (trusted) expect(flags & 1).toBe(inboundFlags & 1);
          // §3.2.2.5.2 (Level 2): the random-trace-id flag goes on with the trace id it describes.
          expect(flags & 2).toBe(inboundFlags & 2);
        } else {
          // Invalid: a fresh trace, tracestate dropped; its id is random, and the flag says so.
          expect(verdict.continued).toBe(false);
          expect(ds?.traceId).toMatch(/^[0-9a-f]{32}$/);
          expect(ds?.traceId).not.toBe(T);
          expect(tracestate).toBeUndefined();
          expect(flags & 2).toBe(2);
        }
        if (mode.sdk && ds !== undefined && (flags & 1) === 1) {
          // With the SDK, the parent-id is the fetch call's client span (OpenTelemetry's undici
          // instrumentation), a child of the server span.
          const client = await serverSpan(ds.parentId);
          expect(client?.kind).toBe(SpanKind.CLIENT);
          expect(client?.parentSpanContext?.spanId).toBe(serverSpanId);
          const server = await serverSpan(serverSpanId);
          expect(server?.kind).toBe(SpanKind.SERVER);
          expect(server?.spanContext().traceId).toBe(ds.traceId);
          expect(server?.parentSpanContext?.spanId).toBe(inbound === undefined ? undefined : P);
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
        // Both calls carry the same tracestate.
        expect(downstreamHeader(result.body?.http, 'tracestate')).toBe(tracestate);
        if (row.expected === undefined) {
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
