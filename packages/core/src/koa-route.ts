// Koa: the matched route template as @koa/router records it (prefixes and nested routers included).
import { UNMATCHED_ROUTE, pathToTemplate } from './route';

/**
 * The route template of a Koa request, or UNMATCHED_ROUTE. @koa/router (and koa-router before it)
 * stores the most specific matched layer's path, which already carries router prefixes, on
 * `ctx._matchedRoute`.
 */
export function koaRouteTemplate(ctx: { _matchedRoute?: unknown }): string {
  const matched = ctx._matchedRoute;
  if (matched === undefined || matched === null) return UNMATCHED_ROUTE;
  return pathToTemplate(matched) || UNMATCHED_ROUTE;
}
