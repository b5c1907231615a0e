// Stable hidden classes for Express's requests and responses.
//
// Express gives every req and res its app's prototype (Object.setPrototypeOf in app.handle, or in the
// init middleware of Express 4). V8 caches that change of prototype, but the object's new hidden
// class (map) no longer belongs to a transition tree: each property added afterwards (req.next,
// req.baseUrl, req.originalUrl, req.params, req.route, res.locals, res.statusCode, ...) copies the
// map instead of following a cached transition. So every request ends with hidden classes of its own,
// every property access that sees it (Express's, the router's, Node's own HTTP code, every
// middleware's) misses V8's caches, and each copy allocates. Measured on Express 5 with the bench's
// route mix (bench/RESULTS.md): 701k instructions a request, 237k with the shapes kept stable.
//
// The remedy here: learn which properties a server's requests and responses gain after the prototype
// change, and give them to the next objects before it, at Node's `http.server.request.start`
// diagnostics message (before the 'request' event reaches the app). Express's assignments then
// overwrite properties that exist, and the maps stay the same from one request to the next.
//
// What is added is what an assignment would have added, with the value a read already gave: only
// plain data properties (writable, enumerable, configurable), set to the value the prototype chains
// the object starts and ends with both hold for that name when it is a primitive (res.statusCode:
// 200), else undefined when neither has such a name. A name either chain holds as an accessor, a
// function or an object is never added, so no getter or method of Express is shadowed; nor is a name
// whose inherited value differs between requests. A value already there at the start is never
// overwritten.
//
// Learned from requests a Vigil middleware saw (so a server Vigil is not mounted on is never touched):
// at the end of each response and again at the next request on its connection, LEARNING_REQUESTS
// times per server, at most MAX_KEYS names per object; then fixed.
// Requests whose prototype does not change (Koa, plain Node) teach nothing and get nothing.
// V8 13 (Node 24) keeps sharing hidden classes after a change of prototype, so there it is never
// started; V8 11 (Node 20) and 12 (Node 22) need it. VIGIL_REQUEST_SHAPES=off turns it off.
import { subscribe } from 'node:diagnostics_channel';

/** Whether this V8 gives objects hidden classes of their own after a change of prototype. */
export const V8_NEEDS_REQUEST_SHAPES = Number(process.versions.v8.split('.')[0]) < 13;

/** Times a server's requests are learned from (twice a kept-alive request) before it is fixed. */
export const LEARNING_REQUESTS = 256;
/** Names learned at most for requests, and as many for responses. */
export const MAX_KEYS = 64;

// Registered, so two copies of @vigil/core in one process share one learner per server and one
// subscription.
const kShapes = Symbol.for('vigil.core.requestShapes');
const kInstalled = Symbol.for('vigil.core.requestShapes.installed');

/** What is added before the app sees an object, learned from the objects of one kind. */
export class ObjectShape {
  /** The names added, in the order they are added; `values[i]` is the value of `keys[i]`. */
  keys: PropertyKey[] = [];
  values: unknown[] = [];
  private readonly baseline: ReadonlySet<PropertyKey>;
  private readonly startPrototype: object | null;
  private readonly planned = new Map<PropertyKey, unknown>();
  private readonly refused = new Set<PropertyKey>();

  /** `fresh`: an object as the server creates it, before anything else touched it. */
  constructor(fresh: object) {
    this.baseline = new Set(Reflect.ownKeys(fresh));
    this.startPrototype = Object.getPrototypeOf(fresh) as object | null;
  }

