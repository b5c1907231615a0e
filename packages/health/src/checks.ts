// The check factories: check() for user checks, and the built-in Redis, event-loop and memory checks.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';
import {
  type OptionContext,
  booleanOption,
  hasMethod,
  integerOption,
  optionError,
  optionNames,
  readOptions,
  stringOption,
} from '@vigil/core';
import { context } from './errors';
import type {
  CheckFunctionResult,
  CheckOptions,
  EventLoopCheckOptions,
  HealthCheck,
  MemoryCheckOptions,
  RateLimitCheckOptions,
  RedisCheckOptions,
  TracingCheckOptions,
} from './types';

/** A check name: a label value and the first part of a `name:measurement` key. */
const NAME = /^[A-Za-z][A-Za-z0-9_.-]{0,62}$/;
const NAME_TEXT = 'a name of letters, digits, `_`, `.` or `-`, starting with a letter (at most 63)';

const CHECK_OPTIONS = optionNames<CheckOptions>({
  timeoutMs: true,
  intervalMs: true,
  critical: true,
  measurement: true,
  componentType: true,
  scope: true,
});

function checkName(ctx: OptionContext, name: unknown): string {
  if (typeof name !== 'string' || !NAME.test(name)) {
    throw optionError(ctx, 'INVALID_CHECK', 'name', NAME_TEXT, name);
  }
  return name;
}

interface Common {
  timeoutMs: number;
  intervalMs: number;
  critical: boolean;
}

function commonOptions(
  ctx: OptionContext,
  o: { timeoutMs?: unknown; intervalMs?: unknown; critical?: unknown },
  defaults: Common,
): Common {
  return {
    timeoutMs: integerOption(ctx, 'timeoutMs', o.timeoutMs, defaults.timeoutMs, 1, 60_000),
    intervalMs: integerOption(ctx, 'intervalMs', o.intervalMs, defaults.intervalMs, 0, 3_600_000),
    critical: booleanOption(ctx, 'critical', o.critical, defaults.critical),
  };
}

const DEFAULTS: Common = { timeoutMs: 1000, intervalMs: 5000, critical: true };

/**
 * A check of your own: `fn` returns nothing or `true` (pass), `false` (fail), or details; a throw or
 * a rejection fails it with the error's message, a run longer than `timeoutMs` fails it with
 * "timed out after N ms". Results are reused for `intervalMs`.
 * @throws VigilError `ERR_VIGIL_HEALTH_INVALID_CHECK` for a bad name or function.
 */
export function check(
  name: string,
  fn: () => Promise<CheckFunctionResult> | CheckFunctionResult,
  options?: CheckOptions,
): HealthCheck {
  const ctx = context('check');
  checkName(ctx, name);
  if (typeof fn !== 'function') {
    throw optionError(ctx, 'INVALID_CHECK', 'fn', 'a function running the check', fn);
  }
  const o = readOptions<CheckOptions>(ctx, options, 1, CHECK_OPTIONS);
  const scope = o.scope ?? 'dependency';
  if (scope !== 'process' && scope !== 'dependency') {
    throw optionError(ctx, 'INVALID_OPTION', 'scope', '"process" or "dependency"', scope);
  }
  const measurement = stringOption(
    ctx,
    'measurement',
    o.measurement,
    'responseTime',
    /^[A-Za-z][A-Za-z0-9_.-]*$/,
    'a measurement name of letters, digits, `_`, `.` or `-`',
  );
  const componentType =
    o.componentType === undefined
      ? undefined
      : stringOption(ctx, 'componentType', o.componentType, '');
  return Object.freeze({
    name,
    measurement,
    componentType,
    scope,
    ...commonOptions(ctx, o, DEFAULTS),
    run: fn,
  });
}

const REDIS_OPTIONS = optionNames<RedisCheckOptions>({
  name: true,
  timeoutMs: true,
  intervalMs: true,
  critical: true,
  componentType: true,
});

/** The part of an ioredis or node-redis client the check uses. */
export interface PingClient {
  ping(): Promise<unknown>;
}

/**
 * Readiness check of a Redis client (ioredis or node-redis, duck-typed): one `PING` per interval, its
 * latency as `redis:responseTime`. Pass the client your rate limiter uses.
 * @throws VigilError `ERR_VIGIL_HEALTH_INVALID_CLIENT` when `client` has no `ping()`.
 */
