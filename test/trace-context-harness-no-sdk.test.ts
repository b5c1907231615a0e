// The W3C Trace Context test harness's checks (STRICT_LEVEL 2) against an Express 5 and a Koa 3 app with
// @vigil/tracing's middleware and no OpenTelemetry SDK: the propagation is Vigil's own.
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import Router from '@koa/router';
import express from 'express';
import Koa from 'koa';
import { expressTracing, koaTracing } from '@vigil/tracing';
import { type HarnessTarget, harnessSuite } from './support/trace-context-harness';

type Steps = { url?: unknown; arguments?: unknown }[];

/** What the harness asks of `POST /test`: POST each step's arguments to its url, in order. */
async function runSteps(steps: unknown): Promise<void> {
  for (const step of Array.isArray(steps) ? (steps as Steps) : []) {
    if (typeof step?.url !== 'string') continue;
    await fetch(step.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(step.arguments ?? []),
    }).catch(() => undefined);
  }
}

async function listen(server: Server): Promise<HarnessTarget> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

harnessSuite('Express 5 without the SDK', () => {
  const app = express();
  app.use(expressTracing());
  app.post('/test', express.json(), async (req, res) => {
    await runSteps(req.body);
    res.json({ ok: true });
  });
  return listen(createServer(app));
});

harnessSuite('Koa 3 without the SDK', () => {
  const app = new Koa();
  app.use(koaTracing());
  const router = new Router();
  router.post('/test', async (ctx) => {
    const chunks: Buffer[] = [];
    for await (const chunk of ctx.req) chunks.push(chunk as Buffer);
    await runSteps(JSON.parse(Buffer.concat(chunks).toString('utf8')));
    ctx.body = { ok: true };
  });
  app.use(router.routes());
  const callback = app.callback();
  return listen(createServer((req, res) => void callback(req, res)));
});
