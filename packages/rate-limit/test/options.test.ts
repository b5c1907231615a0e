// Options of expressRateLimit() / koaRateLimit(): every error code, pinned with the option it names.
import type { IncomingMessage } from 'node:http';
import express, { type ErrorRequestHandler } from 'express';
import Koa from 'koa';
import { Counter, Gauge, Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  type ExpressRateLimit,
  type KoaRateLimit,
  type PolicyOptions,
  RATE_LIMIT_ERROR_CODES,
  expressRateLimit,
  koaRateLimit,
} from '@vigil/rate-limit';
import { closeServers, express4, Koa2, rawRequest, startServer } from '@vigil/test-utils';
import { LoggerCapture } from './support/signals';

const C = RATE_LIMIT_ERROR_CODES;
type Code = (typeof C)[keyof typeof C];

// parseOptions reads REDIS_URL: no test may depend on the environment it was started in.
beforeEach(() => {
  vi.stubEnv('REDIS_URL', undefined);
});
afterEach(async () => {
  vi.unstubAllEnvs();
  await closeAll();
  await closeServers();
});

const created: { close(): Promise<void> }[] = [];
async function closeAll(): Promise<void> {
  await Promise.all(created.splice(0).map((l) => l.close()));
}

const FACTORIES = [
  {
    name: 'expressRateLimit',
    create: (...args: unknown[]): ExpressRateLimit => {
      // Deliberately untyped calls: the checks below are the run-time ones, for JavaScript callers.
      const limiter = (expressRateLimit as (...a: unknown[]) => ExpressRateLimit)(...args);
      created.push(limiter);
      return limiter;
    },
  },
  {
    name: 'koaRateLimit',
    create: (...args: unknown[]): KoaRateLimit => {
      const limiter = (koaRateLimit as (...a: unknown[]) => KoaRateLimit)(...args);
      created.push(limiter);
      return limiter;
    },
  },
] as const;

const OK: PolicyOptions = { name: 'api', limit: 5, windowMs: 60_000 };
/** Options with one policy whose fields are replaced by `fields`. */
const withPolicy = (fields: Record<string, unknown>) => ({
  registry: new Registry(),
  policies: [{ ...OK, ...fields }],
});
const withOption = (extra: Record<string, unknown>) => ({
  registry: new Registry(),
  policies: [OK],
  ...extra,
});

/** The error `run` throws, which must be a coded VigilError. */
function thrown(run: () => unknown): Error & { code: string } {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).name).toBe('VigilError');
    return error as Error & { code: string };
  }
  throw new Error('expected the call to throw');
}

interface Case {
  what: string;
  options: () => unknown;
  code: Code;
  /** The option named in the message (`option "<name>"`). */
  option: string;
  /** Text the message must also show (the value received, the expectation). */
  shows?: string;
}

