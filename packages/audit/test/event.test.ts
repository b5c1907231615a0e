// record()'s validation: the schema, the bounds, and what an error message may show.
import { afterEach, describe, expect, it } from 'vitest';
import {
  AUDIT_ERROR_CODES,
  AUDIT_LIMITS,
  AUDIT_OUTCOMES,
  type AuditEventInput,
  VigilError,
  verifyAuditLog,
} from '@vigil/audit';
import { cleanup, memoryLogger } from './support/memory';

afterEach(cleanup);

const base = { type: 'auth.login', outcome: 'success' } as const;

function deep(levels: number): Record<string, unknown> {
  let value: Record<string, unknown> = { leaf: true };
  for (let i = 1; i < levels; i++) value = { next: value };
  return value;
}

function manyNumbers(n: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (let i = 0; i < n; i++) out[`k${i}`] = 123456789012;
  return out;
}

class Point {
  x = 1;
}

const cyclic: Record<string, unknown> = { a: 1 };
cyclic.self = cyclic;
const sparse: unknown[] = [1];
sparse[2] = 3;
const throwingGetter = Object.defineProperty({}, 'boom', {
  enumerable: true,
  get() {
    throw new Error('getter');
  },
});

/** [name, event, field in the message, expected words] */
const INVALID: [string, unknown, string, RegExp][] = [
  ['null', null, '(event)', /an object with at least type and outcome, received null/],
  ['an array', [], '(event)', /received an array/],
  ['a string', 'auth.login', '(event)', /received a string/],
  [
    'an unknown field',
    { ...base, user: 'x' },
    'user',
    /absent: the fields an event may set are type, outcome, actor/,
  ],
  ['time set by the caller', { ...base, time: 'now' }, 'time', /absent/],
  ['chain fields set by the caller', { ...base, seq: 1 }, 'seq', /absent/],
  ['service set per event', { ...base, service: 'x' }, 'service', /absent/],
  ['no type', { outcome: 'success' }, 'type', /received a undefined/],
  ['type with capitals', { ...base, type: 'Auth.login' }, 'type', /received "Auth\.login"/],
  ['type with one segment', { ...base, type: 'login' }, 'type', /received "login"/],
  [
    'type with an empty segment',
    { ...base, type: 'auth..login' },
    'type',
    /received "auth\.\.login"/,
  ],
  ['type with a dash', { ...base, type: 'auth.log-in' }, 'type', /received "auth\.log-in"/],
  ['type starting with a digit', { ...base, type: 'auth.2fa' }, 'type', /received "auth\.2fa"/],
  [
    'type of 65 characters',
    { ...base, type: `a.${'b'.repeat(63)}` },
    'type',
    /at most 64 characters/,
  ],
  ['type not a string', { ...base, type: 42 }, 'type', /received a number/],
  [
    'no outcome',
    { type: 'auth.login' },
    'outcome',
    /one of success, failure, denied, error, unknown, received a undefined/,
  ],
  ['outcome outside the set', { ...base, outcome: 'ok' }, 'outcome', /received "ok"/],
  [
    'empty actor',
    { ...base, actor: '' },
    'actor',
    /a non-empty string of at most 1024 UTF-8 bytes, received an empty string/,
  ],
  [
    'actor over 1024 bytes',
    { ...base, actor: 'a'.repeat(1025) },
    'actor',
    /received a string of 1025 bytes/,
  ],
  [
    'reason over 1024 bytes in UTF-8',
    { ...base, reason: 'é'.repeat(513) },
    'reason',
    /received a string of 1026 bytes/,
  ],
  ['resource not a string', { ...base, resource: 7 }, 'resource', /received a number/],
  ['action null', { ...base, action: null }, 'action', /received null/],
  [
    'client_ip a host name',
    { ...base, client_ip: 'localhost' },
    'client_ip',
    /an IPv4 or IPv6 address/,
  ],
  [
    'client_ip out of range',
    { ...base, client_ip: '999.1.1.1' },
    'client_ip',
    /an IPv4 or IPv6 address/,
  ],
  ['request_id empty', { ...base, request_id: '' }, 'request_id', /non-empty string/],
  [
    'trace_id upper-case',
    { ...base, trace_id: 'A'.repeat(32) },
    'trace_id',
    /32 lower-case hex digits, not all zero/,
  ],
  ['trace_id all zero', { ...base, trace_id: '0'.repeat(32) }, 'trace_id', /not all zero/],
  [
    'span_id too short',
    { ...base, span_id: 'a'.repeat(15) },
    'span_id',
    /16 lower-case hex digits/,
  ],
  [
    'metadata an array',
    { ...base, metadata: [] },
    'metadata',
    /a plain object of JSON values, received an array/,
  ],
  ['metadata null', { ...base, metadata: null }, 'metadata', /received null/],
  ['metadata a Map', { ...base, metadata: new Map() }, 'metadata', /received a Map/],
  [
    'a Date in metadata',
    { ...base, metadata: { at: new Date() } },
    'metadata.at',
    /convert dates with toISOString\(\).*received a Date/,
  ],
  [
    'a class instance in metadata',
    { ...base, metadata: { p: new Point() } },
    'metadata.p',
    /received a Point/,
  ],
  [
    'a function in metadata',
    { ...base, metadata: { f: () => 1 } },
    'metadata.f',
    /a JSON value, received a function/,
  ],
  [
    'a symbol in metadata',
    { ...base, metadata: { s: Symbol('s') } },
    'metadata.s',
    /received a symbol/,
  ],
  ['a bigint in metadata', { ...base, metadata: { n: 1n } }, 'metadata.n', /received a bigint/],
  [
    'NaN in metadata',
    { ...base, metadata: { n: NaN } },
    'metadata.n',
    /a finite number\), received NaN/,
  ],
  [
    'Infinity in metadata',
    { ...base, metadata: { n: Infinity } },
    'metadata.n',
    /received Infinity/,
  ],
  [
    'undefined in a metadata array',
    { ...base, metadata: { a: [undefined] } },
    'metadata.a[0]',
    /received a undefined/,
  ],
  [
    'a sparse array in metadata',
    { ...base, metadata: { a: sparse } },
    'metadata.a[1]',
    /a hole in a sparse array/,
  ],
  ['a cycle in metadata', { ...base, metadata: cyclic }, 'metadata.self', /a circular reference/],
  [
    'metadata 17 levels deep',
    { ...base, metadata: deep(17) },
    'metadata',
    /nested at most 16 levels deep/,
  ],
  [
    'metadata over 8 KiB',
    { ...base, metadata: { blob: 'x'.repeat(8200) } },
    'metadata',
    /at most 8192 bytes once serialised as JSON/,
  ],
  [
    'metadata just over 8 KiB once serialised',
    { ...base, metadata: { a: 'x'.repeat(4090), b: 'y'.repeat(4090) } },
    'metadata',
    /at most 8192 bytes once serialised as JSON, received more than that \(stopped at metadata\.b\)/,
  ],
  [
    'metadata of many numbers over 8 KiB',
    { ...base, metadata: manyNumbers(500) },
    'metadata',
    /at most 8192 bytes once serialised as JSON, received 9891 bytes/,
  ],
  [
    'a symbol key in metadata',
    { ...base, metadata: { [Symbol('k')]: 1 } },
    'metadata',
    /string keys only/,
  ],
  [
    'a __proto__ key in metadata',
    { ...base, metadata: JSON.parse('{"__proto__": {"x": 1}}') as object },
    'metadata.__proto__',
    /a reserved key/,
  ],
  [
    'a getter that throws in metadata',
    { ...base, metadata: throwingGetter },
    'metadata.boom',
    /a getter that throws/,
  ],
];

