// The edge policy: which callers are trusted (compileTrustList), what untrusted trace context does
// (inboundPolicy continue / restart / ignore), and the sampler that keeps untrusted callers from
// forcing every request to be recorded (EdgeAwareSampler), on real Express 5 and Koa 3 services.
import { Agent } from 'node:http';
import {
  type Attributes,
  type Context,
  type Link,
  ROOT_CONTEXT,
  SpanKind,
  type SpanContext,
  TraceFlags,
  trace,
} from '@opentelemetry/api';
import {
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
// The samplers from the SDK package startTracing() uses, so their types are EdgeAwareSampler's own.
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  ParentBasedSampler,
  type Sampler,
  SamplingDecision,
  type SamplingResult,
  TraceIdRatioBasedSampler,
} from '@opentelemetry/sdk-trace-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OptionContext } from '@vigil/core';
import {
  DEFAULT_TRUSTED_PROXIES,
  EdgeAwareSampler,
  type InboundPolicy,
  type Tracing,
  type TracingMiddlewareOptions,
  compileTrustList,
  expressTracing,
  koaTracing,
  startTracing,
} from '@vigil/tracing';
// Internal: the context key the middleware sets for the sampler (not part of the public API).
import { UNTRUSTED_PARENT } from '../src/server';
import { type Expectation, judge } from './support/conformance-checks';
import {
  type Capture,
  FRAMEWORK_NAMES,
  type FrameworkName,
  type HeaderList,
  type ProbeResult,
  type Service,
  closeConformanceServers,
  downstreamHeader,
  eventually,
  probe,
  runPool,
  startCapture,
  startService,
} from './support/conformance-harness';
import { UUID, baggageMembers, hexId, parseTraceparent, prng } from './support/conformance-w3c';

const T = '0af7651916cd43dd8448eb211c80319c';
const P = 'b7ad6b7169203331';
const VALID = `00-${T}-${P}-01`;
const TRACESTATE = 'congo=t61rcWkgMzE';
const BAGGAGE = 'tenant=acme,user=42';
/** No problem on either downstream call (fetch and http.request). */
const CLEAN = { fetch: [], http: [] };
const CTX: OptionContext = {
  pkg: '@vigil/tracing',
  codePrefix: 'ERR_VIGIL_TRACING',
  factory: 'test',
};

