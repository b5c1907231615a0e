// Route-template constants and the rendering of a registered path (string, RegExp or array) as a label.

/** Label value shared by every request that matched no route: 404s, static files, early CORS answers. */
export const UNMATCHED_ROUTE = '<unmatched>';

/** A path as frameworks accept it at registration. */
export type RoutePath = string | RegExp | readonly RoutePath[];

/**
 * Renders a registered path as a stable template. Arrays are joined with ',' as the OpenTelemetry
 * Express instrumentation does, so `app.get(['/a', '/b'])` is one series whichever path matched.
 */
export function pathToTemplate(path: unknown): string {
  if (typeof path === 'string') return path;
  if (path instanceof RegExp) return String(path);
  if (Array.isArray(path)) return path.map(pathToTemplate).join(',');
  return '';
}

/** Joins a mount template and a child template without doubling or dropping slashes. */
export function joinTemplates(prefix: string, child: string): string {
  if (prefix === '' || prefix === '/') return child === '' ? '/' : child;
  if (child === '' || child === '/') return prefix;
  if (prefix.endsWith('/') && child.startsWith('/')) return prefix + child.slice(1);
  if (!prefix.endsWith('/') && !child.startsWith('/')) return `${prefix}/${child}`;
  return prefix + child;
}
