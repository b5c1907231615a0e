// Public types of @vigil/health: options, checks, results and the health object.
import type { Server } from 'node:http';
import type { MinimalLogger, RegistryLike } from '@vigil/core';

/** A status of the IETF health-check draft (draft-inadarei-api-health-check). */
export type HealthStatus = 'pass' | 'warn' | 'fail';

/** The three probes, with Kubernetes semantics. */
export type ProbeName = 'live' | 'ready' | 'startup';

/**
 * What a check watches: the process itself (allowed in liveness) or a backing service (readiness and
 * startup only, so an outage of Redis never gets the process restarted).
 */
export type CheckScope = 'process' | 'dependency';

/** What a check function may return: nothing or `true` for pass, `false` for fail, or details. */
export type CheckFunctionResult = void | boolean | CheckDetails;

/** Details a check function may return. */
export interface CheckDetails {
  /** Default `pass`. */
  status?: HealthStatus;
  /** The measured value (e.g. a latency, a ratio). Default: the check's latency in ms. */
  observedValue?: unknown;
  /** Unit of `observedValue` (`ms`, `percent`, ...). */
  observedUnit?: string;
  /** A short human-readable explanation, shown for `warn` and `fail`. */
  output?: string;
}

/** Options of check() and of the built-in checks. */
export interface CheckOptions {
  /** Longest a run may take before it counts as failed ("timed out after N ms"). Default: 1000. */
  timeoutMs?: number;
  /** How long a result is reused, so a probe storm costs one call per interval. Default: 5000. */
  intervalMs?: number;
  /** Whether a failure fails the probe (503). A non-critical failure only makes it `warn` (200). Default: true. */
  critical?: boolean;
  /** The measurement part of the check's key `name:measurement`. Default: `responseTime`. */
  measurement?: string;
  /** The draft's `componentType` (`datastore`, `system`, `component`, ...). Default: none. */
  componentType?: string;
  /** What the check watches. Default: `dependency` (readiness and startup only). */
  scope?: CheckScope;
}

/** One check, as check() and the built-in factories make it. Pass it in `liveness`, `readiness` or `startup`. */
export interface HealthCheck {
  /** Name: the `check` label of the metrics and the first part of the key. */
  readonly name: string;
  /** Second part of the key `name:measurement`. */
  readonly measurement: string;
  readonly componentType: string | undefined;
  readonly scope: CheckScope;
  readonly critical: boolean;
  readonly timeoutMs: number;
  readonly intervalMs: number;
  /** Runs the check once. */
  readonly run: () => Promise<CheckFunctionResult> | CheckFunctionResult;
  /** Releases what the check holds (a monitor); Health.close() calls it. */
  readonly close?: () => void;
}

/** One entry of a response's `checks`, as the draft shapes it. */
export interface CheckResult {
  componentType?: string;
  status: HealthStatus;
  observedValue?: unknown;
  observedUnit?: string;
  /** ISO 8601 time of the observation. */
  time: string;
  output?: string;
}

/** A probe's response body (`application/health+json`). */
export interface HealthReport {
  status: HealthStatus;
  /** Why the probe failed when no check says it (starting, shutting down). */
  output?: string;
  serviceId?: string;
  description?: string;
  checks?: Record<string, CheckResult[]>;
}

/** Graceful shutdown on SIGTERM / SIGINT (core's shutdown hub). */
export interface ShutdownOptions {
  /**
   * How long readiness answers 503 before the servers stop accepting, so load balancers take the
   * instance out first (Kubernetes: endpoints are removed asynchronously). Default: 0.
   */
  delayMs?: number;
  /**
   * Longest the drain waits for in-flight requests before closing what is left; the flushes of spans
   * and audit events run after it, within the hub's 5000 ms. Default: 3000.
   */
  timeoutMs?: number;
  /** A keep-alive connection idle this long during the drain is closed. Default: 250. */
  idleMs?: number;
}

