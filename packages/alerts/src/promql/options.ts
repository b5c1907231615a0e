// Options of checkPromQL(): defaults, limits, and their validation.
import { optionError, VigilError } from '@vigil/core';
import { context } from '../errors';
import {
  atLeast,
  formatVersion,
  PROMQL_FEATURES,
  type PromQLFeature,
  type Version,
} from './catalogue';

/** Longest expression checked, in characters: longer ones are refused before parsing. */
export const MAX_PROMQL_LENGTH = 16_384;
/** Deepest nesting of the syntax tree (operands, parentheses, calls) checked. */
export const MAX_PROMQL_DEPTH = 512;
/** The version checked against when none is given: Debian 12's Prometheus server. */
export const DEFAULT_PROMETHEUS_VERSION = '2.42';

const CONTEXT = context('checkPromQL');
const OPTION_KEYS = ['prometheusVersion', 'features'];
const OLDEST: Version = [2, 33];
const DEFAULT_VERSION: Version = [2, 42];

/** Options after validation. */
export interface ResolvedPromQLOptions {
  readonly version: Version;
  readonly features: ReadonlySet<PromQLFeature>;
}

export const optionFail = (option: string, expected: string, received: unknown): VigilError =>
  optionError(CONTEXT, 'PROMQL_INVALID_OPTION', option, expected, received);

/** Validates the options once per call; never mutates them. */
export function resolvePromQLOptions(options: unknown): ResolvedPromQLOptions {
  try {
    return readOptions(options);
  } catch (e) {
    if (e instanceof VigilError) throw e;
    // A getter or proxy that throws while being read is reported as a bad options object.
    throw optionFail('options', 'a plain object', 'an object that throws when read');
  }
}

function readOptions(options: unknown): ResolvedPromQLOptions {
  if (options === undefined) return { version: DEFAULT_VERSION, features: new Set() };
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw optionFail('options', 'an object or undefined', options);
  }
  for (const key of Object.keys(options)) {
    if (!OPTION_KEYS.includes(key)) {
      throw optionFail(key, `one of ${OPTION_KEYS.join(', ')} (unknown option)`, key);
    }
  }
  const { prometheusVersion, features } = options as Record<string, unknown>;
  let version = DEFAULT_VERSION;
  if (prometheusVersion !== undefined) {
    const m =
      typeof prometheusVersion === 'string'
        ? /^v?(\d{1,3})\.(\d{1,3})(?:\.\d{1,4})?$/.exec(prometheusVersion)
        : null;
    const parsed: Version = m ? [Number(m[1]), Number(m[2])] : [0, 0];
    if (!m || !atLeast(parsed, OLDEST) || parsed[0] > 3) {
      throw optionFail(
        'prometheusVersion',
        `a Prometheus version from ${formatVersion(OLDEST)} to 3.x written "major.minor" (e.g. "2.42", "3.5")`,
        prometheusVersion,
      );
    }
    version = parsed;
  }
  const flags = new Set<PromQLFeature>();
  if (features !== undefined) {
    if (!Array.isArray(features)) {
      throw optionFail('features', `an array of ${PROMQL_FEATURES.join(', ')}`, features);
    }
    for (const f of features as unknown[]) {
      if (!PROMQL_FEATURES.includes(f as PromQLFeature)) {
        throw optionFail('features', `an array of ${PROMQL_FEATURES.join(', ')}`, f);
      }
      flags.add(f as PromQLFeature);
    }
  }
  return { version, features: flags };
}
