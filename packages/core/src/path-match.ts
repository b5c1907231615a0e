// Lists of paths in options (ignorePaths, skipPaths, ...): validated once into one matcher.
import { type OptionContext, optionError } from './errors';

/** A path in a path-list option: an exact path, or a RegExp tested on the path. */
export type PathPattern = string | RegExp;

/**
 * A matcher for `paths`: a string matches the path exactly (query excluded), a RegExp is tested on
 * the path with its `g` and `y` flags dropped (so a shared RegExp keeps no state between requests).
 */
export function pathMatcher(paths: readonly PathPattern[]): (path: string) => boolean {
  const exact = new Set(paths.filter((p): p is string => typeof p === 'string'));
  const patterns = paths
    .filter((p): p is RegExp => p instanceof RegExp)
    .map((p) => new RegExp(p.source, p.flags.replace(/[gy]/g, '')));
  if (patterns.length === 0) return (path) => exact.has(path);
  return (path) => {
    if (exact.has(path)) return true;
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
): (path: string) => boolean {
  if (value === undefined) return pathMatcher(fallback);
  if (!Array.isArray(value) || !value.every((p) => typeof p === 'string' || p instanceof RegExp)) {
    throw optionError(ctx, 'INVALID_OPTION', name, 'an array of paths or RegExps', value);
  }
  return pathMatcher(value);
}
