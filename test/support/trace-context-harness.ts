// The checks of the W3C Trace Context test harness (test/test.py of the w3c/trace-context repository,
// STRICT_LEVEL 2: every TraceContextTest and AdvancedTest case), written in TypeScript against a
// service's `POST /test` endpoint. As the harness does, each case sends a request with exactly the
// given header lines (names in their given case, repeated lines kept) and an array of callbacks; the
// service POSTs to each callback from inside the request, and the case reads the headers the
// callbacks arrived with.
import { type IncomingMessage, type Server, createServer } from 'node:http';
import { type AddressInfo, createConnection } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

type HeaderLine = [name: string, value: string];

/** A service under test: the origin of its `POST /test`, and how to stop it. */
export interface HarnessTarget {
  origin: string;
  close(): Promise<void>;
}

interface Callback {
  /** Raw header lines, names lower-cased. */
  lines: HeaderLine[];
}

/** The harness's Traceparent.from_string: version 00, exactly one header line, lower-case hex. */
function traceparentOf(cb: Callback): { traceId: string; parentId: string; flags: string } {
  const lines = cb.lines.filter(([n]) => n === 'traceparent');
  expect(lines, 'expect one traceparent header').toHaveLength(1);
  const m = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/.exec(lines[0]![1]);
  expect(m, `traceparent ${lines[0]![1]}`).not.toBeNull();
  return { traceId: m![2]!, parentId: m![3]!, flags: m![4]! };
}

/** The harness's Tracestate: every tracestate line combined, as an ordered map. */
function tracestateOf(cb: Callback): { map: Map<string, string>; text: string } {
  const text = cb.lines
    .filter(([n]) => n === 'tracestate')
    .map(([, v]) => v)
    .join(',');
  const map = new Map<string, string>();
  for (const part of text.split(',')) {
    const member = part.replace(/^[ \t]+|[ \t]+$/g, '');
    if (member === '') continue;
    const eq = member.indexOf('=');
    map.set(member.slice(0, eq), member.slice(eq + 1));
  }
  return { map, text: [...map].map(([k, v]) => `${k}=${v}`).join(',') };
}

const T = '12345678901234567890123456789012';
const P = '1234567890123456';
const TP = (flags = '01', trace = T, parent = P) => `00-${trace}-${parent}-${flags}`;

