// audit(req) / audit(ctx) on real Express 4, Express 5, Koa 2 and Koa 3 servers, with and without
// @vigil/tracing in front: request ids, trace ids and the client address filled in.
import request from 'supertest';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Tracing, startTracing } from '@vigil/tracing';
import {
  type AuditEvent,
  type AuditEventInput,
  audit,
  createAuditLogger,
  getDefaultAuditLogger,
  setDefaultAuditLogger,
  verifyAuditLog,
} from '@vigil/audit';
import { FRAMEWORKS, type RouteReport } from './support/frameworks';
import { MemoryDestination, cleanup, memoryLogger, track } from './support/memory';

let tracing: Tracing;
beforeAll(() => {
  tracing = startTracing({ exporter: 'none', traceBuffer: false, httpClientSpans: false });
});
afterAll(() => tracing.shutdown());
afterEach(cleanup);

const HEX32 = /^[0-9a-f]{32}$/;
const HEX16 = /^[0-9a-f]{16}$/;

describe.each(FRAMEWORKS)('audit() on $name', (fw) => {
  it('should fill in the client address, and no ids, without tracing', async () => {
    const { logger, out } = memoryLogger();
    const res = await request(fw.app({ tracing: false, sink: logger }))
      .post('/login/bob')
      .expect(200);
    const event = out.events[0] as AuditEvent;
    expect(event).toMatchObject({ type: 'auth.login', actor: 'bob', client_ip: '127.0.0.1' });
    for (const field of ['request_id', 'correlation_id', 'trace_id', 'span_id']) {
      expect(event).not.toHaveProperty(field);
    }
    expect((res.body as RouteReport).event).toEqual(event);
  });

  it("should fill in the request's ids and trace with tracing in front", async () => {
    const { logger, out } = memoryLogger();
    const res = await request(fw.app({ tracing: true, sink: logger }))
      .post('/login/alice')
      .set('x-correlation-id', 'order-42')
      .expect(200);
    const { context } = res.body as RouteReport;
    const event = out.events[0] as AuditEvent;
    expect(context).not.toBeNull();
    expect(event.request_id).toBe(res.headers['x-request-id']);
    expect(event.correlation_id).toBe('order-42');
    expect(event.trace_id).toMatch(HEX32);
    expect(event.span_id).toMatch(HEX16);
    expect(event).toMatchObject({
      request_id: context?.requestId,
      trace_id: context?.traceId,
      span_id: context?.spanId,
      client_ip: '127.0.0.1',
    });
  });

  it('should keep what the event sets itself', async () => {
    const { logger, out } = memoryLogger();
    const extra = {
      request_id: 'mine',
      correlation_id: 'also-mine',
      trace_id: '4bf92f3577b34da6a3ce929d0e0e4736',
      span_id: '00f067aa0ba902b7',
      client_ip: '198.51.100.9',
    };
    await request(fw.app({ tracing: true, sink: logger, extra }))
      .post('/login/carol')
      .expect(200);
    expect(out.events[0]).toMatchObject(extra);
  });

  it('should take the client address from a trusted X-Forwarded-For', async () => {
    const { logger, out } = memoryLogger();
    await request(fw.app({ tracing: false, sink: logger, proxy: true }))
      .post('/login/dave')
      .set('x-forwarded-for', '203.0.113.7')
      .expect(200);
    expect(out.events[0]?.client_ip).toBe('203.0.113.7');
  });

  it('should ignore an untrusted X-Forwarded-For', async () => {
    const { logger, out } = memoryLogger();
    await request(fw.app({ tracing: false, sink: logger }))
      .post('/login/erin')
      .set('x-forwarded-for', '203.0.113.7')
      .expect(200);
    expect(out.events[0]?.client_ip).toBe('127.0.0.1');
  });

  it('should write to the default logger when given none', async () => {
    const out = new MemoryDestination();
    track(createAuditLogger({ destination: out, signals: false, registry: false }));
    await request(fw.app({ tracing: true }))
      .post('/login/frank')
      .expect(200);
    await request(fw.app({ tracing: true }))
      .post('/login/grace')
      .expect(200);
    expect(out.events.map((e) => e.actor)).toEqual(['frank', 'grace']);
    expect(verifyAuditLog(out.lines).ok).toBe(true);
  });

  it('should answer 500 when the event is invalid, writing nothing', async () => {
    const { logger, out } = memoryLogger();
    await request(fw.app({ tracing: false, sink: logger, extra: { outcome: 'ok' as 'success' } }))
      .post('/login/hank')
      .expect(500);
    expect(out.lines).toEqual([]);
  });
});

describe('audit() outside frameworks', () => {
  it('should accept any AuditSink, as @vigil/rate-limit passes one', () => {
    const seen: AuditEventInput[] = [];
    const sink = { record: (e: AuditEventInput) => seen.push(e) };
    const returned = audit({ ip: '::ffff:10.0.0.1' }, sink).record({
      type: 'a.b',
      outcome: 'denied',
    });
    expect(returned).toBe(1);
    expect(seen).toEqual([{ type: 'a.b', outcome: 'denied', client_ip: '10.0.0.1' }]);
  });

  it.each([
    ['IPv6 req.ip', { ip: '2001:db8::1' }, '2001:db8::1'],
    ['IPv4-mapped req.ip', { ip: '::ffff:192.0.2.1' }, '192.0.2.1'],
    ['a req.ip that is no address', { ip: 'not-an-ip, 1.2.3.4' }, undefined],
    ['an empty ip, with a socket', { ip: '', socket: { remoteAddress: '192.0.2.2' } }, '192.0.2.2'],
    ['a Koa-like ctx.req.socket', { req: { socket: { remoteAddress: '192.0.2.3' } } }, '192.0.2.3'],
    ['nothing', {}, undefined],
    [
      'a throwing ip getter',
      Object.defineProperty({}, 'ip', {
        get: () => {
          throw new Error('trust fn broke');
        },
      }),
      undefined,
    ],
  ])('should read the client address from %s', (_name, target, expected) => {
    const seen: AuditEventInput[] = [];
    audit(target, { record: (e: AuditEventInput) => seen.push(e) }).record({
      type: 'a.b',
      outcome: 'success',
    });
    expect(seen[0]?.client_ip).toBe(expected);
  });

  it('should not copy or change a non-object event, leaving it to record() to reject', () => {
    const seen: unknown[] = [];
    audit({}, { record: (e: unknown) => seen.push(e) }).record(null as unknown as AuditEventInput);
    expect(seen).toEqual([null]);
  });

  it('should make the first logger the default, unless default: false', async () => {
    expect(getDefaultAuditLogger()).toBeUndefined();
    const opted = track(
      createAuditLogger({
        destination: new MemoryDestination(),
        signals: false,
        registry: false,
        default: false,
      }),
    );
    expect(getDefaultAuditLogger()).toBeUndefined();
    const first = track(
      createAuditLogger({ destination: new MemoryDestination(), signals: false, registry: false }),
    );
    const second = track(
      createAuditLogger({ destination: new MemoryDestination(), signals: false, registry: false }),
    );
    expect(getDefaultAuditLogger()).toBe(first);
    await first.close();
    expect(getDefaultAuditLogger()).toBeUndefined();
    setDefaultAuditLogger(second);
    expect(getDefaultAuditLogger()).toBe(second);
    expect(opted.closed).toBe(false);
  });
});
