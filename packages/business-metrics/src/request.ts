// Request scopes: the per-request state behind track() and metrics(req), kept in a slot of the request's
// @vigil/core record, which tells it when the request ends (nothing is stored on req or res, and no
// listener is added per request).
import { IncomingMessage, type ServerResponse } from 'node:http';
import {
  type ProblemReporter,
  type RequestRecord,
  type RequestSink,
  allocateSlot,
  beginRequest,
  createProblemReporter,
  expressRouteTemplate,
  koaRouteTemplate,
  normalizeMethod,
} from '@vigil/core';
import { PACKAGE } from './errors';
import { secondsSince, timesSeconds } from './handles';
import { type MetricState, type Op, apply, reportFailure, stateOf } from './state';
import type { MethodLabel, Outcome, RequestMetrics, TrackContext, TrackInfo } from './types';

/** Something recorded when a request ends (a track() middleware's spec). */
export interface EndRecorder {
  record(scope: RequestScope): void;
}

type LabelObject = Readonly<Record<string, unknown>>;
const NO_LABELS: LabelObject = Object.freeze({});
const isLabelObject = (v: unknown): v is LabelObject => typeof v === 'object' && v !== null;

/** Most recordings one request may hold back until its end; later ones are dropped and reported. */
export const MAX_DEFERRED = 1000;

/** The operations each metric type accepts. */
const OPS: Readonly<Record<string, readonly Op[]>> = {
  counter: ['inc'],
  gauge: ['inc', 'dec', 'set'],
  histogram: ['observe'],
};

interface Deferred {
  state: MetricState;
  op: Op;
  labels: LabelObject;
  value: unknown;
}

// Problems not tied to a metric (a wrong argument to metrics()) go to process warnings, once each.
const general: ProblemReporter = createProblemReporter(PACKAGE);

// One scratch array for label values: filled and read synchronously, never across a call that could
// re-enter (the instrument copies it before reporting anything).
const scratch: unknown[] = [];

export class RequestScope implements RequestMetrics {
  readonly start = performance.now();
  /** Set by track() on Koa when the downstream middleware threw. */
  errored = false;
  private ended = false;
  private endOutcome: Outcome | undefined;
  private duration = 0;
  private finalRoute: string | undefined;
  private recorders: EndRecorder[] | undefined;
  private deferred: Deferred[] | undefined;
  private infoCache: TrackInfo | undefined;

  constructor(
    readonly req: IncomingMessage,
    readonly res: ServerResponse | undefined,
    public ctx: object | undefined,
    /** The request's shared record; undefined without a response to watch. */
    readonly shared: RequestRecord | undefined,
  ) {}

  get route(): string {
    if (this.finalRoute !== undefined) return this.finalRoute;
    const shared = this.shared;
    const route =
      shared !== undefined
        ? shared.route
        : this.ctx !== undefined
          ? koaRouteTemplate(this.ctx)
          : expressRouteTemplate(this.req);
    // Routing may still change the route while the request runs; once it is over, it is final.
    if (this.ended) this.finalRoute = route;
    return route;
  }

  get method(): MethodLabel {
    return normalizeMethod(this.req.method) as MethodLabel;
  }

  get outcome(): Outcome | undefined {
    return this.endOutcome;
  }

  get durationSeconds(): number {
    return this.ended ? this.duration : secondsSince(this.start);
  }

  /** What track() functions are told; built once per request, and only when a function asks. */
  info(): TrackInfo {
    return (this.infoCache ??= {
      req: this.req,
      res: this.res!,
      ctx: this.ctx as TrackContext | undefined,
      route: this.route,
      method: this.method,
      outcome: this.endOutcome!,
      status: this.res?.statusCode ?? 0,
      durationSeconds: this.duration,
    });
  }

  /** Adds a recorder run at the end; the same recorder is added once, so it records once. */
  addRecorder(recorder: EndRecorder): void {
    const list = (this.recorders ??= []);
    if (list.includes(recorder)) return;
    list.push(recorder);
    // Mounted after the response finished (behind a handler that answered and called next()).
    if (this.ended) recorder.record(this);
  }

