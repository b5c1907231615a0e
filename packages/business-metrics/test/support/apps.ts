// The test catalogue, and the same small shop app on Express 4, Express 5, Koa 2 and Koa 3, recording
// it in each style: track() on routes, and metrics(req) / metrics(ctx) inside handlers.
import type { IncomingMessage } from 'node:http';
import Router from '@koa/router';
import type express from 'express';
import type { Request, Response } from 'express';
import type Koa from 'koa';
import { Registry } from 'prom-client';
import type { MinimalLogger } from '@vigil/core';
import { type TrackInfo, defineBusinessMetrics, metrics, track } from '@vigil/business-metrics';
import {
  FRAMEWORK_HANDLES,
  type FrameworkApp,
  type FrameworkHandle,
  Gate,
  frameworkApp,
  sleep,
} from '@vigil/test-utils';

export const FORMATS = ['mp4', 'webm', 'mov'] as const;

/** The catalogue every app test records into (a fresh registry each time). */
export function shopCatalogue(registry = new Registry(), logger?: MinimalLogger) {
  return defineBusinessMetrics(
    {
      uploads_total: {
        type: 'counter',
        help: 'Video uploads by format, outcome and route',
        labels: { format: { values: FORMATS }, outcome: 'outcome', route: 'route' },
      },
      orders_created_total: {
        type: 'counter',
        help: 'Orders created, by plan',
        labels: { plan: { values: ['free', 'pro'] } },
      },
      upload_size_bytes: {
        type: 'histogram',
        help: 'Size of uploaded videos',
        unit: 'bytes',
        labels: { format: { values: FORMATS } },
      },
      upload_handling_seconds: {
        type: 'histogram',
        help: 'Time to handle an upload request, by outcome and method',
        unit: 'seconds',
        labels: { outcome: 'outcome', method: 'method' },
      },
      streams_active: { type: 'gauge', help: 'Streams being watched' },
      generation_failures_total: {
        type: 'counter',
        help: 'Generation failures by framework',
        labels: { framework: { cap: 5 }, route: 'route' },
      },
    },
    { registry, ...(logger ? { logger } : {}) },
  );
}

export type ShopCatalogue = ReturnType<typeof shopCatalogue>;

/** Middleware mounted before the routes (the HTTP metrics middleware and its endpoints). */
export interface Mounts {
  express?: (app: express.Express) => void;
  koa?: (app: Koa) => void;
}

export interface Framework extends FrameworkHandle {
  app(catalogue: ShopCatalogue, gate?: Gate, mounts?: Mounts): FrameworkApp;
}

/** Body of POST /api/videos and POST /api/scoped. */
export interface UploadBody {
  format?: unknown;
  size?: number;
  status?: number;
  /** `throw`: synchronous throw; `async`: rejection (Express 4: next(err)); `recover`: Koa only, a
   * throw that an upstream middleware answers with 200. */
  fail?: 'throw' | 'async' | 'recover';
  /** metrics(): record this many times. */
  times?: number;
  /** metrics(): give the outcome explicitly. */
  outcome?: string;
  /** metrics(): record only after this many ms. */
  delayMs?: number;
  /** metrics(): answer this many ms after recording. */
  holdMs?: number;
}

export const BOOM = 'boom';

function bodyOf(info: TrackInfo): UploadBody {
  const body = info.ctx ? info.ctx.request?.body : info.req.body;
  return body ?? {};
}

const uploadLabels = (info: TrackInfo) => ({ format: bodyOf(info).format as 'mp4' });

/*
 * Routes (identical templates on every framework):
 *   POST /api/videos              track(uploads_total), track(upload_size_bytes), track(upload_handling_seconds)
 *   POST /api/orders/:plan        track(orders_created_total) with the plan from the route parameter
 *   POST /api/streams/:id/start   track(streams_active)             (+1)
 *   POST /api/streams/:id/stop    track(streams_active, op: 'dec')  (-1)
 *   GET  /api/gate                track(uploads_total, format mp4); answers when the gate opens
 *   POST /api/scoped              metrics(req|ctx): uploads_total (outcome left to Vigil), upload_size_bytes
 *   POST /api/generate/:framework metrics(req|ctx): generation_failures_total when the body says so
 */
function shopApp(
  fw: FrameworkHandle,
  c: ShopCatalogue,
  gate?: Gate,
  mounts?: Mounts,
): FrameworkApp {
  return frameworkApp(fw.name, {
    express: (app, e) => expressRoutes(app, e, fw, c, gate, mounts),
    koa: (app, errors) => koaRoutes(app, errors, c, gate, mounts),
    expressErrorBody: () => ({ error: BOOM }),
  });
}

