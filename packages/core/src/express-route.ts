// Express 4 and 5: the matched route template, mount prefixes included, resolved from the router stacks.
import { UNMATCHED_ROUTE, joinTemplates, pathToTemplate } from './route';

// Internal shapes of Express 4 (router in express/lib/router) and Express 5 (the `router` package).
// Only what route resolution reads is declared; everything is checked before use.
interface RouterLike {
  stack: LayerLike[];
}
interface LayerLike {
  route?: object;
  handle?: unknown;
  /** Express 5 (router 2): matches a path without side effects. */
  match?: (path: string) => { path: string } | false;
  /** Express 4: regexp flags for its fast paths. */
  regexp?: RegExp & { fast_slash?: boolean; fast_star?: boolean };
  /** Express 5 (router >= 2.3): the path given at registration. */
  rawPath?: unknown;
  keys?: { name: string | number }[];
}
/** What route resolution reads from an Express request (structural, so no Express types are needed). */
export interface ExpressRequestLike {
  route?: unknown;
  app?: unknown;
  originalUrl?: string;
}
interface AppLike {
  _router?: RouterLike;
  router?: RouterLike;
  mountpath?: unknown;
  parent?: AppLike;
}

const MAX_DEPTH = 32;
// A router is rarely mounted at more than a handful of paths; past this, later mounts share a label.
const MAX_CHAINS = 8;

// Templates never change once a route is registered, so each route object is resolved once per app
// (one router can be mounted in two apps). A router mounted at several paths in one app makes a route
// ambiguous; such routes are resolved on every request instead of cached.
const routeCache = new WeakMap<object, WeakMap<object, string>>();
const layerCache = new WeakMap<object, string>();
const appCache = new WeakMap<object, string>();

function routerOf(app: AppLike | undefined): RouterLike | undefined {
  if (!app) return undefined;
  // Express 4 keeps the lazily created router on `_router`; Express 5 exposes `router`.
  const router = app._router ?? app.router;
  return router && Array.isArray(router.stack) ? router : undefined;
}

function nestedRouter(layer: LayerLike): RouterLike | undefined {
  const handle = layer.handle;
  if (typeof handle !== 'function') return undefined;
  const stack = (handle as { stack?: unknown }).stack;
  return Array.isArray(stack) ? (handle as unknown as RouterLike) : undefined;
}

/**
 * Express 4 compiles mount paths with path-to-regexp 0.1 and keeps only the RegExp. Its output for
 * string paths is regular enough to read back (`^\/users(?:\/([^/]+?))\/?(?=\/|$)` is `/users/:id`);
 * anything else is shown as the RegExp itself, which is still one bounded value.
 */
export function express4LayerTemplate(
  regexp: RegExp,
  keys: readonly { name: string | number }[],
): string {
  let src = regexp.source;
  if (src === '^\\/?(?=\\/|$)') return '';
  if (!src.startsWith('^') || !src.endsWith('\\/?(?=\\/|$)')) return String(regexp);
  src = src.slice(1, -'\\/?(?=\\/|$)'.length);
  let out = '';
  let key = 0;
  for (let i = 0; i < src.length;) {
    if (src.startsWith('(?:\\/(', i)) {
      // A named parameter group: skip to its balanced end.
      let depth = 0;
      let j = i;
      for (; j < src.length; j++) {
        const c = src[j];
        if (c === '\\') j++;
        else if (c === '(') depth++;
        else if (c === ')' && --depth === 0) break;
      }
      const name = keys[key++]?.name;
      if (typeof name !== 'string') return String(regexp);
      out += `/:${name}`;
      i = j + 1;
      if (src[i] === '?') {
        out += '?';
        i++;
      }
    } else if (src.startsWith('(.*)', i)) {
      key++;
      out += '*';
      i += 4;
    } else if (src[i] === '\\' && i + 1 < src.length) {
      out += src[i + 1];
      i += 2;
    } else {
      const c = src[i] as string;
      if ('()[]{}+?*^$|.'.includes(c)) return String(regexp);
      out += c;
      i++;
    }
  }
  return out;
}

