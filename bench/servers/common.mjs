// What every scenario server shares: the route mix, and serving the app to the harness over IPC.
import http from 'node:http';
import express from 'express';

/**
 * The route mix every scenario serves, mounted after the scenario's own middleware.
 * @param {import('express').Express} app
 */
export function mountRoutes(app) {
  app.get('/hello', (_req, res) => {
    res.type('text/plain').send('Hello, world!');
  });

  const users = express.Router();
  users.get('/:id', (req, res) => {
    res.json({ id: req.params.id, name: `user-${req.params.id}`, active: true });
  });
  app.use('/users', users);

  let nextOrder = 1;
  app.post('/orders', express.json(), (req, res) => {
    // A body that did not parse must show up as a non-2xx, which fails the run loudly.
    if (typeof req.body?.sku !== 'string') {
      res.status(400).json({ error: 'sku required' });
      return;
    }
    res.status(201).json({ id: nextOrder++, sku: req.body.sku, quantity: req.body.quantity });
  });
}

/**
 * Listens on 127.0.0.1 (free port), tells the harness the port, and answers its `usage` questions.
 * Usage goes over IPC, never over HTTP, so asking for it is neither a request nor counted work.
 * @param {import('express').Express} app
 */
export function serve(app) {
  // The harness starts every server with an IPC channel (lib/child.mjs), so process.send is there.
  const send = /** @type {NonNullable<typeof process.send>} */ (process.send).bind(process);
  let requests = 0;
  const server = http.createServer((req, res) => {
    requests++;
    app(req, res);
  });
  process.on('message', (/** @type {{ type?: string, id?: number } | undefined} */ message) => {
    if (message?.type !== 'usage') return;
    // CPU first: everything after it (memoryUsage, the send) is the harness's cost, not the app's.
    const cpu = process.cpuUsage();
    const at = performance.now();
    send({
      type: 'usage',
      id: message.id,
      cpu,
      at,
      requests,
      rss: process.memoryUsage.rss(),
    });
  });
  // The harness is gone (crashed or interrupted): do not linger as an orphan holding a core.
  process.on('disconnect', () => process.exit(0));
  server.listen(0, '127.0.0.1', () => {
    // Listening on a TCP address, so an AddressInfo.
    const { port } = /** @type {import('node:net').AddressInfo} */ (server.address());
    send({ type: 'ready', port });
  });
}
