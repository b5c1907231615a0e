// The local redis-server of the Redis scenarios: started on a free loopback port on the server core,
// emptied before each run, its CPU read around the measured window, stopped at the end.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { Redis } from 'ioredis';
import { SERVER_CORE, pinned } from './child.mjs';

const REDIS_SERVER = 'redis-server';
/** Where to get it when it is missing. */
export const REDIS_PACKAGE_HINT =
  'install the Debian package redis-server (apt-get install redis-server)';

/** True when `redis-server` can be run. */
export function redisServerAvailable() {
  return spawnSync(REDIS_SERVER, ['--version'], { stdio: 'ignore' }).status === 0;
}

/**
 * A port nobody listens on now. Redis binds it a moment later; a lost race fails its start loudly.
 * @returns {Promise<number>}
 */
function freePort() {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      // Listening on a TCP address, so an AddressInfo.
      const { port } = /** @type {import('node:net').AddressInfo} */ (probe.address());
      probe.close(() => resolve(port));
    });
  });
}

/**
 * Runs `fn` with a short-lived client that fails at once instead of retrying.
 * @template T
 * @param {number} port
 * @param {(client: Redis) => Promise<T>} fn
 * @returns {Promise<T>}
 */
async function withClient(port, fn) {
  const client = new Redis({
    host: '127.0.0.1',
    port,
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  // Errors reach the caller through the awaited calls; without a listener ioredis would also log them.
  client.on('error', () => {});
  try {
    await client.connect();
    return await fn(client);
  } finally {
    client.disconnect();
  }
}

/** @type {number | undefined} */
let clockTicks;
/**
 * CPU time (user + system, µs) of process `pid` from /proc; undefined where there is no /proc.
 * @param {number | undefined} pid
 * @returns {number | undefined}
 */
function processCpuUs(pid) {
  try {
    // Fields after the parenthesised command name: state is field 3, utime 14, stime 15.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    clockTicks ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    return ((Number(fields[11]) + Number(fields[12])) * 1e6) / clockTicks;
  } catch {
    return undefined;
  }
}

/** @typedef {Awaited<ReturnType<typeof startRedis>>} RedisServer */

/**
 * Starts `redis-server --port P --bind 127.0.0.1 --save '' --appendonly no` (nothing written to
 * disk), pinned to the server's core like the server itself, and waits until it answers PING.
 */
export async function startRedis() {
  const port = await freePort();
  const { command, args } = pinned(SERVER_CORE, REDIS_SERVER, [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--appendonly',
    'no',
  ]);
  const proc = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  // The last lines it printed, for the error message if it does not come up.
  let output = '';
  const keep = (/** @type {Buffer} */ chunk) => (output = (output + chunk.toString()).slice(-2000));
  proc.stdout.on('data', keep);
  proc.stderr.on('data', keep);
  /** @type {Error | undefined} */
  let exitError;
  /** @type {Promise<void>} */
  const exited = new Promise((resolve) => {
    proc.on('close', (code, signal) => {
      exitError ??= new Error(`redis-server exited (code ${code}, signal ${signal})`);
      resolve();
    });
    proc.on('error', (err) => {
      exitError ??= new Error(`redis-server failed to start: ${err.message}`);
      resolve();
    });
  });
  // Whatever ends the harness (an uncaught error, process.exit from a signal handler) ends Redis too.
  const killOnExit = () => proc.kill('SIGKILL');
  process.on('exit', killOnExit);

  const stop = async () => {
    process.off('exit', killOnExit);
    if (exitError) return;
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(timer);
  };

  const deadline = Date.now() + 10_000;
  for (;;) {
    if (exitError) {
      await stop();
      throw new Error(`${exitError.message} on port ${port}:\n${output.trim()}`);
    }
    try {
      await withClient(port, (client) => client.ping());
      break;
    } catch (err) {
      if (Date.now() > deadline) {
        await stop();
        throw new Error(
          `redis-server on port ${port} did not answer PING within 10 s: ${String(err)}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  return {
    url: `redis://127.0.0.1:${port}`,
    pid: proc.pid,
    /** Empties it, so a run's check sees only that run's counts. */
    flush: () => withClient(port, (client) => client.flushall()),
    /** Its CPU time so far in µs (undefined without /proc). */
    cpuUs: () => processCpuUs(proc.pid),
    stop,
  };
}