export function redisCheck(client: PingClient, options?: RedisCheckOptions): HealthCheck {
  const ctx = context('redisCheck');
  if (!hasMethod(client, 'ping')) {
    throw optionError(
      ctx,
      'INVALID_CLIENT',
      'client',
      'a Redis client with a ping() method (ioredis or node-redis)',
      client,
      'Pass the client itself, e.g. `redisCheck(new Redis(process.env.REDIS_URL))`.',
    );
  }
  const o = readOptions<RedisCheckOptions>(ctx, options, 1, REDIS_OPTIONS);
  const name = o.name === undefined ? 'redis' : checkName(ctx, o.name);
  return Object.freeze({
    name,
    measurement: 'responseTime',
    componentType: stringOption(ctx, 'componentType', o.componentType, 'datastore'),
    scope: 'dependency' as const,
    ...commonOptions(ctx, o, DEFAULTS),
    run: async (): Promise<CheckFunctionResult> => {
      const reply = await client.ping();
      // ioredis and node-redis answer "PONG"; anything else is a broken server or proxy.
      if (reply !== 'PONG') return { status: 'fail', output: `unexpected PING reply` };
      return undefined;
    },
  });
}

/** The options of the checks that read another package's state (tracingCheck, rateLimitCheck). */
const STATE_OPTIONS = optionNames<TracingCheckOptions & RateLimitCheckOptions>({
  name: true,
  intervalMs: true,
  critical: true,
});

/**
 * A dependency check over the state another Vigil package reports through `source[method]()`:
 * checks the source and the options once, then `run` reads the state at each run.
 */
function stateCheck(
  ctx: OptionContext,
  source: unknown,
  method: string,
  expected: { option: string; what: string; hint: string },
  options: { name?: unknown; intervalMs?: unknown; critical?: unknown } | undefined,
  fixed: { name: string; measurement: string; componentType: string; critical: boolean },
  run: () => CheckFunctionResult,
): HealthCheck {
  if (!hasMethod(source, method)) {
    throw optionError(ctx, 'INVALID_CLIENT', expected.option, expected.what, source, expected.hint);
  }
  const o = readOptions<TracingCheckOptions>(ctx, options, 1, STATE_OPTIONS);
  return Object.freeze({
    name: o.name === undefined ? fixed.name : checkName(ctx, o.name),
    measurement: fixed.measurement,
    componentType: fixed.componentType,
    scope: 'dependency' as const,
    ...commonOptions(ctx, o, { ...DEFAULTS, critical: fixed.critical }),
    run,
  });
}

/** The part of @vigil/tracing's `Tracing` the check reads (`startTracing()`'s result). */
export interface ExporterStateSource {
  exporters(): readonly {
    readonly name: string;
    readonly failing: boolean;
    readonly failingSince: number | undefined;
    readonly lostSpans: number;
  }[];
}

/**
 * Readiness check of the span exporters of @vigil/tracing (`startTracing()`'s result): it fails while
 * an exporter is failing (the OTLP collector is down), with how long and how many spans were lost.
 * Not critical by default: an unreachable collector makes readiness `warn`, it does not take the
 * instance out of the load balancer.
 * @throws VigilError `ERR_VIGIL_HEALTH_INVALID_CLIENT` when `tracing` has no `exporters()`.
 */
export function tracingCheck(
  tracing: ExporterStateSource,
  options?: TracingCheckOptions,
): HealthCheck {
  return stateCheck(
    context('tracingCheck'),
    tracing,
    'exporters',
    {
      option: 'tracing',
      what: 'the result of startTracing() (with an exporters() method)',
      hint: 'Pass what startTracing() returned, e.g. `tracingCheck(startTracing())`.',
    },
    options,
    { name: 'tracing', measurement: 'exporters', componentType: 'component', critical: false },
    () => {
      const exporters = tracing.exporters();
      const failing = exporters.filter((e) => e.failing);
      if (failing.length === 0) {
        return { observedValue: exporters.length, observedUnit: 'exporters' };
      }
      const now = Date.now();
      return {
        status: 'fail',
        observedValue: failing.reduce((n, e) => n + e.lostSpans, 0),
        observedUnit: 'lost spans',
        output: failing
          .map(
            (e) =>
              `span exporter "${e.name}" failing for ${((now - (e.failingSince ?? now)) / 1000).toFixed(1)} s, ${e.lostSpans} spans lost`,
          )
          .join('; '),
      };
    },
  );
}

/** The part of @vigil/rate-limit's limiter the check reads (`expressRateLimit()`'s result). */
export interface StoreStateSource {
  status(): readonly { readonly policy: string; readonly store: string; readonly down: boolean }[];
}

/**
 * Readiness check of a @vigil/rate-limit limiter's shared store: fails while the Redis store of a
 * policy is down (the policies' `onStoreError` behaviour applies meanwhile), naming the policies.
 * Memory stores never fail it. The limiter learns of an outage from its own store calls.
 * @throws VigilError `ERR_VIGIL_HEALTH_INVALID_CLIENT` when `limiter` has no `status()`.
 */