describe('compileTrustList', () => {
  it.each([
    { entries: ['10.0.0.7'], address: '10.0.0.7' },
    { entries: ['10.0.0.0/8'], address: '10.255.1.2' },
    { entries: ['10.0.0.0/8'], address: '::ffff:10.1.2.3' },
    { entries: ['192.168.1.0/24'], address: '192.168.1.255' },
    { entries: ['0.0.0.0/0'], address: '203.0.113.9' },
    { entries: ['fd00::/8'], address: 'fd12:3456::1' },
    { entries: ['::1'], address: '::1' },
    { entries: ['::1'], address: '0:0:0:0:0:0:0:1' },
    { entries: ['2001:db8::/32'], address: '2001:db8:ffff::1' },
    { entries: ['::ffff:127.0.0.1'], address: '127.0.0.1' },
    { entries: ['::ffff:127.0.0.1'], address: '::ffff:127.0.0.1' },
    { entries: ['127.0.0.1'], address: '::ffff:127.0.0.1' },
    { entries: ['::ffff:10.0.0.0/104'], address: '10.9.9.9' },
    { entries: ['  10.0.0.7  '], address: '10.0.0.7' },
    { entries: ['10.0.0.0/8', 'fd00::/8'], address: 'fd00::2' },
    { entries: [...DEFAULT_TRUSTED_PROXIES], address: '127.0.0.1' },
    { entries: [...DEFAULT_TRUSTED_PROXIES], address: '127.8.9.10' },
    { entries: [...DEFAULT_TRUSTED_PROXIES], address: '::1' },
    { entries: [...DEFAULT_TRUSTED_PROXIES], address: '::ffff:127.0.0.1' },
  ])('should trust $address with $entries', ({ entries, address }) => {
    expect(compileTrustList(CTX, 'trustedProxies', entries).isTrusted(address)).toBe(true);
  });

  it.each([
    { entries: ['10.0.0.7'], address: '10.0.0.8' },
    { entries: ['10.0.0.0/8'], address: '11.0.0.1' },
    { entries: ['10.0.0.0/8'], address: '::ffff:11.0.0.1' },
    { entries: ['fd00::/8'], address: 'fe80::1' },
    { entries: ['::1'], address: '127.0.0.1' },
    { entries: ['127.0.0.1'], address: '::1' },
    { entries: [...DEFAULT_TRUSTED_PROXIES], address: '10.0.0.1' },
    { entries: [...DEFAULT_TRUSTED_PROXIES], address: '::ffff:10.0.0.1' },
    { entries: [...DEFAULT_TRUSTED_PROXIES], address: '::2' },
    { entries: [], address: '127.0.0.1' },
    { entries: [], address: '::1' },
    { entries: ['0.0.0.0/0'], address: undefined },
    { entries: ['0.0.0.0/0'], address: '' },
    { entries: ['0.0.0.0/0'], address: 'not-an-ip' },
    { entries: ['0.0.0.0/0'], address: '::ffff:' },
    { entries: ['0.0.0.0/0'], address: '::ffff:not-an-ip' },
    { entries: ['0.0.0.0/0'], address: '127.1' },
    { entries: ['fe80::/10'], address: 'fe80::1%eth0%' },
  ])('should not trust $address with $entries', ({ entries, address }) => {
    expect(compileTrustList(CTX, 'trustedProxies', entries).isTrusted(address)).toBe(false);
  });

  it.each([
    '10.0.0.0/33',
    '10.0.0.0/',
    '10.0.0.0/-1',
    '10.0.0.0/8/1',
    '10.0.0.0/ 8',
    '10.0.0.0/8.5',
    '10.0.0.0/0x8',
    '10.0.0.0/1e1',
    '::1/129',
    '1.2.3.256',
    '01.2.3.4',
    'localhost',
    'not-an-ip',
    '',
    ' ',
    42,
    null,
    undefined,
    {},
    ['10.0.0.1'],
  ])('should reject %j with ERR_VIGIL_TRACING_INVALID_CIDR', (entry) => {
    expect(() => compileTrustList(CTX, 'trustedProxies', ['127.0.0.1', entry])).toThrow(
      expect.objectContaining({ code: 'ERR_VIGIL_TRACING_INVALID_CIDR' }),
    );
  });

  it('should name the option, the expectation and the bad entry in the message', () => {
    expect(() => compileTrustList(CTX, 'trustedProxies', ['10.0.0.0/33'])).toThrow(
      'ERR_VIGIL_TRACING_INVALID_CIDR: test(): option "trustedProxies" must be IP addresses or CIDR ranges such as "10.0.0.0/8" or "fd00::/8", received \'10.0.0.0/33\'. See "Error codes" in the @vigil/tracing README.',
    );
  });

  it.each([
    { name: 'expressTracing', factory: expressTracing },
    { name: 'koaTracing', factory: koaTracing },
  ])('should reject a bad trustedProxies entry at the $name() call', ({ factory }) => {
    expect(() => factory({ trustedProxies: ['10.0.0.0/8', 'fd00::/200'] })).toThrow(
      expect.objectContaining({ code: 'ERR_VIGIL_TRACING_INVALID_CIDR' }),
    );
    expect(() => factory({ trustedProxies: '10.0.0.0/8' as unknown as string[] })).toThrow(
      expect.objectContaining({ code: 'ERR_VIGIL_TRACING_INVALID_OPTION' }),
    );
  });

  it('should never throw on an address a socket or a caller could produce', () => {
    const list = compileTrustList(CTX, 'trustedProxies', [
      '10.0.0.0/8',
      'fd00::/8',
      '::ffff:0:0/96',
    ]);
    const random = prng(0xed9e);
    const odd = [
      'fe80::1%eth0',
      '::ffff:7f00:1',
      '::FFFF:127.0.0.1',
      '1.2.3.4.5',
      '[::1]',
      '::1:',
      '999.1.1.1',
      '\u0000',
      ...Array.from({ length: 200 }, () =>
        Array.from({ length: Math.floor(random() * 40) }, () =>
          String.fromCharCode(Math.floor(random() * 128)),
        ).join(''),
      ),
    ];
    for (const address of odd) expect(() => list.isTrusted(address)).not.toThrow();
  });
});

