// Turning runs into the summary: medians over rounds, ratios paired within a round, the markdown
// tables of the scenarios and of the targets.
import { BASELINE } from '../scenarios.mjs';
import { entry, median, signed } from './stats.mjs';

/**
 * One round: each scenario's run, by name.
 * @typedef {Record<string, import('./run-scenario.mjs').Run>} Round
 */

/**
 * A scenario's summary over rounds: medians, and the per-round values paired with bare.
 * @typedef {object} Row
 * @property {string} scenario
 * @property {number} reqPerSec
 * @property {number} ratio  median of `ratios`
 * @property {number[]} ratios  req/s divided by the same round's bare req/s, per round
 * @property {number} cpuUsPerReq
 * @property {number} extraCpuUs  median of `extraCpuUsPerRound`
 * @property {number[]} extraCpuUsPerRound  CPU µs/req minus the same round's bare, per round
 * @property {number} latencyP50Ms
 * @property {number} latencyP99Ms
 * @property {number} rssMB
 * @property {number | undefined} redisCpuUsPerReq
 * @property {number} serverCpuUtilisation
 */

/** @typedef {Record<string, Row>} Rows */

/**
 * One row per scenario. Absolute figures are medians over rounds. The ratio and the extra CPU are
 * computed per round against that round's baseline run, then the median is taken: on a noisy machine
 * a slow round slows the baseline too, and the pairing cancels it.
 * @param {Round[]} rounds
 * @param {string[]} scenarioNames
 * @returns {Rows}
 */
export function summarise(rounds, scenarioNames) {
  /** @type {Rows} */
  const rows = {};
  for (const name of scenarioNames) {
    const runs = rounds.map((round) => ({
      run: entry(round, name, 'run in a round'),
      base: entry(round, BASELINE, 'run in a round'),
    }));
    const ratios = runs.map(({ run, base }) => run.reqPerSec / base.reqPerSec);
    const extra = runs.map(({ run, base }) => run.cpuUsPerReq - base.cpuUsPerReq);
    rows[name] = {
      scenario: name,
      reqPerSec: median(runs.map(({ run }) => run.reqPerSec)),
      ratio: median(ratios),
      ratios,
      cpuUsPerReq: median(runs.map(({ run }) => run.cpuUsPerReq)),
      extraCpuUs: median(extra),
      extraCpuUsPerRound: extra,
      latencyP50Ms: median(runs.map(({ run }) => run.latencyP50Ms)),
      latencyP99Ms: median(runs.map(({ run }) => run.latencyP99Ms)),
      rssMB: median(runs.map(({ run }) => run.rssMB)),
      // Only for the Redis scenarios, on machines with /proc.
      redisCpuUsPerReq: runs.every(({ run }) => run.redisCpuUsPerReq !== undefined)
        ? median(runs.map(({ run }) => run.redisCpuUsPerReq ?? NaN))
        : undefined,
      serverCpuUtilisation: median(runs.map(({ run }) => run.serverCpuUtilisation)),
    };
  }
  return rows;
}

const fixed = (/** @type {number} */ n, /** @type {number} */ digits) => n.toFixed(digits);

/**
 * The summary as a markdown table, scenarios in list order.
 * @param {Rows} rows
 * @param {string[]} scenarioNames
 */
export function table(rows, scenarioNames) {
  const header = [
    'scenario',
    'req/s',
    'ratio to bare',
    'server CPU µs/req',
    '+µs vs bare',
    'p50 ms',
    'p99 ms',
    'RSS MB',
  ];
  const lines = [
    `| ${header.join(' | ')} |`,
    `| ${header.map((_, i) => (i === 0 ? '---' : '---:')).join(' | ')} |`,
  ];
  for (const name of scenarioNames) {
    const r = entry(rows, name, 'summary row');
    const base = name === BASELINE;
    const cells = [
      name,
      Math.round(r.reqPerSec).toString(),
      base ? '1.00' : fixed(r.ratio, 2),
      fixed(r.cpuUsPerReq, 1),
      base ? '—' : signed(r.extraCpuUs, 1),
      fixed(r.latencyP50Ms, 2),
      fixed(r.latencyP99Ms, 2),
      fixed(r.rssMB, 1),
    ];
    lines.push(`| ${cells.join(' | ')} |`);
  }
  return lines.join('\n');
}

/**
 * Per-round ratios and extra CPU, so the spread behind each median is visible.
 * @param {Rows} rows
 * @param {string[]} scenarioNames
 */
export function spread(rows, scenarioNames) {
  return scenarioNames
    .filter((name) => name !== BASELINE)
    .map((name) => {
      const r = entry(rows, name, 'summary row');
      const ratios = r.ratios.map((x) => fixed(x, 2)).join(' / ');
      const extra = r.extraCpuUsPerRound.map((x) => signed(x, 1)).join(' / ');
      return `- ${name}: ratio per round ${ratios}; +µs per round ${extra}`;
    })
    .join('\n');
}

/**
 * The judged targets (`{ name, met, required, measured, perRound }`, see TARGETS in scenarios.mjs) as a
 * markdown table: each with what it requires, the median measured in this run, the per-round values
 * that median is taken from, and whether it is met.
 * @param {(import('../scenarios.mjs').Judgement & { name: string })[]} targets
 */
export function targetTable(targets) {
  const lines = [
    '| target | required | measured (median) | per round | status |',
    '| --- | --- | ---: | --- | --- |',
  ];
  for (const t of targets) {
    const cells = [
      t.name,
      t.required,
      t.measured,
      t.perRound.join(' / '),
      t.met ? 'met' : '**not met**',
    ];
    lines.push(`| ${cells.join(' | ')} |`);
  }
  return lines.join('\n');
}
