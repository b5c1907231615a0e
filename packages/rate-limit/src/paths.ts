// Which requests a policy applies to: its routes and methods, compared the way the frameworks route
// (and a little wider), so that no spelling of a path the framework routes to a handler escapes it.
import {
  type OptionContext,
  canonicalPath,
  canonicalRoute,
  optionError,
  targetPath,
} from '@vigil/core';

/**
 * A request path in the forms the matchers compare, each computed once, when first asked for: the
 * path the client sent, its canonical form (see core's canonicalPath), and the other forms a route
 * could be reached by (see `others`).
 */
export class RequestPath {
  private canonicalValue: string | undefined;
  private othersValue: readonly string[] | undefined;
  constructor(
    /** The path as received (query removed, absolute-form target reduced). */
    readonly raw: string,
    /**
     * The path the framework routes on, when a middleware before the limiter rewrote it (Express's
     * `baseUrl + url`, @koa/router's `ctx.newRouterPath`, Koa's `ctx.url`); else undefined.
     */
    readonly routed?: string,
  ) {}

  /** The canonical form, which string routes compare with. */
  get canonical(): string {
    return (this.canonicalValue ??= canonicalPath(this.raw));
  }

  /**
   * The other forms routes are compared with, usually none (and then without allocation): the
   * canonical form with `..` kept as a segment (a router mounted at `/admin` routes `/admin/x/..`;
   * resolved, it would be `/admin`), and the forms of the routed path when it differs.
   */
  get others(): readonly string[] {
    if (this.othersValue !== undefined) return this.othersValue;
    const { raw, routed } = this;
    const canonical = this.canonical;
    const rerouted = routed !== undefined && routed !== raw;
    if (!rerouted && (canonical === raw || !mayHaveDots(raw))) return (this.othersValue = NONE);
    const forms: string[] = [];
    const add = (form: string): void => {
      if (form !== canonical && !forms.includes(form)) forms.push(form);
    };
    if (canonical !== raw && mayHaveDots(raw)) add(canonicalPath(raw, false));
    if (rerouted) {
      add(routed);
      const routedCanonical = canonicalPath(routed);
      add(routedCanonical);
      if (routedCanonical !== routed && mayHaveDots(routed)) add(canonicalPath(routed, false));
    }
    return (this.othersValue = forms);
  }
}

const NONE: readonly string[] = Object.freeze([]);

function mayHaveDots(path: string): boolean {
  return path.includes('.') || path.includes('%');
}

/** The routed path of a request whose URL a middleware rewrote to `url` (see RequestPath.routed). */
export function routedPath(
  url: string | undefined,
  original: string,
  base = '',
): string | undefined {
  return url === undefined || url === original ? undefined : base + targetPath(url);
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

/** True when `form` is one of the prefixes or below one, on a segment boundary. */
function underPrefix(list: readonly { canonical: string }[], form: string): boolean {
  for (const { canonical: prefix } of list) {
    if (
      form === prefix ||
      prefix === '/' ||
      (form.startsWith(prefix) && form.charCodeAt(prefix.length) === 47)
    )
      return true;
  }
  return false;
}

/**
 * Compiles `routes` (path prefixes on segment boundaries, or RegExps) and `methods`. A string route
 * covers the path itself and every path below it (`/api` covers `/api` and `/api/x`, not `/apix`),
 * compared canonically (see core's canonicalPath) and in the request's other forms; a RegExp is
 * tested on the path as sent, on its canonical form and on the other forms. GET covers HEAD, which Express and @koa/router answer with the GET handler.
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
        prefixes.push({ canonical: canonicalRoute(r), configured: r });
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
      if (underPrefix(list, path.canonical)) return true;
      const others = path.others;
      for (const form of others) if (underPrefix(list, form)) return true;
      for (const re of patterns) {
        if (re.test(path.raw) || re.test(path.canonical)) return true;
        for (const form of others) if (re.test(form)) return true;
      }
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
