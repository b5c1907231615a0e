// A real redis-server on an ephemeral loopback port: start, kill (SIGKILL), freeze (SIGSTOP) and
// restart on the same port.
import { type ChildProcess, spawn } from 'node:child_process';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { findBinary } from './binaries';
import { sleep } from './http';
import { freePort } from './servers';

/** The redis-server binary, or undefined (the suite skips; with CI=true findBinary throws). */
export function findRedisServer(): string | undefined {
  return findBinary('redis-server', 'redis-server');
}

/** True when a PING on `port` gets +PONG within `timeoutMs`. */
export function ping(port: number, timeoutMs = 200): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    let reply = '';
    const done = (ok: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk: Buffer) => {
      reply += chunk.toString('latin1');
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
    socket.on('error', () => done(false));
  });
}

export class RedisServer {
  readonly url: string;
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private output = '';

  constructor(
    private readonly binary: string,
    readonly port: number,
  ) {
    this.url = `redis://127.0.0.1:${port}`;
  }

  /** Starts redis-server on a free port (or `port`) and waits until it answers PING. */
  static async start(binary: string, port?: number): Promise<RedisServer> {
    const server = new RedisServer(binary, port ?? (await freePort()));
    await server.start();
    return server;
  }

  get running(): boolean {
    return this.child !== undefined;
  }

  /** (Re)starts the server on its port, without persistence, and waits for PING. */
  async start(timeoutMs = 10_000): Promise<void> {
    if (this.child !== undefined) throw new Error('redis-server is already running');
    this.output = '';
    const child = spawn(
      this.binary,
      [
        '--port',
        String(this.port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--dir',
        tmpdir(),
        '--daemonize',
        'no',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child.stdout.on(
      'data',
      (c: Buffer) => (this.output = (this.output + c.toString()).slice(-4000)),
    );
    child.stderr.on(
      'data',
      (c: Buffer) => (this.output = (this.output + c.toString()).slice(-4000)),
    );
    this.child = child;
    this.exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    void this.exited.then(() => {
      if (this.child === child) this.child = undefined;
    });
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.child !== child) {
        throw new Error(`redis-server exited at startup on port ${this.port}:\n${this.output}`);
      }
      if (await ping(this.port)) return;
      await sleep(20);
    }
    await this.kill();
    throw new Error(`redis-server did not answer PING on port ${this.port}:\n${this.output}`);
  }

  /** Sends `signal` (SIGKILL by default) and waits for the process to exit. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.child;
    if (child === undefined) return;
    child.kill(signal);
    await this.exited;
    this.child = undefined;
  }

  /** Freezes the process: connections stay open and nothing answers (a hung Redis). */
  pause(): void {
    this.child?.kill('SIGSTOP');
  }

  resume(): void {
    this.child?.kill('SIGCONT');
  }
}
