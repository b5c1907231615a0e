// Redis failing under load: killed (SIGKILL) and restarted on the same port, frozen (SIGSTOP), and down
// at startup. Each policy must do what it declares, answer every request within the command timeout
// plus a margin, raise no unhandled error, audit each outage once, and resume limiting by itself.
import { performance } from 'node:perf_hooks';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { PolicyOptions, StoreErrorBehaviour } from '@vigil/rate-limit';
import { type FrameworkName, buildApp } from './support/apps';
import {
  closeServers,
  findRedisServer,
  freePort,
  rawRequest,
  RedisServer,
  startServer,
} from '@vigil/test-utils';
import { LoadLoop, type PhaseFigures, figures } from './support/load';
import {
  AuditCapture,
  type DecisionCounts,
  LoggerCapture,
  decisionCounts,
  formatTable,
} from './support/signals';

const binary = findRedisServer();

const COMMAND_TIMEOUT_MS = 250;
/** Latency Redis trouble may add to the p99 of a phase: the command timeout plus a margin. */
const ADDED_LATENCY_BOUND_MS = COMMAND_TIMEOUT_MS + 250;
/** From Redis answering again to limiting from Redis again. */
const RESUME_BOUND_MS = 5_000;
const WORKERS = 8;
/** Requests before the measured phases: the first connection, JIT and caches warm up. */
const WARMUP_REQUESTS = 40;
const PHASE_REQUESTS = 300;
const OUTAGES = 2;
const LIMIT = 100;
/** The client gives up on a request after this long: such a request counts as hung. */
const CLIENT_TIMEOUT_MS = 5_000;

const POLICIES = (behaviour: StoreErrorBehaviour): PolicyOptions[] =>
  ['a', 'b'].map((name) => ({
    name,
    limit: LIMIT,
    windowMs: 60_000,
    routes: [`/${name}`],
    onStoreError: behaviour,
  }));
const PATHS = ['/a/items', '/b/items'];
/** The client address of the load (apps trust the loopback proxy), and of connect()'s requests. */
const LOAD_CLIENT = '198.51.100.2';
const CONNECT_CLIENT = '198.51.100.1';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Store events of `policy` from the `from`-th audit event on. */
const storeEvents = (audit: AuditCapture, policy: string, from = 0) =>
  audit.events
    .slice(from)
    .filter((e) => e.type.startsWith('rate_limit.store_') && e.resource === policy)
    .map((e) => e.type);
const eventCounts = (audit: AuditCapture, type: string, from = 0) =>
  ['a', 'b'].map((p) => storeEvents(audit, p, from).filter((t) => t === type).length).join('/');