const CASES: Case[] = [
  // The options argument itself.
  { what: 'a string', options: () => 'policies', code: C.INVALID_OPTIONS, option: 'options' },
  { what: 'null', options: () => null, code: C.INVALID_OPTIONS, option: 'options' },
  { what: 'an array', options: () => [OK], code: C.INVALID_OPTIONS, option: 'options' },
  // Unknown options, at the top and inside redis.
  {
    what: 'a misspelled option',
    options: () => withOption({ polices: [] }),
    code: C.UNKNOWN_OPTION,
    option: 'polices',
    shows: 'Check the spelling',
  },
  {
    what: 'a misspelled redis option',
    options: () => withOption({ redis: { urll: 'redis://127.0.0.1:6379' } }),
    code: C.UNKNOWN_OPTION,
    option: 'redis.urll',
  },
  // Top-level option values.
  { what: 'no options', options: () => undefined, code: C.INVALID_OPTION, option: 'policies' },
  {
    what: 'no policies',
    options: () => ({ policies: [] }),
    code: C.INVALID_OPTION,
    option: 'policies',
    shows: 'a non-empty array of policies',
  },
  {
    what: 'policies not an array',
    options: () => ({ policies: OK }),
    code: C.INVALID_OPTION,
    option: 'policies',
  },
  ...[0, 129, 56.5, '56', true].map((v): Case => ({
    what: `ipv6Subnet ${String(v)}`,
    options: () => withOption({ ipv6Subnet: v }),
    code: C.INVALID_OPTION,
    option: 'ipv6Subnet',
    shows: 'an integer from 1 to 128',
  })),
  ...['draft-6', true, 'DRAFT-8'].map((v): Case => ({
    what: `headers ${String(v)}`,
    options: () => withOption({ headers: v }),
    code: C.INVALID_OPTION,
    option: 'headers',
  })),
  ...['/metrics', [1], [null]].map((v): Case => ({
    what: `skipPaths ${JSON.stringify(v)}`,
    options: () => withOption({ skipPaths: v }),
    code: C.INVALID_OPTION,
    option: 'skipPaths',
  })),
  ...[9, 600_001, 1.5].map((v): Case => ({
    what: `retryIntervalMs ${v}`,
    options: () => withOption({ retryIntervalMs: v }),
    code: C.INVALID_OPTION,
    option: 'retryIntervalMs',
    shows: 'an integer from 10 to 600000',
  })),
  {
    what: 'a registry without getSingleMetric',
    options: () => ({ policies: [OK], registry: {} }),
    code: C.INVALID_OPTION,
    option: 'registry',
  },
  {
    what: 'an audit sink without record()',
    options: () => withOption({ audit: { log() {} } }),
    code: C.INVALID_OPTION,
    option: 'audit',
  },
  {
    what: 'a logger without warn()',
    options: () => withOption({ logger: console.log }),
    code: C.INVALID_OPTION,
    option: 'logger',
  },
  ...['a b', 'x'.repeat(65), 42].map((v): Case => ({
    what: `redis.prefix ${JSON.stringify(v).slice(0, 12)}`,
    options: () => withOption({ redis: { prefix: v } }),
    code: C.INVALID_OPTION,
    option: 'redis.prefix',
  })),
  ...[0, 60_001, '250'].map((v): Case => ({
    what: `redis.commandTimeoutMs ${JSON.stringify(v)}`,
    options: () => withOption({ redis: { commandTimeoutMs: v } }),
    code: C.INVALID_OPTION,
    option: 'redis.commandTimeoutMs',
  })),
  // Policies: each field.
  {
    what: 'a policy that is not an object',
    options: () => ({ registry: new Registry(), policies: ['api'] }),
    code: C.INVALID_POLICY,
    option: 'policies[0]',
  },
  {
    what: 'a null policy',
    options: () => ({ registry: new Registry(), policies: [null] }),
    code: C.INVALID_POLICY,
    option: 'policies[0]',
  },
  {
    what: 'an unknown policy field',
    options: () => withPolicy({ windowMS: 1000 }),
    code: C.INVALID_POLICY,
    option: 'policies[0].windowMS',
    shows: 'Check the spelling',
  },
  ...[undefined, '', 'has space', 'x'.repeat(65), 'ünïcode', 42].map((v): Case => ({
    what: `name ${JSON.stringify(v)?.slice(0, 12)}`,
    options: () => withPolicy({ name: v }),
    code: C.INVALID_POLICY,
    option: 'policies[0].name',
  })),
  ...[undefined, 0, -1, 1.5, '5', 1e9 + 1, Number.NaN].map((v): Case => ({
    what: `limit ${String(v)}`,
    options: () => withPolicy({ limit: v }),
    code: C.INVALID_POLICY,
    option: 'policies["api"].limit',
    shows: 'an integer from 1 to 1000000000',
  })),
  ...[undefined, 999, 1000.5, 2 ** 31, '60000'].map((v): Case => ({
    what: `windowMs ${String(v)}`,
    options: () => withPolicy({ windowMs: v }),
    code: C.INVALID_POLICY,
    option: 'policies["api"].windowMs',
  })),
  ...['IP', 'apikey', 42].map((v): Case => ({
    what: `key ${String(v)}`,
    options: () => withPolicy({ key: v }),
    code: C.INVALID_POLICY,
    option: 'policies["api"].key',
  })),
  {
    what: 'a user function without key "user"',
    options: () => withPolicy({ user: () => 'u' }),
    code: C.INVALID_POLICY,
    option: 'policies["api"].user',
    shows: 'given only with key: "user"',
  },
  ...['bad header', '', 42].map((v): Case => ({
    what: `apiKeyHeader ${JSON.stringify(v)}`,
    options: () => withPolicy({ key: 'api-key', apiKeyHeader: v }),
    code: C.INVALID_POLICY,
    option: 'policies["api"].apiKeyHeader',
  })),
  {
    what: 'an apiKeyHeader without key "api-key"',
    options: () => withPolicy({ apiKeyHeader: 'x-key' }),
    code: C.INVALID_POLICY,
    option: 'policies["api"].apiKeyHeader',
  },
  ...[[], '/api', ['api'], [42]].map((v): Case => ({
    what: `routes ${JSON.stringify(v)}`,
    options: () => withPolicy({ routes: v }),
    code: C.INVALID_POLICY,
    option: 'policies["api"].routes',
  })),
  ...[[], 'GET', ['GET POST'], [1]].map((v): Case => ({
    what: `methods ${JSON.stringify(v)}`,
    options: () => withPolicy({ methods: v }),
    code: C.INVALID_POLICY,
    option: 'policies["api"].methods',
  })),
  ...['ignore', 'FAIL-OPEN', true].map((v): Case => ({
    what: `onStoreError ${String(v)}`,
    options: () => withPolicy({ onStoreError: v }),
    code: C.INVALID_POLICY,
    option: 'policies["api"].onStoreError',
  })),
  ...[200, 399, 600, 429.5, '429'].map((v): Case => ({
    what: `statusCode ${JSON.stringify(v)}`,
    options: () => withPolicy({ statusCode: v }),
    code: C.INVALID_POLICY,
    option: 'policies["api"].statusCode',
    shows: 'an integer from 400 to 599',
  })),
  {
    what: 'two policies with one name',
    options: () => ({ registry: new Registry(), policies: [OK, { ...OK, limit: 9 }] }),
    code: C.DUPLICATE_POLICY,
    option: 'policies',
    shows: "'api'",
  },
  // Stores.
  {
    what: 'store "redis" without redis or REDIS_URL',
    options: () => withOption({ store: 'redis' }),
    code: C.INVALID_STORE,
    option: 'store',
    shows: 'REDIS_URL',
  },
  {
    what: 'store "disk"',
    options: () => withOption({ store: 'disk' }),
    code: C.INVALID_STORE,
    option: 'store',
  },
  ...['http://127.0.0.1:6379', 'redis://', 'redis://host with space', 6379].map((v): Case => ({
    what: `redis.url ${JSON.stringify(v)}`,
    options: () => withOption({ redis: { url: v } }),
    code: C.INVALID_STORE,
    option: 'redis.url',
  })),
  ...[{}, { get() {} }, 'redis://127.0.0.1:6379'].map((v): Case => ({
    what: `redis.client ${JSON.stringify(v)}`,
    options: () => withOption({ redis: { client: v } }),
    code: C.INVALID_STORE,
    option: 'redis.client',
  })),
  {
    what: 'both redis.url and redis.client',
    options: () =>
      withOption({
        redis: { url: 'redis://127.0.0.1:6379', client: { call: () => Promise.resolve() } },
      }),
    code: C.INVALID_STORE,
    option: 'redis',
    shows: 'either url or client',
  },
];