/** Defines the harness's cases against the target `start()` returns; prints the pass count. */
export function harnessSuite(name: string, start: () => Promise<HarnessTarget>): void {
  describe(`W3C Trace Context harness checks on ${name}`, () => {
    let target: HarnessTarget;
    let harness: Server;
    let harnessOrigin: string;
    let sequence = 0;
    const received = new Map<string, Callback>();
    const passed: string[] = [];
    const cases: string[] = [];

    beforeAll(async () => {
      target = await start();
      harness = createServer((req: IncomingMessage, res) => {
        const lines: HeaderLine[] = [];
        for (let i = 0; i < req.rawHeaders.length; i += 2) {
          lines.push([req.rawHeaders[i]!.toLowerCase(), req.rawHeaders[i + 1]!]);
        }
        received.set(req.url ?? '', { lines });
        req.resume();
        res.end('{}');
      });
      await new Promise<void>((resolve) => harness.listen(0, '127.0.0.1', resolve));
      harnessOrigin = `http://127.0.0.1:${(harness.address() as AddressInfo).port}`;
    });

    afterAll(async () => {
      const tally = (own: boolean) => {
        const all = cases.filter((c) => c.startsWith('test_') === own);
        const ok = passed.filter((c) => c.startsWith('test_') === own);
        const failed = all.filter((c) => !ok.includes(c));
        return `${ok.length} of ${all.length}${failed.length > 0 ? ` (failed: ${failed.join(', ')})` : ''}`;
      };
      console.log(
        `[W3C harness, ${name}] ${tally(true)} harness checks passed; ${tally(false)} Level 2 random-flag checks passed`,
      );
      await target?.close();
      await new Promise<void>((resolve) => harness?.close(() => resolve()));
    });

    /** One request to the service with `headers`, asking for `count` callbacks; their headers. */
    async function makeRequest(headers: HeaderLine[], count = 1): Promise<Callback[]> {
      const ids = Array.from({ length: count }, () => `/cb/${++sequence}`);
      const body = JSON.stringify(
        ids.map((id) => ({ url: `${harnessOrigin}${id}`, arguments: [] })),
      );
      const { port, hostname } = new URL(target.origin);
      const status = await new Promise<number>((resolve, reject) => {
        const socket = createConnection(Number(port), hostname, () => {
          socket.write(
            `POST /test HTTP/1.1\r\nHost: ${hostname}\r\nContent-Type: application/json\r\n` +
              `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n` +
              headers.map(([n, v]) => `${n}: ${v}\r\n`).join('') +
              `\r\n${body}`,
          );
        });
        let text = '';
        socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
        socket.on('end', () => resolve(Number(text.split(' ')[1])));
        socket.on('error', reject);
      });
      expect(status).toBe(200);
      return ids.map((id) => {
        const cb = received.get(id);
        expect(cb, 'your test service failed to make a callback to the test harness').toBeDefined();
        return cb!;
      });
    }

    async function single(headers: HeaderLine[]) {
      const [cb] = await makeRequest(headers);
      return { traceparent: traceparentOf(cb!), tracestate: tracestateOf(cb!) };
    }

    function check(test: string, body: () => Promise<void>): void {
      cases.push(test);
      it(`should pass ${test}`, async () => {
        await body();
        passed.push(test);
      });
    }

    // ---- TraceContextTest ----
    check('test_both_traceparent_and_tracestate_missing', async () => {
      await single([]);
    });
    check('test_traceparent_included_tracestate_missing', async () => {
      const { traceparent } = await single([['traceparent', TP()]]);
      expect(traceparent.traceId).toBe(T);
      expect(traceparent.parentId).not.toBe(P);
    });
    check('test_traceparent_duplicated', async () => {
      const { traceparent } = await single([
        ['traceparent', TP('01', '12345678901234567890123456789011')],
        ['traceparent', TP()],
      ]);
      expect(traceparent.traceId).not.toBe('12345678901234567890123456789011');
      expect(traceparent.traceId).not.toBe(T);
    });
    check('test_traceparent_header_name', async () => {
      for (const name of ['trace-parent', 'trace.parent']) {
        expect((await single([[name, TP()]])).traceparent.traceId).not.toBe(T);
      }
    });
    check('test_traceparent_header_name_valid_casing', async () => {
      for (const name of ['TraceParent', 'TrAcEpArEnT', 'TRACEPARENT']) {
        expect((await single([[name, TP()]])).traceparent.traceId).toBe(T);
      }
    });
    check('test_traceparent_version_0x00', async () => {
      for (const value of [`${TP()}.`, `${TP()}-what-the-future-will-be-like`]) {
        expect((await single([['traceparent', value]])).traceparent.traceId).not.toBe(T);
      }
    });
    check('test_traceparent_version_0xcc', async () => {
      const cc = `cc-${T}-${P}-01`;
      expect((await single([['traceparent', cc]])).traceparent.traceId).toBe(T);
      expect(
        (await single([['traceparent', `${cc}-what-the-future-will-be-like`]])).traceparent.traceId,
      ).toBe(T);
      expect(
        (await single([['traceparent', `${cc}.what-the-future-will-be-like`]])).traceparent.traceId,
      ).not.toBe(T);
    });
    check('test_traceparent_version_0xff', async () => {
      expect((await single([['traceparent', `ff-${T}-${P}-01`]])).traceparent.traceId).not.toBe(T);
    });
    const invalid: [string, string[]][] = [
      ['test_traceparent_version_illegal_characters', [`.0-${T}-${P}-01`, `0.-${T}-${P}-01`]],
      ['test_traceparent_version_too_long', [`000-${T}-${P}-01`, `0000-${T}-${P}-01`]],
      ['test_traceparent_version_too_short', [`0-${T}-${P}-01`]],
      [
        'test_traceparent_trace_id_illegal_characters',
        [`00-.${T.slice(1)}-${P}-01`, `00-${T.slice(0, 31)}.-${P}-01`],
      ],
      ['test_traceparent_trace_id_too_short', [`00-${T.slice(1)}-${P}-01`]],
      ['test_traceparent_parent_id_all_zero', [`00-${T}-${'0'.repeat(16)}-01`]],
      [
        'test_traceparent_parent_id_illegal_characters',
        [`00-${T}-.${P.slice(1)}-01`, `00-${T}-${P.slice(0, 15)}.-01`],
      ],
      ['test_traceparent_parent_id_too_long', [`00-${T}-${P}7-01`]],
      ['test_traceparent_parent_id_too_short', [`00-${T}-${P.slice(1)}-01`]],
      ['test_traceparent_trace_flags_illegal_characters', [`00-${T}-${P}-.0`, `00-${T}-${P}-0.`]],
      ['test_traceparent_trace_flags_too_long', [`00-${T}-${P}-001`]],
      ['test_traceparent_trace_flags_too_short', [`00-${T}-${P}-1`]],
    ];
    for (const [test, values] of invalid) {
      check(test, async () => {
        for (const value of values) {
          expect((await single([['traceparent', value]])).traceparent.traceId).not.toBe(T);
        }
      });
    }
    check('test_traceparent_trace_id_all_zero', async () => {
      const zeros = '0'.repeat(32);
      const { traceparent } = await single([['traceparent', `00-${zeros}-${P}-01`]]);
      expect(traceparent.traceId).not.toBe(zeros);
    });
    check('test_traceparent_trace_id_too_long', async () => {
      const { traceparent } = await single([['traceparent', `00-${T}3-${P}-01`]]);
      expect(traceparent.traceId).not.toBe(`${T}3`);
      expect(traceparent.traceId).not.toBe(T);
      expect(traceparent.traceId).not.toBe(`${T.slice(1)}3`);
    });
    check('test_traceparent_ows_handling', async () => {
      for (const value of [` ${TP()}`, `\t${TP()}`, `${TP()} `, `${TP()}\t`, `\t ${TP()} \t`]) {
        expect((await single([['traceparent', value]])).traceparent.traceId).toBe(T);
      }
    });
    check('test_tracestate_included_traceparent_missing', async () => {
      const one = await single([['tracestate', 'foo=1']]);
      const two = await single([['tracestate', 'foo=1,bar=2']]);
      expect(one.tracestate.map.size).toBe(two.tracestate.map.size);
    });
    const TP00 = TP('00');
    check('test_tracestate_included_traceparent_included', async () => {
      const { traceparent, tracestate } = await single([
        ['traceparent', TP00],
        ['tracestate', 'foo=1,bar=2'],
      ]);
      expect(traceparent.traceId).toBe(T);
      expect(tracestate.map.get('foo')).toBe('1');
      expect(tracestate.map.get('bar')).toBe('2');
    });
    check('test_tracestate_header_name', async () => {
      for (const name of ['trace-state', 'trace.state']) {
        const { tracestate } = await single([
          ['traceparent', TP00],
          [name, 'foo=1'],
        ]);
        expect(tracestate.map.has('foo')).toBe(false);
      }
    });
    check('test_tracestate_header_name_valid_casing', async () => {
      for (const name of ['TraceState', 'TrAcEsTaTe', 'TRACESTATE']) {
        const { tracestate } = await single([
          ['traceparent', TP00],
          [name, 'foo=1'],
        ]);
        expect(tracestate.map.get('foo')).toBe('1');
      }
    });
    check('test_tracestate_empty_header', async () => {
      const empty = await single([
        ['traceparent', TP00],
        ['tracestate', ''],
      ]);
      expect(empty.traceparent.traceId).toBe(T);
      expect(empty.tracestate.map.size).toBe(0);
      for (const lines of [
        ['foo=1', ''],
        ['', 'foo=1'],
      ]) {
        const r = await single([
          ['traceparent', TP00],
          ...lines.map((v): HeaderLine => ['tracestate', v]),
        ]);
        expect(r.traceparent.traceId).toBe(T);
        expect(r.tracestate.map.get('foo')).toBe('1');
      }
    });
    check('test_tracestate_multiple_headers_different_keys', async () => {
      const { traceparent, tracestate } = await single([
        ['traceparent', TP00],
        ['tracestate', 'foo=1,bar=2'],
        ['tracestate', 'rojo=1,congo=2'],
        ['tracestate', 'baz=3'],
      ]);
      expect(traceparent.traceId).toBe(T);
      expect(tracestate.text).toBe('foo=1,bar=2,rojo=1,congo=2,baz=3');
    });
    check('test_tracestate_duplicated_keys', async () => {
      for (const lines of [
        ['foo=1,foo=1'],
        ['foo=1,foo=2'],
        ['foo=1', 'foo=1'],
        ['foo=1', 'foo=2'],
      ]) {
        const r = await single([
          ['traceparent', TP00],
          ...lines.map((v): HeaderLine => ['tracestate', v]),
        ]);
        expect(r.traceparent.traceId).toBe(T);
        expect(r.tracestate.map.has('foo')).toBe(false);
      }
    });
    check('test_tracestate_all_allowed_characters', async () => {
      const keyWithoutVendor = 'abcdefghijklmnopqrstuvwxyz0123456789_-*/';
      const keyWithVendor = `${keyWithoutVendor}@a-z0-9_-*/`;
      const value = [
        ...Array.from({ length: 0x2b - 0x20 + 1 }, (_, i) => String.fromCharCode(0x20 + i)),
        ...Array.from({ length: 0x3c - 0x2d + 1 }, (_, i) => String.fromCharCode(0x2d + i)),
        ...Array.from({ length: 0x7e - 0x3e + 1 }, (_, i) => String.fromCharCode(0x3e + i)),
      ].join('');
      for (const key of [keyWithoutVendor, keyWithVendor]) {
        const { tracestate } = await single([
          ['traceparent', TP00],
          ['tracestate', `${key}=${value}`],
        ]);
        expect(tracestate.map.get(key)).toBe(value);
      }
    });
    check('test_tracestate_ows_handling', async () => {
      for (const value of ['foo=1 \t , \t bar=2, \t baz=3', 'foo=1\t \t,\t \tbar=2,\t \tbaz=3']) {
        const { tracestate } = await single([
          ['traceparent', TP00],
          ['tracestate', value],
        ]);
        expect(Object.fromEntries(tracestate.map)).toEqual({ foo: '1', bar: '2', baz: '3' });
      }
      for (const value of [' foo=1', '\tfoo=1', 'foo=1 ', 'foo=1\t', '\t foo=1 \t']) {
        const { traceparent, tracestate } = await single([
          ['traceparent', TP00],
          ['tracestate', value],
        ]);
        expect(traceparent.traceId).toBe(T);
        expect(tracestate.map.get('foo')).toBe('1');
      }
    });
    check('test_tracestate_key_illegal_characters', async () => {
      for (const [value, key] of [
        ['foo =1', 'foo '],
        ['FOO=1', 'FOO'],
        ['foo.bar=1', 'foo.bar'],
      ]) {
        const { tracestate } = await single([
          ['traceparent', TP00],
          ['tracestate', value!],
        ]);
        expect(tracestate.map.has(key!)).toBe(false);
      }
    });
    check('test_tracestate_key_illegal_vendor_format', async () => {
      for (const value of [
        'foo@=1,bar=2',
        '@foo=1,bar=2',
        'foo@@bar=1,bar=2',
        'foo@bar@baz=1,bar=2',
      ]) {
        const { tracestate } = await single([
          ['traceparent', TP00],
          ['tracestate', value],
        ]);
        expect(tracestate.map.has('bar')).toBe(false);
      }
    });
    check('test_tracestate_member_count_limit', async () => {
      const bar = (n: number) => `bar${String(n).padStart(2, '0')}=${String(n).padStart(2, '0')}`;
      const lines = (n: number): HeaderLine[] =>
        [0, 10, 20, 30]
          .filter((start) => start < n)
          .map((start) => [
            'tracestate',
            Array.from({ length: Math.min(10, n - start) }, (_, i) => bar(start + i + 1)).join(','),
          ]);
      const ok = await single([['traceparent', TP00], ...lines(32)]);
      expect(ok.tracestate.map.get('bar01')).toBe('01');
      expect(ok.tracestate.map.size).toBe(32);
      const over = await single([['traceparent', TP00], ...lines(33)]);
      expect(over.tracestate.map.has('bar01')).toBe(false);
    });
    check('test_tracestate_key_length_limit', async () => {
      const withSecond = async (second: string) =>
        (
          await single([
            ['traceparent', TP00],
            ['tracestate', 'foo=1'],
            ['tracestate', second],
          ])
        ).tracestate.map;
      expect((await withSecond(`${'z'.repeat(256)}=1`)).get('foo')).toBe('1');
      expect((await withSecond(`${'z'.repeat(257)}=1`)).has('foo')).toBe(false);
      expect((await withSecond(`${'t'.repeat(241)}@${'v'.repeat(14)}=1`)).get('foo')).toBe('1');
      expect((await withSecond(`${'t'.repeat(242)}@v=1`)).has('foo')).toBe(false);
      expect((await withSecond(`t@${'v'.repeat(15)}=1`)).has('foo')).toBe(false);
    });
    check('test_tracestate_value_illegal_characters', async () => {
      const a = await single([
        ['traceparent', TP00],
        ['tracestate', 'foo=bar=baz'],
      ]);
      expect(a.tracestate.map.has('foo')).toBe(false);
      const b = await single([
        ['traceparent', TP00],
        ['tracestate', 'foo=,bar=3'],
      ]);
      expect(b.tracestate.map.has('foo')).toBe(false);
      expect(b.tracestate.map.has('bar')).toBe(false);
    });

    // ---- AdvancedTest ----
    async function three(headers: HeaderLine[]) {
      const callbacks = await makeRequest(headers, 3);
      const parents = callbacks.map((cb) => traceparentOf(cb));
      return {
        traceIds: new Set(parents.map((p) => p.traceId)),
        parentIds: new Set(parents.map((p) => p.parentId)),
      };
    }
    check('test_multiple_requests_with_valid_traceparent', async () => {
      const { traceIds, parentIds } = await three([['traceparent', TP()]]);
      expect([...traceIds]).toEqual([T]);
      expect(parentIds.size).toBe(3);
    });
    check('test_multiple_requests_without_traceparent', async () => {
      const { traceIds, parentIds } = await three([]);
      expect(traceIds.size).toBe(1);
      expect(parentIds.size).toBe(3);
    });
    check('test_multiple_requests_with_illegal_traceparent', async () => {
      const { traceIds, parentIds } = await three([
        ['traceparent', `00-${'0'.repeat(32)}-${P}-01`],
      ]);
      expect(traceIds.has('0'.repeat(32))).toBe(false);
      expect(traceIds.size).toBe(1);
      expect(parentIds.size).toBe(3);
    });

    // ---- Level 2: the random-trace-id flag (bit 1 of trace-flags) ----
    check('level 2: random-trace-id flag kept with the caller trace', async () => {
      for (const flags of ['02', '03']) {
        const { traceparent } = await single([['traceparent', TP(flags)]]);
        expect(traceparent.traceId).toBe(T);
        expect(parseInt(traceparent.flags, 16) & 2).toBe(2);
      }
      const { traceparent } = await single([['traceparent', TP('01')]]);
      expect(parseInt(traceparent.flags, 16) & 2).toBe(0);
    });
    check('level 2: random-trace-id flag set on a trace started here', async () => {
      for (const headers of [[], [['traceparent', `ff-${T}-${P}-01`]]] as HeaderLine[][]) {
        const { traceparent } = await single(headers);
        expect(parseInt(traceparent.flags, 16) & 2).toBe(2);
        expect(parseInt(traceparent.flags, 16) & ~3).toBe(0);
      }
    });
  });
}
