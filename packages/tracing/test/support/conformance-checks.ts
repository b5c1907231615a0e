// Judges one request through a traced service against the propagation rules of RELIABILITY.md and the
// W3C specs: what the caller sent, what the service answered, and what reached its downstream.
import type { Captured, HeaderList, ProbeResult } from './conformance-harness';
import {
  UUID,
  baggageMembers,
  decodablePairs,
  isSafeId,
  isValidTracestateMember,
  tracestateLevel2,
  outgoingBaggageProblems,
  parseTraceparent,
  tracestateMembers,
} from './conformance-w3c';

/** RELIABILITY.md limits. */
export const MAX_TRACESTATE_MEMBERS = 32;
export const MAX_BAGGAGE_MEMBERS = 64;
export const MAX_BAGGAGE_BYTES = 8192;

/** What the service should do with this caller's context. */
export interface Expectation {
  /** Trusted caller, or untrusted under `continue`: a valid inbound trace is continued. */
  continues: boolean;
  /** Trusted caller, or untrusted under `continue`: inbound baggage may go downstream. */
  forwardsBaggage: boolean;
}

export interface Problem {
  kind: string;
  detail: string;
}

export interface Verdict {
  /** The request failed: no response, not a 200, no body, or an outgoing call failed. */
  crashed: boolean;
  /** Whether the caller's traceparent is valid by the spec. */
  inboundValid: boolean;
  /** Whether the downstream trace id is one the caller sent (continued) rather than a fresh one. */
  continued: boolean;
  /** Problems on the service's response, its request context and its fetch() call. */
  problems: Problem[];
  /** Problems on the service's http.request() call (the same rules; missing headers are one kind). */
  httpProblems: Problem[];
}

/** The value a Node server sees for `name`: header lines trimmed of OWS and joined with ", ". */
export function receivedValue(sent: HeaderList, name: string): string | undefined {
  const lines = sent
    .filter(([n]) => n.toLowerCase() === name)
    .map(([, v]) => v.replace(/^[ \t]+|[ \t]+$/g, ''));
  return lines.length === 0 ? undefined : lines.join(', ');
}

function header(captured: Captured | undefined, name: string): string | undefined {
  const v = captured?.headers[name];
  return Array.isArray(v) ? v.join(', ') : v;
}

// Headers a downstream may see from fetch / http.request plus what Vigil adds; anything else came from
// a header injection.
const EXPECTED_DOWNSTREAM = new Set([
  'host',
  'connection',
  'accept',
  'accept-language',
  'accept-encoding',
  'sec-fetch-mode',
  'user-agent',
  'traceparent',
  'tracestate',
  'baggage',
  'x-request-id',
  'x-correlation-id',
]);

