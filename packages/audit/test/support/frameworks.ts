// The four framework majors under test, each with a route that records an audit event via audit().
import type { RequestListener } from 'node:http';
import express from 'express';
import Koa from 'koa';
import { getRequestContext, expressTracing, koaTracing } from '@vigil/tracing';
import { type AuditEventInput, type AuditSink, audit } from '@vigil/audit';
import { express4, Koa2 } from '@vigil/test-utils';

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

export interface Framework {
  name: 'express4' | 'express5' | 'koa2' | 'koa3';
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

function expressApp(factory: typeof express, settings: AppSettings): RequestListener {
  const app = factory();
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
  return app;
}

function koaApp(Factory: typeof Koa, settings: AppSettings): RequestListener {
  const app = new Factory();
  if (settings.proxy) app.proxy = true;
  if (settings.tracing) app.use(koaTracing());
  // Koa prints errors it answers with 500 on stderr unless the app listens.
  app.on('error', () => {});
  app.use(async (ctx) => {
    const m = /^\/login\/([^/]+)$/.exec(ctx.path);
    if (ctx.method !== 'POST' || m === null) return;
    await tick();
    const event = recordFor(ctx, settings, m[1] as string);
    ctx.body = { context: getRequestContext() ?? null, event } satisfies RouteReport;
  });
  const handle = app.callback();
  return (req, res) => {
    void handle(req, res);
  };
}

export const FRAMEWORKS: Framework[] = [
  { name: 'express4', app: (s) => expressApp(express4, s) },
  { name: 'express5', app: (s) => expressApp(express, s) },
  { name: 'koa2', app: (s) => koaApp(Koa2, s) },
  { name: 'koa3', app: (s) => koaApp(Koa, s) },
];
