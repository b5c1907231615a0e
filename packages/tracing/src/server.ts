// The framework-free server side: ids, inbound context under the edge policy, the server span.
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  type Attributes,
  type Context,
  type Link,
  type Span,
  type Tracer,
  type TracerProvider,
  SpanKind,
  SpanStatusCode,
  TraceFlags,
  createContextKey,
  isSpanContextValid,
  propagation,
  trace,
} from '@opentelemetry/api';
import {
  ATTR_ERROR_TYPE,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_HTTP_ROUTE,
} from '@opentelemetry/semantic-conventions';
import {
  type OptionContext,
  type ProblemReporter,
  type RequestRecord,
  type RequestSink,
  OPERATIONAL_PATH_PATTERN,
  UNMATCHED_ROUTE,
  beginRequest,
  booleanOption,
  createProblemReporter,
  functionOption,
  hasMethod,
  loggerOption,
  optionError,
  pathListOption,
  readOptions,
  setRequestIdsProvider,
  stringOption,
  optionNames,
} from '@vigil/core';
import { EMPTY_CONTEXT } from './context';
import {
  type InboundPolicy,
  type TrustList,
  DEFAULT_TRUSTED_PROXIES,
  compileTrustList,
} from './edge';
import { installOutgoingPropagation } from './outgoing';
import { extract, outgoingFlags } from './propagation';
import {
  type RequestState,
  getRequestContext,
  runWithRequestState,
  stateFor,
  stateOf,
} from './request-context';
import type { TracingMiddlewareOptions } from './types';

/** Span attributes carrying the request and correlation ids. */
export const ATTR_VIGIL_REQUEST_ID = 'vigil.request_id';
export const ATTR_VIGIL_CORRELATION_ID = 'vigil.correlation_id';

/** Set on the context of a span whose remote parent came from an untrusted caller (read by the sampler). */
export const UNTRUSTED_PARENT = createContextKey('vigil.untrustedParent');

/**
 * Paths that get request ids but no span and no request log line, unless configured otherwise:
 * @vigil/core's operational endpoints (`/metrics`, `/health`, `/alerts`, `/observability`, `/_vigil`
 * and everything below them), as one RegExp.
 */
export const DEFAULT_IGNORE_PATHS: readonly (string | RegExp)[] = Object.freeze([
  OPERATIONAL_PATH_PATTERN,
]);
/** The server span's parent context and links, after the edge policy. */
interface Inbound {
  readonly context: Context;
  /** Links of the span (the untrusted caller's context under `restart`), if any. */
  readonly links?: Link[];
}

/** A new trace: most requests. Shared, so it carries no array a tracer could keep and add to. */
const NO_PARENT: Inbound = Object.freeze({ context: EMPTY_CONTEXT });

const MAX_BAGGAGE_ATTRIBUTES = 16;
const MAX_HOOK_ATTRIBUTES = 32;
const MAX_ATTRIBUTE_LENGTH = 256;
const MAX_PATH_LENGTH = 1024;

const KNOWN = optionNames<TracingMiddlewareOptions>({
  inboundPolicy: true,
  trustedProxies: true,
  ignorePaths: true,
  baggageAttributes: true,
  spanAttributes: true,
  traceResponse: true,
  tracerProvider: true,
  logger: true,
});

/** Tracing middleware instances share this key: a request gets one server span, from the first. */
const EXCLUSIVE = Symbol.for('vigil.tracing.server');

export class ServerTracer implements RequestSink {
  readonly exclusive = EXCLUSIVE;
  private readonly provider: TracerProvider | undefined;
  private readonly trust: TrustList;
  private readonly policy: InboundPolicy;
  private readonly ignored: (path: string) => boolean;
  private readonly baggageKeys: readonly string[];
  private readonly hook: TracingMiddlewareOptions['spanAttributes'];
  private readonly traceResponse: boolean;
  private readonly problems: ProblemReporter;
  private tracerOf: TracerProvider | undefined;
  private cachedTracer: Tracer | undefined;

