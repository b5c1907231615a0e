// HTTP method normalisation: the standard methods keep their name, everything else becomes OTHER.

/** The label value shared by every method outside the standard set. */
export const OTHER_METHOD = 'OTHER';

/** Standard methods (RFC 9110 plus PATCH), in a fixed order so they can be indexed. */
export const STANDARD_METHODS = [
  'GET',
  'HEAD',
  'POST',
  'PUT',
  'DELETE',
  'CONNECT',
  'OPTIONS',
  'TRACE',
  'PATCH',
] as const;

const INDEX: Record<string, number> = Object.create(null) as Record<string, number>;
STANDARD_METHODS.forEach((m, i) => (INDEX[m] = i));

/** Index of a method in STANDARD_METHODS, or STANDARD_METHODS.length for OTHER. */
export function methodIndex(method: string | undefined): number {
  // Node upper-cases methods it parses; anything unusual falls through to OTHER.
  const i = method === undefined ? undefined : INDEX[method];
  return i === undefined ? STANDARD_METHODS.length : i;
}

/** Bounded label value for a request method. */
export function normalizeMethod(method: string | undefined): string {
  return METHOD_LABELS[methodIndex(method)] as string;
}

/** Label values by methodIndex(). */
export const METHOD_LABELS: readonly string[] = Object.freeze([...STANDARD_METHODS, OTHER_METHOD]);