  /** The request ended: its response finished, or the client went away first. */
  end(aborted: boolean): void {
    if (this.ended) return;
    this.ended = true;
    const status = this.res?.statusCode ?? 0;
    this.endOutcome = aborted ? 'aborted' : this.errored || status >= 400 ? 'failure' : 'success';
    this.duration = secondsSince(this.start);
    // This runs inside Node's response-finish notification: nothing may escape from here.
    const recorders = this.recorders;
    if (recorders !== undefined) {
      for (const r of recorders) {
        try {
          r.record(this);
        } catch {
          // Recorders report their own problems; this guards the HTTP server.
        }
      }
    }
    const deferred = this.deferred;
    if (deferred !== undefined) {
      this.deferred = undefined;
      for (const d of deferred) this.now(d.state, d.op, d.labels, d.value);
    }
  }

  /** Fills `values` for `state` in label order: given labels first, then what Vigil knows. */
  fill(state: MetricState, labels: LabelObject, values: unknown[]): unknown[] {
    const defs = state.labels;
    for (let i = 0; i < defs.length; i++) {
      const def = defs[i]!;
      let v = labels[def.name];
      if (v === undefined && def.auto !== undefined) {
        v =
          def.auto === 'route' ? this.route : def.auto === 'method' ? this.method : this.endOutcome;
      }
      values[i] = v;
    }
    return values;
  }

  private now(state: MetricState, op: Op, labels: LabelObject, value: unknown): void {
    try {
      apply(state, op, state.instrument.findValues(this.fill(state, labels, scratch)), value);
    } catch (err) {
      reportFailure(state, err);
    }
  }

  private record(metric: unknown, op: Op, labels: unknown, value: unknown): void {
    const state = stateOf(metric);
    if (state === undefined) {
      general.report(
        'metrics(): not a metric',
        `metrics(req).${op}() was given ${typeof metric}, not a metric of a catalogue; nothing was recorded`,
      );
      return;
    }
    if (!OPS[state.type]!.includes(op)) {
      state.problems.report(
        `${state.name}: ${op}() on a ${state.type}`,
        `${op}() does not apply to a ${state.type}; nothing was recorded`,
      );
      return;
    }
    const given = isLabelObject(labels) ? labels : NO_LABELS;
    const oi = state.autoIndex.outcome;
    let waits: boolean;
    try {
      waits =
        oi >= 0 && this.endOutcome === undefined && given[state.labels[oi]!.name] === undefined;
    } catch (err) {
      // A label object whose getter throws: nothing escapes into the handler.
      reportFailure(state, err);
      return;
    }
    if (waits) this.defer({ state, op, labels: given, value });
    else this.now(state, op, given, value);
  }

  private defer(d: Deferred): void {
    const { state } = d;
    if (this.res === undefined) {
      state.problems.report(
        `${state.name}: outcome without a response`,
        "metrics() was given a request without its response, so the outcome cannot be known; pass Express's req or Koa's ctx. Nothing was recorded",
      );
      return;
    }
    const list = (this.deferred ??= []);
    if (list.length >= MAX_DEFERRED) {
      state.problems.report(
        `${state.name}: too many recordings waiting`,
        `more than ${MAX_DEFERRED} recordings waited for the end of one request; later ones were dropped`,
      );
      return;
    }
    list.push(d);
  }

  inc(metric: unknown, labels?: unknown, value?: unknown): void {
    this.record(metric, 'inc', labels, value === undefined ? 1 : value);
  }

  dec(metric: unknown, labels?: unknown, value?: unknown): void {
    this.record(metric, 'dec', labels, value === undefined ? 1 : value);
  }

  set(metric: unknown, labels: unknown, value: unknown): void {
    this.record(metric, 'set', labels, value);
  }

