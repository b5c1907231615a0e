// requestLoggingStatus(): the request loggers of the process, their latest level, and the lines
// written, read back after real requests on Express 5.
import { Writable } from 'node:stream';
import express from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { expressRequestLogger, requestLoggingStatus } from '@vigil/logging';
import { closeServers, startServer } from '@vigil/test-utils';

afterEach(closeServers);

describe('requestLoggingStatus()', () => {
  it('should count the request loggers, report the latest level, and count the lines written', async () => {
    const before = requestLoggingStatus();
    const sink = new Writable({ write: (_chunk, _enc, done) => done() });
    const app = express();
    app.use(expressRequestLogger({ destination: sink, level: 'warn' }));
    app.get('/ok', (_req, res) => {
      res.send('ok');
    });
    app.get('/missing', (_req, res) => {
      res.status(404).send('no');
    });
    const { port } = await startServer(app);
    const after = requestLoggingStatus();
    expect(after.requestLoggers).toBe(before.requestLoggers + 1);
    expect(after.level).toBe('warn');
    // At level warn, the 200 is not written and the 404 is.
    await (await fetch(`http://127.0.0.1:${port}/ok`)).text();
    await (await fetch(`http://127.0.0.1:${port}/missing`)).text();
    await expect.poll(() => requestLoggingStatus().lines).toBe(before.lines + 1);
    expect(requestLoggingStatus().failures).toBe(before.failures);
  });
});
