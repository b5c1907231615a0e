// The path of a request target: the one place that reduces `req.url` to a path.

/**
 * The path of a request target, without query or fragment. An absolute-form target
 * (`POST http://host/api/login`, which Node and Express accept and route) is reduced to its path.
 * An empty path is `/`.
 */
export function targetPath(url: string | undefined): string {
  if (url === undefined || url === '') return '/';
  let start = 0;
  if (url.charCodeAt(0) !== 47) {
    const scheme = url.indexOf('://');
    if (scheme !== -1) {
      // The authority ends at the first `/`, `?` or `#`; without a `/` there the path is `/`.
      start = url.length;
      for (let i = scheme + 3; i < url.length; i++) {
        const c = url.charCodeAt(i);
        if (c === 47 || c === 63 || c === 35) {
          start = i;
          break;
        }
      }
      if (url.charCodeAt(start) !== 47) return '/';
    }
  }
  let end = url.indexOf('?', start);
  if (end === -1) end = url.length;
  const hash = url.indexOf('#', start);
  if (hash !== -1 && hash < end) end = hash;
  if (start === 0 && end === url.length) return url;
  return start === end ? '/' : url.slice(start, end);
}