export function rateLimitCheck(
  limiter: StoreStateSource,
  options?: RateLimitCheckOptions,
): HealthCheck {
  return stateCheck(
    context('rateLimitCheck'),
    limiter,
    'status',
    {
      option: 'limiter',
      what: 'a @vigil/rate-limit limiter (with a status() method)',
      hint: 'Pass what expressRateLimit() or koaRateLimit() returned.',
    },
    options,
    { name: 'rateLimitStore', measurement: 'status', componentType: 'datastore', critical: true },
    () => {
      const policies = limiter.status();
      const down = policies.filter((p) => p.down);
      if (down.length === 0) return { observedValue: policies.length, observedUnit: 'policies' };
      return {
        status: 'fail',
        observedValue: down.length,
        observedUnit: 'policies',
        output: `the ${down[0]?.store ?? 'shared'} store of ${down.map((p) => `"${p.policy}"`).join(', ')} is down`,
      };
    },
  );
}

const EVENT_LOOP_OPTIONS = optionNames<EventLoopCheckOptions>({
  maxDelayMs: true,
  warnDelayMs: true,
  name: true,
  intervalMs: true,
});

/**
 * Liveness check of the event loop: the longest delay seen since the previous run
 * (`monitorEventLoopDelay`), `warn` past `warnDelayMs`, `fail` past `maxDelayMs`. In-process only.
 */
export function eventLoopCheck(options?: EventLoopCheckOptions): HealthCheck {
  const ctx = context('eventLoopCheck');
  const o = readOptions<EventLoopCheckOptions>(ctx, options, arguments.length, EVENT_LOOP_OPTIONS);
  const max = integerOption(ctx, 'maxDelayMs', o.maxDelayMs, 1000, 1, 600_000);
  const warn = integerOption(ctx, 'warnDelayMs', o.warnDelayMs, Math.ceil(max / 2), 1, max);
  const name = o.name === undefined ? 'eventLoop' : checkName(ctx, o.name);
  const intervalMs = integerOption(ctx, 'intervalMs', o.intervalMs, 1000, 0, 3_600_000);
  let monitor: ReturnType<typeof monitorEventLoopDelay> | undefined;
  const start = () => {
    monitor = monitorEventLoopDelay({ resolution: 10 });
    monitor.enable();
    return monitor;
  };
  start();
  return Object.freeze({
    name,
    measurement: 'delay',
    componentType: 'system',
    scope: 'process' as const,
    critical: true,
    timeoutMs: 1000,
    intervalMs,
    run: (): CheckFunctionResult => {
      const m = monitor ?? start();
      // The histogram is in nanoseconds; its max covers the window since the previous run.
      const delayMs = m.count === 0 ? 0 : Math.round((m.max / 1e6) * 10) / 10;
      m.reset();
      const status = delayMs > max ? 'fail' : delayMs > warn ? 'warn' : 'pass';
      return {
        status,
        observedValue: delayMs,
        observedUnit: 'ms',
        output:
          status === 'pass'
            ? undefined
            : `event loop delay ${delayMs} ms over ${status === 'fail' ? max : warn} ms`,
      };
    },
    close: () => {
      monitor?.disable();
      monitor = undefined;
    },
  });
}

const MEMORY_OPTIONS = optionNames<MemoryCheckOptions>({
  maxHeapRatio: true,
  warnHeapRatio: true,
  name: true,
  intervalMs: true,
});

function ratioOption(ctx: OptionContext, name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !(value > 0 && value <= 1)) {
    throw optionError(ctx, 'INVALID_OPTION', name, 'a ratio above 0 and at most 1', value);
  }
  return value;
}

/** Liveness check of the heap: used over the V8 heap limit, as `memory:utilization` in percent. */
export function memoryCheck(options?: MemoryCheckOptions): HealthCheck {
  const ctx = context('memoryCheck');
  const o = readOptions<MemoryCheckOptions>(ctx, options, arguments.length, MEMORY_OPTIONS);
  const max = ratioOption(ctx, 'maxHeapRatio', o.maxHeapRatio, 0.95);
  const warn = ratioOption(ctx, 'warnHeapRatio', o.warnHeapRatio, Math.min(0.85, max));
  if (warn > max) {
    throw optionError(
      ctx,
      'INVALID_OPTION',
      'warnHeapRatio',
      `at most maxHeapRatio (${max})`,
      warn,
    );
  }
  const name = o.name === undefined ? 'memory' : checkName(ctx, o.name);
  return Object.freeze({
    name,
    measurement: 'utilization',
    componentType: 'system',
    scope: 'process' as const,
    critical: true,
    timeoutMs: 1000,
    intervalMs: integerOption(ctx, 'intervalMs', o.intervalMs, 5000, 0, 3_600_000),
    run: (): CheckFunctionResult => {
      const heap = getHeapStatistics();
      const ratio = heap.used_heap_size / heap.heap_size_limit;
      const status = ratio > max ? 'fail' : ratio > warn ? 'warn' : 'pass';
      return {
        status,
        observedValue: Math.round(ratio * 1000) / 10,
        observedUnit: 'percent',
        output: status === 'pass' ? undefined : `heap at ${Math.round(ratio * 100)}% of its limit`,
      };
    },
  });
}