function expressRoutes(
  app: express.Express,
  factory: typeof express,
  fw: FrameworkHandle,
  c: ShopCatalogue,
  gate?: Gate,
  mounts?: Mounts,
): void {
  const m = c.metrics;
  mounts?.express?.(app);
  app.use(factory.json());
  const api = factory.Router();

  // Express 5 passes a rejected promise to the error handler; Express 4 needs next(err).
  const answer = (
    req: Request,
    res: Response,
    next: (err?: unknown) => void,
  ): Promise<void> | undefined => {
    const body = req.body as UploadBody;
    if (body.fail === 'throw') throw new Error(BOOM);
    if (body.fail === 'async') {
      const failing = sleep(1).then(() => {
        throw new Error(BOOM);
      });
      if (fw.asyncErrors) return failing;
      failing.catch(next);
      return undefined;
    }
    res.status(body.status ?? 201).json({ ok: true });
    return undefined;
  };

  api.post(
    '/videos',
    track(m.uploads_total, { labels: uploadLabels }),
    track(m.upload_size_bytes, { labels: uploadLabels, value: (i) => bodyOf(i).size ?? 0 }),
    track(m.upload_handling_seconds),
    answer,
  );
  api.post(
    '/orders/:plan',
    track(m.orders_created_total, { labels: ({ req }) => ({ plan: req.params?.plan as 'pro' }) }),
    answer,
  );
  const streams = factory.Router();
  streams.post('/:id/start', track(m.streams_active), (_req, res) => {
    res.json({ started: true });
  });
  streams.post('/:id/stop', track(m.streams_active, { op: 'dec' }), (_req, res) => {
    res.json({ stopped: true });
  });
  api.use('/streams', streams);
  api.get('/gate', track(m.uploads_total, { labels: { format: 'mp4' } }), (_req, res, next) => {
    (gate ?? new Gate())
      .pass()
      .then(() => res.json({ passed: true }))
      .catch(next);
  });
  api.post('/scoped', (req, res) => {
    const body = req.body as UploadBody;
    const record = () => {
      for (let i = 0; i < (body.times ?? 1); i++) {
        const labels = body.outcome
          ? { format: body.format as 'mp4', outcome: body.outcome as 'success' }
          : { format: body.format as 'mp4' };
        metrics(req).inc(m.uploads_total, labels);
        metrics(req).observe(m.upload_size_bytes, { format: body.format as 'mp4' }, body.size ?? 0);
      }
      setTimeout(() => res.status(body.status ?? 201).json({ ok: true }), body.holdMs ?? 0);
    };
    if (body.delayMs) setTimeout(record, body.delayMs);
    else record();
  });
  api.post('/generate/:framework', (req, res) => {
    metrics(req).inc(m.generation_failures_total, { framework: req.params.framework });
    res.status(502).json({ failed: true });
  });
  app.use('/api', api);
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const parts: Buffer[] = [];
  for await (const chunk of req) parts.push(chunk as Buffer);
  const text = Buffer.concat(parts).toString('utf8');
  return text === '' ? {} : (JSON.parse(text) as unknown);
}

function koaRoutes(
  app: Koa,
  errors: unknown[],
  c: ShopCatalogue,
  gate?: Gate,
  mounts?: Mounts,
): void {
  const m = c.metrics;
  mounts?.koa?.(app);
  // A minimal JSON body parser, as koa-bodyparser would do.
  app.use(async (ctx, next) => {
    (ctx.request as { body?: unknown }).body = await readJson(ctx.req);
    await next();
  });
  // Recovers from errors when the body asks, answering 200: the request still failed.
  app.use(async (ctx, next) => {
    try {
      await next();
    } catch (err) {
      if (((ctx.request as { body?: UploadBody }).body ?? {}).fail !== 'recover') throw err;
      errors.push(err);
      ctx.status = 200;
      ctx.body = { recovered: true };
    }
  });
  const bodyOfCtx = (ctx: Koa.Context) => (ctx.request as { body?: UploadBody }).body ?? {};

  const answer = async (ctx: Koa.Context) => {
    const body = bodyOfCtx(ctx);
    if (body.fail === 'throw' || body.fail === 'recover') throw new Error(BOOM);
    if (body.fail === 'async') {
      await sleep(1);
      throw new Error(BOOM);
    }
    ctx.status = body.status ?? 201;
    ctx.body = { ok: true };
  };

  const api = new Router({ prefix: '/api' });
  api.post(
    '/videos',
    track(m.uploads_total, { labels: uploadLabels }),
    track(m.upload_size_bytes, { labels: uploadLabels, value: (i) => bodyOf(i).size ?? 0 }),
    track(m.upload_handling_seconds),
    answer,
  );
  api.post(
    '/orders/:plan',
    track(m.orders_created_total, { labels: ({ ctx }) => ({ plan: ctx?.params?.plan as 'pro' }) }),
    answer,
  );
  const streams = new Router();
  streams.post('/:id/start', track(m.streams_active), (ctx) => {
    ctx.body = { started: true };
  });
  streams.post('/:id/stop', track(m.streams_active, { op: 'dec' }), (ctx) => {
    ctx.body = { stopped: true };
  });
  api.use('/streams', streams.routes());
  api.get('/gate', track(m.uploads_total, { labels: { format: 'mp4' } }), async (ctx) => {
    await (gate ?? new Gate()).pass();
    ctx.body = { passed: true };
  });
  api.post('/scoped', async (ctx) => {
    const body = bodyOfCtx(ctx);
    if (body.delayMs) await sleep(body.delayMs);
    for (let i = 0; i < (body.times ?? 1); i++) {
      const labels = body.outcome
        ? { format: body.format as 'mp4', outcome: body.outcome as 'success' }
        : { format: body.format as 'mp4' };
      metrics(ctx).inc(m.uploads_total, labels);
      metrics(ctx).observe(m.upload_size_bytes, { format: body.format as 'mp4' }, body.size ?? 0);
    }
    if (body.holdMs) await sleep(body.holdMs);
    ctx.status = body.status ?? 201;
    ctx.body = { ok: true };
  });
  api.post('/generate/:framework', (ctx) => {
    metrics(ctx).inc(m.generation_failures_total, { framework: ctx.params.framework as string });
    ctx.status = 502;
    ctx.body = { failed: true };
  });
  app.use(api.routes()).use(api.allowedMethods());
}

export const FRAMEWORKS: readonly Framework[] = FRAMEWORK_HANDLES.map((fw) => ({
  ...fw,
  app: (c, g, x) => shopApp(fw, c, g, x),
}));
