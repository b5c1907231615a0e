// Child processes of the harness: node scripts, each pinned to one core, spoken to over IPC.
import { spawn, spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';

/** The server runs on this core and the load generator on the other, when pinning is possible. */
export const SERVER_CORE = 0;
export const LOAD_CORE = 1;

/** True when `taskset` exists and both cores can be used. */
export const PINNED =
  availableParallelism() >= 2 &&
  [SERVER_CORE, LOAD_CORE].every(
    (core) => spawnSync('taskset', ['-c', String(core), 'true']).status === 0,
  );

/**
 * `taskset -c <core> <program> <args...>` when pinning is possible, else `<program> <args...>`.
 * @param {number} core
 * @param {string} program
 * @param {string[]} args
 * @returns {{ command: string, args: string[] }}
 */
export function pinned(core, program, args) {
  return PINNED
    ? { command: 'taskset', args: ['-c', String(core), program, ...args] }
    : { command: program, args };
}

/**
 * A child process of the harness. `matches` sees whatever the child sent, hence `any`; the caller
 * names the type of the message it waits for.
 * @typedef {object} Child
 * @property {string} label
 * @property {(message: object) => void} send
 * @property {<T>(matches: (message: any) => boolean, timeoutMs: number, what: string) => Promise<T>} waitFor
 *   The next message for which `matches` holds, within `timeoutMs`.
 * @property {() => Promise<void>} stop
 * @property {Promise<void>} exited
 */

/**
 * Starts `node <script>` (on `core` when pinned) with an IPC channel. Messages are queued until
 * someone waits for them, so none is lost between two awaits; a child that dies fails every wait.
 * @param {string} script
 * @param {{ core: number, label: string, env?: NodeJS.ProcessEnv }} options
 * @returns {Child}
 */
export function startChild(script, { core, label, env }) {
  const { command, args } = pinned(core, process.execPath, [script]);
  const proc = spawn(command, args, {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, ...env },
  });
  /** @type {any[]} IPC messages no one waited for yet, as the child sent them. */
  const inbox = [];
  /**
   * @typedef {object} Waiter
   * @property {(message: any) => boolean} matches
   * @property {(message: any) => void} resolve
   * @property {(error: Error) => void} reject
   */
  /** @type {Waiter[]} */
  const waiters = [];
  /** @type {Error | undefined} */
  let exitError;
  /** @type {Promise<void>} */
  const exited = new Promise((resolve) => {
    /** @param {Error} error */
    const onGone = (error) => {
      if (exitError) return;
      exitError = error;
      for (const w of waiters.splice(0)) w.reject(exitError);
      resolve();
    };
    // 'close' rather than 'exit': it comes after the IPC channel closed, so after the last message.
    proc.on('close', (code, signal) =>
      onGone(new Error(`${label} exited (code ${code}, signal ${signal})`)),
    );
    proc.on('error', (err) => onGone(new Error(`${label} failed to start: ${err.message}`)));
  });
  proc.on('message', (message) => {
    const i = waiters.findIndex((w) => w.matches(message));
    if (i === -1) inbox.push(message);
    else waiters.splice(i, 1)[0]?.resolve(message);
  });

  return {
    label,
    send(message) {
      proc.send(message);
    },
    /** The next message for which `matches` holds, within `timeoutMs`. */
    waitFor(matches, timeoutMs, what) {
      const queued = inbox.findIndex(matches);
      if (queued !== -1) return Promise.resolve(inbox.splice(queued, 1)[0]);
      if (exitError) return Promise.reject(exitError);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(waiter), 1);
          reject(new Error(`${label}: no ${what} within ${timeoutMs} ms`));
        }, timeoutMs);
        /** @type {Waiter} */
        const waiter = {
          matches,
          resolve: (m) => (clearTimeout(timer), resolve(m)),
          reject: (e) => (clearTimeout(timer), reject(e)),
        };
        waiters.push(waiter);
      });
    },
    /** Ends the child: SIGTERM, then SIGKILL if it is still there after 3 s. */
    async stop() {
      if (exitError) return;
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
    },
    exited,
  };
}
