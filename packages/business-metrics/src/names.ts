// Naming rules: what `promtool check metrics` lints, the unit suffix, and Vigil's own signal names.
//
// The rules mirror Prometheus's promlint (client_golang testutil/promlint), so a catalogue that
// defines cleanly is one promtool accepts: snake_case, no colons, `_total` on counters only, no type
// word in the name, base units only, no abbreviated units, no histogram suffixes on other types.

/** Names of Vigil's contract signals (ARCHITECTURE.md); a business metric may not take one. */
export const RESERVED_METRIC_NAMES: readonly string[] = Object.freeze([
  'http_requests_total',
  'http_request_duration_seconds',
  'http_request_size_bytes',
  'http_response_size_bytes',
  'http_requests_in_flight',
  'http_server_request_duration_seconds',
  'http_server_request_body_size_bytes',
  'http_server_response_body_size_bytes',
  'http_server_active_requests',
  'rate_limit_requests_total',
  'audit_events_total',
  'alerts_firing',
]);

/** promlint's base units. */
export const BASE_UNITS: readonly string[] = Object.freeze([
  'amperes',
  'bytes',
  'celsius',
  'grams',
  'joules',
  'kelvin',
  'meters',
  'metres',
  'seconds',
  'volts',
]);

// promlint's non-base units and the base unit to use instead.
const NON_BASE_UNITS: Readonly<Record<string, string>> = {
  minutes: 'seconds',
  hours: 'seconds',
  days: 'seconds',
  weeks: 'seconds',
  kelvins: 'kelvin',
  fahrenheit: 'celsius',
  rankine: 'celsius',
  inches: 'meters',
  yards: 'meters',
  miles: 'meters',
  bits: 'bytes',
  calories: 'joules',
  pounds: 'grams',
  ounces: 'grams',
};

const UNIT_PREFIXES = [
  'pico',
  'nano',
  'micro',
  'milli',
  'centi',
  'deci',
  'deca',
  'hecto',
  'kilo',
  'kibi',
  'mega',
  'mibi',
  'giga',
  'gibi',
  'tera',
  'tebi',
  'peta',
  'pebi',
];

const UNIT_ABBREVIATIONS = new Set([
  's',
  'ms',
  'us',
  'ns',
  'sec',
  'b',
  'kb',
  'mb',
  'gb',
  'tb',
  'pb',
  'm',
  'h',
  'd',
]);

const TYPE_WORDS = ['counter', 'gauge', 'histogram', 'summary'];
const CAMEL_CASE = /[a-z][A-Z]/;

/** The base unit to use instead of `word`, when `word` is a non-base or prefixed unit. */
export function nonBaseUnit(word: string): string | undefined {
  const lower = word.toLowerCase();
  const direct = NON_BASE_UNITS[lower];
  if (direct !== undefined) return direct;
  for (const prefix of UNIT_PREFIXES) {
    if (!lower.startsWith(prefix)) continue;
    const rest = lower.slice(prefix.length);
    if (BASE_UNITS.includes(rest)) return rest;
    const base = NON_BASE_UNITS[rest];
    if (base !== undefined) return base;
  }
  return undefined;
}

/** Why `name` breaks a promlint naming rule (type-independent ones), or undefined. */
export function nameProblem(name: string): string | undefined {
  if (name.includes(':')) return 'colons are reserved for recording rules';
  if (CAMEL_CASE.test(name)) return 'metric names are written in snake_case, not camelCase';
  const lower = name.toLowerCase();
  for (const word of TYPE_WORDS) {
    if (lower.includes(`_${word}_`) || lower.endsWith(`_${word}`)) {
      return `the name must not include the metric type ("${word}")`;
    }
  }
  const segments = lower.split('_');
  for (let i = 1; i < segments.length; i++) {
    const s = segments[i]!;
    if (UNIT_ABBREVIATIONS.has(s)) return `abbreviated unit "${s}": spell the base unit out`;
  }
  for (const s of segments) {
    const base = nonBaseUnit(s);
    if (base !== undefined) return `use the base unit "${base}" instead of "${s}"`;
  }
  return undefined;
}

/** Why `unit` is not a usable unit, or undefined. */
export function unitProblem(unit: string): string | undefined {
  if (!/^[a-z][a-z0-9]*(_[a-z0-9]+)*$/.test(unit)) return 'a lower-case snake_case word';
  if (unit === 'total') return 'not "total" (that is the counter suffix, not a unit)';
  const base = nonBaseUnit(unit);
  if (base !== undefined) return `a base unit: "${base}" instead of "${unit}"`;
  if (UNIT_ABBREVIATIONS.has(unit)) return `a unit spelled out, not the abbreviation "${unit}"`;
  if (TYPE_WORDS.includes(unit)) return 'a unit, not a metric type';
  return undefined;
}

/** The unit a name ends with, when it is a base unit (`upload_size_bytes` -> `bytes`), or null. */
export function unitFromName(name: string, counter: boolean): string | null {
  const stem = counter ? name.replace(/_total$/, '') : name;
  const last = stem.slice(stem.lastIndexOf('_') + 1);
  return stem.includes('_') && BASE_UNITS.includes(last) ? last : null;
}

/** Why `name` is not a usable label name (beyond the Prometheus pattern), or undefined. */
export function labelNameProblem(name: string): string | undefined {
  if (name.startsWith('__')) return 'names starting with "__" are reserved for Prometheus';
  if (CAMEL_CASE.test(name)) return 'label names are written in snake_case, not camelCase';
  if (name === 'le') return '"le" is the histogram bucket label';
  if (name === 'quantile') return '"quantile" is the summary label';
  return undefined;
}