  observe(metric: unknown, labels: unknown, value: unknown): void {
    this.record(metric, 'observe', labels, value);
  }

  startTimer(metric: unknown, labels?: unknown): () => number {
    const start = performance.now();
    const state = stateOf(metric);
    // Not a metric, or not a histogram: record() reports it. A histogram in another unit: reported here.
    const recorded = state === undefined || state.type !== 'histogram' || timesSeconds(state);
    return () => {
      const seconds = secondsSince(start);
      if (recorded) this.record(metric, 'observe', labels, seconds);
      return seconds;
    };
  }
}

// ---- where scopes live, and how their end is seen ----

const kScope = allocateSlot();

/** Ends the scope kept on a record when the record ends. */
const scopeSink: RequestSink = {
  requestEnded(record) {
    (record.slots[kScope] as RequestScope | undefined)?.end(record.aborted);
  },
};

interface KoaContextShape {
  req: IncomingMessage;
  res: ServerResponse;
  request: unknown;
}

function isKoaContext(t: object): t is KoaContextShape {
  const c = t as Partial<KoaContextShape>;
  return typeof c.req === 'object' && typeof c.res === 'object' && 'request' in t;
}

function isNodeRequest(t: object): t is IncomingMessage & { res?: ServerResponse } {
  return 'socket' in t && 'headers' in t && 'method' in t;
}

/**
 * The scope of the request `target` is (Express's req) or belongs to (Koa's ctx), created on first
 * use; undefined for anything else. `response` is the response when the caller has it at hand.
 */
export function scopeFor(target: unknown, response?: ServerResponse): RequestScope | undefined {
  if (target === null || typeof target !== 'object') return undefined;
  let req: IncomingMessage;
  let res: ServerResponse | undefined;
  let ctx: object | undefined;
  // A request first: one prototype check, where probing Express's req for Koa's properties walks its
  // whole (swapped) prototype chain for names it does not have, on every recording.
  if (target instanceof IncomingMessage) {
    req = target;
    // Express links req to res; a bare Node request has no such link.
    res = response ?? (target as { res?: ServerResponse }).res;
  } else if (isKoaContext(target)) {
    ctx = target;
    req = target.req;
    res = target.res;
  } else if (isNodeRequest(target)) {
    // Request-like objects of other classes (HTTP/2's compatibility request).
    req = target;
    res = response ?? target.res;
  } else {
    return undefined;
  }
  if (res === undefined) return new RequestScope(req, undefined, ctx, undefined);
  const record = beginRequest(req, res, ctx);
  const found = record.slots[kScope] as RequestScope | undefined;
  if (found !== undefined) {
    if (ctx !== undefined && found.ctx === undefined) found.ctx = ctx;
    return found;
  }
  const scope = new RequestScope(req, res, ctx ?? record.ctx, record);
  record.slots[kScope] = scope;
  if (record.ended) scope.end(record.aborted);
  else record.subscribe(scopeSink);
  return scope;
}

const DETACHED: RequestMetrics = Object.freeze({
  route: '',
  method: 'OTHER' as const,
  outcome: undefined,
  inc: () => undefined,
  dec: () => undefined,
  set: () => undefined,
  observe: () => undefined,
  startTimer: () => {
    const start = performance.now();
    return () => secondsSince(start);
  },
});

/**
 * Records against a catalogue from inside a request: `metrics(req)` on Express, `metrics(ctx)` on
 * Koa. Labels Vigil can fill (`route`, `method`, `outcome`) may be left out; when `outcome` is left
 * out, the recording waits for the end of the response (success, failure or aborted). Usable any
 * number of times per request. Never throws: anything else than a request or context is reported
 * once and records nothing.
 */
export function metrics(target: object): RequestMetrics {
  const scope = scopeFor(target);
  if (scope !== undefined) return scope;
  general.report(
    'metrics(): not a request',
    `metrics() needs Express's req or Koa's ctx, received ${target === null ? 'null' : typeof target}; nothing is recorded through it`,
  );
  return DETACHED;
}
