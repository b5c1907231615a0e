// Option validation helpers: each check throws a coded error naming the option, or returns the value.
import { type OptionContext, optionError, looksLikeFrameworkCall, notCalledError } from './errors';
import type { MinimalLogger } from './report';

/**
 * Checks the options argument of a factory: `undefined` means defaults, a plain object is accepted,
 * framework call arguments mean the factory was mounted without `()`, anything else is rejected.
 * Unknown keys are rejected too, so a typo is caught at startup instead of silently ignored.
 */
export function readOptions<T extends object>(
  context: OptionContext,
  value: unknown,
  argCount: number,
  knownKeys: readonly string[],
): Partial<T> {
  if (looksLikeFrameworkCall(value, argCount)) throw notCalledError(context, value);
  if (value === undefined) return {};
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw optionError(context, 'INVALID_OPTIONS', 'options', 'an object or undefined', value);
  }
  for (const key of Object.keys(value)) {
    if (!knownKeys.includes(key)) {
      throw optionError(
        context,
        'UNKNOWN_OPTION',
        key,
        `one of ${knownKeys.join(', ')}`,
        key,
        'Check the spelling of the option name.',
      );
    }
  }
  return { ...(value as Partial<T>) };
}

/** A value or its default when `undefined`; rejects any other type. */
export function booleanOption(
  context: OptionContext,
  name: string,
  value: unknown,
  fallback: boolean,
): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean')
    throw optionError(context, 'INVALID_OPTION', name, 'a boolean', value);
  return value;
}

export function stringOption(
  context: OptionContext,
  name: string,
  value: unknown,
  fallback: string,
  pattern?: RegExp,
  patternText?: string,
): string {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || (pattern !== undefined && !pattern.test(value))) {
    throw optionError(context, 'INVALID_OPTION', name, patternText ?? 'a string', value);
  }
  return value;
}

export function integerOption(
  context: OptionContext,
  name: string,
  value: unknown,
  fallback: number,
  min: number,
  max: number,
): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw optionError(context, 'INVALID_OPTION', name, `an integer from ${min} to ${max}`, value);
  }
  return value;
}

export function functionOption<F extends (...args: never[]) => unknown>(
  context: OptionContext,
  name: string,
  value: unknown,
): F | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'function')
    throw optionError(context, 'INVALID_OPTION', name, 'a function', value);
  return value as F;
}

/** Prometheus metric-name rule (also the rule for a non-empty name prefix). */
export const METRIC_NAME_PATTERN = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
/** Prometheus label-name rule. Names starting with `__` match it but are reserved: check them apart. */
export const LABEL_NAME_PATTERN = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Validates histogram buckets: finite, strictly increasing, non-empty. Returns a frozen copy. */
export function bucketsOption(
  context: OptionContext,
  name: string,
  value: unknown,
  fallback: readonly number[],
): readonly number[] {
  if (value === undefined) return fallback;
  // An index loop, not every(): every() skips the holes of a sparse array.
  let ok = Array.isArray(value) && value.length > 0;
  for (let i = 0; ok && i < (value as unknown[]).length; i++) {
    const b = (value as unknown[])[i];
    ok =
      typeof b === 'number' &&
      Number.isFinite(b) &&
      (i === 0 || b > ((value as number[])[i - 1] as number));
  }
  if (!ok) {
    throw optionError(
      context,
      'INVALID_BUCKETS',
      name,
      'a non-empty array of finite numbers in strictly increasing order (+Inf is added for you)',
      value,
    );
  }
  return Object.freeze([...(value as number[])]);
}

/** True when `value` is an object with a method called `name` (duck typing for injected objects). */
export function hasMethod(value: unknown, name: string): boolean {
  if (value === null || (typeof value !== 'object' && typeof value !== 'function')) return false;
  return typeof (value as Record<string, unknown>)[name] === 'function';
}

/** A logger option: anything with `warn()` (pino works), or undefined for the default. */
export function loggerOption(context: OptionContext, value: unknown): MinimalLogger | undefined {
  if (value === undefined) return undefined;
  if (!hasMethod(value, 'warn')) {
    throw optionError(
      context,
      'INVALID_OPTION',
      'logger',
      'a logger with a warn() method (pino works)',
      value,
    );
  }
  return value as MinimalLogger;
}

/** A metric-name prefix option: '' by default, else a valid start of a Prometheus metric name. */
export function prefixOption(context: OptionContext, value: unknown, fix: string): string {
  const prefix = stringOption(context, 'prefix', value, '');
  if (prefix !== '' && !METRIC_NAME_PATTERN.test(prefix)) {
    throw optionError(
      context,
      'INVALID_PREFIX',
      'prefix',
      'a valid start of a Prometheus metric name ([a-zA-Z_:][a-zA-Z0-9_:]*)',
      prefix,
      fix,
    );
  }
  return prefix;
}

/**
 * The option names of `T`, in the order given, for readOptions(). Written as an object with every
 * key of `T`, so the compiler rejects a list that misses one: an option added to the type cannot be
 * rejected at run time as unknown.
 */
export function optionNames<T extends object>(
  names: Record<keyof Required<T>, true>,
): readonly string[] {
  return Object.freeze(Object.keys(names));
}