describe.each(FACTORIES)('$name options', ({ name, create }) => {
  it.each(CASES)('should reject $what with $code naming "$option"', (c) => {
    const error = thrown(() => create(c.options()));
    expect(error.code).toBe(c.code);
    expect(error.message.startsWith(`${c.code}: `)).toBe(true);
    expect(error.message).toContain(`option "${c.option}"`);
    expect(error.message).toContain('@vigil/rate-limit README');
    expect(error.message).not.toContain('\n');
    if (c.shows !== undefined) expect(error.message).toContain(c.shows);
  });

  it('should say which factory threw', () => {
    expect(thrown(() => create(withPolicy({ limit: 0 }))).message).toContain(`${name}(): `);
  });

  it('should reject framework call arguments with NOT_CALLED', () => {
    const req = { socket: {}, headers: {} } as unknown as IncomingMessage;
    for (const args of [[req, {}, () => undefined], [{}, () => Promise.resolve()], [req]]) {
      const error = thrown(() => create(...args));
      expect(error.code).toBe(C.NOT_CALLED);
      // The fix carries the required policies: `app.use(expressRateLimit())` would throw.
      expect(error.message).toMatch(
        /Fix: `const limiter = (express|koa)RateLimit\(\{ policies: \[\{ name: 'api', limit: 100, windowMs: 60_000 \}\] \}\); app\.use\(limiter\)`/,
      );
    }
  });

  it('should reject policy(name) of an unknown policy with UNKNOWN_POLICY', () => {
    const limiter = create(withOption({ policies: [OK, { ...OK, name: 'login' }] }));
    const error = thrown(() => limiter.policy('nope'));
    expect(error.code).toBe(C.UNKNOWN_POLICY);
    expect(error.message).toContain('"nope"');
    expect(error.message).toContain('api, login');
    expect(typeof limiter.policy('login')).toBe('function');
  });

  it('should reject a registry holding another metric named rate_limit_requests_total', () => {
    const gauge = new Registry();
    new Gauge({ name: 'rate_limit_requests_total', help: 'not ours', registers: [gauge] });
    const relabelled = new Registry();
    new Counter({
      name: 'rate_limit_requests_total',
      help: 'not ours',
      labelNames: ['policy'],
      registers: [relabelled],
    });
    for (const registry of [gauge, relabelled]) {
      const error = thrown(() => create({ registry, policies: [OK] }));
      expect(error.code).toBe(C.METRIC_CONFLICT);
      expect(error.message).toContain('rate_limit_requests_total');
      expect(error.message).toContain('registry');
    }
  });

  it('should share the counter of an earlier limiter on the same registry', () => {
    const registry = new Registry();
    create({ registry, policies: [OK] });
    const first = registry.getSingleMetric('rate_limit_requests_total');
    expect(() => create({ registry, policies: [OK] })).not.toThrow();
    expect(registry.getSingleMetric('rate_limit_requests_total')).toBe(first);
    expect((first as { type?: string } | undefined)?.type).toBe('counter');
  });

  it('should accept registry: false, audit: false and every key kind', () => {
    const limiter = create({
      logger: new LoggerCapture(),
      registry: false,
      audit: false,
      policies: [
        { ...OK, name: 'ip' },
        { ...OK, name: 'user', key: 'user', user: () => 'u' },
        { ...OK, name: 'api-key', key: 'api-key', apiKeyHeader: 'X-Client-Key' },
        { ...OK, name: 'fn', key: () => 'k', routes: ['/a', /^\/b/], methods: ['get', 'POST'] },
      ],
      ipv6Subnet: false,
      headers: false,
      skipPaths: [],
      retryIntervalMs: 10,
    });
    expect(limiter.status().map((s) => s.policy)).toEqual(['ip', 'user', 'api-key', 'fn']);
  });

  it('should read REDIS_URL only when the redis option is absent', () => {
    vi.stubEnv('REDIS_URL', 'http://not-redis');
    const error = thrown(() => create(withOption({})));
    expect(error.code).toBe(C.INVALID_STORE);
    expect(error.message).toContain('option "redis.url"');
    expect(error.message).toContain("'http://not-redis'");
    // A redis option of its own (even without url) means the environment is not consulted.
    expect(create(withOption({ redis: { prefix: 'p:' } })).status()[0]?.store).toBe('memory');
  });

  it('should keep store "memory" when a valid REDIS_URL is set', () => {
    vi.stubEnv('REDIS_URL', 'redis://127.0.0.1:1');
    expect(create(withOption({ store: 'memory' })).status()[0]?.store).toBe('memory');
  });

  it('should ignore an unusable REDIS_URL when store is "memory"', () => {
    vi.stubEnv('REDIS_URL', 'localhost:6379');
    expect(create(withOption({ store: 'memory' })).status()[0]?.store).toBe('memory');
  });

  it('should use Redis when REDIS_URL is set and nothing else is', async () => {
    // Port 1 on loopback refuses connections: nothing is reached, the client only keeps retrying.
    vi.stubEnv('REDIS_URL', 'redis://127.0.0.1:1');
    const logger = new LoggerCapture();
    const limiter = create(withOption({ logger }));
    expect(limiter.status()).toEqual([{ policy: 'api', store: 'redis', down: false }]);
    await limiter.close();
  });

  it('should ignore a blank REDIS_URL', () => {
    vi.stubEnv('REDIS_URL', '   ');
    expect(create(withOption({})).status()[0]?.store).toBe('memory');
  });

  it.each([
    { field: 'user', fields: { key: 'user', user: 'id' } },
    { field: 'skipSuccessfulRequests', fields: { skipSuccessfulRequests: 'yes' } },
    { field: 'skipFailedRequests', fields: { skipFailedRequests: 1 } },
  ])('should reject a bad $field with INVALID_POLICY', ({ field, fields }) => {
    const error = thrown(() => create(withPolicy(fields)));
    expect(error.message).toContain(`option "policies["api"].${field}"`);
    expect(error.code).toBe(C.INVALID_POLICY);
  });
});

