// The load benchmark: every scenario once per round, in a rotated order, medians and ratios to bare.
//
// Usage: npm run bench   (BENCH_DURATION, BENCH_WARMUP, BENCH_ROUNDS, BENCH_CONNECTIONS,
// BENCH_SCENARIOS override the defaults; see bench/README.md).
import { execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PINNED, LOAD_CORE, SERVER_CORE } from './lib/child.mjs';
import { readConfig } from './lib/config.mjs';
import { REDIS_PACKAGE_HINT, redisServerAvailable, startRedis } from './lib/redis.mjs';
import { RunFailure, runScenario } from './lib/run-scenario.mjs';
import { spread, summarise, table, targetTable } from './lib/report.mjs';
import { REPORTS, TARGETS } from './scenarios.mjs';

const RESULTS_DIR = fileURLToPath(new URL('./results/', import.meta.url));

function log(/** @type {string} */ line) {
  process.stderr.write(`${line}\n`);
}

/**
 * Round r runs the list rotated by r, so no scenario always runs first (cold) or last.
 * @template T
 * @param {T[]} list
 * @param {number} r
 */
function rotated(list, r) {
  const k = r % list.length;
  return [...list.slice(k), ...list.slice(0, k)];
}

/** The commit measured, and whether packages/ had uncommitted changes (built into dist all the same). */
function revision() {
  const git = (/** @type {string[]} */ ...args) =>
    execFileSync('git', args, {
      cwd: fileURLToPath(new URL('..', import.meta.url)),
      encoding: 'utf8',
    });
  try {
    return {
      commit: git('rev-parse', '--short', 'HEAD').trim(),
      dirty: git('status', '--porcelain', '--', 'packages').trim() !== '',
    };
  } catch {
    return { commit: 'unknown', dirty: false };
  }
}

/**
 * @typedef {ReturnType<typeof revision> & {
 *   date: string, node: string, cpuModel: string, cores: number, platform: string,
 *   loadAverageAtStart: number[], loadAverageAtEnd?: number[] }} Machine
 */

/** @returns {Machine} */
function machine() {
  const all = cpus();
  return {
    date: new Date().toISOString(),
    node: process.version,
    cpuModel: all[0]?.model.trim() ?? 'unknown',
    cores: all.length,
    platform: `${process.platform} ${process.arch}`,
    // Other processes on the machine are the main source of noise; the load average shows how much.
    loadAverageAtStart: loadavg().map((x) => Number(x.toFixed(2))),
    ...revision(),
  };
}

/**
 * @param {string} started  the run's ISO date, which names the file
 * @param {object} data
 */
async function writeResults(started, data) {
  await mkdir(RESULTS_DIR, { recursive: true });
  const file = `${RESULTS_DIR}${started.replace(/[:.]/g, '-')}.json`;
  await writeFile(file, `${JSON.stringify(data, null, 2)}\n`);
  return file;
}

