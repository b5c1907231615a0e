// Lists of paths in options (ignorePaths, skipPaths, policy routes): validated once into one matcher,
// and the canonical form of a path that matchers agree on with the frameworks' routing.
import { type OptionContext, optionError } from './errors';

/** A path in a path-list option: an exact path, or a RegExp tested on the path. */
export type PathPattern = string | RegExp;

/** How a path list compares. */
export interface PathMatchRules {
  /**
   * Strings compare without ASCII case and trailing slashes, as Express and Koa route by default
   * (`/METRICS/` reaches `/metrics`); RegExps are tested on the path as received. Deliberately not
   * the canonical form: a list that exempts requests (rate-limit skip paths) must only match
   * spellings the framework routes to the exempt endpoint itself, never `//metrics` or
   * `/x/../metrics`. Default `false`: exact.
   */
  folded?: boolean;
}

/**
 * `path` with every run of slashes reduced to one. Express 4 swallows one extra slash after each
 * mount point, so `/api//auth/login` reaches `/auth/login` of a router mounted at `/api`.
 */
export function collapseSlashes(path: string): string {
  return path.includes('//') ? path.replace(/\/{2,}/g, '/') : path;
}

/** `path` in ASCII lower case without trailing slashes (`/` stays `/`): how routes compare by default. */
export function foldPath(path: string): string {
  let end = path.length;
  while (end > 1 && path.charCodeAt(end - 1) === 47) end--;
  const trimmed = end === path.length ? path : path.slice(0, end);
  for (let i = 0; i < trimmed.length; i++) {
    const c = trimmed.charCodeAt(i);
    if (c >= 65 && c <= 90) return trimmed.toLowerCase();
  }
  return trimmed;
}

/**
 * True when `path` is canonical already: starts with `/`, and has no ASCII capital, `%`, `\`, `;`,
 * empty segment (`//`, trailing `/`), or `.` / `..` segment. One pass, no allocation: most requests
 * take only this.
 */
function isCanonical(path: string): boolean {
  const length = path.length;
  if (length === 0 || path.charCodeAt(0) !== 47) return false;
  if (length === 1) return true;
  let previous = 47;
  for (let i = 1; i < length; i++) {
    const c = path.charCodeAt(i);
    if (c >= 65 && c <= 90) return false;
    if (c === 37 /* % */ || c === 92 /* \ */ || c === 59 /* ; */) return false;
    if (c === 47 && previous === 47) return false;
    if (c === 46 /* . */ && previous === 47) {
      const next = i + 1 < length ? path.charCodeAt(i + 1) : 47;
      if (next === 47) return false;
      if (next === 46 && (i + 2 >= length || path.charCodeAt(i + 2) === 47)) return false;
    }
    previous = c;
  }
  return previous !== 47;
}

const HEX = '0123456789abcdef';

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  const lower = c | 32;
  return lower >= 97 && lower <= 102 ? lower - 87 : -1;
}

/**
 * Lower-cases ASCII letters, reads `\` as `/`, and decodes `%XX` escapes of ASCII characters other
 * than `/`, `\` and `%` (which would change the segments or start a new escape); the escapes kept get
 * lower-case hex. Other characters are kept.
 */
function decodeAndFold(path: string): string {
  let out = '';
  let from = 0;
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    let replacement: string | undefined;
    let width = 1;
    if (c >= 65 && c <= 90) {
      replacement = String.fromCharCode(c + 32);
    } else if (c === 92) {
      replacement = '/';
    } else if (c === 37 && i + 2 < path.length) {
      const high = hexValue(path.charCodeAt(i + 1));
      const low = hexValue(path.charCodeAt(i + 2));
      if (high !== -1 && low !== -1) {
        const value = high * 16 + low;
        width = 3;
        replacement =
          value < 0x80 && value !== 47 && value !== 92 && value !== 37
            ? String.fromCharCode(value >= 65 && value <= 90 ? value + 32 : value)
            : `%${HEX[high] as string}${HEX[low] as string}`;
      }
    }
    if (replacement === undefined) continue;
    out += path.slice(from, i) + replacement;
    from = i + width;
    i += width - 1;
  }
  return from === 0 ? path : out + path.slice(from);
}

/**
 * The canonical form of a request path, a superset of every spelling Express 4, Express 5 and Koa
 * route to one handler: ASCII letters in lower case (their routes ignore case); `\` read as `/`
 * (url.parse does so for targets with a `#`); `%XX` escapes of ASCII characters decoded (route
 * parameters are decoded: `/users/%61dmin` is `admin`), except `%2F`, `%5C` and `%25`; `;` parameters
 * dropped and empty and `.` segments removed (Express 4 swallows a slash after a mount point); `..`
 * resolved, unless `resolveDots` is false, when it stays a segment (a router mounted at `/admin`
 * routes `/admin/x/..`); no trailing slash; `/` for an empty path. The frameworks answer some of
 * these spellings with 404; a matcher on this form may count those, never miss one they route.
 * Returns `path` itself when it is canonical already.
 */
export function canonicalPath(path: string, resolveDots = true): string {
  if (isCanonical(path)) return path;
  const kept: string[] = [];
  for (let segment of decodeAndFold(path).split('/')) {
    const semicolon = segment.indexOf(';');
    if (semicolon !== -1) segment = segment.slice(0, semicolon);
    if (segment === '' || segment === '.') continue;
    if (segment === '..' && resolveDots) {
      kept.pop();
      continue;
    }
    kept.push(segment);
  }
  return `/${kept.join('/')}`;
}

/**
 * A configured route in canonical form; non-ASCII characters count as their UTF-8 escapes (as a
 * client sends them). Buffer rather than encodeURIComponent: a lone surrogate cannot throw.
 */
export function canonicalRoute(route: string): string {
  // eslint-disable-next-line no-control-regex -- every character outside ASCII
  const ascii = route.replace(/[^\x00-\x7f]+/g, (text) =>
    Array.from(Buffer.from(text, 'utf8'), (byte) => `%${byte.toString(16)}`).join(''),
  );
  return canonicalPath(ascii);
}

/**
 * A matcher for `paths`: a string matches the path exactly (query excluded), a RegExp is tested on
 * the path with its `g` and `y` flags dropped (so a shared RegExp keeps no state between requests).
 * With `folded`, see PathMatchRules.
 */
export function pathMatcher(
  paths: readonly PathPattern[],
  rules: PathMatchRules = {},
): (path: string) => boolean {
  const folded = rules.folded === true;
  const exact = new Set(
    paths.filter((p): p is string => typeof p === 'string').map((p) => (folded ? foldPath(p) : p)),
  );
  const patterns = paths
    .filter((p): p is RegExp => p instanceof RegExp)
    .map((p) => new RegExp(p.source, p.flags.replace(/[gy]/g, '')));
  if (!folded && patterns.length === 0) return (path) => exact.has(path);
  return (path) => {
    if (exact.size > 0 && exact.has(folded ? foldPath(path) : path)) return true;
    for (const p of patterns) if (p.test(path)) return true;
    return false;
  };
}

/** A path-list option: `fallback` when undefined, else an array of paths and RegExps, compiled. */
export function pathListOption(
  ctx: OptionContext,
  name: string,
  value: unknown,
  fallback: readonly PathPattern[],
  rules: PathMatchRules = {},
): (path: string) => boolean {
  if (value === undefined) return pathMatcher(fallback, rules);
  if (!Array.isArray(value) || !value.every((p) => typeof p === 'string' || p instanceof RegExp)) {
    throw optionError(ctx, 'INVALID_OPTION', name, 'an array of paths or RegExps', value);
  }
  return pathMatcher(value, rules);
}