// ---------------------------------------------------------------------------------------------------

interface Call {
  args: [Context, string, string, SpanKind, Attributes, Link[]];
}

function stubSampler(name: string): { sampler: Sampler; calls: Call[]; result: SamplingResult } {
  const calls: Call[] = [];
  const result: SamplingResult = {
    decision: SamplingDecision.RECORD_AND_SAMPLED,
    attributes: { decidedBy: name },
  };
  const sampler: Sampler = {
    shouldSample(...args) {
      calls.push({ args });
      return result;
    },
    toString: () => name,
  };
  return { sampler, calls, result };
}

const remoteParent: SpanContext = {
  traceId: T,
  spanId: P,
  traceFlags: TraceFlags.SAMPLED,
  isRemote: true,
};

describe('EdgeAwareSampler', () => {
  const untrusted = (sc: SpanContext) =>
    trace.setSpanContext(ROOT_CONTEXT, sc).setValue(UNTRUSTED_PARENT, true);

  it('should let the root sampler decide for a remote parent from an untrusted caller', () => {
    const configured = stubSampler('configured');
    const root = stubSampler('root');
    const sampler = new EdgeAwareSampler(configured.sampler, root.sampler);
    const ctx = untrusted(remoteParent);
    const links: Link[] = [{ context: remoteParent }];
    const result = sampler.shouldSample(ctx, T, 'GET', SpanKind.SERVER, { a: 1 }, links);
    expect(result).toBe(root.result);
    expect(configured.calls).toHaveLength(0);
    expect(root.calls).toHaveLength(1);
    // Every argument is passed through unchanged.
    expect(root.calls[0]?.args).toEqual([ctx, T, 'GET', SpanKind.SERVER, { a: 1 }, links]);
    expect(root.calls[0]?.args[0]).toBe(ctx);
  });

  it.each([
    { name: 'a trusted remote parent', ctx: trace.setSpanContext(ROOT_CONTEXT, remoteParent) },
    {
      name: 'an untrusted mark on a local parent',
      ctx: untrusted({ ...remoteParent, isRemote: false }),
    },
    {
      name: 'an untrusted mark on a parent without isRemote',
      ctx: untrusted({ traceId: T, spanId: P, traceFlags: TraceFlags.SAMPLED }),
    },
    {
      name: 'an untrusted mark on an invalid parent',
      ctx: untrusted({ ...remoteParent, traceId: '0'.repeat(32) }),
    },
    {
      name: 'an untrusted mark without a parent',
      ctx: ROOT_CONTEXT.setValue(UNTRUSTED_PARENT, true),
    },
    {
      name: 'a mark that is not exactly true',
      ctx: trace.setSpanContext(ROOT_CONTEXT, remoteParent).setValue(UNTRUSTED_PARENT, 'true'),
    },
    { name: 'no parent at all', ctx: ROOT_CONTEXT },
  ])('should follow the configured sampler for $name', ({ ctx }) => {
    const configured = stubSampler('configured');
    const root = stubSampler('root');
    const sampler = new EdgeAwareSampler(configured.sampler, root.sampler);
    expect(sampler.shouldSample(ctx, T, 'GET', SpanKind.SERVER, {}, [])).toBe(configured.result);
    expect(configured.calls).toHaveLength(1);
    expect(root.calls).toHaveLength(0);
  });

  it('should describe itself by the configured sampler', () => {
    const sampler = new EdgeAwareSampler(
      new ParentBasedSampler({ root: new AlwaysOnSampler() }),
      new AlwaysOnSampler(),
    );
    expect(sampler.toString()).toBe(
      `EdgeAwareSampler{${new ParentBasedSampler({ root: new AlwaysOnSampler() }).toString()}}`,
    );
  });

  it('should not obey an untrusted sampled flag when the root sampler says no', () => {
    const sampler = new EdgeAwareSampler(
      new ParentBasedSampler({ root: new AlwaysOffSampler() }),
      new AlwaysOffSampler(),
    );
    const trusted = trace.setSpanContext(ROOT_CONTEXT, remoteParent);
    expect(sampler.shouldSample(trusted, T, 'GET', SpanKind.SERVER, {}, []).decision).toBe(
      SamplingDecision.RECORD_AND_SAMPLED,
    );
    expect(
      sampler.shouldSample(untrusted(remoteParent), T, 'GET', SpanKind.SERVER, {}, []).decision,
    ).toBe(SamplingDecision.NOT_RECORD);
  });

  it('should sample about the root ratio of untrusted sampled parents, and all trusted ones', () => {
    const ratio = new TraceIdRatioBasedSampler(0.1);
    const sampler = new EdgeAwareSampler(new ParentBasedSampler({ root: ratio }), ratio);
    const random = prng(0x5a3);
    let untrustedSampled = 0;
    let trustedSampled = 0;
    const n = 2_000;
    for (let i = 0; i < n; i++) {
      const sc = { ...remoteParent, traceId: hexId(random, 16) };
      const decide = (ctx: Context) =>
        sampler.shouldSample(ctx, sc.traceId, 'GET', SpanKind.SERVER, {}, []).decision;
      if (decide(untrusted(sc)) === SamplingDecision.RECORD_AND_SAMPLED) untrustedSampled++;
      if (decide(trace.setSpanContext(ROOT_CONTEXT, sc)) === SamplingDecision.RECORD_AND_SAMPLED)
        trustedSampled++;
    }
    console.log(
      `[EdgeAwareSampler] ratio 0.1, ${n} sampled remote parents: untrusted ${untrustedSampled} sampled (${((untrustedSampled / n) * 100).toFixed(1)}%), trusted ${trustedSampled}`,
    );
    expect(untrustedSampled / n).toBeGreaterThan(0.03);
    expect(untrustedSampled / n).toBeLessThan(0.2);
    expect(trustedSampled).toBe(n);
  });
});