async function main() {
  let config;
  try {
    config = readConfig();
  } catch (err) {
    log(`vigil bench: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 2;
    return;
  }
  // Scenarios that need Redis run only where redis-server is installed; the others run regardless.
  let scenarios = config.scenarios;
  const needRedis = scenarios.filter((s) => s.redis).map((s) => s.name);
  const skipped = needRedis.length > 0 && !redisServerAvailable() ? needRedis : [];
  if (skipped.length > 0) {
    log(
      `vigil bench: skipping ${skipped.join(', ')}: they need redis-server, which is not installed; ` +
        `${REDIS_PACKAGE_HINT}.`,
    );
    scenarios = scenarios.filter((s) => !s.redis);
  }
  const names = scenarios.map((s) => s.name);
  const meta = machine();
  const withRedis = scenarios.some((s) => s.redis);
  const pinning = PINNED
    ? `server${withRedis ? ' and redis-server' : ''} on core ${SERVER_CORE}, load on core ${LOAD_CORE} (taskset)`
    : 'not pinned (no taskset or fewer than 2 cores)';
  const settings = {
    rounds: config.rounds,
    warmupSeconds: config.warmup,
    durationSeconds: config.duration,
    connections: config.connections,
    pipelining: config.pipelining,
    pinning,
    skipped,
  };
  log(
    `vigil bench: ${names.join(', ')}; ${config.rounds} rounds of ${config.warmup} s warm-up + ` +
      `${config.duration} s measured, ${config.connections} connections; ${pinning}`,
  );

  /** @type {import('./lib/report.mjs').Round[]} */
  const rounds = [];
  /** @type {object[]} */
  const runs = [];
  /** @type {import('./lib/redis.mjs').RedisServer | undefined} */
  let redis;
  // Ending the harness by a signal must not leave redis-server behind: exiting runs its exit hook.
  const onSignal = (/** @type {NodeJS.Signals} */ signal) => {
    log(`vigil bench: ${signal}, stopping`);
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  try {
    if (withRedis) {
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      redis = await startRedis();
      log(`  redis-server at ${redis.url} (pid ${redis.pid})`);
    }
    for (let r = 0; r < config.rounds; r++) {
      /** @type {import('./lib/report.mjs').Round} */
      const round = {};
      const order = rotated(scenarios, r);
      for (const scenario of order) {
        const run = await runScenario(scenario, config, { redis });
        round[scenario.name] = run;
        runs.push({ round: r + 1, position: order.indexOf(scenario) + 1, ...run });
        log(
          `  round ${r + 1}/${config.rounds} ${scenario.name.padEnd(24)} ` +
            `${Math.round(run.reqPerSec).toString().padStart(6)} req/s ` +
            `${run.cpuUsPerReq.toFixed(1).padStart(6)} µs/req ` +
            `p99 ${run.latencyP99Ms.toFixed(2)} ms, server CPU ${(run.serverCpuUtilisation * 100).toFixed(0)} %`,
        );
      }
      rounds.push(round);
    }
  } catch (err) {
    const stack = err instanceof Error ? err.stack : undefined;
    const file = await writeResults(meta.date, {
      meta,
      settings,
      runs,
      error: String(stack ?? err),
    });
    log(
      `\nFAILED: ${err instanceof RunFailure ? err.message : String(stack ?? err)}\n(partial results: ${file})`,
    );
    process.exitCode = 1;
    return;
  } finally {
    await redis?.stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }

  meta.loadAverageAtEnd = loadavg().map((x) => Number(x.toFixed(2)));
  const rows = summarise(rounds, names);
  const judged = TARGETS.filter((t) => t.needs.every((n) => names.includes(n)));
  const targets = judged.map((t) => ({ name: t.name, needs: t.needs, ...t.judge(rows) }));
  const notJudged = TARGETS.filter((t) => !judged.includes(t));
  const reports = REPORTS.filter((t) => t.needs.every((n) => names.includes(n))).map((t) => ({
    name: t.name,
    detail: t.report(rows),
  }));
  const file = await writeResults(meta.date, {
    meta,
    settings,
    runs,
    summary: rows,
    targets,
    reports,
  });

  const lowCpu = Object.values(rows).filter((row) => row.serverCpuUtilisation < 0.9);
  const out = [
    `Date: ${meta.date}, commit ${meta.commit}${meta.dirty ? ' (packages/ modified)' : ''}  `,
    `Node ${meta.node}, ${meta.cpuModel}, ${meta.cores} cores (${meta.platform}); ` +
      `load average ${meta.loadAverageAtStart[0]} at start, ${meta.loadAverageAtEnd[0]} at end  `,
    `${config.rounds} rounds, ${config.warmup} s warm-up + ${config.duration} s measured per run, ` +
      `${config.connections} connections, pipelining ${config.pipelining}; ${pinning}  `,
    ...(skipped.length ? [`Skipped (no redis-server): ${skipped.join(', ')}  `] : []),
    'Medians over rounds; ratio and +µs paired with the same round’s bare run.',
    '',
    table(rows, names),
    '',
    spread(rows, names),
    '',
    ...(targets.length
      ? [
          `Targets: ${targets.filter((t) => t.met).length} of ${targets.length} met.`,
          '',
          targetTable(targets),
        ]
      : ['No target judged: each needs scenarios that did not run.']),
    ...(notJudged.length
      ? ['', `${notJudged.length} more target(s) not judged: the scenarios they need did not run.`]
      : []),
    ...(reports.length ? ['', ...reports.map((t) => `- ${t.name}: ${t.detail}`)] : []),
    ...(lowCpu.length
      ? [
          '',
          `Warning: server CPU below 90 % for ${lowCpu.map((r) => r.scenario).join(', ')}: ` +
            'something else (the load generator, other processes on the machine) held the server back.',
        ]
      : []),
    '',
    `Raw results: ${relative(process.cwd(), file)}`,
  ];
  process.stdout.write(`\n${out.join('\n')}\n`);
}

await main();
