// The probes on a port of their own (listenHealth): the app's middleware never sees them, and they
// keep answering — readiness 503 — while the app's server drains.
import express from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { type Health, check, createHealth, listenHealth } from '@vigil/health';
import { pollFor, send } from '@vigil/test-utils';

const created: Health[] = [];
afterEach(() => {
  for (const h of created.splice(0)) h.close();
});

describe('listenHealth', () => {
  it('should serve the probes on their own port and keep answering while the app drains', async () => {
    const health = createHealth({
      registry: false,
      started: true,
      readiness: [check('db', () => true)],
      shutdown: { idleMs: 50, timeoutMs: 2000 },
    });
    created.push(health);
    const app = express();
    let appSaw = 0;
    app.use((_req, _res, next) => {
      appSaw++;
      next();
    });
    let slowSeen = 0;
    app.get('/slow', (_req, res) => {
      slowSeen++;
      setTimeout(() => res.send('done'), 200);
    });
    const server = health.attach(app.listen(0, '127.0.0.1'));
    await new Promise((resolve) => server.once('listening', resolve));
    const appPort = (server.address() as { port: number }).port;
    const probes = await listenHealth(health, { port: 0, host: '127.0.0.1' });
    try {
      expect(probes.url).toBe(`http://127.0.0.1:${probes.port}`);
      expect((await send(probes.port, { path: '/health/ready' })).status).toBe(200);
      expect((await send(probes.port, { path: '/other' })).status).toBe(404);
      expect(appSaw).toBe(0);

      const slow = send(appPort, { path: '/slow' });
      // The drain begins with the slow request in flight.
      await pollFor(() => (slowSeen > 0 ? true : undefined), 5000, 5);
      const drained = health.shutdown();
      expect(health.phase).toBe('draining');
      const during = await send(probes.port, { path: '/health/ready' });
      const live = await send(probes.port, { path: '/health/live' });
      expect(during.status).toBe(503);
      expect(JSON.parse(during.body)).toEqual({ status: 'fail', output: 'shutting down' });
      expect(live.status).toBe(200);
      const answered = await slow;
      expect(answered.status).toBe(200);
      expect(answered.headers.connection).toBe('close');
      await drained;
      expect(server.listening).toBe(false);
      await expect(send(appPort, { path: '/slow' })).rejects.toMatchObject({
        code: 'ECONNREFUSED',
      });
      // The probe port outlives the drain: readiness still says why.
      expect((await send(probes.port, { path: '/health/ready' })).status).toBe(503);
    } finally {
      await probes.close();
    }
  });
});
