// The four framework majors under test, each with a route that records an audit event via audit().
import type { RequestListener } from 'node:http';
import type express from 'express';
import type Koa from 'koa';
import { getRequestContext, expressTracing, koaTracing } from '@vigil/tracing';
import { type AuditEventInput, type AuditSink, audit } from '@vigil/audit';
import { FRAMEWORK_HANDLES, type FrameworkHandle, frameworkApp } from '@vigil/test-utils';

export interface AppSettings {
  /** Mount @vigil/tracing's middleware first. */
  tracing: boolean;
  /** Trust X-Forwarded-For (Express `trust proxy`, Koa `app.proxy`). */
  proxy?: boolean;
  /** Passed to audit() as its logger; the default logger when absent. */
  sink?: AuditSink;
  /** Fields the route adds to its event. */
  extra?: Partial<AuditEventInput>;
}

/** What the route answers: the ids the request context had, and what record() returned. */
export interface RouteReport {
  context: ReturnType<typeof getRequestContext> | null;
  event: unknown;
}

export interface Framework extends FrameworkHandle {
  app(settings: AppSettings): RequestListener;
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 1));

function recordFor(target: object, settings: AppSettings, user: string): unknown {
  // After an await, as real handlers record: the request context must survive async hops.
  return audit(target, settings.sink).record({
    type: 'auth.login',
    outcome: 'success',
    actor: user,
    ...settings.extra,
  });
}

function expressApp(app: express.Express, settings: AppSettings): void {
  if (settings.proxy) app.set('trust proxy', true);
  if (settings.tracing) app.use(expressTracing());
  app.post('/login/:user', (req, res, next) => {
    // Express 4 does not catch a rejected promise: errors go to next() by hand.
    tick()
      .then(() => {
        const event = recordFor(req, settings, req.params.user);
        res.json({ context: getRequestContext() ?? null, event } satisfies RouteReport);
      })
      .catch(next);
  });
}

function koaApp(app: Koa, settings: AppSettings): void {
  if (settings.proxy) app.proxy = true;
  if (settings.tracing) app.use(koaTracing());
  app.use(async (ctx) => {
    const m = /^\/login\/([^/]+)$/.exec(ctx.path);
    if (ctx.method !== 'POST' || m === null) return;
    await tick();
    const event = recordFor(ctx, settings, m[1] as string);
    ctx.body = { context: getRequestContext() ?? null, event } satisfies RouteReport;
  });
}

// Koa's errors are recorded by frameworkApp(), so Koa does not print those it answers with 500.
export const FRAMEWORKS: Framework[] = FRAMEWORK_HANDLES.map((fw) => ({
  ...fw,
  app: (s) =>
    frameworkApp(fw.name, {
      express: (app) => expressApp(app, s),
      koa: (app) => koaApp(app, s),
    }).listener,
}));