/** A value for a problem message: JSON, with every non-ASCII character escaped, cut to 120 chars. */
export function short(value: string | undefined): string {
  if (value === undefined) return 'undefined';
  const json = JSON.stringify(value).replace(
    /[^\x20-\x7e]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
  return json.length > 120 ? `${json.slice(0, 117)}...` : json;
}

/**
 * Checks one downstream call. Trace Context §3.2.2.3: its parent-id is the id of the caller's span for
 * that call, a client span (or, without an SDK, an id of its own) — never the server span's id, which
 * several calls would then share, nor the caller's own parent-id.
 */
function judgeDownstream(
  sent: HeaderList,
  captured: Captured,
  serverIds: { traceId: string | undefined; spanId: string | undefined },
  ids: { requestId: string | undefined; correlationId: string | undefined },
  expectation: Expectation,
): { problems: Problem[]; continued: boolean; parentId: string | undefined } {
  const problems: Problem[] = [];
  const add = (kind: string, detail: string) => problems.push({ kind, detail });
  const inboundTp = receivedValue(sent, 'traceparent');
  const inbound = parseTraceparent(inboundTp);
  const candidates = new Set((inboundTp ?? '').toLowerCase().match(/[0-9a-f]{32}/g) ?? []);

  for (const name of Object.keys(captured.headers)) {
    if (!EXPECTED_DOWNSTREAM.has(name))
      add('injected header', `downstream received ${short(name)}`);
  }

  if (header(captured, 'x-request-id') !== ids.requestId) {
    add(
      'request id',
      `downstream x-request-id ${short(header(captured, 'x-request-id'))}, context ${short(ids.requestId)}`,
    );
  }
  if (header(captured, 'x-correlation-id') !== ids.correlationId) {
    add(
      'correlation id',
      `downstream x-correlation-id ${short(header(captured, 'x-correlation-id'))}, context ${short(ids.correlationId)}`,
    );
  }

  const tpText = header(captured, 'traceparent');
  const ds = parseTraceparent(tpText);
  // Read loosely too, so a malformed downstream value still tells whether the trace was continued.
  const continued = candidates.has(/^[0-9a-f]{2}-([0-9a-f]{32})-/.exec(tpText ?? '')?.[1] ?? '');
  if (ds === undefined || ds.version !== '00' || tpText?.length !== 55) {
    add(
      'traceparent malformed downstream',
      `downstream traceparent ${short(tpText)} is not a valid version-00 value`,
    );
  } else {
    // Trace Context: flags other than sampled (and Level 2's random) are not defined; vendors set them to 0.
    if ((parseInt(ds.flags, 16) & ~0x03) !== 0) {
      add('traceparent undefined flags', `downstream flags ${ds.flags} carry undefined bits`);
    }
    if (ds.traceId !== serverIds.traceId) {
      add(
        'traceparent parent',
        `downstream trace id ${ds.traceId}, server span ${serverIds.traceId}`,
      );
    }
    if (ds.parentId === serverIds.spanId) {
      add(
        'traceparent parent',
        `downstream parent ${ds.parentId} is the server span's id, not an id for this call`,
      );
    }
    if (inbound !== undefined && ds.parentId === inbound.parentId) {
      add('traceparent parent', `downstream parent ${ds.parentId} is the caller's own span`);
    }
    if (inbound !== undefined && expectation.continues && !continued) {
      add('valid traceparent restarted', `valid ${short(inboundTp)} restarted as ${ds.traceId}`);
    }
    if (inbound === undefined && continued) {
      add(
        'invalid traceparent continued',
        `invalid ${short(inboundTp)} continued as ${ds.traceId}`,
      );
    }
    if (!expectation.continues && continued) {
      add(
        'untrusted trace continued',
        `untrusted ${short(inboundTp)} continued despite the policy`,
      );
    }
  }

  const tsText = header(captured, 'tracestate');
  if (tsText !== undefined) {
    if (!continued)
      add('tracestate after restart', `tracestate ${short(tsText)} propagated on a new trace`);
    if (tracestateLevel2(receivedValue(sent, 'tracestate')) === 'invalid') {
      add(
        'tracestate from an invalid header',
        `tracestate ${short(tsText)} propagated from a header Level 2 invalidates whole`,
      );
    }
    const inboundMembers = new Set(tracestateMembers(receivedValue(sent, 'tracestate')));
    const members = tracestateMembers(tsText);
    if (members.length === 0) add('tracestate empty', 'empty tracestate header propagated');
    if (members.length > MAX_TRACESTATE_MEMBERS) {
      add(
        'tracestate over 32 members',
        `${members.length} tracestate members (limit ${MAX_TRACESTATE_MEMBERS})`,
      );
    }
    const keys = new Set<string>();
    for (const m of members) {
      if (!isValidTracestateMember(m)) {
        add('tracestate invalid member', `invalid member ${short(m)} propagated`);
      }
      if (!inboundMembers.has(m))
        add('tracestate partial member', `member ${short(m)} is not a whole inbound member`);
      const key = m.slice(0, m.indexOf('='));
      if (keys.has(key)) add('tracestate duplicate key', `key ${short(key)} propagated twice`);
      keys.add(key);
    }
  }

  const bagText = header(captured, 'baggage');
  if (bagText !== undefined) {
    if (!expectation.forwardsBaggage) {
      add('baggage policy', `baggage ${short(bagText)} forwarded from an untrusted caller`);
    }
    for (const p of outgoingBaggageProblems(bagText)) add('baggage header', p);
    const members = baggageMembers(bagText);
    if (members.length > MAX_BAGGAGE_MEMBERS) {
      add(
        'baggage over 64 members',
        `${members.length} baggage members (limit ${MAX_BAGGAGE_MEMBERS})`,
      );
    }
    const bytes = Buffer.byteLength(bagText, 'latin1');
    if (bytes > MAX_BAGGAGE_BYTES) {
      add('baggage over 8192 bytes', `${bytes} baggage bytes (limit ${MAX_BAGGAGE_BYTES})`);
    }
    const whole = decodablePairs(receivedValue(sent, 'baggage'));
    for (const m of members) {
      if (m.key === undefined || m.value === undefined) continue;
      if (!whole.has(`${m.key}\u0000${m.value}`)) {
        add('baggage partial', `member ${short(m.raw)} is not a whole inbound member`);
      }
    }
  }
  return { problems, continued, parentId: ds?.parentId };
}

/** Judges one request sent to a service built by startService(). */
export function judge(sent: HeaderList, result: ProbeResult, expectation: Expectation): Verdict {
  const problems: Problem[] = [];
  const httpProblems: Problem[] = [];
  const add = (kind: string, detail: string) => problems.push({ kind, detail });
  const inboundValid = parseTraceparent(receivedValue(sent, 'traceparent')) !== undefined;
  const body = result.body;
  const crashed =
    result.status !== 200 ||
    body === undefined ||
    body.errors.length > 0 ||
    body.fetch === undefined ||
    body.http === undefined;
  if (crashed) {
    add(
      'crash',
      `status ${result.status}${result.error ? ` (${result.error})` : ''}, outgoing errors ${JSON.stringify(body?.errors)}`,
    );
  }
  if (body === undefined)
    return { crashed, inboundValid, continued: false, problems, httpProblems };

  const { before, after } = body;
  if (before === undefined || after === undefined) {
    add('context', 'getRequestContext() is undefined inside the handler');
  } else if (JSON.stringify(before) !== JSON.stringify(after)) {
    add('context', `request context changed across awaits: ${JSON.stringify([before, after])}`);
  }

  const responseId = result.headers['x-request-id'];
  const requestId = before?.requestId;
  const correlationId = before?.correlationId;
  if (responseId !== requestId) {
    add(
      'request id',
      `response x-request-id ${short(String(responseId))}, context ${short(requestId)}`,
    );
  }
  const inboundRequestId = receivedValue(sent, 'x-request-id');
  if (isSafeId(inboundRequestId)) {
    if (requestId !== inboundRequestId) {
      add('request id', `safe id ${short(inboundRequestId)} replaced by ${short(requestId)}`);
    }
  } else if (requestId === undefined || !UUID.test(requestId)) {
    add(
      'request id',
      `unsafe id ${short(inboundRequestId)} became ${short(requestId)}, not a UUID`,
    );
  }
  const inboundCorrelation = receivedValue(sent, 'x-correlation-id');
  const expectedCorrelation = isSafeId(inboundCorrelation) ? inboundCorrelation : requestId;
  if (correlationId !== expectedCorrelation) {
    add(
      'correlation id',
      `x-correlation-id ${short(inboundCorrelation)} became ${short(correlationId)}, expected ${short(expectedCorrelation)}`,
    );
  }

  const serverIds = { traceId: before?.traceId, spanId: before?.spanId };
  const ids = { requestId, correlationId };
  let continued = false;
  let fetchParent: string | undefined;
  if (body.fetch !== undefined) {
    const r = judgeDownstream(sent, body.fetch, serverIds, ids, expectation);
    problems.push(...r.problems);
    continued = r.continued;
    fetchParent = r.parentId;
  }
  if (body.http !== undefined) {
    if (
      header(body.http, 'traceparent') === undefined &&
      header(body.http, 'x-request-id') === undefined
    ) {
      httpProblems.push({
        kind: 'http.request propagation',
        detail: 'http.request() reached downstream without traceparent or x-request-id',
      });
    } else {
      const r = judgeDownstream(sent, body.http, serverIds, ids, expectation);
      httpProblems.push(...r.problems);
      if (r.parentId !== undefined && r.parentId === fetchParent) {
        httpProblems.push({
          kind: 'traceparent shared parent',
          detail: `fetch() and http.request() carried the same parent ${r.parentId}`,
        });
      }
    }
  }
  return { crashed, inboundValid, continued, problems, httpProblems };
}
