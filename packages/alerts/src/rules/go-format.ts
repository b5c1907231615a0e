// Go's number formatting as Prometheus's templates print values: fmt's %v/%g/%e/%f of a float64 and
// the humanize functions of prometheus/template, so annotations read as Prometheus writes them.

/** Digits and decimal exponent of |v| rounded to `prec` significant digits (shortest when -1). */
function decimalDigits(v: number, prec: number): { digits: string; exp: number } {
  const tie = prec > 0 ? roundHalfEven(Math.abs(v), prec) : undefined;
  if (tie !== undefined) return tie;
  const text = prec < 0 ? Math.abs(v).toExponential() : Math.abs(v).toExponential(prec - 1);
  const [mantissa = '0', exponent = '0'] = text.split('e');
  const digits = mantissa.replace('.', '').replace(/0+$/, '') || '0';
  return { digits, exp: Number(exponent) };
}

/**
 * JavaScript rounds an exact tie up (12345 to 4 digits: 1.235e+04); Go's strconv rounds it to even
 * (1.234e+04). Returns the digits for an exact tie, undefined otherwise.
 */
function roundHalfEven(v: number, prec: number): { digits: string; exp: number } | undefined {
  // Every double's decimal expansion is finite; a tie at prec+1 digits fits in 100.
  const [mantissa = '0', exponent = '0'] = v.toExponential(99).split('e');
  const all = mantissa.replace('.', '');
  if (!/^50*$/.test(all.slice(prec))) return undefined;
  const kept = all.slice(0, prec);
  let exp = Number(exponent);
  const last = Number(kept[kept.length - 1] ?? '0');
  if (last % 2 === 0) return { digits: kept.replace(/0+$/, '') || '0', exp };
  // Round up: add one at the last kept digit, carrying.
  const up = (BigInt(kept) + 1n).toString();
  if (up.length > kept.length) exp++;
  return { digits: up.slice(0, prec).replace(/0+$/, '') || '0', exp };
}

function special(v: number): string | undefined {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return undefined;
}

function exponent(exp: number): string {
  const abs = Math.abs(exp);
  return `e${exp < 0 ? '-' : '+'}${abs < 10 ? `0${abs}` : String(abs)}`;
}

/** Go's `%g` (prec -1: shortest, as `%v` prints a float64) and `%.Ng`. */
export function formatG(v: number, prec = -1): string {
  const s = special(v);
  if (s !== undefined) return s;
  const sign = v < 0 || Object.is(v, -0) ? '-' : '';
  if (v === 0) return `${sign}0`;
  const p = prec === 0 ? 1 : prec;
  const { digits, exp } = decimalDigits(v, p);
  const eprec = p < 0 ? 6 : p;
  if (exp < -4 || exp >= eprec) {
    const rest = digits.slice(1);
    return `${sign}${digits[0] ?? '0'}${rest === '' ? '' : `.${rest}`}${exponent(exp)}`;
  }
  if (exp < 0) return `${sign}0.${'0'.repeat(-exp - 1)}${digits}`;
  const int = digits.slice(0, exp + 1).padEnd(exp + 1, '0');
  const frac = digits.slice(exp + 1);
  return `${sign}${int}${frac === '' ? '' : `.${frac}`}`;
}

/** Go's `%.Ne` (default precision 6). */
export function formatE(v: number, prec = 6): string {
  const s = special(v);
  if (s !== undefined) return s;
  const text = v.toExponential(prec);
  const [mantissa = '0', exp = '0'] = text.split('e');
  return mantissa + exponent(Number(exp));
}

/** Go's `%.Nf` (default precision 6). */
export function formatF(v: number, prec = 6): string {
  const s = special(v);
  if (s !== undefined) return s;
  if (Math.abs(v) >= 1e21) {
    // toFixed switches to exponent form there; Go writes every digit.
    return BigInt(Math.round(v)).toString() + (prec > 0 ? `.${'0'.repeat(prec)}` : '');
  }
  return v.toFixed(prec);
}

const BIG = ['k', 'M', 'G', 'T', 'P', 'E', 'Z', 'Y'];
const SMALL = ['m', 'u', 'n', 'p', 'f', 'a', 'z', 'y'];

/** prometheus/template `humanize`: SI prefixes, 4 significant digits. */
export function humanize(value: number): string {
  let v = value;
  if (v === 0 || !Number.isFinite(v)) return formatG(v, 4);
  let prefix = '';
  if (Math.abs(v) >= 1) {
    for (const p of BIG) {
      if (Math.abs(v) < 1000) break;
      prefix = p;
      v /= 1000;
    }
    return formatG(v, 4) + prefix;
  }
  for (const p of SMALL) {
    if (Math.abs(v) >= 1) break;
    prefix = p;
    v *= 1000;
  }
  return formatG(v, 4) + prefix;
}

/** prometheus/template `humanize1024`: binary prefixes. */
export function humanize1024(value: number): string {
  let v = value;
  if (Math.abs(v) <= 1 || !Number.isFinite(v)) return formatG(v, 4);
  let prefix = '';
  for (const p of ['ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei', 'Zi', 'Yi']) {
    if (Math.abs(v) < 1024) break;
    prefix = p;
    v /= 1024;
  }
  return formatG(v, 4) + prefix;
}

/** prometheus/template `humanizePercentage`. */
export function humanizePercentage(v: number): string {
  return `${formatG(v * 100, 4)}%`;
}

/** prometheus/template `humanizeDuration`: seconds as `1d 2h 3m 4s`, or `1.5s`, `250ms`. */
export function humanizeDuration(value: number): string {
  let v = value;
  if (!Number.isFinite(v)) return formatG(v, 4);
  if (v === 0) return `${formatG(v, 4)}s`;
  if (Math.abs(v) >= 1) {
    const sign = v < 0 ? '-' : '';
    v = Math.abs(v);
    const duration = Math.trunc(v);
    const seconds = duration % 60;
    const minutes = Math.trunc(duration / 60) % 60;
    const hours = Math.trunc(duration / 3600) % 24;
    const days = Math.trunc(duration / 86400);
    if (days !== 0) return `${sign}${days}d ${hours}h ${minutes}m ${seconds}s`;
    if (hours !== 0) return `${sign}${hours}h ${minutes}m ${seconds}s`;
    if (minutes !== 0) return `${sign}${minutes}m ${seconds}s`;
    return `${sign}${formatG(v, 4)}s`;
  }
  let prefix = '';
  for (const p of SMALL) {
    if (Math.abs(v) >= 1) break;
    prefix = p;
    v *= 1000;
  }
  return `${formatG(v, 4)}${prefix}s`;
}

/** prometheus/template `humanizeTimestamp`: seconds since the epoch as Go prints a UTC time. */
export function humanizeTimestamp(v: number): string {
  if (!Number.isFinite(v)) return formatG(v, 4);
  const d = new Date(v * 1000);
  const iso = d.toISOString(); // 2026-01-01T00:00:00.000Z
  const frac = iso.slice(20, 23).replace(/0+$/, '');
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}${frac === '' ? '' : `.${frac}`} +0000 UTC`;
}
