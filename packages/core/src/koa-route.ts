// Koa: the matched route template as @koa/router records it (prefixes and nested routers included).
import { UNMATCHED_ROUTE, pathToTemplate } from './route';

interface KoaRouterState {
  _matchedRoute?: unknown;
  matched?: { path?: unknown; methods?: unknown[] }[];
}

// @koa/router compiles path-less `router.use(fn)` layers to internal patterns such as `(?:\/|$)`.
const INTERNAL_PATTERN = '(?:';

/**
 * The route template of a Koa request, or UNMATCHED_ROUTE. @koa/router (and koa-router before it)
 * stores the matched layer's path, which already carries router prefixes, on `ctx._matchedRoute`.
 * While a path-less router middleware runs, that field holds the middleware's internal pattern; the
 * route the request was matched to is then read from `ctx.matched` instead.
 */
export function koaRouteTemplate(ctx: object): string {
  const state = ctx as KoaRouterState;
  const matched = state._matchedRoute;
  if (matched === undefined || matched === null) return UNMATCHED_ROUTE;
  const template = pathToTemplate(matched);
  if (template !== '' && !template.includes(INTERNAL_PATTERN)) return template;
  const layers = Array.isArray(state.matched) ? state.matched : [];
  for (let i = layers.length - 1; i >= 0; i--) {
    const layer = layers[i];
    if (layer && Array.isArray(layer.methods) && layer.methods.length > 0) {
      const path = pathToTemplate(layer.path);
      if (path !== '' && !path.includes(INTERNAL_PATTERN)) return path;
    }
  }
  return UNMATCHED_ROUTE;
}

interface KoaRouterLike {
  match(
    path: string,
    method: string,
  ): { pathAndMethod?: { path?: unknown; methods?: unknown[] }[] };
  matchHost?: (host: unknown) => boolean;
}

/**
 * The template of the route a Koa request would have reached had a middleware not answered it first,
 * asked of the @koa/router routers mounted on the app (their dispatch middleware carries `.router`)
 * without running anything. Undefined when none would have matched.
 */
export function koaWouldMatchTemplate(
  ctx: object,
  path: string,
  method: string,
): string | undefined {
  try {
    const c = ctx as { app?: { middleware?: unknown }; host?: unknown };
    const middleware = c.app?.middleware;
    if (!Array.isArray(middleware)) return undefined;
    for (const fn of middleware) {
      const router = (fn as { router?: KoaRouterLike } | null)?.router;
      if (router === undefined || typeof router.match !== 'function') continue;
      if (typeof router.matchHost === 'function' && !router.matchHost(c.host)) continue;
      const layers = router.match(path, method).pathAndMethod ?? [];
      for (let i = layers.length - 1; i >= 0; i--) {
        const layer = layers[i];
        if (layer && Array.isArray(layer.methods) && layer.methods.length > 0) {
          const template = pathToTemplate(layer.path);
          if (template !== '' && !template.includes(INTERNAL_PATTERN)) return template;
        }
      }
    }
  } catch {
    // A router of another shape: no guess.
  }
  return undefined;
}
