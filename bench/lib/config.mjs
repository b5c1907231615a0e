// The run's settings: defaults, overridden by BENCH_* environment variables, checked once.
import { BASELINE, SCENARIOS } from '../scenarios.mjs';

export const DEFAULTS = Object.freeze({
  duration: 6,
  warmup: 2,
  rounds: 3,
  connections: 32,
  pipelining: 1,
});

/**
 * @param {NodeJS.ProcessEnv} env
 * @param {string} name
 * @param {number} fallback
 * @param {{ integer: boolean, min: number }} bounds
 */
function number(env, name, fallback, { integer, min }) {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min || (integer && !Number.isInteger(n))) {
    throw new Error(
      `${name}=${JSON.stringify(raw)} is invalid: expected ${integer ? 'an integer' : 'a number'} >= ${min}.`,
    );
  }
  return n;
}

/**
 * @param {NodeJS.ProcessEnv} env
 * @returns {import('../scenarios.mjs').Scenario[]}
 */
function scenarios(env) {
  const raw = env.BENCH_SCENARIOS;
  if (raw === undefined || raw.trim() === '') return SCENARIOS;
  const wanted = new Set(
    raw
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  );
  const known = new Set(SCENARIOS.map((s) => s.name));
  const unknown = [...wanted].filter((name) => !known.has(name));
  if (unknown.length > 0) {
    throw new Error(
      `BENCH_SCENARIOS names unknown scenario(s) ${unknown.join(', ')}; known: ${[...known].join(', ')}.`,
    );
  }
  // The baseline always runs: without it in the same round there is no ratio.
  wanted.add(BASELINE);
  return SCENARIOS.filter((s) => wanted.has(s.name));
}

/**
 * @typedef {ReturnType<typeof readConfig>} Config
 */

/** Reads the settings from `env`; throws with the variable's name on a bad value. */
export function readConfig(env = process.env) {
  if ((env.BENCH_FULL_STACK_WITHOUT ?? '') !== '') {
    throw new Error(
      'BENCH_FULL_STACK_WITHOUT is for instructions.mjs, gc.mjs and profile.mjs: the throughput run checks every part of the full stack, so unset it.',
    );
  }
  return Object.freeze({
    duration: number(env, 'BENCH_DURATION', DEFAULTS.duration, { integer: false, min: 1 }),
    warmup: number(env, 'BENCH_WARMUP', DEFAULTS.warmup, { integer: false, min: 0 }),
    rounds: number(env, 'BENCH_ROUNDS', DEFAULTS.rounds, { integer: true, min: 1 }),
    connections: number(env, 'BENCH_CONNECTIONS', DEFAULTS.connections, { integer: true, min: 1 }),
    pipelining: DEFAULTS.pipelining,
    scenarios: scenarios(env),
  });
}