describe('error code coverage', () => {
  it('should exercise every code in RATE_LIMIT_ERROR_CODES', () => {
    const covered = new Set<string>([
      ...CASES.map((c) => c.code),
      C.NOT_CALLED,
      C.UNKNOWN_POLICY,
      C.METRIC_CONFLICT,
    ]);
    expect([...covered].sort()).toEqual(Object.values(C).sort());
  });
});

describe('mounted without the call', () => {
  it.each([
    { name: 'express4', factory: express4 },
    { name: 'express5', factory: express },
  ])('should answer 500 on $name with NOT_CALLED in the error handler', async ({ factory }) => {
    const app = factory();
    const errors: unknown[] = [];
    app.use(expressRateLimit as never);
    app.get('/', (_req, res) => {
      res.send('not reached');
    });
    const onError: ErrorRequestHandler = (err, _req, res, _next) => {
      errors.push(err);
      res.status(500).send('handled');
    };
    app.use(onError);
    const { origin } = await startServer(app);
    const reply = await rawRequest(origin, '/');
    expect(reply.status).toBe(500);
    expect(errors).toHaveLength(1);
    expect((errors[0] as { code?: string }).code).toBe(C.NOT_CALLED);
    expect((errors[0] as Error).message).toContain(
      "Fix: `const limiter = expressRateLimit({ policies: [{ name: 'api', limit: 100, windowMs: 60_000 }] }); app.use(limiter)`.",
    );
  });

  it.each([
    { name: 'koa2', Factory: Koa2 },
    { name: 'koa3', Factory: Koa },
  ])('should answer 500 on $name with NOT_CALLED on the error event', async ({ Factory }) => {
    const app = new Factory();
    const errors: unknown[] = [];
    app.on('error', (err: unknown) => errors.push(err));
    app.use(koaRateLimit as never);
    const handle = app.callback();
    const { origin } = await startServer((req, res) => void handle(req, res));
    const reply = await rawRequest(origin, '/');
    expect(reply.status).toBe(500);
    expect(errors).toHaveLength(1);
    expect((errors[0] as { code?: string }).code).toBe(C.NOT_CALLED);
    expect((errors[0] as Error).message).toContain(
      "Fix: `const limiter = koaRateLimit({ policies: [{ name: 'api', limit: 100, windowMs: 60_000 }] }); app.use(limiter)`.",
    );
  });
});

