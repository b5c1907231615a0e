// The shared helpers themselves: a server on an ephemeral port answers the raw client, a missing
// binary is reported with the Debian package that provides it, the app builder makes the same app on
// every framework major, and the error-code check finds what a package leaves out.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, type IncomingMessage, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  FRAMEWORK_HANDLES,
  Gate,
  abortedRequest,
  checkErrorCodes,
  closeServers,
  errorCodeTablesOf,
  express4,
  findBinary,
  frameworkApp,
  rawRequest,
  startServer,
  waitFor,
} from '@vigil/test-utils';

afterEach(() => closeServers());

describe('@vigil/test-utils', () => {
  it('should serve on an ephemeral loopback port and read the raw response', async () => {
    const { port, origin } = await startServer((req, res) => {
      res.setHeader('x-seen', req.url ?? '');
      res.end('ok');
    });
    expect(port).toBeGreaterThan(0);
    const response = await rawRequest(origin, '/a//b');
    expect(response.status).toBe(200);
    expect(response.headers['x-seen']).toBe('/a//b');
    expect(response.body).toBe('ok');
  });

  it('should find an installed binary, and name the Debian package of a missing one', () => {
    expect(findBinary('sh', 'dash')).toMatch(/\/sh$/);
    if (process.env.CI === 'true') {
      expect(() => findBinary('vigil-no-such-binary', 'vigil-nothing')).toThrow(
        /install the Debian package "vigil-nothing"/,
      );
    } else {
      expect(findBinary('vigil-no-such-binary', 'vigil-nothing')).toBeUndefined();
    }
  });
});

describe('frameworkApp()', () => {
  it('should name the four majors, and which of them pass a rejected promise on', () => {
    expect(FRAMEWORK_HANDLES.map((f) => `${f.name}:${f.kind}:${f.asyncErrors}`)).toEqual([
      'express4:express:false',
      'express5:express:true',
      'koa2:koa:true',
      'koa3:koa:true',
    ]);
  });

  it.each(FRAMEWORK_HANDLES)(
    'should build the same app on $name and record its errors',
    async (fw) => {
      const app = frameworkApp(fw.name, {
        express: (app, e) => {
          app.get('/ok', (_req, res) => {
            res.json({ framework: e === express4 ? 'express4' : 'express5' });
          });
          app.get('/throw', () => {
            throw new Error('boom');
          });
        },
        koa: (app) => {
          app.use((ctx) => {
            if (ctx.path === '/throw') throw new Error('boom');
            ctx.body = { framework: fw.name };
          });
        },
        expressErrorBody: (err) => ({ handled: (err as Error).message }),
      });
      const { origin } = await startServer(app.listener);
      const ok = await rawRequest(origin, '/ok');
      expect(ok.status).toBe(200);
      expect(JSON.parse(ok.body)).toEqual({ framework: fw.name });
      const failed = await rawRequest(origin, '/throw');
      expect(failed.status).toBe(500);
      if (fw.kind === 'express') expect(JSON.parse(failed.body)).toEqual({ handled: 'boom' });
      await waitFor(() => app.errors.length === 1, 'the error to be recorded');
      expect((app.errors[0] as Error).message).toBe('boom');
    },
  );

  it('should hold requests at a gate until it opens', async () => {
    const gate = new Gate();
    const { origin, received } = await startServer((_req, res) => {
      void gate.pass().then(() => res.end('passed'));
    });
    const pending = rawRequest(origin, '/');
    await received(1);
    expect(gate.entered).toBe(1);
    gate.open();
    expect((await pending).body).toBe('passed');
  });
});