// ---------------------------------------------------------------------------------------------------
// The policies on real services. Requests come from 127.0.0.1: trusted by default, untrusted with
// `trustedProxies: []` or a list that leaves loopback out.

interface PolicyRow {
  name: string;
  options: TracingMiddlewareOptions;
  /** Whether the caller's valid trace is continued (trusted callers always are). */
  continued: boolean;
  /** restart only: the server span links to the caller's span. */
  link: boolean;
  /** Whether inbound baggage reaches downstream; undefined: not pinned (see the row). */
  forwards: boolean | undefined;
}

const POLICY_ROWS: PolicyRow[] = [
  // Untrusted baggage under `continue`: the options document trustedProxies as the addresses whose
  // "trace context and baggage are trusted", but the policy only speaks of the sampled flag; Vigil
  // forwards it today. Not pinned here either way.
  {
    name: 'continue, untrusted',
    options: { inboundPolicy: 'continue', trustedProxies: [] },
    continued: true,
    link: false,
    forwards: undefined,
  },
  {
    name: 'restart, untrusted',
    options: { inboundPolicy: 'restart', trustedProxies: [] },
    continued: false,
    link: true,
    forwards: false,
  },
  {
    name: 'ignore, untrusted',
    options: { inboundPolicy: 'ignore', trustedProxies: [] },
    continued: false,
    link: false,
    forwards: false,
  },
  {
    name: 'restart, untrusted (loopback not in 10.0.0.0/8)',
    options: { inboundPolicy: 'restart', trustedProxies: ['10.0.0.0/8'] },
    continued: false,
    link: true,
    forwards: false,
  },
  ...(['continue', 'restart', 'ignore'] as InboundPolicy[]).flatMap((policy) => [
    {
      name: `${policy}, trusted by default (loopback)`,
      options: { inboundPolicy: policy },
      continued: true,
      link: false,
      forwards: true,
    },
    {
      name: `${policy}, trusted as 127.0.0.1`,
      options: { inboundPolicy: policy, trustedProxies: ['127.0.0.1'] },
      continued: true,
      link: false,
      forwards: true,
    },
    {
      name: `${policy}, trusted as 127.0.0.0/8`,
      options: { inboundPolicy: policy, trustedProxies: ['127.0.0.0/8'] },
      continued: true,
      link: false,
      forwards: true,
    },
    {
      name: `${policy}, trusted as ::ffff:127.0.0.1`,
      options: { inboundPolicy: policy, trustedProxies: ['::ffff:127.0.0.1'] },
      continued: true,
      link: false,
      forwards: true,
    },
  ]),
];