describe('warnings at creation', () => {
  it.each([
    { key: 'user' as const, ipv6Subnet: undefined },
    { key: 'api-key' as const, ipv6Subnet: undefined },
    { key: () => 'k', ipv6Subnet: undefined },
    { key: 'ip' as const, ipv6Subnet: 128 },
    { key: 'ip' as const, ipv6Subnet: 24 },
  ])(
    'expressRateLimit should log nothing for valid options (key $key, ipv6Subnet $ipv6Subnet)',
    ({ key, ipv6Subnet }) => {
      const logger = new LoggerCapture();
      const limiter = expressRateLimit({
        registry: new Registry(),
        logger,
        ipv6Subnet,
        policies: [{ ...OK, key }],
      });
      created.push(limiter);
      expect(logger.problems).toEqual([]);
    },
  );

  it.each(['user', 'api-key'] as const)(
    'koaRateLimit should log nothing for a valid policy with key %s',
    (key) => {
      const logger = new LoggerCapture();
      created.push(koaRateLimit({ registry: new Registry(), logger, policies: [{ ...OK, key }] }));
      expect(logger.problems).toEqual([]);
    },
  );

  it('expressRateLimit should log nothing for a valid ip policy', () => {
    const logger = new LoggerCapture();
    created.push(expressRateLimit({ registry: new Registry(), logger, policies: [OK] }));
    expect(logger.problems).toEqual([]);
  });
});
