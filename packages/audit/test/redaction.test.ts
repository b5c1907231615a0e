// Redaction before hashing: secret keys at any depth, secret query parameters, the app's own paths,
// and a secret sentinel sent in real HTTP headers and URLs that never reaches a written line.
import express from 'express';
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import {
  DEFAULT_REDACTED_KEYS,
  DEFAULT_REDACTED_QUERY_PARAMS,
  REDACTED,
  audit,
  verifyAuditLog,
} from '@vigil/audit';
import { cleanup, memoryLogger } from './support/memory';

afterEach(cleanup);

const S = 'SENTINEL-7f3a';
const base = { type: 'auth.login', outcome: 'failure' } as const;

describe('default redaction', () => {
  it('should redact secret keys at any depth, whatever their case or separator', () => {
    const { logger, out } = memoryLogger();
    const event = logger.record({
      ...base,
      metadata: {
        password: S,
        Authorization: `Bearer ${S}`,
        apiKey: S,
        'api-key': S,
        headers: { authorization: S, cookie: S, 'x-api-key': S, 'X-CSRF-Token': S, host: 'h' },
        body: { user: { name: 'bob', resetToken: S, db_password: S, credentials: { a: S } } },
        list: [{ token: S }, { client_secret: S }],
        tokens: 3,
        max_tokens: 100,
        keyboard: 'qwerty',
      },
    });
    expect(out.text).not.toContain(S);
    expect(JSON.stringify(event)).not.toContain(S);
    expect(JSON.stringify(logger.recent())).not.toContain(S);
    expect(event.metadata).toEqual({
      password: REDACTED,
      Authorization: REDACTED,
      apiKey: REDACTED,
      'api-key': REDACTED,
      headers: {
        authorization: REDACTED,
        cookie: REDACTED,
        'x-api-key': REDACTED,
        'X-CSRF-Token': REDACTED,
        host: 'h',
      },
      body: {
        user: { name: 'bob', resetToken: REDACTED, db_password: REDACTED, credentials: REDACTED },
      },
      list: [{ token: REDACTED }, { client_secret: REDACTED }],
      tokens: 3,
      max_tokens: 100,
      keyboard: 'qwerty',
    });
    expect(verifyAuditLog(out.text).ok).toBe(true);
  });

  it('should list the default keys and query parameters', () => {
    expect(DEFAULT_REDACTED_KEYS).toContain('authorization');
    expect(DEFAULT_REDACTED_KEYS).toContain('set_cookie');
    expect(DEFAULT_REDACTED_QUERY_PARAMS).toContain('access_token');
    expect(Object.isFrozen(DEFAULT_REDACTED_KEYS)).toBe(true);
  });

  it.each([
    ['/reset?token=S&user=bob', '/reset?token=[REDACTED]&user=bob'],
    ['/cb?code=S&state=x#top', '/cb?code=[REDACTED]&state=x#top'],
    ['/a?user[password]=S&refreshToken=S', '/a?user[password]=[REDACTED]&refreshToken=[REDACTED]'],
    [
      '/s3?X-Amz-Signature=S&X-Amz-Credential=S',
      '/s3?X-Amz-Signature=[REDACTED]&X-Amz-Credential=[REDACTED]',
    ],
    ['/enc?%74oken=S&a%5Fkey=1', '/enc?%74oken=[REDACTED]&a%5Fkey=1'],
    ['/plain/path', '/plain/path'],
    ['/x?flag&page=2', '/x?flag&page=2'],
  ])('should redact secret query parameters in resource: %s', (resource, written) => {
    const { logger, out } = memoryLogger();
    expect(logger.record({ ...base, resource: resource.replace(/=S/g, `=${S}`) }).resource).toBe(
      written,
    );
    expect(out.text).not.toContain(S);
  });
});