const SENT: HeaderList = [
  ['traceparent', VALID],
  ['tracestate', TRACESTATE],
  ['baggage', BAGGAGE],
];

const MODES = [
  { name: 'without the SDK', sdk: false },
  { name: 'with the SDK', sdk: true },
] as const;

describe.each(MODES)('inboundPolicy $name', (mode) => {
  const exporter = new InMemorySpanExporter();
  const agent = new Agent({ keepAlive: true });
  const services = new Map<string, Service>();
  let capture: Capture;
  let tracing: Tracing | undefined;
  let seq = 0;

  beforeAll(async () => {
    if (mode.sdk) {
      tracing = startTracing({
        exporter: 'none',
        spanProcessors: [new SimpleSpanProcessor(exporter)],
      });
    }
    capture = await startCapture();
    for (const framework of FRAMEWORK_NAMES) {
      for (const row of POLICY_ROWS) {
        const service = await startService({ framework, capture, options: row.options });
        services.set(`${framework} ${row.name}`, service);
      }
    }
  });

  afterAll(async () => {
    agent.destroy();
    await closeConformanceServers();
    await tracing?.shutdown();
  });

  async function send(framework: FrameworkName, row: PolicyRow, headers: HeaderList) {
    const service = services.get(`${framework} ${row.name}`) as Service;
    const result = await probe(service.origin, `/probe/${++seq}`, headers, agent);
    const expectation: Expectation = {
      continues: row.continued,
      forwardsBaggage: row.forwards !== false,
    };
    return { result, verdict: judge(headers, result, expectation), service };
  }

  const spanOf = async (result: ProbeResult): Promise<ReadableSpan | undefined> =>
    eventually(() =>
      exporter
        .getFinishedSpans()
        .find((s) => s.spanContext().spanId === result.body?.before?.spanId),
    );

  describe.each(FRAMEWORK_NAMES)('on %s', (framework) => {
    it.each(POLICY_ROWS)('should apply $name to a valid sampled traceparent', async (row) => {
      const { result, verdict, service } = await send(framework, row, SENT);
      expect({ fetch: verdict.problems, http: verdict.httpProblems }).toEqual(CLEAN);
      expect(service.warnings).toEqual([]);
      const ds = parseTraceparent(downstreamHeader(result.body?.fetch, 'traceparent'));
      const tracestate = downstreamHeader(result.body?.fetch, 'tracestate');
      const baggage = downstreamHeader(result.body?.fetch, 'baggage');
      // §3.2.2.3: the call's own id, not the server span's (a client span with the SDK).
      expect(ds?.parentId).toMatch(/^[0-9a-f]{16}$/);
      expect(ds?.parentId).not.toBe(result.body?.before?.spanId);
      expect(ds?.parentId).not.toBe(P);
      if (row.continued) {
        expect(ds?.traceId).toBe(T);
        expect(tracestate).toBe(TRACESTATE);
      } else {
        expect(ds?.traceId).not.toBe(T);
        expect(tracestate).toBeUndefined();
      }
      if (row.forwards === true) {
        expect(baggageMembers(baggage).map((m) => m.raw)).toEqual(BAGGAGE.split(','));
      } else if (row.forwards === false) {
        expect(baggage).toBeUndefined();
      }
      if (mode.sdk) {
        const span = await spanOf(result);
        expect(span?.kind).toBe(SpanKind.SERVER);
        expect(span?.spanContext().traceId).toBe(ds?.traceId);
        expect(span?.parentSpanContext?.spanId).toBe(row.continued ? P : undefined);
        expect(span?.parentSpanContext?.traceId).toBe(row.continued ? T : undefined);
        expect(span?.links.map((l) => [l.context.traceId, l.context.spanId])).toEqual(
          row.link ? [[T, P]] : [],
        );
      }
    });

    it.each(POLICY_ROWS.filter((r) => r.link))(
      'should start $name without a link when the traceparent is invalid',
      async (row) => {
        const headers: HeaderList = [
          ['traceparent', `00-${T.toUpperCase()}-${P}-01`],
          ['baggage', BAGGAGE],
        ];
        const { result, verdict } = await send(framework, row, headers);
        expect({ fetch: verdict.problems, http: verdict.httpProblems }).toEqual(CLEAN);
        expect(downstreamHeader(result.body?.fetch, 'baggage')).toBeUndefined();
        if (mode.sdk) expect((await spanOf(result))?.links).toEqual([]);
      },
    );

    it.each(POLICY_ROWS.filter((r) => r.forwards === false))(
      'should drop baggage sent without a traceparent under $name',
      async (row) => {
        const { result, verdict } = await send(framework, row, [['baggage', BAGGAGE]]);
        expect({ fetch: verdict.problems, http: verdict.httpProblems }).toEqual(CLEAN);
        expect(downstreamHeader(result.body?.fetch, 'baggage')).toBeUndefined();
      },
    );

    it('should give ids to untrusted callers as to trusted ones', async () => {
      const row = POLICY_ROWS[2] as PolicyRow;
      const { result, verdict } = await send(framework, row, [...SENT, ['x-request-id', 'edge-1']]);
      expect({ fetch: verdict.problems, http: verdict.httpProblems }).toEqual(CLEAN);
      expect(result.headers['x-request-id']).toBe('edge-1');
      const unsafe = await send(framework, row, [...SENT, ['x-request-id', 'edge 1']]);
      expect(unsafe.result.headers['x-request-id']).toMatch(UUID);
    });
  });

  if (mode.sdk) {
    it.each(FRAMEWORK_NAMES)(
      'should not obey the sampled flag of an untrusted caller under continue on %s (Vigil samples)',
      async (framework) => {
        const row = POLICY_ROWS[0] as PolicyRow;
        const { result, verdict } = await send(framework, row, [
          ['traceparent', `00-${T}-${P}-00`],
        ]);
        expect({ fetch: verdict.problems, http: verdict.httpProblems }).toEqual(CLEAN);
        // parentbased_always_on: the root (always on) decides for untrusted parents, so not-sampled
        // from outside is recorded, same trace id.
        expect(downstreamHeader(result.body?.fetch, 'traceparent')).toMatch(
          new RegExp(`^00-${T}-[0-9a-f]{16}-01$`),
        );
        expect((await spanOf(result))?.parentSpanContext?.spanId).toBe(P);
      },
    );
  }
});

