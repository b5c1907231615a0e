// The request's OpenTelemetry context: BaseContext's behaviour without its per-context closures.
import {
  type Context,
  ROOT_CONTEXT,
  context,
  createContextKey,
  propagation,
  trace,
} from '@opentelemetry/api';
import type { RequestListener } from 'node:http';
import Koa from 'koa';
import express from 'express';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { expressTracing, koaTracing } from '@vigil/tracing';
import {
  closeServers,
  express4,
  Koa2,
  rawRequest,
  seededRandom,
  startServer,
} from '@vigil/test-utils';
import { EMPTY_CONTEXT } from '../src/context';
import {
  type MemoryTracing,
  serverSpans,
  startMemoryTracing,
  traceparent,
  waitForSpan,
} from './support/behaviour-otel';

describe('EMPTY_CONTEXT', () => {
  it('answers as ROOT_CONTEXT does over 2,000 random setValue and deleteValue sequences', () => {
    const random = seededRandom(20261206);
    const keys = Array.from({ length: 6 }, (_, i) => createContextKey(`k${i}`));
    for (let run = 0; run < 2000; run++) {
      let ours: Context = EMPTY_CONTEXT;
      let theirs: Context = ROOT_CONTEXT;
      const history: [Context, Context][] = [];
      const steps = 1 + Math.floor(random() * 12);
      for (let step = 0; step < steps; step++) {
        const key = keys[Math.floor(random() * keys.length)]!;
        if (random() < 0.7) {
          const value = random() < 0.2 ? undefined : { step };
          ours = ours.setValue(key, value);
          theirs = theirs.setValue(key, value);
        } else {
          ours = ours.deleteValue(key);
          theirs = theirs.deleteValue(key);
        }
        history.push([ours, theirs]);
      }
      // Every context along the way still answers as its twin: no later call changed an earlier one.
      for (const [a, b] of history) {
        for (const key of keys) expect(a.getValue(key)).toBe(b.getValue(key));
      }
    }
    for (const key of keys) expect(EMPTY_CONTEXT.getValue(key)).toBeUndefined();
  });

  it('keeps its methods on the prototype: no function of its own on any context', () => {
    const key = createContextKey('k');
    const derived = EMPTY_CONTEXT.setValue(key, 1).deleteValue(key).setValue(key, 2);
    for (const ctx of [EMPTY_CONTEXT, derived]) {
      const own = Object.getOwnPropertyNames(ctx).map(
        (n) => (ctx as unknown as Record<string, unknown>)[n],
      );
      expect(own.filter((v) => typeof v === 'function')).toEqual([]);
    }
    // ROOT_CONTEXT, for contrast, is a BaseContext: three closures per context.
    const base = Object.getOwnPropertyNames(ROOT_CONTEXT).filter(
      (n) => typeof (ROOT_CONTEXT as unknown as Record<string, unknown>)[n] === 'function',
    );
    expect(base.sort()).toEqual(['deleteValue', 'getValue', 'setValue']);
  });

  it('gives back the same context when deleting a key it does not hold', () => {
    expect(EMPTY_CONTEXT.deleteValue(createContextKey('absent'))).toBe(EMPTY_CONTEXT);
  });
});

describe('the request context on real servers', () => {
  let otel: MemoryTracing;
  const APP_KEY = createContextKey('app value');

  beforeAll(() => {
    otel = startMemoryTracing({ httpClientSpans: false, traceBuffer: false });
  });
  afterAll(() => otel.tracing.shutdown());
  beforeEach(() => otel.exporter.reset());
  afterEach(closeServers);

  interface Seen {
    prototypeFunctions: boolean;
    ownFunctions: number;
    spanId: string | undefined;
    baggage: string | null;
    appValueBefore: unknown;
    appValueNested: unknown;
    appValueAfterAwait: unknown;
  }

  /** What a handler sees of context.active(), and of a value it sets in a nested context. */
  async function look(marker: string): Promise<Seen> {
    const active = context.active();
    const proto = Object.getPrototypeOf(active) as object;
    const seen: Seen = {
      prototypeFunctions: typeof (proto as { setValue?: unknown }).setValue === 'function',
      ownFunctions: Object.getOwnPropertyNames(active).filter(
        (n) => typeof (active as unknown as Record<string, unknown>)[n] === 'function',
      ).length,
      spanId: trace.getSpan(active)?.spanContext().spanId,
      baggage: propagation.getBaggage(active)?.getEntry('tenant')?.value ?? null,
      appValueBefore: active.getValue(APP_KEY) ?? null,
      appValueNested: undefined,
      appValueAfterAwait: undefined,
    };
    await context.with(active.setValue(APP_KEY, marker), async () => {
      seen.appValueNested = context.active().getValue(APP_KEY);
      await new Promise((resolve) => setTimeout(resolve, 1));
      seen.appValueAfterAwait = context.active().getValue(APP_KEY);
    });
    return seen;
  }

  function koaApp(KoaClass: typeof Koa): RequestListener {
    const app = new KoaClass();
    app.use(koaTracing());
    app.use(async (ctx) => {
      ctx.body = await look(ctx.path.split('/')[2]!);
    });
    const handle = app.callback();
    return (req, res) => void handle(req, res);
  }

  const APPS: Record<string, () => RequestListener> = {
    'Express 4': () => {
      const app = express4();
      app.use(expressTracing());
      app.get('/look/:marker', (req, res, next) => {
        look(req.params.marker).then((seen) => res.json(seen), next);
      });
      return app;
    },
    'Express 5': () => {
      const app = express();
      app.use(expressTracing());
      app.get('/look/:marker', async (req, res) => {
        res.json(await look(req.params.marker));
      });
      return app;
    },
    'Koa 2': () => koaApp(Koa2),
    'Koa 3': () => koaApp(Koa),
  };

  for (const [name, build] of Object.entries(APPS)) {
    it(`${name}: the server span and the caller's baggage in it, values the app sets stay in their request`, async () => {
      const { origin } = await startServer(build());
      const parent = traceparent();
      const first = await rawRequest(origin, '/look/first', {
        headers: { traceparent: parent, baggage: 'tenant=acme' },
      });
      const second = await rawRequest(origin, '/look/second');
      const a = JSON.parse(first.body) as Seen;
      const b = JSON.parse(second.body) as Seen;
      const spanA = await waitForSpan(
        otel.exporter,
        (s) => s.attributes['url.path'] === '/look/first',
      );
      await waitForSpan(otel.exporter, (s) => s.attributes['url.path'] === '/look/second');

      // Vigil's context class all the way down: the SDK's span and the W3C baggage were set on it.
      expect(a).toMatchObject({ prototypeFunctions: true, ownFunctions: 0 });
      expect(b).toMatchObject({ prototypeFunctions: true, ownFunctions: 0 });
      expect(a.spanId).toBe(spanA.spanContext().spanId);
      expect(spanA.parentSpanContext?.spanId).toBe(parent.split('-')[2]);
      expect(a.baggage).toBe('acme');
      expect(b.baggage).toBeNull();
      // The app's own value: in its nested context and after an await there, never in the next request.
      expect(a).toMatchObject({
        appValueBefore: null,
        appValueNested: 'first',
        appValueAfterAwait: 'first',
      });
      expect(b).toMatchObject({
        appValueBefore: null,
        appValueNested: 'second',
        appValueAfterAwait: 'second',
      });
      expect(serverSpans(otel.exporter)).toHaveLength(2);
    });
  }
});