  constructor(ctx: OptionContext, raw: unknown, argCount: number) {
    const o = readOptions<TracingMiddlewareOptions>(ctx, raw, argCount, KNOWN);
    this.policy = stringOption(
      ctx,
      'inboundPolicy',
      o.inboundPolicy,
      'continue',
      /^(continue|restart|ignore)$/,
      '"continue", "restart" or "ignore"',
    ) as InboundPolicy;
    const proxies = o.trustedProxies as unknown;
    if (proxies !== undefined && !Array.isArray(proxies)) {
      throw optionError(
        ctx,
        'INVALID_OPTION',
        'trustedProxies',
        'an array of addresses or CIDRs',
        proxies,
      );
    }
    this.trust = compileTrustList(
      ctx,
      'trustedProxies',
      (proxies as unknown[] | undefined) ?? DEFAULT_TRUSTED_PROXIES,
    );
    this.ignored = pathListOption(ctx, 'ignorePaths', o.ignorePaths, DEFAULT_IGNORE_PATHS);
    const keys = o.baggageAttributes as unknown;
    if (
      keys !== undefined &&
      !(
        Array.isArray(keys) &&
        keys.length <= MAX_BAGGAGE_ATTRIBUTES &&
        keys.every((k) => typeof k === 'string' && k.length > 0)
      )
    ) {
      throw optionError(
        ctx,
        'INVALID_OPTION',
        'baggageAttributes',
        `an array of at most ${MAX_BAGGAGE_ATTRIBUTES} baggage keys`,
        keys,
      );
    }
    this.baggageKeys = Object.freeze([...((keys as string[] | undefined) ?? [])]);
    this.hook = functionOption(ctx, 'spanAttributes', o.spanAttributes);
    this.traceResponse = booleanOption(ctx, 'traceResponse', o.traceResponse, false);
    const provider = o.tracerProvider as unknown;
    if (provider !== undefined && !hasMethod(provider, 'getTracer')) {
      throw optionError(
        ctx,
        'INVALID_OPTION',
        'tracerProvider',
        'an OpenTelemetry TracerProvider',
        provider,
      );
    }
    const logger = loggerOption(ctx, o.logger);
    this.problems = createProblemReporter('@vigil/tracing', logger);
    installOutgoingPropagation();
    // Audit and rate limiting read the request's ids through @vigil/core, without depending on tracing.
    setRequestIdsProvider(getRequestContext);
    // Without a provider option the tracer is looked up per request, so a middleware created before
    // startTracing(), or kept across a shutdown and a new start, follows the current global provider.
    this.provider = o.tracerProvider;
  }

  /**
   * Starts a request: ids, response header, inbound context, server span, on the request's record
   * (which ends the span when the request ends). Never throws.
   */
  begin(req: IncomingMessage, res: ServerResponse, frameworkCtx?: object): RequestState {
    const record = beginRequest(req, res, frameworkCtx);
    // A second tracing middleware on the same request joins the first one's span.
    const existing = stateOf(record);
    if (existing !== undefined || !record.subscribe(this)) return existing ?? stateFor(record);
    const state = stateFor(record);
    try {
      if (!res.headersSent) res.setHeader('x-request-id', record.requestId);
      const path = record.path;
      if (this.ignored(path)) return state;
      const method = record.method;
      const parent = this.inbound(req);
      const span = this.startSpan(req, path, method, parent, frameworkCtx, state);
      state.span = span;
      state.context = trace.setSpan(parent.context, span);
      const sc = span.spanContext();
      record.traceId = sc.traceId;
      record.spanId = sc.spanId;
      record.sampled = (sc.traceFlags & TraceFlags.SAMPLED) !== 0;
      if (this.traceResponse && !res.headersSent) {
        const flags = outgoingFlags(state.context, sc.traceFlags);
        res.setHeader('traceresponse', `00-${sc.traceId}-${sc.spanId}-0${flags.toString(16)}`);
      }
    } catch (err) {
      this.problems.report('starting the server span failed', err);
    }
    return state;
  }

  /** Runs `fn` inside the request's context. */
  run<T>(state: RequestState, fn: () => T): T {
    return runWithRequestState(state, fn);
  }

