// The four framework majors under test, each serving the alerts API beside an app route, with Vigil's
// metrics and a strict rate limit in front: Express 4 and 5, Koa 2 and 3, with or without a body parser.
import type { RequestListener } from 'node:http';
import express from 'express';
import Koa from 'koa';
import { bodyParser } from '@koa/bodyparser';
import type { Registry } from 'prom-client';
import { expressRequestLogger, koaRequestLogger } from '@vigil/logging';
import { expressMetrics, koaMetrics } from '@vigil/metrics';
import { expressRateLimit, koaRateLimit } from '@vigil/rate-limit';
import { express4, Koa2 } from '@vigil/test-utils';
import type { AlertsApi } from '@vigil/alerts';

export interface AppSettings {
  api: AlertsApi;
  registry: Registry;
  /** Mount the framework's JSON and form body parsers before the API. */
  bodyParser?: boolean;
  /** Requests per minute the rate limit allows every client. Default 2. */
  limit?: number;
  /** Where the request log lines go. */
  log: { write(line: string): unknown };
}

export interface Framework {
  name: 'express4' | 'express5' | 'koa2' | 'koa3';
  app(settings: AppSettings): RequestListener;
}

function expressApp(factory: typeof express, s: AppSettings): RequestListener {
  const app = factory();
  app.use(expressRequestLogger({ destination: s.log }));
  app.use(expressMetrics({ registry: s.registry }));
  app.use(
    expressRateLimit({
      registry: s.registry,
      policies: [{ name: 'all', limit: s.limit ?? 2, windowMs: 60_000 }],
    }),
  );
  if (s.bodyParser) {
    app.use(factory.json({ limit: '16kb' }));
    app.use(factory.urlencoded({ extended: false }));
  }
  app.use(s.api.express());
  app.get('/api/ping', (_req, res) => {
    res.json({ pong: true });
  });
  return app;
}

function koaApp(Factory: typeof Koa, s: AppSettings): RequestListener {
  const app = new Factory();
  app.on('error', () => {});
  app.use(koaRequestLogger({ destination: s.log }));
  app.use(koaMetrics({ registry: s.registry }));
  app.use(
    koaRateLimit({
      registry: s.registry,
      policies: [{ name: 'all', limit: s.limit ?? 2, windowMs: 60_000 }],
    }),
  );
  if (s.bodyParser) app.use(bodyParser());
  app.use(s.api.koa());
  app.use((ctx, next) => {
    if (ctx.path !== '/api/ping') return next();
    ctx.body = { pong: true };
    return Promise.resolve();
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
