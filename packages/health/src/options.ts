// Defaults and option checks of createHealth(): validated once, at the factory call, into a frozen config.
import {
  type EndpointAccess,
  type MinimalLogger,
  type OptionContext,
  type RegistryLike,
  SHUTDOWN_TIMEOUT_MS,
  booleanOption,
  integerOption,
  loggerOption,
  optionError,
  optionNames,
  readOptions,
  registryOption,
  resolveEndpointAccess,
  stringOption,
} from '@vigil/core';
import type { HealthCheck, HealthOptions, ShutdownOptions } from './types';

/** The variable read for the token when the `token` option is absent. */
export const TOKEN_ENV = 'VIGIL_HEALTH_TOKEN';

const KNOWN = optionNames<HealthOptions>({
  liveness: true,
  readiness: true,
  startup: true,
  started: true,
  terse: true,
  token: true,
  registry: true,
  shutdown: true,
  serviceId: true,
  description: true,
  logger: true,
});

const SHUTDOWN_KNOWN = optionNames<ShutdownOptions>({
  delayMs: true,
  timeoutMs: true,
  idleMs: true,
});

export interface ResolvedShutdown {
  readonly delayMs: number;
  readonly timeoutMs: number;
  readonly idleMs: number;
}

/** The resolved configuration: frozen, read on every probe. */
export interface HealthConfig {
  readonly liveness: readonly HealthCheck[];
  readonly readiness: readonly HealthCheck[];
  readonly startup: readonly HealthCheck[];
  readonly started: boolean;
  readonly terse: boolean;
  readonly access: EndpointAccess;
  readonly registry: RegistryLike | false | undefined;
  readonly shutdown: ResolvedShutdown | false;
  readonly serviceId: string | undefined;
  readonly description: string | undefined;
  readonly logger: MinimalLogger | undefined;
}

function isCheck(value: unknown): value is HealthCheck {
  if (value === null || typeof value !== 'object') return false;
  const c = value as Partial<HealthCheck>;
  return (
    typeof c.name === 'string' &&
    typeof c.measurement === 'string' &&
    typeof c.run === 'function' &&
    (c.scope === 'process' || c.scope === 'dependency') &&
    typeof c.timeoutMs === 'number' &&
    typeof c.intervalMs === 'number' &&
    typeof c.critical === 'boolean'
  );
}

function checkList(ctx: OptionContext, name: string, value: unknown): readonly HealthCheck[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) {
    throw optionError(ctx, 'INVALID_OPTION', name, 'an array of checks', value);
  }
  for (const item of value) {
    if (!isCheck(item)) {
      throw optionError(
        ctx,
        'INVALID_CHECK',
        name,
        'an array of checks made by check(), redisCheck(), eventLoopCheck() or memoryCheck()',
        item,
        'Wrap your function: `check("database", () => db.ping())`.',
      );
    }
  }
  return Object.freeze([...(value as HealthCheck[])]);
}

function shutdownOption(ctx: OptionContext, value: unknown): ResolvedShutdown | false {
  if (value === false) return false;
  const o = readOptions<ShutdownOptions>(
    { ...ctx, factory: `${ctx.factory}({ shutdown })` },
    value,
    1,
    SHUTDOWN_KNOWN,
  );
  const delayMs = integerOption(ctx, 'shutdown.delayMs', o.delayMs, 0, 0, SHUTDOWN_TIMEOUT_MS);
  const timeoutMs = integerOption(
    ctx,
    'shutdown.timeoutMs',
    o.timeoutMs,
    3000,
    1,
    SHUTDOWN_TIMEOUT_MS,
  );
  const idleMs = integerOption(ctx, 'shutdown.idleMs', o.idleMs, 250, 0, 60_000);
  // Core's hub lets the signal end the process SHUTDOWN_TIMEOUT_MS after it arrived, drained or not.
  if (delayMs + timeoutMs > SHUTDOWN_TIMEOUT_MS) {
    throw optionError(
      ctx,
      'INVALID_OPTION',
      'shutdown',
      `delayMs + timeoutMs of at most ${SHUTDOWN_TIMEOUT_MS} (the shutdown hub's bound)`,
      { delayMs, timeoutMs },
      'Shorten the delay or the drain timeout.',
    );
  }
  return Object.freeze({ delayMs, timeoutMs, idleMs });
}

/** Validates createHealth()'s options once. */
export function resolveOptions(ctx: OptionContext, raw: unknown, argCount: number): HealthConfig {
  const o = readOptions<HealthOptions>(ctx, raw, argCount, KNOWN);
  const liveness = checkList(ctx, 'liveness', o.liveness);
  const readiness = checkList(ctx, 'readiness', o.readiness);
  const startup = checkList(ctx, 'startup', o.startup);
  for (const c of liveness) {
    if (c.scope === 'dependency') {
      throw optionError(
        ctx,
        'DEPENDENCY_IN_LIVENESS',
        'liveness',
        'process checks only (eventLoopCheck(), memoryCheck(), check() with scope "process")',
        `the dependency check "${c.name}"`,
        'Move it to `readiness`: an outage of a backing service must take the instance out of the load balancer, not get it restarted.',
      );
    }
  }
  const seen = new Set<string>();
  for (const c of [...liveness, ...readiness, ...startup]) {
    if (seen.has(c.name)) {
      throw optionError(
        ctx,
        'DUPLICATE_CHECK',
        'checks',
        'checks of distinct names (liveness checks are part of readiness already)',
        c.name,
        'Give each check its own name, and list each once.',
      );
    }
    seen.add(c.name);
  }
  const serviceId =
    o.serviceId === undefined ? undefined : stringOption(ctx, 'serviceId', o.serviceId, '');
  const description =
    o.description === undefined ? undefined : stringOption(ctx, 'description', o.description, '');
  return Object.freeze({
    liveness,
    readiness,
    startup,
    started: booleanOption(ctx, 'started', o.started, false),
    terse: booleanOption(ctx, 'terse', o.terse, false),
    access: resolveEndpointAccess(ctx, { token: o.token }, TOKEN_ENV),
    registry: registryOption(ctx, o.registry, { allowFalse: true }),
    shutdown: shutdownOption(ctx, o.shutdown),
    serviceId,
    description,
    logger: loggerOption(ctx, o.logger),
  });
}