function layerTemplate(layer: LayerLike): string {
  const cached = layerCache.get(layer);
  if (cached !== undefined) return cached;
  let template: string;
  if (layer.rawPath !== undefined) template = pathToTemplate(layer.rawPath);
  else if (layer.regexp instanceof RegExp)
    template = express4LayerTemplate(layer.regexp, layer.keys ?? []);
  else template = '';
  if (template === '/') template = '';
  layerCache.set(layer, template);
  return template;
}

/** Every chain of mount layers from `router` down to the router that holds `route` (at most MAX_CHAINS). */
function findChains(
  router: RouterLike,
  route: object,
  chains: LayerLike[][],
  path: LayerLike[],
  depth: number,
  seen: Set<object>,
): void {
  if (depth > MAX_DEPTH || seen.has(router)) return;
  seen.add(router);
  for (const layer of router.stack) {
    if (chains.length >= MAX_CHAINS) break;
    if (layer.route === route) {
      chains.push([...path]);
      continue;
    }
    const nested = nestedRouter(layer);
    if (nested) {
      path.push(layer);
      findChains(nested, route, chains, path, depth + 1, seen);
      path.pop();
    }
  }
  seen.delete(router);
}

/** Template of the mount prefix of a sub-app (`app.use('/admin', adminApp)`), '' for the top app. */
function appPrefix(app: AppLike | undefined, depth = 0): string {
  if (!app?.parent || depth > MAX_DEPTH) return '';
  const cached = appCache.get(app);
  if (cached !== undefined) return cached;
  let own = pathToTemplate(app.mountpath);
  if (own === '/') own = '';
  const prefix = joinTemplates(appPrefix(app.parent, depth + 1), own);
  const result = prefix === '/' ? '' : prefix;
  appCache.set(app, result);
  return result;
}

/**
 * The route template of an Express request, mount prefixes included (`/api/users/:id`), or
 * UNMATCHED_ROUTE when no route handled it. Call it once the response is done; it never throws.
 */
export function expressRouteTemplate(request: object): string {
  // `object`, not ExpressRequestLike: a weak type would reject a plain IncomingMessage (TS2559).
  const req = request as ExpressRequestLike;
  const route = req.route as { path?: unknown } | undefined;
  if (!route || typeof route !== 'object') return UNMATCHED_ROUTE;
  const app = req.app;
  // An Express app is a function (and a sub-app too), so both kinds of object key the cache.
  const cached =
    typeof app === 'function' || (typeof app === 'object' && app !== null)
      ? routeCache.get(app)?.get(route)
      : undefined;
  if (cached !== undefined) return cached;
  try {
    return resolve(req, route);
  } catch {
    return pathToTemplate(route.path) || UNMATCHED_ROUTE;
  }
}

function resolve(req: ExpressRequestLike, route: { path?: unknown }): string {
  const own = pathToTemplate(route.path);
  const app = req.app as (AppLike & object) | undefined;
  const router = routerOf(app);
  const chains: LayerLike[][] = [];
  if (router) findChains(router, route, chains, [], 0, new Set());
  const prefix = appPrefix(app);
  if (chains.length === 0) {
    // The route lives in a sub-app whose request already left it (an error handled by the parent).
    // Its own path is still the best bounded value available.
    return joinTemplates(prefix, own);
  }
  const mounts = chains.map((chain) =>
    chain.reduce((t, layer) => joinTemplates(t, layerTemplate(layer)), prefix),
  );
  const mount = mounts.length === 1 ? mounts[0]! : pickMount(mounts, req.originalUrl);
  const template = joinTemplates(mount, own);
  if (chains.length === 1 && app) {
    let perApp = routeCache.get(app);
    if (perApp === undefined) routeCache.set(app, (perApp = new WeakMap()));
    perApp.set(route, template);
  }
  return template;
}

