// Stores per policy: express-rate-limit's MemoryStore, or rate-limit-redis guarded so a failing Redis
// is bounded by a timeout and handled by the policy's declared behaviour.
import { type IncrementResponse, MemoryStore, type Options, type Store } from 'express-rate-limit';
import { Redis } from 'ioredis';
import { RedisStore } from 'rate-limit-redis';
import type { ParsedOptions, Policy } from './options';
import type { RedisClientLike, StoreErrorBehaviour } from './types';

/** Thrown by a guarded store when the store failed and the policy fails open or closed. */
export class StoreUnavailableError extends Error {
  readonly policy: string;
  readonly behaviour: StoreErrorBehaviour;

  constructor(policy: Policy, cause: unknown) {
    super(`rate-limit store unavailable for policy "${policy.name}": ${messageOf(cause)}`);
    this.name = 'StoreUnavailableError';
    this.policy = policy.name;
    this.behaviour = policy.onStoreError;
  }
}

/** What a guarded store reports: the store went down (first failure) or came back. */
export interface StoreEvents {
  down(policy: Policy, error: unknown): void;
  up(policy: Policy, downMs: number): void;
  /** A failure that changes nothing for the request (a decrement or reset); logged once per kind. */
  problem(policy: Policy, what: string, error: unknown): void;
}

export function messageOf(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.length > 200 ? `${text.slice(0, 197)}...` : text;
}

/** The minimal express-rate-limit options a store's init() needs, for Koa where no limiter calls it. */
export function storeInitOptions(policy: Policy): Options {
  return { windowMs: policy.windowMs, limit: policy.limit } as Options;
}

/**
 * Wraps a shared store (Redis) for one policy. Every call is bounded by `timeoutMs`; a failure marks
 * the store down, and for `retryIntervalMs` the policy's behaviour applies without trying the store
 * (so an outage costs no request a timeout); then one request probes it again. `fallback` policies
 * count in memory meanwhile. Decrements and resets never throw.
 */
export class GuardedStore implements Store {
  // express-rate-limit's double-count check keys stores by prefix.
  readonly prefix: string;
  readonly localKeys = false;
  private down = false;
  private downSince = 0;
  private retryAt = 0;
  private needsInit = false;
  private options: Options | undefined;
  private readonly memory: MemoryStore | undefined;
  // Until the client first connects, requests wait for it (up to the timeout) instead of failing.
  private firstConnection: Promise<void> | undefined;
  private connectedOnce: (() => void) | undefined;

  constructor(
    private readonly primary: Store,
    private readonly policy: Policy,
    private readonly timeoutMs: number,
    private readonly retryIntervalMs: number,
    private readonly events: StoreEvents,
    private readonly connected: () => boolean = () => true,
    // The client bounds every command itself (the ioredis client Vigil creates has a command
    // timeout), so a store that is up needs no timer of Vigil's per call.
    private readonly clientBoundsCalls = false,
  ) {
    this.prefix = `${policy.name}:`;
    this.memory = policy.onStoreError === 'fallback' ? new MemoryStore() : undefined;
    if (!connected()) {
      this.firstConnection = new Promise((resolve) => (this.connectedOnce = resolve));
    }
  }

  /** True while the store is considered down. */
  get isDown(): boolean {
    return this.down;
  }

  init(options: Options): void {
    this.options = options;
    this.memory?.init(options);
    // A client still connecting cannot load scripts (its offline queue is off): wait for ready().
    if (this.connected()) this.runInit();
    else this.needsInit = true;
  }

  /** The client (re)connected: load the scripts, and let the next request try the store at once. */
  ready(): void {
    this.connectedOnce?.();
    this.firstConnection = undefined;
    this.needsInit = true;
    this.retryAt = 0;
    if (this.options !== undefined) this.runInit();
  }

  async increment(key: string): Promise<IncrementResponse> {
    if (
      this.clientBoundsCalls &&
      !this.down &&
      !this.needsInit &&
      this.firstConnection === undefined
    ) {
      try {
        return await this.primary.increment(key);
      } catch (error) {
        this.fail(error);
        return this.whenDown(key, error);
      }
    }
    const now = Date.now();
    if (this.down && now < this.retryAt) return this.whenDown(key, undefined);
    if (this.down) this.retryAt = now + this.retryIntervalMs; // this request probes; others wait
    try {
      // One bound for the whole call: waiting for the first connection, loading scripts, counting.
      const result = await this.bounded(async () => {
        if (this.firstConnection !== undefined) await this.firstConnection;
        if (this.needsInit) {
          await this.primary.init?.(this.requireOptions());
          this.needsInit = false;
        }
        return this.primary.increment(key);
      });
      if (this.down) this.recover();
      return result;
    } catch (error) {
      this.fail(error);
      return this.whenDown(key, error);
    }
  }

  async decrement(key: string): Promise<void> {
    try {
      if (this.down) await this.memory?.decrement(key);
      else await this.bounded(() => this.primary.decrement(key));
    } catch (error) {
      this.events.problem(this.policy, 'decrement', error);
    }
  }

  async resetKey(key: string): Promise<void> {
    try {
      await this.memory?.resetKey(key);
      await this.bounded(() => this.primary.resetKey(key));
    } catch (error) {
      this.events.problem(this.policy, 'resetKey', error);
    }
  }

  async get(key: string): Promise<IncrementResponse | undefined> {
    try {
      if (this.down) return await this.memory?.get(key);
      return (await this.bounded(() => this.primary.get?.(key))) ?? undefined;
    } catch {
      return undefined;
    }
  }

  shutdown(): void {
    this.memory?.shutdown();
  }

