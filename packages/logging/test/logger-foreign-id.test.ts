// The request logger after another middleware set req.id: that id is left alone, lines keep theirs.
import { Writable } from 'node:stream';
import express from 'express';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Tracing, expressTracing, startTracing } from '@vigil/tracing';
import { expressRequestLogger } from '@vigil/logging';

describe('expressRequestLogger after another middleware set req.id', () => {
  let tracing: Tracing;
  beforeAll(() => {
    tracing = startTracing({ exporter: 'none' });
  });
  afterAll(async () => {
    await tracing.shutdown();
  });

  it('should still write the ids once on the completion line and on req.log lines', async () => {
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _encoding, cb) {
        lines.push(chunk.toString());
        cb();
      },
    });
    const app = express();
    app.use(expressTracing());
    app.use((req, _res, next) => {
      (req as unknown as { id: string }).id = 'set-by-another-middleware';
      next();
    });
    app.use(expressRequestLogger({ destination }));
    let idInHandler: unknown;
    app.get('/x', (req, res) => {
      idInHandler = (req as unknown as { id: unknown }).id;
      req.log.info('inside');
      res.send('ok');
    });

    const res = await request(app).get('/x').set('x-request-id', 'mine-1').expect(200);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(res.headers['x-request-id']).toBe('mine-1');
    expect(idInHandler).toBe('set-by-another-middleware');
    expect(lines).toHaveLength(2);
    for (const line of lines) {
      // Each key once: JSON.parse would silently keep the last of duplicated keys.
      expect(line.match(/"request_id":/g)).toHaveLength(1);
      const entry = JSON.parse(line) as Record<string, unknown>;
      expect(entry.request_id).toBe('mine-1');
      expect(entry.trace_id).toMatch(/^[0-9a-f]{32}$/);
    }
    expect(lines.map((l) => (JSON.parse(l) as { msg: string }).msg)).toEqual([
      'inside',
      'request completed',
    ]);
  });
});
