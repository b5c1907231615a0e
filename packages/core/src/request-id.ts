// Request and correlation ids: accepted from callers only when short and of a safe alphabet.

/** Longest id accepted from a caller. */
export const MAX_ID_LENGTH = 128;

// Letters, digits and `._:-`: no spaces, `=`, quotes or markup, so an id can never forge a log field
// or break out of a header. UUIDs, ULIDs, and the ids of common proxies all fit.
const SAFE_ID = /^[A-Za-z0-9._:-]+$/;

/**
 * The id a caller sent, or undefined when it is missing, duplicated (Node joins repeated headers with
 * ", "), too long, or uses characters outside the safe alphabet.
 */
export function acceptId(value: string | string[] | undefined): string | undefined {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_ID_LENGTH)
    return undefined;
  return SAFE_ID.test(value) ? value : undefined;
}

/** A fresh id (a random UUID). */
export function generateId(): string {
  return crypto.randomUUID();
}
