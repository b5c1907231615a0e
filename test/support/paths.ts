// Reproducible hostile request targets: random 404 paths and random ids for a parameterised route.
export { seededRandom } from '@vigil/test-utils';

// First segments that no test app routes (so a random path is always a 404).
const WORDS = [
  'products',
  'cart',
  'wp-admin',
  'login',
  '.env',
  'static',
  'img',
  'search',
  'blog',
  'cgi-bin',
  'docs',
  'graphql',
  'node_modules',
  'health-check',
  'xmlrpc.php',
  'phpmyadmin',
];

function pick<T>(rand: () => number, items: readonly T[]): T {
  return items[Math.floor(rand() * items.length)]!;
}

function hex(rand: () => number, length: number): string {
  let out = '';
  while (out.length < length) out += Math.floor(rand() * 16).toString(16);
  return out;
}

function uuid(rand: () => number): string {
  return `${hex(rand, 8)}-${hex(rand, 4)}-4${hex(rand, 3)}-a${hex(rand, 3)}-${hex(rand, 12)}`;
}

/**
 * The `i`th random 404 path: word-like segments, ids, UUIDs, broken percent-escapes, traversal, quotes
 * and backslashes, very long paths. `i` is part of every path, so all paths are distinct.
 */
export function randomNotFoundPath(rand: () => number, i: number): string {
  const word = pick(rand, WORDS);
  switch (i % 8) {
    case 0:
      return `/${word}/${pick(rand, WORDS)}-${i}`;
    case 1:
      return `/${word}/${i}/items/${Math.floor(rand() * 1e9)}`;
    case 2:
      return `/${word}/${uuid(rand)}/${i}`;
    case 3:
      return `/%ZZ${i}/%E0%A4%A/%${hex(rand, 1)}`;
    case 4:
      return `/${word}/..%2F..%2Fetc%2Fpasswd/${i}?q=%ZZ&x="${i}"`;
    case 5:
      return `/${word}/"${i}"/it's/a\\b`;
    case 6:
      return `/${word}/${'x'.repeat(1_000 + Math.floor(rand() * 3_000))}/${i}`;
    default:
      return `/${word}/${i}/${encodeURIComponent(`${pick(rand, WORDS)} ü ${hex(rand, 6)}`)}/`;
  }
}

/** The `i`th random value of a `:id` parameter: numbers, UUIDs, e-mail-like and encoded ids. */
export function randomId(rand: () => number, i: number): string {
  switch (i % 4) {
    case 0:
      return String(1_000_000 + i);
    case 1:
      return uuid(rand);
    case 2:
      return `user${i}%40example.com`;
    default:
      return `${hex(rand, 6)}-${i}`;
  }
}