  /** The request ended: ends its span with its route and outcome. Never throws. */
  requestEnded(record: RequestRecord): void {
    const state = stateOf(record);
    const span = state?.span;
    if (span === undefined) return;
    try {
      // Operational endpoints answered this request: drop the span instead of exporting it.
      if (record.operational) return;
      const route = record.route;
      const method = record.method;
      if (route !== UNMATCHED_ROUTE) {
        span.updateName(`${method === 'OTHER' ? 'HTTP' : method} ${route}`);
        span.setAttribute(ATTR_HTTP_ROUTE, route);
      }
      const status = record.res.statusCode;
      const aborted = record.aborted;
      if (aborted) {
        span.setAttribute(ATTR_ERROR_TYPE, 'aborted');
        span.setStatus({ code: SpanStatusCode.ERROR, message: 'client aborted the request' });
      } else {
        span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, status);
        if (status >= 500) {
          span.setAttribute(ATTR_ERROR_TYPE, String(status));
          span.setStatus({ code: SpanStatusCode.ERROR });
        }
      }
      // An error answered with a 4xx is the client's: recorded as an event, not an ERROR status.
      if (record.error !== undefined) {
        this.recordError(span, record.error, aborted || status >= 500);
      }
      span.end();
    } catch (err) {
      this.problems.report('ending the server span failed', err);
    }
  }

  recordError(span: Span, error: unknown, isError = true): void {
    try {
      span.recordException(error instanceof Error ? error : String(error));
      if (!isError) return;
      span.setStatus({
        code: SpanStatusCode.ERROR,
        message: error instanceof Error ? error.message : String(error),
      });
    } catch (err) {
      this.problems.report('recording an exception failed', err);
    }
  }

  /** The parent context for the server span, after the edge policy. */
  private inbound(req: IncomingMessage): Inbound {
    const hasTraceHeaders =
      req.headers.traceparent !== undefined || req.headers.baggage !== undefined;
    if (!hasTraceHeaders) return NO_PARENT;
    const trusted = this.trust.isTrusted(req.socket?.remoteAddress);
    if (!trusted && this.policy === 'ignore') return NO_PARENT;
    const extracted = extract(EMPTY_CONTEXT, req.headers);
    if (trusted) return { context: extracted };
    if (this.policy === 'restart') {
      const remote = trace.getSpanContext(extracted);
      // Baggage from an untrusted caller is dropped with its trace; the link keeps the relation.
      return {
        context: EMPTY_CONTEXT,
        links: remote && isSpanContextValid(remote) ? [{ context: remote }] : [],
      };
    }
    return { context: extracted.setValue(UNTRUSTED_PARENT, true) };
  }

  /**
   * The tracer of the given provider, else of the current global one (a middleware created before
   * startTracing(), or kept across a shutdown and a new start, follows it), looked up again only when
   * the provider changed: the SDK's getTracer() builds a key and searches a map on every call.
   */
  private tracer(): Tracer {
    let provider = this.provider ?? trace.getTracerProvider();
    // The API's global provider is a proxy (possibly of another copy of the API) over the SDK's.
    const proxy = provider as { getDelegate?: () => TracerProvider };
    if (typeof proxy.getDelegate === 'function') provider = proxy.getDelegate();
    if (provider !== this.tracerOf) {
      this.cachedTracer = provider.getTracer('@vigil/tracing');
      this.tracerOf = provider;
    }
    return this.cachedTracer as Tracer;
  }

  private startSpan(
    req: IncomingMessage,
    path: string,
    method: string,
    parent: Inbound,
    frameworkCtx: unknown,
    state: RequestState,
  ): Span {
    // Literal keys (the semantic conventions' names, checked by the tests), so V8 builds the object
    // from one shape instead of adding computed keys one by one on every request.
    const address = req.socket?.remoteAddress;
    const ua = req.headers['user-agent'];
    const attributes: Attributes = {
      'http.request.method': method === 'OTHER' ? '_OTHER' : method,
      'url.path': truncate(path, MAX_PATH_LENGTH),
      'url.scheme': (req.socket as { encrypted?: boolean } | null)?.encrypted ? 'https' : 'http',
      'network.protocol.version': req.httpVersion,
      // The same validated ids as the response header and the log lines.
      'vigil.request_id': state.requestId,
      'vigil.correlation_id': state.correlationId,
      'client.address': address,
      'user_agent.original':
        typeof ua === 'string' ? truncate(ua, MAX_ATTRIBUTE_LENGTH) : undefined,
    };
    this.addBaggageAndHookAttributes(attributes, req, parent.context, frameworkCtx);
    const name = method === 'OTHER' ? 'HTTP' : method;
    const tracer = this.tracer();
    const span = tracer.startSpan(
      name,
      { kind: SpanKind.SERVER, attributes, links: parent.links },
      parent.context,
    );
    return withOwnIds(span, parent.context);
  }

  private addBaggageAndHookAttributes(
    attributes: Attributes,
    req: IncomingMessage,
    ctx: Context,
    frameworkCtx: unknown,
  ): void {
    if (this.baggageKeys.length === 0 && this.hook === undefined) return;
    const baggage: Record<string, string> = {};
    const bag = propagation.getBaggage(ctx);
    if (bag) {
      for (const key of this.baggageKeys) {
        const entry = bag.getEntry(key);
        if (entry) baggage[key] = truncate(entry.value, MAX_ATTRIBUTE_LENGTH);
      }
    }
    for (const [k, v] of Object.entries(baggage)) attributes[`baggage.${k}`] = v;
    if (this.hook === undefined) return;
    try {
      const extra = this.hook({ req, ctx: frameworkCtx, baggage });
      let n = 0;
      for (const [k, v] of Object.entries(extra ?? {})) {
        if (n++ >= MAX_HOOK_ATTRIBUTES) break;
        attributes[k] = typeof v === 'string' ? truncate(v, MAX_ATTRIBUTE_LENGTH) : v;
      }
    } catch (err) {
      this.problems.report('spanAttributes hook threw', err);
    }
  }
}

/**
 * Without an SDK the API's tracer returns the parent's span context (or an invalid one) unchanged.
 * Vigil then makes the ids itself, so the service still takes part in the trace: same trace id, a
 * new span id, and a new trace when there was no valid parent.
 */
function withOwnIds(span: Span, parent: Context): Span {
  if (span.isRecording()) return span;
  const sc = span.spanContext();
  const parentSc = trace.getSpanContext(parent);
  const parentValid = parentSc !== undefined && isSpanContextValid(parentSc);
  if (isSpanContextValid(sc) && !(parentValid && sc.spanId === parentSc.spanId)) return span;
  return trace.wrapSpanContext({
    traceId: parentValid ? parentSc.traceId : randomBytes(16).toString('hex'),
    spanId: randomBytes(8).toString('hex'),
    // Only the sampled bit is defined; undefined flag bits must be propagated as zero.
    traceFlags: parentValid ? parentSc.traceFlags & TraceFlags.SAMPLED : TraceFlags.NONE,
    traceState: parentValid ? parentSc.traceState : undefined,
  });
}

function truncate(s: string, max: number): string {
  return s.length > max ? s.slice(0, max) : s;
}