  /** Adds the learned names that `target` does not already hold with another value. */
  apply(target: Record<PropertyKey, unknown>): void {
    const keys = this.keys;
    const values = this.values;
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!;
      const value = values[i];
      // Equal: absent (undefined through the chain) or the chain's own value. Unequal: someone set it.
      if (target[key] === value) target[key] = value;
    }
  }

  /** Learns the names `done` (an object at the end of its request) gained after its start. */
  learn(done: object): void {
    const prototype = Object.getPrototypeOf(done) as object | null;
    // No change of prototype, no detached map: nothing to gain.
    if (prototype === this.startPrototype) return;
    let changed = false;
    for (const key of Reflect.ownKeys(done)) {
      if (this.baseline.has(key) || this.refused.has(key)) continue;
      const own = Object.getOwnPropertyDescriptor(done, key);
      // What a read gives through the chain the object ends with, and through the one it starts
      // with (before the swap the added property is read instead): the same plain value, or refused.
      let inherited = own === undefined ? NOT_PLAIN : plainValueIn(prototype, key);
      if (!Object.is(inherited, plainValueIn(this.startPrototype, key))) inherited = NOT_PLAIN;
      const plain =
        own !== undefined &&
        'value' in own &&
        own.writable === true &&
        own.enumerable === true &&
        own.configurable === true &&
        inherited !== NOT_PLAIN;
      if (!plain || (this.planned.has(key) && !Object.is(this.planned.get(key), inherited))) {
        // Not what an assignment makes, shadows something, or inherits differing values: never.
        this.refused.add(key);
        changed ||= this.planned.delete(key);
        continue;
      }
      if (this.planned.has(key) || this.planned.size >= MAX_KEYS) continue;
      this.planned.set(key, inherited);
      changed = true;
    }
    if (changed) {
      // New arrays, so an apply() running on the old ones is never half-updated.
      this.keys = [...this.planned.keys()];
      this.values = [...this.planned.values()];
    }
  }
}

const NOT_PLAIN = Symbol('not plain');

/** The value `key` has through `prototype`'s chain if absent (undefined) or a primitive data value. */
function plainValueIn(prototype: object | null, key: PropertyKey): unknown {
  for (let o = prototype; o !== null; o = Object.getPrototypeOf(o) as object | null) {
    const d = Object.getOwnPropertyDescriptor(o, key);
    if (d === undefined) continue;
    if (!('value' in d)) return NOT_PLAIN;
    const v: unknown = d.value;
    return v !== null && (typeof v === 'object' || typeof v === 'function') ? NOT_PLAIN : v;
  }
  return undefined;
}

/** The learned shapes of one server's requests and responses. */
export class ServerShapes {
  readonly request: ObjectShape;
  readonly response: ObjectShape;
  learned = 0;
  constructor(request: object, response: object) {
    this.request = new ObjectShape(request);
    this.response = new ObjectShape(response);
  }
}

type ShapedServer = { [kShapes]?: ServerShapes };
interface ServerMessage {
  request?: object;
  response?: object;
  server?: ShapedServer;
}

/** The shapes learned for `server`'s requests so far, if any (for tests and diagnostics). */
export function requestShapesOf(server: object): ServerShapes | undefined {
  return (server as ShapedServer)[kShapes];
}

/**
 * Starts adding learned properties at each request's start, once per process (unless this V8 does
 * not need it, or VIGIL_REQUEST_SHAPES=off). Called by the lifecycle when a Vigil middleware first
 * sees a request.
 */
export function installRequestShapes(): void {
  const registry = globalThis as { [kInstalled]?: boolean };
  if (registry[kInstalled] === true) return;
  registry[kInstalled] = true;
  if (!V8_NEEDS_REQUEST_SHAPES || process.env.VIGIL_REQUEST_SHAPES === 'off') return;
  subscribe('http.server.request.start', onRequestStart);
}

function onRequestStart(message: unknown): void {
  // A throw in a diagnostics subscriber would reach the process: never.
  try {
    const { request, response, server } = message as ServerMessage;
    if (server === undefined || request === undefined || response === undefined) return;
    const shapes = server[kShapes];
    if (shapes === undefined) {
      // The first request seen: what the server's fresh objects hold is the baseline.
      server[kShapes] = new ServerShapes(request, response);
      return;
    }
    shapes.request.apply(request as Record<PropertyKey, unknown>);
    shapes.response.apply(response as Record<PropertyKey, unknown>);
  } catch {
    // The request goes on with the shape it has.
  }
}

/**
 * Learns from a request of `server` a Vigil middleware saw: at the end of its response, and again at
 * the next request on its connection, which also shows what was added after the response (Node's
 * own `_eventsCount` when it drains the request). Never throws.
 */
export function learnRequestShapes(server: unknown, request: object, response: object): void {
  try {
    const shapes = (server as ShapedServer | undefined)?.[kShapes];
    if (shapes === undefined || shapes.learned >= LEARNING_REQUESTS) return;
    shapes.learned++;
    shapes.request.learn(request);
    shapes.response.learn(response);
  } catch {
    // Learning is an optimisation: a failure leaves the shapes as they were.
  }
}