// ---------------------------------------------------------------------------------------------------

describe('sampling a flood of sampled traceparents (parentbased_traceidratio, 0.1)', () => {
  const FLOOD = 1_000;
  const exporter = new InMemorySpanExporter();
  const agent = new Agent({ keepAlive: true, maxSockets: 16 });
  let capture: Capture;
  let tracing: Tracing;

  beforeAll(async () => {
    tracing = startTracing({
      sampler: 'parentbased_traceidratio',
      samplerRatio: 0.1,
      exporter: 'none',
      traceBuffer: false,
      spanProcessors: [new SimpleSpanProcessor(exporter)],
    });
    capture = await startCapture();
  });

  afterAll(async () => {
    agent.destroy();
    await closeConformanceServers();
    await tracing.shutdown();
  });

  it.each(
    FRAMEWORK_NAMES.flatMap((framework) => [
      { framework, caller: 'an untrusted caller', trusted: false, min: 0.03, max: 0.2 },
      { framework, caller: 'a trusted caller', trusted: true, min: 1, max: 1 },
    ]),
  )(
    'should record between $min and $max of 1,000 sampled requests from $caller on $framework',
    async ({ framework, trusted, min, max }) => {
      const options: TracingMiddlewareOptions = trusted ? {} : { trustedProxies: [] };
      const service = await startService({ framework, capture, options });
      exporter.reset();
      // A seed per test, so no two floods share trace ids.
      const random = prng((trusted ? 0x70 : 0x80) + FRAMEWORK_NAMES.indexOf(framework));
      const traceIds = new Set<string>();
      let sampledDownstream = 0;
      let sameTraceDownstream = 0;
      let failures = 0;
      const started = performance.now();
      await runPool(FLOOD, 16, async (i) => {
        const traceId = hexId(random, 16);
        traceIds.add(traceId);
        const headers: HeaderList = [['traceparent', `00-${traceId}-${hexId(random, 8)}-01`]];
        const result = await probe(service.origin, `/probe/${i}`, headers, agent);
        if (result.status !== 200) failures++;
        const ds = parseTraceparent(downstreamHeader(result.body?.fetch, 'traceparent'));
        if (ds?.traceId === traceId) sameTraceDownstream++;
        if (ds !== undefined && (parseInt(ds.flags, 16) & 1) === 1) sampledDownstream++;
      });
      const recorded = await eventually(() => {
        const n = exporter
          .getFinishedSpans()
          .filter(
            (s) => s.kind === SpanKind.SERVER && traceIds.has(s.spanContext().traceId),
          ).length;
        return n >= sampledDownstream ? n : undefined;
      });
      const share = (recorded ?? 0) / FLOOD;
      console.log(
        `[edge flood] ${framework}, ${trusted ? 'trusted' : 'untrusted (continue)'}: ${FLOOD} sampled traceparents, ` +
          `${recorded} server spans recorded (${(share * 100).toFixed(1)}%), ${sampledDownstream} sampled downstream, ` +
          `${sameTraceDownstream} kept their trace id, ${failures} failures, ${Math.round(performance.now() - started)} ms`,
      );
      expect(failures).toBe(0);
      // Continue keeps the trace id whatever the sampling decision.
      expect(sameTraceDownstream).toBe(FLOOD);
      expect(recorded).toBe(sampledDownstream);
      expect(share).toBeGreaterThanOrEqual(min);
      expect(share).toBeLessThanOrEqual(max);
      expect(service.warnings).toEqual([]);
    },
    60_000,
  );
});

