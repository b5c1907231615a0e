// The framework-free core: the phase (starting, running, draining), the three probes over cached
// checks, the shutdown-hub task that drains the attached servers.
import type { Server } from 'node:http';
import {
  type ProblemReporter,
  createProblemReporter,
  looksLikeFrameworkCall,
  notCalledError,
  onShutdownSignal,
} from '@vigil/core';
import { PACKAGE, context } from './errors';
import { ServerDrain } from './drain';
import { healthMetrics } from './metrics';
import { type HealthConfig, resolveOptions } from './options';
import { CheckRunner, type Outcome, overall } from './runner';
import type {
  CheckResult,
  Health,
  HealthOptions,
  HealthPhase,
  HealthReport,
  HealthStatus,
  ProbeName,
} from './types';

/** A probe's answer. */
export interface ProbeAnswer {
  httpStatus: number;
  report: HealthReport;
}

const kHealth = Symbol.for('vigil.health');

/** True for what createHealth() returns. */
export function isHealth(value: unknown): value is Health {
  return (
    value !== null && typeof value === 'object' && (value as { [kHealth]?: true })[kHealth] === true
  );
}

/** The internal side of a Health object that the endpoints read. */
export interface HealthInternals {
  readonly config: HealthConfig;
  readonly reporter: ProblemReporter;
}

const internals = new WeakMap<Health, HealthInternals>();

/** The config and reporter behind a Health object. */
export function internalsOf(health: Health): HealthInternals {
  const found = internals.get(health);
  if (found === undefined) throw new TypeError('not a Health object from createHealth()');
  return found;
}

const httpStatusOf = (status: HealthStatus): number => (status === 'fail' ? 503 : 200);

/**
 * The state behind /health/live, /health/ready and /health/startup, and the graceful shutdown.
 * @throws VigilError with an `ERR_VIGIL_HEALTH_*` code on invalid options.
 */
export function createHealth(options?: HealthOptions): Health {
  const ctx = context('createHealth');
  if (looksLikeFrameworkCall(options, arguments.length)) throw notCalledError(ctx, options);
  return buildHealth(resolveOptions(ctx, options, 1));
}

/** Builds a Health object from a resolved config (expressHealth() and koaHealth() resolve their own). */
export function buildHealth(config: HealthConfig): Health {
  const reporter = createProblemReporter(PACKAGE, config.logger);
  const observe = healthMetrics(config.registry);
  const runner = (c: (typeof config.liveness)[number]) => new CheckRunner(c, reporter, observe);
  const liveness = config.liveness.map(runner);
  const readiness = config.readiness.map(runner);
  const startup = config.startup.map(runner);
  const drains: ServerDrain[] = [];
  let started = config.started;
  let startupPassed = false;
  let draining = false;
  let drained: Promise<void> | undefined;

  const body = (
    status: HealthStatus,
    outcomes: { runner: CheckRunner; outcome: Outcome }[],
    output?: string,
  ): HealthReport => {
    const report: HealthReport = { status };
    if (output !== undefined) report.output = output;
    if (config.serviceId !== undefined) report.serviceId = config.serviceId;
    if (config.description !== undefined) report.description = config.description;
    if (outcomes.length > 0) {
      const checks: Record<string, CheckResult[]> = {};
      for (const { runner: r, outcome } of outcomes) {
        checks[`${r.check.name}:${r.check.measurement}`] = [outcome.result];
      }
      report.checks = checks;
    }
    return report;
  };

  const evaluate = async (runners: readonly CheckRunner[]) => {
    const outcomes = await Promise.all(
      runners.map(async (r) => ({ runner: r, outcome: await r.evaluate() })),
    );
    const status = overall(outcomes.map((o) => ({ check: o.runner.check, outcome: o.outcome })));
    return { status, outcomes };
  };

  const probeStartup = async (): Promise<ProbeAnswer> => {
    if (!started) return answer('fail', [], 'starting');
    if (startupPassed) return answer('pass', []);
    const { status, outcomes } = await evaluate(startup);
    // Kubernetes stops the startup probe once it succeeds; the result is kept the same way.
    if (status !== 'fail') startupPassed = true;
    return answer(status, outcomes);
  };

  const answer = (
    status: HealthStatus,
    outcomes: { runner: CheckRunner; outcome: Outcome }[],
    output?: string,
  ): ProbeAnswer => ({ httpStatus: httpStatusOf(status), report: body(status, outcomes, output) });

  const probe = async (name: ProbeName): Promise<ProbeAnswer> => {
    if (name === 'startup') return probeStartup();
    if (name === 'live') {
      // Liveness answers for the process alone, from the first moment: without a startupProbe,
      // Kubernetes would restart a slow starter whose liveness failed until markStarted().
      const { status, outcomes } = await evaluate(liveness);
      return answer(status, outcomes);
    }
    if (draining) return answer('fail', [], 'shutting down');
    if (!started) return answer('fail', [], 'starting');
    if (!startupPassed && startup.length > 0) {
      const s = await probeStartup();
      if (s.report.status === 'fail') return answer('fail', [], 'startup checks have not passed');
    }
    const { status, outcomes } = await evaluate([...liveness, ...readiness]);
    // A drain that began while the checks ran wins: readiness must not say pass once it started.
    if (draining) return answer('fail', [], 'shutting down');
    return answer(status, outcomes);
  };

  const shutdown = (): Promise<void> => {
    draining = true;
    drained ??= (async () => {
      const settings =
        config.shutdown === false ? { delayMs: 0, timeoutMs: 3000, idleMs: 250 } : config.shutdown;
      if (settings.delayMs > 0)
        await new Promise((resolve) => setTimeout(resolve, settings.delayMs));
      await Promise.all(drains.map((d) => d.drain(settings.timeoutMs, settings.idleMs)));
    })();
    return drained;
  };

  // A drain task: the hub runs the flushes of spans and audit events once it has settled, so they
  // include what the drained requests recorded.
  const unregister =
    config.shutdown === false ? () => undefined : onShutdownSignal(shutdown, { phase: 'drain' });

  const health: Health & { [kHealth]: true } = {
    [kHealth]: true,
    markStarted() {
      started = true;
    },
    get phase(): HealthPhase {
      return draining ? 'draining' : started ? 'running' : 'starting';
    },
    probe,
    attach(server) {
      if (!drains.some((d) => d.server === server)) drains.push(new ServerDrain(server, reporter));
      return server;
    },
    shutdown,
    close() {
      unregister();
      for (const c of [...config.liveness, ...config.readiness, ...config.startup]) {
        try {
          c.close?.();
        } catch (error) {
          reporter.report('close', error);
        }
      }
    },
  };
  internals.set(health, { config, reporter });
  return health;
}

/** Only the status, for public exposure. */
export function terse(report: HealthReport): HealthReport {
  return { status: report.status };
}

export type { Server };
