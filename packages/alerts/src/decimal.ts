// Exact decimal arithmetic for thresholds written into rules: 14.4 * (1 - 0.999) is 0.0144, never 0.014400000000000055.

/** A decimal number: `units / 10^scale`, exactly. */
export interface Decimal {
  readonly units: bigint;
  readonly scale: number;
}

const DECIMAL_PATTERN = /^(-)?(\d+)(?:\.(\d+))?(?:e([+-]?\d+))?$/i;

/**
 * The decimal a number is written as (JavaScript's shortest round-trip form: 0.999 is "0.999"), or a
 * decimal string. Returns undefined for NaN, infinities and malformed strings.
 */
export function parseDecimal(value: number | string): Decimal | undefined {
  if (typeof value === 'number' && !Number.isFinite(value)) return undefined;
  const text = typeof value === 'number' ? String(value) : value.trim();
  const m = DECIMAL_PATTERN.exec(text);
  if (m === null) return undefined;
  const [, sign, int, frac = '', exp = '0'] = m;
  let units = BigInt(`${int}${frac}`);
  let scale = frac.length - Number(exp);
  if (scale < 0) {
    units *= 10n ** BigInt(-scale);
    scale = 0;
  }
  return normalize({ units: sign === '-' ? -units : units, scale });
}

/** Removes trailing zeros, so equal values have one representation. */
function normalize(d: Decimal): Decimal {
  let { units, scale } = d;
  while (scale > 0 && units % 10n === 0n) {
    units /= 10n;
    scale -= 1;
  }
  return { units, scale };
}

function align(a: Decimal, b: Decimal): [bigint, bigint, number] {
  const scale = Math.max(a.scale, b.scale);
  return [
    a.units * 10n ** BigInt(scale - a.scale),
    b.units * 10n ** BigInt(scale - b.scale),
    scale,
  ];
}

export function add(a: Decimal, b: Decimal): Decimal {
  const [x, y, scale] = align(a, b);
  return normalize({ units: x + y, scale });
}

export function sub(a: Decimal, b: Decimal): Decimal {
  const [x, y, scale] = align(a, b);
  return normalize({ units: x - y, scale });
}

export function mul(a: Decimal, b: Decimal): Decimal {
  return normalize({ units: a.units * b.units, scale: a.scale + b.scale });
}

/** -1, 0 or 1. */
export function compare(a: Decimal, b: Decimal): number {
  const [x, y] = align(a, b);
  return x < y ? -1 : x > y ? 1 : 0;
}

export function decimalOf(value: number | string): Decimal {
  const d = parseDecimal(value);
  if (d === undefined) throw new TypeError(`not a decimal: ${String(value)}`);
  return d;
}

/** The plain decimal form, never an exponent: 0.0000144, 14.4, 3. */
export function formatDecimal(d: Decimal): string {
  const negative = d.units < 0n;
  const digits = (negative ? -d.units : d.units).toString();
  if (d.scale === 0) return `${negative ? '-' : ''}${digits}`;
  const padded = digits.padStart(d.scale + 1, '0');
  const int = padded.slice(0, padded.length - d.scale);
  const frac = padded.slice(padded.length - d.scale);
  return `${negative ? '-' : ''}${int}.${frac}`;
}

/** The value as a float (for comparisons that need no exactness). */
export function toNumber(d: Decimal): number {
  return Number(formatDecimal(d));
}
