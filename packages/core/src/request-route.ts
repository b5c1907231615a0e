// A request's route template for every package: what the framework matched, else the route it was
// answered for (a rate-limit policy's), else the route it would have reached (middleware answered it).
import { expressRouteTemplate, expressWouldMatchTemplate } from './express-route';
import { koaRouteTemplate, koaWouldMatchTemplate } from './koa-route';
import type { RequestRecord } from './lifecycle';
import { UNMATCHED_ROUTE } from './route';

/**
 * The route template of `record`'s request. When the framework matched no route and the response is
 * not a 404 (a 401 from an auth middleware, a 413 from a body parser, a 429, an abort while a
 * middleware waited), the route the request would have reached is used, so dashboards show which
 * route was refused. Every value comes from the app's registered routes or a configured policy, so
 * the number of values stays bounded whatever clients send.
 */
export function requestRouteTemplate(record: RequestRecord): string {
  const ctx = record.ctx;
  const matched = ctx !== undefined ? koaRouteTemplate(ctx) : expressRouteTemplate(record.req);
  if (matched !== UNMATCHED_ROUTE) return matched;
  if (record.routeHint !== undefined) return record.routeHint;
  // While the request runs, routing may still be under way; a 404 means no route wanted it.
  if (!record.ended || (!record.aborted && record.res.statusCode === 404)) return matched;
  const method = record.req.method ?? 'GET';
  const guess =
    ctx !== undefined
      ? koaWouldMatchTemplate(ctx, record.path, method)
      : expressWouldMatchTemplate(record.req, record.path, method);
  return guess ?? matched;
}