describe.skipIf(binary === undefined)('Redis faults under load', () => {
  let redis: RedisServer;
  let prefixes = 0;
  const unhandled: unknown[] = [];
  const onUnhandled = (error: unknown) => {
    unhandled.push(error);
  };
  const phaseRows: (PhaseFigures & { run: string })[] = [];
  const summaryRows: Record<string, string | number>[] = [];
  const limiters: { close(): Promise<void> }[] = [];

  beforeAll(async () => {
    process.on('unhandledRejection', onUnhandled);
    process.on('uncaughtException', onUnhandled);
    redis = await RedisServer.start(binary as string);
  });
  afterEach(async () => {
    await Promise.all(limiters.splice(0).map((l) => l.close()));
    await closeServers();
  });
  afterAll(async () => {
    process.off('unhandledRejection', onUnhandled);
    process.off('uncaughtException', onUnhandled);
    await redis?.kill();
    console.log(
      [
        '',
        `Redis faults, per phase: ${WORKERS} keep-alive workers, limit ${LIMIT} per policy (a, b), command timeout ${COMMAND_TIMEOUT_MS} ms.`,
        'A request belongs to the phase it started in; "killing" / "restarting" are the transitions.',
        formatTable(phaseRows),
        '',
        'Per run (unhandled = unhandledRejection + uncaughtException events; times from Redis answering PING again):',
        formatTable(summaryRows),
        '',
      ].join('\n'),
    );
  });

  async function serve(
    framework: FrameworkName,
    behaviour: StoreErrorBehaviour,
    url: string,
    policies = POLICIES(behaviour),
  ) {
    const registry = new Registry();
    const audit = new AuditCapture();
    const logger = new LoggerCapture();
    const app = buildApp(framework, {
      trustProxy: 'loopback',
      proxy: true,
      maxIpsCount: 1,
      options: {
        registry,
        audit,
        logger,
        redis: {
          url,
          prefix: `vigil-faults-${process.pid}-${++prefixes}:`,
          commandTimeoutMs: COMMAND_TIMEOUT_MS,
        },
        policies,
      },
    });
    limiters.push(app.limiter);
    const { origin } = await startServer(app.listener);
    const load = new LoadLoop({
      origin,
      paths: PATHS,
      workers: WORKERS,
      timeoutMs: CLIENT_TIMEOUT_MS,
      headers: { 'x-forwarded-for': LOAD_CLIENT },
    });
    /** Requests connect() sent, per policy: the limiter counted them, the load loop did not. */
    const connectSent: Record<string, number> = {};
    /**
     * Waits until the limiter's Redis client is connected and every store is up, with requests from
     * a client address of their own (their own Redis keys), so the load starts on fresh counts. A
     * first connection slower than the command timeout (a loaded machine) is a startup outage: its
     * audit events come before the index returned.
     */
    const connect = async (): Promise<number> => {
      const deadline = performance.now() + RESUME_BOUND_MS;
      for (;;) {
        for (const { name } of policies) {
          await rawRequest(origin, `/${name}/connect`, {
            headers: { 'x-forwarded-for': CONNECT_CLIENT },
          });
          connectSent[name] = (connectSent[name] ?? 0) + 1;
        }
        if (app.limiter.status().every((st) => !st.down)) return audit.events.length;
        if (performance.now() > deadline) throw new Error('the limiter never reached Redis');
        await sleep(20);
      }
    };
    return { app, registry, audit, logger, load, connect, connectSent, origin };
  }

  /**
   * Waits until every policy's store is up again and a request started after that was limited (by
   * the store, which is all that limits once it is up): the time from `since` to that response.
   */
  async function limitingResumes(
    load: LoadLoop,
    isUp: () => boolean,
    since: number,
  ): Promise<{ storeUpMs: number; first429Ms: number }> {
    let upAt = Number.POSITIVE_INFINITY;
    const limitedAfterUp = () =>
      load.samples.filter((s) => s.status === 429 && s.startedAt >= upAt);
    await load.waitFor(
      () => {
        if (upAt === Number.POSITIVE_INFINITY && isUp()) upAt = performance.now();
        return limitedAfterUp().length > 0;
      },
      RESUME_BOUND_MS,
      'limiting resumes after Redis returns',
    );
    const first = Math.min(...limitedAfterUp().map((s) => s.endedAt));
    return { storeUpMs: Math.round(upAt - since), first429Ms: Math.round(first - since) };
  }

  const record = (run: string, load: LoadLoop, phases: string[]) => {
    phaseRows.push(...phases.map((phase) => ({ run, ...figures(load.samples, phase) })));
  };

  /** Per policy: requests it saw, from the paths the load loop sent. */
  const sentTo = (load: LoadLoop, policy: string) =>
    load.samples.filter((s) => s.path.startsWith(`/${policy}/`)).length;

  const COMBOS = (['express5', 'koa3'] as const).flatMap((framework) =>
    (['fail-open', 'fail-closed', 'fallback'] as const).map((behaviour) => ({
      framework,
      behaviour,
    })),
  );

  it.each(COMBOS)(
    'should $behaviour on $framework while Redis is killed under load and restarted',
    async ({ framework, behaviour }) => {
      const run = `${framework} ${behaviour} SIGKILL`;
      const unhandledBefore = unhandled.length;
      const { app, registry, audit, logger, load, connect, connectSent } = await serve(
        framework,
        behaviour,
        redis.url,
      );
      const mark = await connect();
      load.start('warmup');
      await load.until('warmup', WARMUP_REQUESTS);
      load.phase = 'up';
      await load.until('up', PHASE_REQUESTS);
      const phases = ['warmup', 'up'];
      const downs: PhaseFigures[] = [];
      const resumes: { storeUpMs: number; first429Ms: number }[] = [];
      let firstKillAt = 0;
      for (let outage = 1; outage <= OUTAGES; outage++) {
        load.phase = `killing ${outage}`;
        if (outage === 1) firstKillAt = performance.now();
        await redis.kill('SIGKILL');
        load.phase = `down ${outage}`;
        await load.until(`down ${outage}`, PHASE_REQUESTS);
        load.phase = `restarting ${outage}`;
        // Only the requests of the down phase that completed before Redis came back are judged.
        downs.push(figures(load.samples, `down ${outage}`, performance.now()));
        await redis.start();
        const restartedAt = performance.now();
        load.phase = `back ${outage}`;
        resumes.push(
          await limitingResumes(
            load,
            () => app.limiter.status().every((s) => !s.down),
            restartedAt,
          ),
        );
        await load.until(`back ${outage}`, PHASE_REQUESTS);
        phases.push(
          `killing ${outage}`,
          `down ${outage}`,
          `restarting ${outage}`,
          `back ${outage}`,
        );
      }
      await load.stop();

      record(run, load, phases);
      // The baseline: requests of the up phase that completed before Redis was first killed.
      const up = figures(load.samples, 'up', firstKillAt);
      const counts: Record<string, DecisionCounts> = {
        a: await decisionCounts(registry, 'a'),
        b: await decisionCounts(registry, 'b'),
      };
      const added = downs.map((down) => down['p99 ms'] - up['p99 ms']);
      summaryRows.push({
        run,
        requests: load.samples.length,
        unhandled: unhandled.length - unhandledBefore,
        'p99 added while down, ms': added.map((ms) => ms.toFixed(1)).join(' / '),
        'store up after, ms': resumes.map((r) => r.storeUpMs).join(' / '),
        'first 429 after, ms': resumes.map((r) => r.first429Ms).join(' / '),
        'store_failed a/b': eventCounts(audit, 'rate_limit.store_failed', mark),
        'store_recovered a/b': eventCounts(audit, 'rate_limit.store_recovered', mark),
        'a allowed/limited/store_error': `${counts.a?.allowed}/${counts.a?.limited}/${counts.a?.store_error}`,
        'b allowed/limited/store_error': `${counts.b?.allowed}/${counts.b?.limited}/${counts.b?.store_error}`,
      });

      // Every request answered, nothing thrown anywhere, the app's error handler never reached.
      expect(unhandled.slice(unhandledBefore)).toEqual([]);
      expect(load.samples.filter((s) => s.status === 0).map((s) => s.error)).toEqual([]);
      expect(load.samples.filter((s) => ![200, 429, 503].includes(s.status))).toEqual([]);
      expect(app.errors).toEqual([]);
      // Limiting worked before the outage: of the requests done before the kill, exactly the limit
      // of each policy got through.
      const beforeKill = load.samples.filter((s) => s.endedAt <= firstKillAt);
      expect(beforeKill.filter((s) => s.status === 200)).toHaveLength(2 * LIMIT);
      expect(beforeKill.filter((s) => s.status === 429).length).toBeGreaterThan(0);
      for (const [i, down] of downs.entries()) {
        expect(down.sent).toBeGreaterThan(PHASE_REQUESTS / 2);
        expect(added[i]).toBeLessThanOrEqual(ADDED_LATENCY_BOUND_MS);
        if (behaviour === 'fail-open') {
          expect([down['2xx'], down['429s'], down['503s']]).toEqual([down.sent, 0, 0]);
        } else if (behaviour === 'fail-closed') {
          expect([down['2xx'], down['429s'], down['503s']]).toEqual([0, 0, down.sent]);
        } else {
          expect(down['429s']).toBeGreaterThan(0);
          expect(down['503s']).toBe(0);
        }
      }
      // 503s say when to come back; only fail-closed sends them.
      const closed = load.samples.filter((s) => s.status === 503);
      expect(closed.filter((s) => s.retryAfter !== '1')).toEqual([]);
      if (behaviour !== 'fail-closed') expect(closed).toHaveLength(0);

      for (const policy of ['a', 'b']) {
        const c = counts[policy] as DecisionCounts;
        // Every request is counted exactly once under its policy.
        expect(c.allowed + c.limited + c.store_error).toBe(
          sentTo(load, policy) + (connectSent[policy] ?? 0),
        );
        if (behaviour === 'fallback') expect(c.store_error).toBe(0);
        else expect(c.store_error).toBeGreaterThanOrEqual(PHASE_REQUESTS / 2);
        // One failure and one recovery per policy per outage, in turn.
        expect(storeEvents(audit, policy, mark)).toEqual(
          Array.from({ length: OUTAGES }, () => [
            'rate_limit.store_failed',
            'rate_limit.store_recovered',
          ]).flat(),
        );
        for (const event of audit.forPolicy('rate_limit.store_failed', policy).slice(-OUTAGES)) {
          expect(event).toMatchObject({ outcome: 'failure', action: behaviour });
        }
      }
      // The outage is logged once per policy however long it lasts.
      expect(logger.problems.filter((p) => p.startsWith('store-down:')).sort()).toEqual([
        'store-down:a',
        'store-down:b',
      ]);
      expect(app.limiter.status().every((s) => !s.down)).toBe(true);
    },
  );

  it.each(['express5', 'koa3'] as const)(
    'should answer 503 within the command timeout while Redis hangs (SIGSTOP) on %s',
    async (framework) => {
      const run = `${framework} fail-closed SIGSTOP`;
      const unhandledBefore = unhandled.length;
      const { app, audit, load, connect } = await serve(framework, 'fail-closed', redis.url);
      const mark = await connect();
      load.start('warmup');
      await load.until('warmup', WARMUP_REQUESTS);
      load.phase = 'up';
      await load.until('up', PHASE_REQUESTS);
      load.phase = 'frozen';
      const pausedAt = performance.now();
      redis.pause();
      let frozen: PhaseFigures;
      try {
        await load.until('frozen', PHASE_REQUESTS);
      } finally {
        frozen = figures(load.samples, 'frozen', performance.now());
        redis.resume();
      }
      const thawedAt = performance.now();
      load.phase = 'thawed';
      const resumed = await limitingResumes(
        load,
        () => app.limiter.status().every((s) => !s.down),
        thawedAt,
      );
      await load.until('thawed', PHASE_REQUESTS);
      await load.stop();

      record(run, load, ['warmup', 'up', 'frozen', 'thawed']);
      const added = frozen['p99 ms'] - figures(load.samples, 'up', pausedAt)['p99 ms'];
      summaryRows.push({
        run,
        requests: load.samples.length,
        unhandled: unhandled.length - unhandledBefore,
        'p99 added while down, ms': added.toFixed(1),
        'store up after, ms': resumed.storeUpMs,
        'first 429 after, ms': resumed.first429Ms,
        'store_failed a/b': eventCounts(audit, 'rate_limit.store_failed', mark),
        'store_recovered a/b': eventCounts(audit, 'rate_limit.store_recovered', mark),
        'a allowed/limited/store_error': '',
        'b allowed/limited/store_error': '',
      });

      expect(unhandled.slice(unhandledBefore)).toEqual([]);
      expect(load.samples.filter((s) => s.status === 0).map((s) => s.error)).toEqual([]);
      // A hung Redis costs a request at most the command timeout (plus scheduling): never a hang.
      expect(frozen['max ms']).toBeLessThanOrEqual(COMMAND_TIMEOUT_MS + 1_000);
      expect(added).toBeLessThanOrEqual(ADDED_LATENCY_BOUND_MS);
      expect([frozen['2xx'], frozen['429s'], frozen['503s']]).toEqual([0, 0, frozen.sent]);
      for (const policy of ['a', 'b']) {
        expect(storeEvents(audit, policy, mark)).toEqual([
          'rate_limit.store_failed',
          'rate_limit.store_recovered',
        ]);
      }
    },
  );

  it.each(['express5', 'koa3'] as const)(
    'should answer operational endpoints without Redis while it hangs, under a fail-closed policy on / (%s)',
    async (framework) => {
      const { origin, connect } = await serve(framework, 'fail-closed', redis.url, [
        { name: 'all', limit: 100, windowMs: 60_000, onStoreError: 'fail-closed' },
      ]);
      await connect();
      redis.pause();
      try {
        const replies: Record<string, number> = {};
        // A 200 under a fail-closed policy while the store hangs means the store was never asked.
        for (const path of ['/health/live', '/health/ready', '/metrics', '/x', '/health/live']) {
          replies[path] = (await rawRequest(origin, path)).status;
        }
        expect(replies).toEqual({
          '/health/live': 200,
          '/health/ready': 200,
          '/metrics': 200,
          '/x': 503,
        });
      } finally {
        redis.resume();
      }
    },
  );

  it.each(['express5', 'koa3'] as const)(
    'should resume limiting by itself when Redis starts after the limiter on %s',
    async (framework) => {
      const run = `${framework} fail-open down at startup`;
      const unhandledBefore = unhandled.length;
      const port = await freePort();
      const late = new RedisServer(binary as string, port);
      try {
        const { app, audit, load } = await serve(framework, 'fail-open', late.url);
        load.start('no redis');
        await load.until('no redis', PHASE_REQUESTS);
        expect(app.limiter.status().every((s) => s.down)).toBe(true);
        load.phase = 'starting';
        const before = figures(load.samples, 'no redis', performance.now());
        await late.start();
        const startedAt = performance.now();
        load.phase = 'redis started';
        const resumed = await limitingResumes(
          load,
          () => app.limiter.status().every((s) => !s.down),
          startedAt,
        );
        await load.until('redis started', PHASE_REQUESTS);
        await load.stop();

        record(run, load, ['no redis', 'starting', 'redis started']);
        summaryRows.push({
          run,
          requests: load.samples.length,
          unhandled: unhandled.length - unhandledBefore,
          'p99 added while down, ms': '',
          'store up after, ms': resumed.storeUpMs,
          'first 429 after, ms': resumed.first429Ms,
          'store_failed a/b': eventCounts(audit, 'rate_limit.store_failed'),
          'store_recovered a/b': eventCounts(audit, 'rate_limit.store_recovered'),
          'a allowed/limited/store_error': '',
          'b allowed/limited/store_error': '',
        });

        expect(unhandled.slice(unhandledBefore)).toEqual([]);
        expect(load.samples.filter((s) => s.status === 0).map((s) => s.error)).toEqual([]);
        expect([before['2xx'], before['429s'], before['503s']]).toEqual([before.sent, 0, 0]);
        // The first requests wait for the first connection at most the command timeout.
        expect(before['max ms']).toBeLessThanOrEqual(ADDED_LATENCY_BOUND_MS);
        expect(figures(load.samples, 'redis started')['429s']).toBeGreaterThan(0);
        for (const policy of ['a', 'b']) {
          expect(storeEvents(audit, policy)).toEqual([
            'rate_limit.store_failed',
            'rate_limit.store_recovered',
          ]);
        }
      } finally {
        await late.kill();
      }
    },
  );
});