describe('record() validation', () => {
  it.each(INVALID)('should reject %s', (_name, event, field, words) => {
    const { logger, out } = memoryLogger();
    let thrown: unknown;
    try {
      logger.record(event as AuditEventInput);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(VigilError);
    const err = thrown as VigilError;
    expect(err.code).toBe(AUDIT_ERROR_CODES.INVALID_EVENT);
    // Deep paths continue after the field named here (metadata.next.next...).
    expect(err.message).toContain(`record(): field "${field}`);
    expect(err.message).toMatch(words);
    // Nothing written, nothing chained: the next event is still the chain's first.
    expect(out.lines).toEqual([]);
    expect(logger.record(base).seq).toBe(1);
  });

  it('should accept every outcome', () => {
    const { logger, out } = memoryLogger();
    for (const outcome of AUDIT_OUTCOMES) logger.record({ ...base, outcome });
    expect(out.events.map((e) => e.outcome)).toEqual([
      'success',
      'failure',
      'denied',
      'error',
      'unknown',
    ]);
  });

  it('should accept every field at its bounds', () => {
    const { logger, out } = memoryLogger({ service: 's'.repeat(AUDIT_LIMITS.stringBytes) });
    const max = 'a'.repeat(AUDIT_LIMITS.stringBytes);
    const event = logger.record({
      type: `a.${'b'.repeat(62)}`,
      outcome: 'denied',
      actor: max,
      action: max,
      resource: max,
      reason: max,
      client_ip: '2001:db8::1',
      request_id: max,
      correlation_id: max,
      trace_id: '4bf92f3577b34da6a3ce929d0e0e4736',
      span_id: '00f067aa0ba902b7',
      metadata: { ...deep(16), blob: 'x'.repeat(7900) },
    });
    expect(event.type).toHaveLength(64);
    expect(verifyAuditLog(out.text).ok).toBe(true);
  });

  it('should accept metadata of JSON values, dropping undefined properties as JSON does', () => {
    const { logger, out } = memoryLogger();
    const metadata = {
      s: 'text "quoted" \\ \u2028 \u0000 😀',
      n: -0.5,
      zero: -0,
      big: 1e21,
      t: true,
      nil: null,
      list: [1, 'two', [3], { four: 4 }],
      gone: undefined,
      nullProto: Object.assign(Object.create(null) as object, { a: 1 }),
    };
    const event = logger.record({ ...base, metadata });
    expect(Object.keys(event.metadata ?? {})).not.toContain('gone');
    expect(out.events[0]?.metadata).toEqual(event.metadata);
    expect(verifyAuditLog(out.text).ok).toBe(true);
  });

  it('should treat undefined fields as absent', () => {
    const { logger } = memoryLogger();
    const event = logger.record({ ...base, actor: undefined, metadata: undefined });
    expect('actor' in event).toBe(false);
    expect('metadata' in event).toBe(false);
  });

  it('should copy the event, so later changes by the caller change nothing written', () => {
    const { logger, out } = memoryLogger();
    const metadata = { list: [1, 2], nested: { a: 'before' } };
    const event = logger.record({ ...base, metadata });
    metadata.list.push(3);
    metadata.nested.a = 'after';
    expect(event.metadata).toEqual({ list: [1, 2], nested: { a: 'before' } });
    expect(logger.recent()[0]?.metadata).toEqual({ list: [1, 2], nested: { a: 'before' } });
    expect(verifyAuditLog(out.text).ok).toBe(true);
  });

  it('should never put a free-text or metadata value in an error message', () => {
    const { logger } = memoryLogger();
    const secret = 'SENTINEL-hunter2';
    const attempts: AuditEventInput[] = [
      { ...base, actor: secret.repeat(100) },
      { ...base, reason: '' },
      { ...base, client_ip: secret },
      { ...base, metadata: { password: secret, f: (() => 1) as unknown as string } },
      { ...base, metadata: { password: secret.repeat(1000) } },
      { ...base, trace_id: secret },
    ];
    let rejected = 0;
    for (const event of attempts) {
      try {
        logger.record(event);
      } catch (err) {
        rejected++;
        expect((err as Error).message).not.toContain('SENTINEL');
      }
    }
    expect(rejected).toBe(attempts.length);
  });
});
