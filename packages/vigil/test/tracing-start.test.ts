// `tracing.start`: vigil() starts the OpenTelemetry SDK when none runs, unless told not to. Its own
// file, because every test of vigil.test.ts runs with a tracing setup started for the whole file.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import Koa from 'koa';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { pollFor } from '@vigil/test-utils';
import { getTracing } from '@vigil/tracing';
import { type Vigil, type VigilOptions, VIGIL_ERROR_CODES, vigil } from 'vigil';

const opened: { vigil: Vigil; server: Server }[] = [];

afterEach(async () => {
  for (const o of opened.splice(0)) {
    o.server.closeAllConnections();
    await new Promise((resolve) => o.server.close(resolve));
    await o.vigil.close();
  }
});

/** The app behind vigil() with one route, listening; and the request log's lines. */
async function serve(kind: 'express' | 'koa', tracing: VigilOptions['tracing']) {
  const lines: Record<string, unknown>[] = [];
  const options: VigilOptions = {
    registry: new Registry(),
    requestLog: {
      destination: {
        write(line: string) {
          lines.push(JSON.parse(line) as Record<string, unknown>);
          return true;
        },
      },
    },
    audit: false,
    alerts: false,
    live: false,
    tracing,
  };
  let v: Vigil;
  let server: Server;
  if (kind === 'express') {
    const app = express();
    v = vigil(app, options);
    app.get('/items/:id', (req, res) => {
      res.json({ id: req.params.id });
    });
    server = app.listen(0, '127.0.0.1');
  } else {
    const app = new Koa();
    v = vigil.koa(app, options);
    app.use((ctx) => {
      ctx.body = { ok: true };
    });
    server = app.listen(0, '127.0.0.1');
  }
  opened.push({ vigil: v, server });
  await new Promise((resolve) => server.once('listening', resolve));
  await v.ready;
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, v, lines };
}

describe.each(['express', 'koa'] as const)('tracing.start on %s', (kind) => {
  it('should start no SDK with start: false, and still give ids, propagation and log correlation', async () => {
    expect(getTracing()).toBeUndefined();
    const { url, v, lines } = await serve(kind, { start: false });
    expect(v.tracing).toBeUndefined();
    expect(getTracing()).toBeUndefined();

    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const res = await fetch(`${url}/items/7`, {
      headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` },
    });
    await res.arrayBuffer();
    const id = res.headers.get('x-request-id');
    expect(id).toMatch(/^[\w-]{8,}$/);
    const line = await pollFor(() => lines.find((l) => l.request_id === id), 10_000);
    // The caller's trace goes on through this service: same trace id, a span id of its own.
    expect(line?.trace_id).toBe(traceId);
    expect(line?.span_id).toMatch(/^[0-9a-f]{16}$/);
    expect(line?.span_id).not.toBe('00f067aa0ba902b7');
  });

  it('should start tracing by default when none runs, and stop it on close()', async () => {
    expect(getTracing()).toBeUndefined();
    const { v } = await serve(kind, { exporter: 'none' });
    expect(v.tracing).toBeDefined();
    expect(getTracing()).toBe(v.tracing);
    const entry = opened.pop()!;
    entry.server.closeAllConnections();
    await new Promise((resolve) => entry.server.close(resolve));
    await entry.vigil.close();
    expect(getTracing()).toBeUndefined();
  });
});

describe('tracing.start: error code', () => {
  it('should reject a start that is not a boolean', () => {
    expect(() => vigil(express(), { tracing: { start: 'no' as never } })).toThrow(
      expect.objectContaining({ code: VIGIL_ERROR_CODES.INVALID_OPTION }),
    );
    expect(getTracing()).toBeUndefined();
  });
});
