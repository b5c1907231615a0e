// PromQL text helpers: label matchers with correct escaping, `le` matchers that survive Prometheus 3, names.
import { formatDecimal, decimalOf } from './decimal';

/** A PromQL double-quoted string literal. */
export function quote(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
}

/** Escapes regular-expression syntax, so a value matches itself only. */
export function escapeRegex(value: string): string {
  return value.replace(/[.*+?^${}()|[\]\\/]/g, (c) => (c === '/' ? c : `\\${c}`));
}

/** One matcher: `name="v"`, or `name=~"a|b"` for several values. */
export function matchAny(name: string, values: readonly string[]): string {
  if (values.length === 1) return `${name}=${quote(values[0] as string)}`;
  return `${name}=~${quote(values.map(escapeRegex).join('|'))}`;
}

/** A selector `metric{a="b",c=~"d"}` (the braces left out when there are no matchers). */
export function selector(metric: string, matchers: readonly string[]): string {
  return matchers.length === 0 ? metric : `${metric}{${matchers.join(',')}}`;
}

/** Matchers for an exact label set, in key order. */
export function exactMatchers(labels: Readonly<Record<string, string>> | undefined): string[] {
  if (labels === undefined) return [];
  return Object.keys(labels)
    .sort()
    .map((k) => `${k}=${quote(labels[k] as string)}`);
}

/**
 * The `le` matcher of one bucket. Prometheus 3 stores the `le` of classic histograms normalised as a
 * float (`le="1"` scraped from prom-client is stored as `le="1.0"`), 2.x as scraped: an integer bound
 * matches both forms, so the same rules work on either server.
 */
export function leMatcher(bound: number): string {
  const text = formatDecimal(decimalOf(bound));
  const pattern = Number.isInteger(bound) ? `${text}(\\.0)?` : escapeRegex(text);
  return `le=~${quote(pattern)}`;
}

/** `api-availability` -> `ApiAvailability`; `uploads_total` -> `UploadsTotal`. */
export function camelCase(text: string): string {
  return text
    .split(/[^A-Za-z0-9]+/)
    .filter((w) => w !== '')
    .map((w) => w[0]!.toUpperCase() + w.slice(1))
    .join('');
}

/** `by (a, b) ` or empty. */
export function byClause(labels: readonly string[]): string {
  return labels.length === 0 ? '' : `by (${labels.join(', ')}) `;
}

/** The percentage text of a fraction, exactly: 0.0144 -> `1.44%`. */
export function percent(fraction: string): string {
  return `${formatDecimal(decimalOf(`${fraction}e2`))}%`;
}