// A router mounted at several paths: pick the longest mount template that prefixes the request path,
// segment by segment. The original URL is used because Express restores baseUrl while an error travels
// back up to an app-level handler.
function pickMount(mounts: string[], originalUrl: string | undefined): string {
  const url = originalUrl ?? '';
  const q = url.indexOf('?');
  const segments = (q === -1 ? url : url.slice(0, q)).toLowerCase().split('/');
  let best = mounts[0]!;
  let bestLength = -1;
  for (const mount of mounts) {
    const parts = mount.toLowerCase().split('/');
    if (parts.length > segments.length || parts.length <= bestLength) continue;
    const matches = parts.every((part, i) => {
      const seg = segments[i]!;
      if (part.startsWith(':')) return seg !== '';
      return part === seg;
    });
    if (matches) {
      best = mount;
      bestLength = parts.length;
    }
  }
  return best;
}

// ---- the route a request would have reached ----

interface RouteLike {
  path?: unknown;
  /** Express 4. */
  _handles_method?: (method: string) => boolean;
  /** Express 5 (router 2). */
  _handlesMethod?: (method: string) => boolean;
}

/**
 * The part of `path` a layer matches, or undefined. Express 4's own Layer.match() stores its result on
 * the layer, so its RegExp is run here instead; Express 5's match() has no side effects.
 */
function matchLayer(layer: LayerLike, path: string): string | undefined {
  const re = layer.regexp;
  if (re instanceof RegExp && typeof layer.match === 'function' && layer.rawPath === undefined) {
    if (re.fast_slash === true) return '';
    if (re.fast_star === true) return path;
    re.lastIndex = 0;
    const m = re.exec(path);
    if (m === null) return undefined;
    // Express 4 decodes each parameter while matching and answers 400 to one it cannot decode:
    // such a request would not have reached the route.
    for (let i = 1; i < m.length; i++) {
      const value = m[i];
      if (value === undefined || !value.includes('%')) continue;
      try {
        decodeURIComponent(value);
      } catch {
        return undefined;
      }
    }
    return m[0];
  }
  if (typeof layer.match === 'function') {
    const m = layer.match(path);
    return m === false ? undefined : m.path;
  }
  return undefined;
}

function handlesMethod(route: RouteLike, method: string): boolean {
  if (typeof route._handlesMethod === 'function') return route._handlesMethod(method);
  if (typeof route._handles_method === 'function') return route._handles_method(method);
  return false;
}

function walk(
  router: RouterLike,
  path: string,
  method: string,
  prefix: string,
  depth: number,
): string | undefined {
  if (depth > MAX_DEPTH) return undefined;
  for (const layer of router.stack) {
    const matched = matchLayer(layer, path);
    if (matched === undefined) continue;
    const route = layer.route as RouteLike | undefined;
    if (route !== undefined) {
      if (handlesMethod(route, method)) return joinTemplates(prefix, pathToTemplate(route.path));
      continue;
    }
    const nested = nestedRouter(layer);
    if (nested === undefined) continue;
    let rest = path.slice(matched.length);
    if (rest.charCodeAt(0) !== 47) rest = `/${rest}`;
    const found = walk(
      nested,
      rest,
      method,
      joinTemplates(prefix, layerTemplate(layer)),
      depth + 1,
    );
    if (found !== undefined) return found;
  }
  return undefined;
}

/**
 * The template of the route an Express request would have reached had a middleware not answered it
 * first (a 401 from an auth middleware, a 413 from a body parser, a 429), found by matching `path`
 * against the app's router stacks the way Express does, without running anything. Undefined when no
 * route would have matched. Bounded like every template: only registered paths come out.
 */
export function expressWouldMatchTemplate(
  request: object,
  path: string,
  method: string,
): string | undefined {
  let app = (request as ExpressRequestLike).app as AppLike | undefined;
  try {
    for (let depth = 0; app?.parent !== undefined && depth < MAX_DEPTH; depth++) app = app.parent;
    const router = routerOf(app);
    return router === undefined ? undefined : walk(router, path, method, '', 0);
  } catch {
    return undefined;
  }
}