/** Options of createHealth(), expressHealth() and koaHealth(). */
export interface HealthOptions {
  /** Process checks (eventLoopCheck(), memoryCheck()): liveness, and readiness too. Default: none. */
  liveness?: readonly HealthCheck[];
  /** Dependency checks (redisCheck(), a database ping): readiness only. Default: none. */
  readiness?: readonly HealthCheck[];
  /** Checks that must pass once before the process counts as started. Default: none. */
  startup?: readonly HealthCheck[];
  /** Whether the process counts as started at once (no markStarted() call needed). Default: false. */
  started?: boolean;
  /** Answer only `{ "status": ... }`, for endpoints exposed to the public. Default: false. */
  terse?: boolean;
  /**
   * Bearer token every probe must carry, at least 16 characters. Default: `VIGIL_HEALTH_TOKEN`, else
   * none (Kubernetes probes cannot send one: prefer `terse` or a separate port).
   */
  token?: string;
  /** Registry of the health metrics; `false` for none. Default: prom-client's global registry. */
  registry?: RegistryLike | false;
  /** Graceful shutdown settings, or `false` to leave SIGTERM alone. Default: `{}` (on). */
  shutdown?: ShutdownOptions | false;
  /** The draft's `serviceId`. Default: none. */
  serviceId?: string;
  /** The draft's `description`. Default: none. */
  description?: string;
  /** Logger for problems at request time (a throwing check). Default: process warnings. */
  logger?: MinimalLogger;
}

/** The lifecycle a Health object is in. */
export type HealthPhase = 'starting' | 'running' | 'draining';

/** What createHealth() returns: the state behind the three endpoints. */
export interface Health {
  /** Says the process has started (startup checks still have to pass once). */
  markStarted(): void;
  /** Where the process is: starting, running, or draining after SIGTERM. */
  readonly phase: HealthPhase;
  /** Evaluates one probe, as its endpoint would (checks cached per interval). */
  probe(name: ProbeName): Promise<{ httpStatus: number; report: HealthReport }>;
  /**
   * Drains `server` on SIGTERM: stops accepting, answers in-flight and keep-alive requests with
   * `Connection: close`, closes idle connections. Returns `server`.
   */
  attach<S extends Server>(server: S): S;
  /** Starts the drain now, as SIGTERM would (readiness 503 at once); resolves when it is done. */
  shutdown(): Promise<void>;
  /** Unregisters from the shutdown hub and stops the checks' monitors. */
  close(): void;
}

/** Options of listenHealth(). */
export interface ListenHealthOptions {
  /** Port; 0 picks a free one. Default: 8081. */
  port?: number;
  /** Interface. Default: `127.0.0.1` (use `0.0.0.0` for Kubernetes probes). */
  host?: string;
}

/** A probe server started by listenHealth(). */
export interface HealthServer {
  /** `http://host:port`. */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/** Options of redisCheck(). */
export interface RedisCheckOptions extends Omit<CheckOptions, 'scope' | 'measurement'> {
  /** Default: `redis`. */
  name?: string;
}

/** Options of rateLimitCheck(). */
export interface RateLimitCheckOptions {
  /** Default: `rateLimitStore`. */
  name?: string;
  /** Default: 5000. */
  intervalMs?: number;
  /** Default: true (a store outage fails readiness). */
  critical?: boolean;
}

/** Options of tracingCheck(). */
export interface TracingCheckOptions {
  /** Default: `tracing`. */
  name?: string;
  /** Default: 5000. */
  intervalMs?: number;
  /** Default: false (a failing exporter makes readiness `warn`, still 200). */
  critical?: boolean;
}

/** Options of eventLoopCheck(). */
export interface EventLoopCheckOptions {
  /** Delay that fails the check (liveness 503). Default: 1000. */
  maxDelayMs?: number;
  /** Delay that makes it warn. Default: half of `maxDelayMs`. */
  warnDelayMs?: number;
  /** Default: `eventLoop`. */
  name?: string;
  /** Default: 1000. */
  intervalMs?: number;
}

/** Options of memoryCheck(). */
export interface MemoryCheckOptions {
  /** Heap used over the heap limit that fails the check. Default: 0.95. */
  maxHeapRatio?: number;
  /** Ratio that makes it warn. Default: 0.85. */
  warnHeapRatio?: number;
  /** Default: `memory`. */
  name?: string;
  /** Default: 5000. */
  intervalMs?: number;
}