  private requireOptions(): Options {
    // init() runs before any request: express-rate-limit calls it at creation, koaRateLimit too.
    return this.options ?? storeInitOptions(this.policy);
  }

  private runInit(): void {
    this.needsInit = false;
    try {
      const result = this.primary.init?.(this.requireOptions());
      if (result instanceof Promise) {
        result.catch((error: unknown) => this.fail(error));
      }
    } catch (error) {
      this.fail(error);
    }
  }

  private whenDown(key: string, error: unknown): Promise<IncrementResponse> | never {
    if (this.memory !== undefined) return this.memory.increment(key);
    throw new StoreUnavailableError(this.policy, error ?? 'store marked down after a failure');
  }

  private fail(error: unknown): void {
    // rate-limit-redis keeps a rejected script-load promise for good: load the scripts again on the
    // next probe, or limiting would never resume after Redis was down at startup.
    this.needsInit = true;
    // Waited once for the first connection: from now on, fail fast until the client is ready.
    this.firstConnection = undefined;
    this.retryAt = Date.now() + this.retryIntervalMs;
    if (this.down) return;
    this.down = true;
    this.downSince = Date.now();
    this.events.down(this.policy, error);
  }

  private recover(): void {
    this.down = false;
    this.events.up(this.policy, Date.now() - this.downSince);
  }

  private bounded<T>(call: () => T | Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`store call timed out after ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      timer.unref();
      Promise.resolve()
        .then(call)
        .then(
          (value) => {
            clearTimeout(timer);
            resolve(value);
          },
          (error: unknown) => {
            clearTimeout(timer);
            reject(error instanceof Error ? error : new Error(String(error)));
          },
        );
    });
  }
}

/** A Redis client Vigil creates from a URL: no offline queue and a command timeout, so it fails fast. */
export function createRedisClient(
  url: string,
  commandTimeoutMs: number,
  onError: (error: unknown) => void,
): Redis {
  const client = new Redis(url, {
    // Commands sent while disconnected fail at once instead of queueing until Redis returns.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: commandTimeoutMs,
    connectTimeout: Math.max(1000, commandTimeoutMs),
    // Reconnect forever, backing off to 2 s: limiting resumes by itself when Redis is back.
    retryStrategy: (times: number) => Math.min(50 * 2 ** Math.min(times, 6), 2000),
  });
  client.on('error', onError);
  return client;
}

function sendCommandOf(client: RedisClientLike): (...args: string[]) => Promise<never> {
  if ('call' in client && typeof client.call === 'function') {
    return (command: string, ...args: string[]) => client.call(command, ...args) as Promise<never>;
  }
  const nodeRedis = client as { sendCommand(args: string[]): Promise<unknown> };
  return (...args: string[]) => nodeRedis.sendCommand(args) as Promise<never>;
}

/**
 * Whether a client is connected, for clients that tell (ioredis `status`, node-redis `isReady`);
 * others count as connected.
 */
function connectionProbe(client: RedisClientLike): () => boolean {
  const c = client as { status?: unknown; isReady?: unknown };
  if (typeof c.status === 'string') return () => c.status === 'ready';
  if (typeof c.isReady === 'boolean') return () => c.isReady === true;
  return () => true;
}

/**
 * Runs `listener` on every 'ready' event of a client that emits them (ioredis and node-redis do).
 * Returns the function that removes it, so closing a limiter releases an injected client.
 */
function onReady(client: RedisClientLike, listener: () => void): () => void {
  const emitter = client as {
    on?: (event: string, listener: () => void) => unknown;
    removeListener?: (event: string, listener: () => void) => unknown;
  };
  if (typeof emitter.on !== 'function') return () => undefined;
  emitter.on('ready', listener);
  return () => emitter.removeListener?.('ready', listener);
}

/** The stores of a limiter's policies, and how to release them. */
export interface PolicyStores {
  readonly stores: readonly Store[];
  /** Per policy: whether its shared store is down (always false for memory). */
  status(): { policy: string; store: 'memory' | 'redis'; down: boolean }[];
  close(): Promise<void>;
}

export function createStores(
  opts: ParsedOptions,
  events: StoreEvents,
  onClientError: (error: unknown) => void,
): PolicyStores {
  if (opts.store === 'memory') {
    const stores = opts.policies.map(() => new MemoryStore());
    return {
      stores,
      status: () =>
        opts.policies.map((p) => ({ policy: p.name, store: 'memory' as const, down: false })),
      close() {
        for (const s of stores) s.shutdown();
        return Promise.resolve();
      },
    };
  }
  const owned = opts.redis.client === undefined;
  const client: RedisClientLike =
    opts.redis.client ??
    createRedisClient(opts.redis.url as string, opts.redis.commandTimeoutMs, onClientError);
  const sendCommand = sendCommandOf(client);
  const connected = connectionProbe(client);
  const stores = opts.policies.map(
    (policy) =>
      new GuardedStore(
        new RedisStore({ sendCommand, prefix: `${opts.redis.prefix}${policy.name}:` }),
        policy,
        opts.redis.commandTimeoutMs,
        opts.retryIntervalMs,
        events,
        connected,
        owned,
      ),
  );
  const stopListening = onReady(client, () => {
    for (const store of stores) store.ready();
  });
  return {
    stores,
    status: () =>
      opts.policies.map((p, i) => ({
        policy: p.name,
        store: 'redis' as const,
        down: (stores[i] as GuardedStore).isDown,
      })),
    async close() {
      for (const s of stores) s.shutdown();
      stopListening();
      if (owned) {
        const redis = client as Redis;
        try {
          await redis.quit();
        } catch {
          redis.disconnect();
        }
      }
    },
  };
}