describe('the redact option', () => {
  it("should redact the app's own paths (pino syntax) as well as the defaults", () => {
    const paths = ['actor', 'metadata.card.number', 'metadata.people.*.ssn', 'metadata["x-y"]'];
    const { logger, out } = memoryLogger({ redact: paths });
    const event = logger.record({
      ...base,
      actor: S,
      metadata: {
        card: { number: S, brand: 'visa' },
        people: [{ ssn: S, name: 'a' }],
        'x-y': S,
        password: S,
      },
    });
    expect(out.text).not.toContain(S);
    expect(event.actor).toBe(REDACTED);
    expect(event.metadata).toEqual({
      card: { number: REDACTED, brand: 'visa' },
      people: [{ ssn: REDACTED, name: 'a' }],
      'x-y': REDACTED,
      password: REDACTED,
    });
    expect(paths).toEqual([
      'actor',
      'metadata.card.number',
      'metadata.people.*.ssn',
      'metadata["x-y"]',
    ]);
    expect(verifyAuditLog(out.text).ok).toBe(true);
  });

  it('should apply censor to the paths and the defaults', () => {
    const { logger, out } = memoryLogger({ redact: { paths: ['reason'], censor: '***' } });
    const event = logger.record({
      ...base,
      reason: S,
      resource: `/r?token=${S}`,
      metadata: { token: S },
    });
    expect(event).toMatchObject({
      reason: '***',
      resource: '/r?token=***',
      metadata: { token: '***' },
    });
    expect(verifyAuditLog(out.text).ok).toBe(true);
  });

  it('should call a censor function with the value and the path', () => {
    const seen: string[] = [];
    const { logger, out } = memoryLogger({
      redact: {
        paths: ['metadata.card'],
        censor: (value, path) => {
          seen.push(path.join('.'));
          return `len:${String(value).length}`;
        },
      },
    });
    const event = logger.record({
      ...base,
      metadata: { card: '4111111111111111', body: { password: S } },
    });
    expect(event.metadata).toEqual({ card: 'len:16', body: { password: `len:${S.length}` } });
    expect(seen.sort()).toEqual(['metadata.body.password', 'metadata.card']);
    expect(out.text).not.toContain(S);
  });

  it('should remove instead of replacing with remove: true', () => {
    const { logger, out } = memoryLogger({ redact: { paths: ['metadata.card'], remove: true } });
    const event = logger.record({ ...base, metadata: { card: S, password: S, kept: 1 } });
    expect(event.metadata).toEqual({ kept: 1 });
    expect(out.text).not.toContain(S);
    expect(verifyAuditLog(out.text).ok).toBe(true);
  });
});

describe('secrets sent over real HTTP', () => {
  it('should keep a sentinel in headers, cookies and the URL out of every line', async () => {
    const { logger, out } = memoryLogger();
    const app = express();
    app.use(express.json());
    app.post('/api/login', (req, res) => {
      audit(req, logger).record({
        type: 'auth.login',
        outcome: 'failure',
        actor: String((req.body as { user?: string }).user),
        resource: req.originalUrl,
        metadata: {
          headers: req.headers,
          query: { ...(req.query as Record<string, unknown>) },
          body: req.body as Record<string, unknown>,
        },
      });
      res.status(401).end();
    });
    const agent = request(app);
    const attempts = [
      { header: 'Authorization', value: `Bearer ${S}` },
      { header: 'Proxy-Authorization', value: `Basic ${S}` },
      { header: 'Cookie', value: `sid=${S}; theme=dark` },
      { header: 'X-Api-Key', value: S },
      { header: 'X-Auth-Token', value: S },
      { header: 'X-Amz-Security-Token', value: S },
    ];
    for (const { header, value } of attempts) {
      await agent
        .post(`/api/login?token=${S}&api_key=${S}&password=${S}&page=1`)
        .set(header, value)
        .send({ user: 'bob', password: S, otp: { secret: S } })
        .expect(401);
    }
    const lines = out.lines;
    expect(lines).toHaveLength(attempts.length);
    const leaking = lines.filter((l) => l.includes(S));
    console.log(
      `secret sentinel: ${attempts.length} requests, ${lines.length} lines, ${leaking.length} containing it`,
    );
    expect(leaking).toEqual([]);
    expect(lines.join('\n')).toContain('"page":"1"');
    expect(verifyAuditLog(lines).ok).toBe(true);
  });
});