describe('rawRequest() and abortedRequest()', () => {
  const echo = (seen: string[]) => (req: IncomingMessage, res: ServerResponse) => {
    const parts: Buffer[] = [];
    req.on('data', (chunk: Buffer) => parts.push(chunk));
    req.on('end', () => {
      seen.push(`${req.method} ${req.url} ${req.socket.remoteAddress}`);
      res.setHeader('content-type', 'application/json');
      res.end(
        JSON.stringify({
          method: req.method,
          url: req.url,
          type: req.headers['content-type'],
          length: req.headers['content-length'],
          body: Buffer.concat(parts).toString('utf8'),
        }),
      );
    });
  };

  it('should send a JSON body as a POST with its content type and length', async () => {
    const { origin } = await startServer(echo([]));
    const reply = await rawRequest(origin, '/json', { json: { a: 'é' } });
    expect(JSON.parse(reply.body)).toEqual({
      method: 'POST',
      url: '/json',
      type: 'application/json',
      length: String(Buffer.byteLength('{"a":"é"}')),
      body: '{"a":"é"}',
    });
    const put = await rawRequest(origin, '/json', {
      method: 'PUT',
      json: [1],
      headers: { 'content-type': 'application/vnd.test+json' },
    });
    expect(JSON.parse(put.body)).toMatchObject({
      method: 'PUT',
      type: 'application/vnd.test+json',
      body: '[1]',
    });
  });

  it('should send a request-target of its own, from a source address, through an agent', async () => {
    const seen: string[] = [];
    const { origin, port } = await startServer(echo(seen));
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const target = `http://127.0.0.1:${port}/absolute?x=1`;
      const reply = await rawRequest(origin, '/ignored', { target, agent });
      expect(JSON.parse(reply.body)).toMatchObject({ url: target });
      await rawRequest(origin, '/from', { localAddress: '127.0.0.2' });
      expect(seen).toEqual([`GET ${target} 127.0.0.1`, 'GET /from 127.0.0.2']);
    } finally {
      agent.destroy();
    }
  });

  it('should send a JSON body whole, then leave before the answer', async () => {
    const bodies: string[] = [];
    const { origin, received } = await startServer((req) => {
      const parts: Buffer[] = [];
      req.on('data', (chunk: Buffer) => parts.push(chunk));
      req.on('end', () => bodies.push(`${req.method} ${Buffer.concat(parts).toString('utf8')}`));
    });
    const result = await abortedRequest(origin, '/never', {
      json: { held: true },
      when: received(1).then(() => waitFor(() => bodies.length === 1, 'the body')),
    });
    expect(result).toEqual({ sawHeaders: false, bytesReceived: 0 });
    expect(bodies).toEqual(['POST {"held":true}']);
  });
});

describe('checkErrorCodes()', () => {
  it('should list the codes a package leaves undocumented, untested or unlisted', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vigil-error-codes-'));
    try {
      mkdirSync(join(dir, 'src'));
      mkdirSync(join(dir, 'test'));
      writeFileSync(
        join(dir, 'README.md'),
        '# pkg\n\n### ERR_VIGIL_X_ONE\n\n#### ERR_VIGIL_X_TWO\n\n## ERR_VIGIL_X_THREE\n',
      );
      writeFileSync(
        join(dir, 'src', 'errors.ts'),
        "codePrefix: 'ERR_VIGIL_X'; 'ERR_VIGIL_X_ONE'; 'ERR_VIGIL_X_FOUR';\n",
      );
      writeFileSync(
        join(dir, 'test', 'a.test.ts'),
        "import { X_ERROR_CODES } from 'x';\nconst C = X_ERROR_CODES;\nC.TWO; 'THREE';\n",
      );
      writeFileSync(join(dir, 'test', 'b.test.ts'), "'ERR_VIGIL_X_ONE'\n");
      const table = errorCodeTablesOf('x', {
        X_ERROR_CODES: {
          ONE: 'ERR_VIGIL_X_ONE',
          TWO: 'ERR_VIGIL_X_TWO',
          THREE: 'ERR_VIGIL_X_THREE',
        },
        other: 1,
      });
      expect(table.map((t) => t.table)).toEqual(['X_ERROR_CODES']);
      expect(checkErrorCodes(dir, table[0]!)).toEqual({
        count: 3,
        undocumented: ['ERR_VIGIL_X_THREE'],
        untested: [],
        unlisted: ['ERR_VIGIL_X_FOUR'],
      });
      rmSync(join(dir, 'test', 'a.test.ts'));
      expect(checkErrorCodes(dir, table[0]!).untested).toEqual([
        'ERR_VIGIL_X_TWO',
        'ERR_VIGIL_X_THREE',
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
