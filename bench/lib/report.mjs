// Turning runs into the summary: medians over rounds, ratios paired within a round, the markdown table.
import { BASELINE } from '../scenarios.mjs';

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * One row per scenario. Absolute figures are medians over rounds. The ratio and the extra CPU are
 * computed per round against that round's baseline run, then the median is taken: on a noisy machine
 * a slow round slows the baseline too, and the pairing cancels it.
 */
export function summarise(rounds, scenarioNames) {
  const rows = {};
  for (const name of scenarioNames) {
    const runs = rounds.map((round) => ({ run: round[name], base: round[BASELINE] }));
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
        ? median(runs.map(({ run }) => run.redisCpuUsPerReq))
        : undefined,
      serverCpuUtilisation: median(runs.map(({ run }) => run.serverCpuUtilisation)),
    };
  }
  return rows;
}

const fixed = (n, digits) => n.toFixed(digits);
const signed = (n, digits) => `${n >= 0 ? '+' : ''}${n.toFixed(digits)}`;

/** The summary as a markdown table, scenarios in list order. */
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
    `| ${header.map((h, i) => (i === 0 ? '---' : '---:')).join(' | ')} |`,
  ];
  for (const name of scenarioNames) {
    const r = rows[name];
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

/** Per-round ratios and extra CPU, so the spread behind each median is visible. */
export function spread(rows, scenarioNames) {
  return scenarioNames
    .filter((name) => name !== BASELINE)
    .map((name) => {
      const r = rows[name];
      const ratios = r.ratios.map((x) => fixed(x, 2)).join(' / ');
      const extra = r.extraCpuUsPerRound.map((x) => signed(x, 1)).join(' / ');
      return `- ${name}: ratio per round ${ratios}; +µs per round ${extra}`;
    })
    .join('\n');
}
