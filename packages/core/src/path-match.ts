// Lists of paths in options (ignorePaths, skipPaths, policy routes): validated once into one matcher,
// and the canonical form of a path that matchers agree on with the frameworks' routing.
import { type OptionContext, optionError } from './errors';

/** A path in a path-list option: an exact path, or a RegExp tested on the path. */
export type PathPattern = string | RegExp;

/** How a path list compares. */
export interface PathMatchRules {
  /**
   * Compare as Express and Koa route by default, and a little wider: strings without case and
   * trailing slash, and both strings and RegExps on the path with repeated slashes collapsed (Express
   * 4 routes `/api//login` to a router mounted at `/api`). For lists that must never be slipped past,
   * such as rate-limit routes. Default `false`: exact.
   */
  canonical?: boolean;
}

/**
 * `path` with every run of slashes reduced to one. Express 4 swallows one extra slash after each
 * mount point, so `/api//auth/login` reaches `/auth/login` of a router mounted at `/api`: a matcher
 * that compares collapsed paths sees the route the framework sees.
 */
export function collapseSlashes(path: string): string {
  return path.includes('//') ? path.replace(/\/{2,}/g, '/') : path;
}

/**
 * The form route comparisons agree on: repeated slashes collapsed, lower case, no trailing slash
 * (`/` stays `/`). A superset of what Express and Koa route to one handler by default: their routes
 * ignore case and a trailing slash.
 */
export function canonicalPath(path: string): string {
  const collapsed = collapseSlashes(path);
  let end = collapsed.length;
  while (end > 1 && collapsed.charCodeAt(end - 1) === 47) end--;
  return (end === collapsed.length ? collapsed : collapsed.slice(0, end)).toLowerCase();
}

/**
 * A matcher for `paths`: a string matches the path exactly (query excluded), a RegExp is tested on
 * the path with its `g` and `y` flags dropped (so a shared RegExp keeps no state between requests).
 * With `canonical`, see PathMatchRules.
 */
export function pathMatcher(
  paths: readonly PathPattern[],
  rules: PathMatchRules = {},
): (path: string) => boolean {
  const canonical = rules.canonical === true;
  const exact = new Set(
    paths
      .filter((p): p is string => typeof p === 'string')
      .map((p) => (canonical ? canonicalPath(p) : p)),
  );
  const patterns = paths
    .filter((p): p is RegExp => p instanceof RegExp)
    .map((p) => new RegExp(p.source, p.flags.replace(/[gy]/g, '')));
  if (!canonical && patterns.length === 0) return (path) => exact.has(path);
  return (path) => {
    const tested = canonical ? collapseSlashes(path) : path;
    if (exact.size > 0 && exact.has(canonical ? canonicalPath(tested) : tested)) return true;
    for (const p of patterns) if (p.test(tested)) return true;
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
