// Which requests a policy applies to: its routes and methods, compared the way the frameworks route
// (and a little wider), so that no spelling of a path the framework routes to a handler escapes it.
import { type OptionContext, canonicalPath, collapseSlashes, optionError } from '@vigil/core';

/** A request path in the forms the matchers compare, each computed once, when first asked for. */
export class RequestPath {
  private collapsedValue: string | undefined;
  private canonicalValue: string | undefined;
  constructor(
    /** The path as received (query removed, absolute-form target reduced). */
    readonly raw: string,
  ) {}

  /** Repeated slashes collapsed, case kept: what RegExp routes are tested on. */
  get collapsed(): string {
    return (this.collapsedValue ??= collapseSlashes(this.raw));
  }

  /** Repeated slashes collapsed, lower case, no trailing slash: what string routes compare with. */
  get canonical(): string {
    return (this.canonicalValue ??= canonicalPath(this.raw));
  }
}

/** A policy's routes and methods, compiled. */
export interface PolicyRoutes {
  /** True when the policy applies to a request with this method and path. */
  matches(method: string, path: RequestPath): boolean;
  /**
   * The route the policy names for this path: one of its string routes, as configured, when the
   * request's canonical path is exactly that route. Bounded: only configured values come out.
   */
  routeOf(path: RequestPath): string | undefined;
}

const EVERY: PolicyRoutes = { matches: () => true, routeOf: () => undefined };

/**
 * Compiles `routes` (path prefixes on segment boundaries, or RegExps) and `methods`. A string route
 * covers the path itself and every path below it (`/api` covers `/api` and `/api/x`, not `/apix`),
 * compared canonically (see canonicalPath); a RegExp is tested on the path with repeated slashes
 * collapsed. GET covers HEAD, which Express and @koa/router answer with the GET handler.
 */
export function policyRoutes(
  ctx: OptionContext,
  at: string,
  routes: unknown,
  methods: unknown,
): PolicyRoutes {
  let prefixes: { canonical: string; configured: string }[] | undefined;
  const patterns: RegExp[] = [];
  if (routes !== undefined) {
    if (!Array.isArray(routes) || routes.length === 0) {
      throw optionError(
        ctx,
        'INVALID_POLICY',
        `${at}.routes`,
        'a non-empty array of path prefixes or RegExps',
        routes,
      );
    }
    prefixes = [];
    for (const r of routes as unknown[]) {
      if (r instanceof RegExp) patterns.push(new RegExp(r.source, r.flags.replace(/[gy]/g, '')));
      else if (typeof r === 'string' && r.startsWith('/'))
        prefixes.push({ canonical: canonicalPath(r), configured: r });
      else
        throw optionError(
          ctx,
          'INVALID_POLICY',
          `${at}.routes`,
          'path prefixes starting with "/" or RegExps',
          r,
        );
    }
  }
  let methodSet: Set<string> | undefined;
  if (methods !== undefined) {
    if (
      !Array.isArray(methods) ||
      methods.length === 0 ||
      !methods.every((m) => typeof m === 'string' && /^[A-Za-z]+$/.test(m))
    ) {
      throw optionError(
        ctx,
        'INVALID_POLICY',
        `${at}.methods`,
        'a non-empty array of HTTP method names',
        methods,
      );
    }
    // Upper case, as Node reports methods; GET covers HEAD (else a client could probe a GET-limited
    // route unlimited with HEAD).
    methodSet = new Set((methods as string[]).map((m) => m.toUpperCase()));
    if (methodSet.has('GET')) methodSet.add('HEAD');
  }
  if (prefixes === undefined && methodSet === undefined) return EVERY;
  const list = prefixes;
  return {
    matches(method, path) {
      if (
        methodSet !== undefined &&
        !methodSet.has(method) &&
        !methodSet.has(method.toUpperCase())
      ) {
        return false;
      }
      if (list === undefined) return true;
      const canonical = path.canonical;
      for (const { canonical: prefix } of list) {
        if (
          canonical === prefix ||
          prefix === '/' ||
          (canonical.startsWith(prefix) && canonical.charCodeAt(prefix.length) === 47)
        )
          return true;
      }
      for (const re of patterns) if (re.test(path.collapsed)) return true;
      return false;
    },
    routeOf(path) {
      if (list === undefined) return undefined;
      const canonical = path.canonical;
      for (const { canonical: prefix, configured } of list) {
        if (canonical === prefix) return configured;
      }
      return undefined;
    },
  };
}