// ---------------------------------------------------------------------------------------------------

describe('after tracing.shutdown()', () => {
  const agent = new Agent({ keepAlive: true });

  afterAll(async () => {
    agent.destroy();
    await closeConformanceServers();
  });

  it.each(FRAMEWORK_NAMES)(
    'should keep request ids, getRequestContext() and propagation working on %s',
    async (framework) => {
      // Every SDK above was shut down: the service now runs as without an SDK.
      const capture = await startCapture();
      const service = await startService({ framework, capture });
      const headers: HeaderList = [
        ['traceparent', VALID],
        ['x-request-id', 'after-1'],
      ];
      const result = await probe(service.origin, '/probe/1', headers, agent);
      expect(result.status).toBe(200);
      expect(result.headers['x-request-id']).toBe('after-1');
      expect(result.body?.before?.requestId).toBe('after-1');
      expect(downstreamHeader(result.body?.fetch, 'x-request-id')).toBe('after-1');
      expect(parseTraceparent(downstreamHeader(result.body?.fetch, 'traceparent'))?.traceId).toBe(
        T,
      );
      const verdict = judge(headers, result, { continues: true, forwardsBaggage: true });
      expect({ fetch: verdict.problems, http: verdict.httpProblems }).toEqual(CLEAN);
      expect(downstreamHeader(result.body?.http, 'x-request-id')).toBe('after-1');
    },
  );
});
