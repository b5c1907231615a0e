// Every error code of @vigil/health, pinned with its message: thrown at the factory call, never at
// request time.
import { Gauge, Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import {
  HEALTH_ERROR_CODES,
  type Health,
  type HealthCheck,
  VigilError,
  check,
  createHealth,
  eventLoopCheck,
  expressHealth,
  koaHealth,
  listenHealth,
  memoryCheck,
  redisCheck,
} from '@vigil/health';

const C = HEALTH_ERROR_CODES;
const created: Health[] = [];
afterEach(() => {
  for (const h of created.splice(0)) h.close();
});

function thrown(fn: () => unknown): VigilError {
  try {
    const value = fn();
    if (value !== null && typeof value === 'object' && 'close' in value)
      created.push(value as Health);
  } catch (error) {
    expect(error).toBeInstanceOf(VigilError);
    return error as VigilError;
  }
  throw new Error('nothing was thrown');
}

const fakeReq = { socket: {}, headers: {} };
const fakeKoaCtx = { req: {}, res: {}, app: {} };
const pong = { ping: () => Promise.resolve('PONG') };

describe('error codes', () => {
  it('should list ten codes, each ERR_VIGIL_HEALTH_<KEY>', () => {
    expect(Object.entries(C).every(([k, v]) => v === `ERR_VIGIL_HEALTH_${k}`)).toBe(true);
    expect(Object.keys(C)).toHaveLength(10);
  });

  it('should explain NOT_CALLED with the fix of the framework at hand', () => {
    const express = thrown(() =>
      (expressHealth as (...a: unknown[]) => unknown)(fakeReq, {}, () => undefined),
    );
    expect(express.code).toBe(C.NOT_CALLED);
    expect(express.message).toBe(
      'ERR_VIGIL_HEALTH_NOT_CALLED: expressHealth was called with Express\'s (req, res, next) instead of its options: it was handed to the app (app.use() or a route) without being called. It returns the middleware answering /health/live, /health/ready and /health/startup: mount the result before your routes. Fix: `app.use(expressHealth())`. See "Error codes" in the @vigil/health README.',
    );
    const koa = thrown(() =>
      (koaHealth as (...a: unknown[]) => unknown)(fakeKoaCtx, () => undefined),
    );
    expect(koa.code).toBe(C.NOT_CALLED);
    expect(koa.message).toContain('Fix: `app.use(koaHealth())`');
    const created = thrown(() =>
      (createHealth as (...a: unknown[]) => unknown)(fakeReq, {}, () => undefined),
    );
    expect(created.code).toBe(C.NOT_CALLED);
  });

  it('should reject options that are not an object (INVALID_OPTIONS)', () => {
    const e = thrown(() => createHealth(42 as never));
    expect(e.code).toBe(C.INVALID_OPTIONS);
    expect(e.message).toBe(
      'ERR_VIGIL_HEALTH_INVALID_OPTIONS: createHealth(): option "options" must be an object or undefined, received 42. See "Error codes" in the @vigil/health README.',
    );
  });

  it('should reject an unknown option name (UNKNOWN_OPTION)', () => {
    const e = thrown(() => createHealth({ checks: [] } as never));
    expect(e.code).toBe(C.UNKNOWN_OPTION);
    expect(e.message).toContain('option "checks" must be one of liveness, readiness, startup,');
    expect(thrown(() => createHealth({ shutdown: { graceMs: 1 } as never })).code).toBe(
      C.UNKNOWN_OPTION,
    );
  });

  it.each([
    [
      'a short token',
      { token: 'short' },
      'option "token" must be a string of at least 16 characters',
    ],
    ['a bad terse', { terse: 'yes' }, 'option "terse" must be a boolean'],
    [
      'a drain past the hub bound',
      { shutdown: { delayMs: 3000, timeoutMs: 3000 } },
      "the shutdown hub's bound",
    ],
    ['a non-array readiness', { readiness: pong }, 'option "readiness" must be an array of checks'],
  ])('should reject %s (INVALID_OPTION)', (_name, options, message) => {
    const e = thrown(() => createHealth(options as never));
    expect(e.code).toBe(C.INVALID_OPTION);
    expect(e.message).toContain(message);
  });

  it('should reject a short VIGIL_HEALTH_TOKEN (INVALID_OPTION)', () => {
    const saved = process.env.VIGIL_HEALTH_TOKEN;
    process.env.VIGIL_HEALTH_TOKEN = 'short';
    try {
      const e = thrown(() => createHealth());
      expect(e.code).toBe(C.INVALID_OPTION);
      expect(e.message).toContain("received '(VIGIL_HEALTH_TOKEN)'");
    } finally {
      if (saved === undefined) delete process.env.VIGIL_HEALTH_TOKEN;
      else process.env.VIGIL_HEALTH_TOKEN = saved;
    }
  });

  it.each([
    [
      'check options',
      () => check('db', () => true, { timeoutMs: 0 }),
      'option "timeoutMs" must be an integer from 1 to 60000',
    ],
    ['eventLoopCheck options', () => eventLoopCheck({ maxDelayMs: -1 }), 'option "maxDelayMs"'],
    [
      'memoryCheck options',
      () => memoryCheck({ maxHeapRatio: 2 }),
      'option "maxHeapRatio" must be a ratio above 0 and at most 1',
    ],
    [
      'a check scope',
      () => check('db', () => true, { scope: 'cluster' as never }),
      'option "scope" must be "process" or "dependency"',
    ],
  ])('should reject bad %s (INVALID_OPTION)', (_name, fn, message) => {
    const e = thrown(fn);
    expect(e.code).toBe(C.INVALID_OPTION);
    expect(e.message).toContain(message);
  });

  it('should reject something that is not a check (INVALID_CHECK)', () => {
    const e = thrown(() => createHealth({ readiness: [(() => true) as unknown as HealthCheck] }));
    expect(e.code).toBe(C.INVALID_CHECK);
    expect(e.message).toContain('option "readiness" must be an array of checks made by check()');
    expect(e.message).toContain('Wrap your function: `check("database", () => db.ping())`.');
    const name = thrown(() => check('1 bad name', () => true));
    expect(name.code).toBe(C.INVALID_CHECK);
    expect(name.message).toContain('option "name" must be a name of letters, digits');
    expect(thrown(() => check('db', 'ping' as never)).code).toBe(C.INVALID_CHECK);
  });

  it('should reject two checks of one name (DUPLICATE_CHECK)', () => {
    const e = thrown(() =>
      createHealth({ readiness: [check('db', () => true), check('db', () => false)] }),
    );
    expect(e.code).toBe(C.DUPLICATE_CHECK);
    expect(e.message).toBe(
      'ERR_VIGIL_HEALTH_DUPLICATE_CHECK: createHealth(): option "checks" must be checks of distinct names (liveness checks are part of readiness already), received \'db\'. Give each check its own name, and list each once. See "Error codes" in the @vigil/health README.',
    );
  });

  it('should keep dependency checks out of liveness (DEPENDENCY_IN_LIVENESS)', () => {
    const e = thrown(() => createHealth({ liveness: [redisCheck(pong)] }));
    expect(e.code).toBe(C.DEPENDENCY_IN_LIVENESS);
    expect(e.message).toContain('received \'the dependency check "redis"\'');
    expect(e.message).toContain('Move it to `readiness`');
    expect(thrown(() => createHealth({ liveness: [check('db', () => true)] })).code).toBe(
      C.DEPENDENCY_IN_LIVENESS,
    );
    // A check of the process itself is welcome there.
    const ok = createHealth({
      shutdown: false,
      registry: false,
      liveness: [check('worker', () => true, { scope: 'process' })],
    });
    ok.close();
  });

  it('should want a client with ping() (INVALID_CLIENT)', () => {
    const e = thrown(() => redisCheck({} as never));
    expect(e.code).toBe(C.INVALID_CLIENT);
    expect(e.message).toBe(
      'ERR_VIGIL_HEALTH_INVALID_CLIENT: redisCheck(): option "client" must be a Redis client with a ping() method (ioredis or node-redis), received {}. Pass the client itself, e.g. `redisCheck(new Redis(process.env.REDIS_URL))`. See "Error codes" in the @vigil/health README.',
    );
  });

  it('should want a registry (INVALID_REGISTRY)', () => {
    const e = thrown(() => createHealth({ registry: {} as never }));
    expect(e.code).toBe(C.INVALID_REGISTRY);
    expect(e.message).toContain('option "registry" must be a prom-client Registry or false');
  });

  it('should refuse a registry holding another metric of its names (METRIC_CONFLICT)', () => {
    const registry = new Registry();
    new Gauge({ name: 'health_check_status', help: 'app', registers: [registry] });
    const e = thrown(() => createHealth({ registry, shutdown: false }));
    expect(e.code).toBe(C.METRIC_CONFLICT);
    expect(e.message).toBe(
      'ERR_VIGIL_HEALTH_METRIC_CONFLICT: The registry already holds another metric named "health_check_status". Remove it, or give @vigil/health a registry of its own. See "ERR_VIGIL_HEALTH_METRIC_CONFLICT" under "Error codes" in the @vigil/health README.',
    );
  });

  it('should reject listenHealth() without a Health object', async () => {
    await expect(listenHealth({} as never)).rejects.toMatchObject({ code: C.INVALID_OPTION });
  });
});
