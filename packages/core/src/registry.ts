// The registry option of every package that records metrics: what counts as a registry, and
// prom-client's global one as the default, loaded only when a package needs it (prom-client is an
// optional peer of @vigil/core).
import { createRequire } from 'node:module';
import { type OptionContext, optionError } from './errors';

/** The part of a prom-client Registry Vigil uses; a registry of another prom-client copy works too. */
export interface RegistryLike {
  getSingleMetric(name: string): unknown;
  registerMetric(metric: never): void;
  removeSingleMetric?(name: string): void;
}

/** True for anything with a registry's getSingleMetric() and registerMetric() (duck typing). */
export function isRegistryLike(value: unknown): value is RegistryLike {
  if (value === null || typeof value !== 'object') return false;
  const r = value as Record<string, unknown>;
  return typeof r.registerMetric === 'function' && typeof r.getSingleMetric === 'function';
}

let promClient: { register: RegistryLike } | null | undefined;

/** prom-client's global registry, or undefined when prom-client is not installed. */
export function defaultRegistry(): RegistryLike | undefined {
  if (promClient === undefined) {
    try {
      promClient = createRequire(__filename)('prom-client') as { register: RegistryLike };
    } catch {
      promClient = null;
    }
  }
  return promClient?.register;
}

/** How a package takes its `registry` option. */
export interface RegistryOptionRules {
  /** Whether `false` (no metrics) is accepted. */
  allowFalse: boolean;
  /** The code suffix of the error for a value that is not a registry. Default `INVALID_REGISTRY`. */
  code?: string;
}

/**
 * A package's `registry` option: a registry (duck-typed), `false` for no metrics when allowed, or
 * prom-client's global registry when left out. Returns undefined when left out and prom-client is not
 * installed. Throws a coded error naming the option for anything else, or for a registry given while
 * prom-client is missing (the registry then renders nothing Vigil records).
 */
export function registryOption(
  ctx: OptionContext,
  value: unknown,
  rules: RegistryOptionRules,
): RegistryLike | false | undefined {
  const code = rules.code ?? 'INVALID_REGISTRY';
  if (value === false && rules.allowFalse) return false;
  if (value !== undefined && !isRegistryLike(value)) {
    throw optionError(
      ctx,
      code,
      'registry',
      rules.allowFalse ? 'a prom-client Registry or false' : 'a prom-client Registry',
      value,
      `Pass \`new Registry()\` from prom-client${rules.allowFalse ? ', false for no metrics,' : ','} or leave it out to use the global registry.`,
    );
  }
  return value ?? defaultRegistry();
}
