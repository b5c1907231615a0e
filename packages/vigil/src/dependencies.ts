// What each capability needs installed beyond Vigil's own packages, checked when vigil is loaded: a
// missing package is a coded error naming it and the capability, not a bare MODULE_NOT_FOUND from
// deep inside a dependency.
import { createRequire } from 'node:module';
import { codedError } from '@vigil/core';
import { PACKAGE, VIGIL_ERROR_CODES } from './errors';

/** One package a capability loads, and the Vigil package that loads it. */
export interface Dependency {
  /** The npm package to install. */
  readonly name: string;
  /** What needs it, in a sentence: `metrics`, `rate limiting with Redis (REDIS_URL)`. */
  readonly capability: string;
  /** The package whose dependency it is (resolution starts there). Default: vigil itself. */
  readonly from?: string;
}

/** The packages Vigil's capabilities load: peers the app installs, and the libraries under them. */
export const DEPENDENCIES: readonly Dependency[] = Object.freeze([
  { name: 'prom-client', capability: 'metrics', from: '@vigil/metrics' },
  { name: '@opentelemetry/api', capability: 'tracing', from: '@vigil/tracing' },
  {
    name: '@opentelemetry/exporter-trace-otlp-proto',
    capability: 'tracing export over OTLP (OTEL_EXPORTER_OTLP_*)',
    from: '@vigil/tracing',
  },
  {
    name: '@opentelemetry/exporter-trace-otlp-http',
    capability: 'tracing export over OTLP (OTEL_EXPORTER_OTLP_*)',
    from: '@vigil/tracing',
  },
  { name: 'pino', capability: 'the request log', from: '@vigil/logging' },
  { name: 'express-rate-limit', capability: 'rate limiting', from: '@vigil/rate-limit' },
  {
    name: 'ioredis',
    capability: 'rate limiting with Redis (REDIS_URL)',
    from: '@vigil/rate-limit',
  },
  {
    name: 'rate-limit-redis',
    capability: 'rate limiting with Redis (REDIS_URL)',
    from: '@vigil/rate-limit',
  },
]);

const local = createRequire(__filename);

/**
 * Throws when `dependency` cannot be resolved from the package that loads it.
 * @throws VigilError `ERR_VIGIL_MISSING_DEPENDENCY` naming the package to `npm install`.
 */
export function ensureInstalled(dependency: Dependency): void {
  let resolve: (id: string) => string = local.resolve;
  if (dependency.from !== undefined) {
    try {
      resolve = createRequire(local.resolve(`${dependency.from}/package.json`)).resolve;
    } catch {
      // The Vigil package itself is missing: say so.
      throw missing({ name: dependency.from, capability: dependency.capability });
    }
  }
  try {
    resolve(`${dependency.name}/package.json`);
  } catch (err) {
    // Packages whose exports hide package.json still resolve by name.
    if ((err as { code?: string }).code === 'ERR_PACKAGE_PATH_NOT_EXPORTED') return;
    try {
      resolve(dependency.name);
    } catch {
      throw missing(dependency);
    }
  }
}

function missing(dependency: Dependency) {
  return codedError(
    { pkg: PACKAGE },
    VIGIL_ERROR_CODES.MISSING_DEPENDENCY,
    `${dependency.capability} needs the package ${dependency.name}, which is not installed.`,
    `Run \`npm install ${dependency.name}\`.`,
  );
}

/** Checks every dependency: run when vigil is loaded, before the capability packages are. */
export function ensureDependencies(list: readonly Dependency[] = DEPENDENCIES): void {
  for (const d of list) ensureInstalled(d);
}
