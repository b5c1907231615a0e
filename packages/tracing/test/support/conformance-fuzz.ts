// Seeded generators of hostile propagation headers: near-valid mutations of valid values and random
// bytes, always legal for Node's HTTP client (HTAB, SP to ~, and latin-1 0x80-0xFF; never CR, LF, NUL).
import type { HeaderList } from './conformance-harness';
import { hexId, prng } from './conformance-w3c';

type Random = () => number;

const int = (r: Random, lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
const chance = (r: Random, p: number) => r() < p;
function pick<T>(r: Random, xs: readonly T[]): T {
  return xs[Math.floor(r() * xs.length)] as T;
}

/** One character Node's client accepts in a header value. */
export function legalChar(r: Random): string {
  const n = Math.floor(r() * 192);
  if (n === 0) return '\t';
  return String.fromCharCode(n < 96 ? 0x1f + n : 0x80 + (n - 96));
}

export function legalString(r: Random, length: number): string {
  let s = '';
  for (let i = 0; i < length; i++) s += legalChar(r);
  return s;
}

function charsFrom(r: Random, alphabet: string, length: number): string {
  let s = '';
  for (let i = 0; i < length; i++) s += alphabet[Math.floor(r() * alphabet.length)];
  return s;
}

const LOWER = 'abcdefghijklmnopqrstuvwxyz';
const DIGITS = '0123456789';
const TS_KEY_CHARS = `${LOWER}${DIGITS}_-*/`;
const TS_VALUE_CHARS = Array.from({ length: 0x7f - 0x21 }, (_, i) => String.fromCharCode(0x21 + i))
  .filter((c) => c !== ',' && c !== '=')
  .join('');
const TOKEN = `${LOWER}${LOWER.toUpperCase()}${DIGITS}!#$&'*+.^_\`|~-`;
const SAFE_ID = `${LOWER}${LOWER.toUpperCase()}${DIGITS}._:-`;

// --- traceparent ----------------------------------------------------------------------------------

function validTraceparent(r: Random): string {
  const version = chance(r, 0.8) ? '00' : pick(r, ['01', '02', 'cc', 'fe', '7f']);
  const flags = chance(r, 0.7) ? pick(r, ['00', '01']) : hexId(r, 1);
  const base = `${version}-${hexId(r, 16)}-${hexId(r, 8)}-${flags}`;
  if (version !== '00' && chance(r, 0.5)) return `${base}-${legalString(r, int(r, 0, 20))}`;
  return base;
}

const TRACEPARENT_MUTATIONS: ((v: string, r: Random) => string)[] = [
  (v, r) => {
    const i = int(r, 0, Math.max(0, v.length - 1));
    return v.slice(0, i) + legalChar(r) + v.slice(i + 1);
  },
  (v, r) => {
    const i = int(r, 0, Math.max(0, v.length - 1));
    return v.slice(0, i) + pick(r, [...'0123456789abcdefABCDEF-']) + v.slice(i + 1);
  },
  // ASCII only: latin-1 letters such as µ and ÿ upper-case to characters a header cannot carry.
  (v) => v.replace(/[a-f]/g, (c) => c.toUpperCase()),
  (v, r) => {
    const i = int(r, 0, Math.max(0, v.length - 1));
    return v.slice(0, i) + v.slice(i + 1);
  },
  (v, r) => {
    const i = int(r, 0, v.length);
    return v.slice(0, i) + legalChar(r) + v.slice(i);
  },
  (v) => `${v.slice(0, 3)}${'0'.repeat(32)}${v.slice(35)}`,
  (v) => `${v.slice(0, 36)}${'0'.repeat(16)}${v.slice(52)}`,
  (v) => `ff${v.slice(2)}`,
  (v, r) => `${v}-${legalString(r, int(r, 0, 12))}`,
  (v, r) => {
    const pad = () => pick(r, [' ', '\t', '\xa0', '  ']);
    return chance(r, 0.5) ? pad() + v : v + pad();
  },
  (v, r) => v.slice(0, int(r, 0, v.length)),
];

function traceparentLines(r: Random): string[] {
  const k = r();
  if (k < 0.3) return [validTraceparent(r)];
  if (k < 0.75) {
    let v = validTraceparent(r);
    for (let n = int(r, 1, 3); n > 0; n--) v = pick(r, TRACEPARENT_MUTATIONS)(v, r);
    return [v];
  }
  if (k < 0.9) return [legalString(r, chance(r, 0.5) ? 55 : int(r, 0, 100))];
  return [
    validTraceparent(r),
    chance(r, 0.5) ? validTraceparent(r) : legalString(r, int(r, 0, 60)),
  ];
}

// --- tracestate -----------------------------------------------------------------------------------

function tracestateMember(r: Random): string {
  const k = r();
  const key = () => pick(r, [...LOWER]) + charsFrom(r, TS_KEY_CHARS, int(r, 0, 10));
  const value = () => charsFrom(r, TS_VALUE_CHARS, int(r, 1, 20));
  if (k < 0.5) return `${key()}=${value()}`;
  if (k < 0.6)
    return `${charsFrom(r, LOWER + DIGITS, int(r, 1, 8))}@${pick(r, [...LOWER])}${charsFrom(r, LOWER, int(r, 0, 15))}=${value()}`;
  if (k < 0.65) return `${pick(r, [...LOWER])}${charsFrom(r, TS_KEY_CHARS, int(r, 250, 260))}=1`;
  if (k < 0.7) return `${key()}=${charsFrom(r, TS_VALUE_CHARS, int(r, 250, 260))}`;
  if (k < 0.8) return `${key().toUpperCase()}=${value()}`;
  if (k < 0.85) return `${key()}=${legalString(r, int(r, 0, 10))}`;
  if (k < 0.9) return pick(r, ['', ' ', '\t', 'novalue', '=x', `${key()}=`]);
  return legalString(r, int(r, 0, 30));
}

function tracestateLines(r: Random): string[] {
  if (chance(r, 0.1)) return [legalString(r, int(r, 0, 200))];
  const members = () =>
    Array.from({ length: chance(r, 0.15) ? int(r, 30, 40) : int(r, 0, 8) }, () =>
      tracestateMember(r),
    ).join(pick(r, [',', ', ', ' ,\t']));
  return chance(r, 0.15) ? [members(), members()] : [members()];
}

// --- baggage --------------------------------------------------------------------------------------

function unicodeString(r: Random, length: number): string {
  let s = '';
  for (let i = 0; i < length; i++) {
    const k = r();
    const cp =
      k < 0.5
        ? int(r, 0x20, 0x7e)
        : k < 0.6
          ? int(r, 0, 0x1f)
          : k < 0.8
            ? int(r, 0xa0, 0x7ff)
            : k < 0.95
              ? int(r, 0x800, 0xd7ff)
              : int(r, 0x10000, 0x10ffff);
    s += String.fromCodePoint(cp);
  }
  return s;
}

function baggageValue(r: Random): string {
  const k = r();
  if (k < 0.45) return encodeURIComponent(unicodeString(r, int(r, 1, 12)));
  if (k < 0.6) return pick(r, ['%zz', '100%', '%E2%82', '%ED%A0%80', '%', '%0', '%G1', 'a%2']);
  if (k < 0.7) return `x${pick(r, ['%0D%0A', '%0A', '%0D', '%00'])}y`;
  if (k < 0.85) return legalString(r, int(r, 1, 16)).replace(/,/g, '');
  if (k < 0.9) return 'x'.repeat(int(r, 1000, 5000));
  return '';
}

function baggageMember(r: Random): string {
  const key = chance(r, 0.85)
    ? charsFrom(r, TOKEN, int(r, 1, 12))
    : pick(r, ['%zz', '%41', ' ', 'k ey', encodeURIComponent(unicodeString(r, 3))]);
  let m = chance(r, 0.05) ? key : `${key}=${baggageValue(r)}`;
  if (chance(r, 0.2)) m += pick(r, [';prop', ';p=1', ';p=%0D%0A', '; p = x ;q', ';']);
  if (chance(r, 0.15)) m = ` ${m}\t`;
  if (chance(r, 0.05)) m = legalString(r, int(r, 0, 40)).replace(/,/g, '');
  return m;
}

function baggageLines(r: Random): string[] {
  if (chance(r, 0.05)) return [legalString(r, int(r, 0, 300))];
  const members = () => {
    const out: string[] = [];
    let size = 0;
    const n = chance(r, 0.1) ? int(r, 60, 90) : int(r, 0, 10);
    // Bounded so a request stays well under the service's header size limit.
    for (let i = 0; i < n && size < 12_000; i++) {
      const m = baggageMember(r);
      out.push(m);
      size += m.length + 1;
    }
    return out.join(',');
  };
  return chance(r, 0.1) ? [members(), members()] : [members()];
}

// --- request ids ----------------------------------------------------------------------------------

function idValue(r: Random): string {
  const k = r();
  if (k < 0.35) return charsFrom(r, SAFE_ID, chance(r, 0.9) ? int(r, 1, 64) : int(r, 120, 140));
  if (k < 0.45) {
    return `${hexId(r, 4)}-${hexId(r, 2)}-4${hexId(r, 2).slice(1)}-a${hexId(r, 2).slice(1)}-${hexId(r, 6)}`;
  }
  if (k < 0.75) return legalString(r, int(r, 0, 64));
  if (k < 0.8) return 'r'.repeat(16 * 1024);
  if (k < 0.95) {
    return pick(r, [
      'id level=error msg=forged',
      'a=b',
      '"quoted"',
      "'quoted'",
      '<script>x()</script>',
      'a b',
      Buffer.from('réq-ïd').toString('latin1'),
      'x\ty',
    ]);
  }
  return '';
}

function idLines(r: Random): string[] {
  return chance(r, 0.1) ? [idValue(r), idValue(r)] : [idValue(r)];
}

// --- a whole variant ------------------------------------------------------------------------------

/** Variant `index` of the run seeded with `seed`: the same pair always gives the same headers. */
export function fuzzVariant(seed: number, index: number): { headers: HeaderList; service: number } {
  const r = prng((seed ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0);
  const headers: [string, string][] = [];
  const add = (name: string, values: string[]) => {
    for (const v of values) headers.push([name, v]);
  };
  if (chance(r, 0.9)) add('traceparent', traceparentLines(r));
  if (chance(r, 0.6)) add('tracestate', tracestateLines(r));
  if (chance(r, 0.6)) add('baggage', baggageLines(r));
  if (chance(r, 0.7)) add('x-request-id', idLines(r));
  if (chance(r, 0.5)) add('x-correlation-id', idLines(r));
  // Header order is free on the wire; repeated names need not be adjacent.
  for (let i = headers.length - 1; i > 0; i--) {
    const j = int(r, 0, i);
    [headers[i], headers[j]] = [headers[j] as [string, string], headers[i] as [string, string]];
  }
  return { headers, service: Math.floor(r() * 1_000_000) };
}
