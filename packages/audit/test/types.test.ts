// The public types, checked by the compiler (npm run typecheck) and run as ordinary tests.
import type { Request } from 'express';
import type { Context } from 'koa';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { describe, expectTypeOf, it } from 'vitest';
import {
  type AuditEvent,
  type AuditEventInput,
  type AuditLogger,
  type AuditLoggerOptions,
  type AuditOutcome,
  type AuditRecorder,
  type AuditSink,
  type AuditVerifyResult,
  audit,
  createAuditLogger,
  verifyAuditLog,
} from '@vigil/audit';

describe('public types', () => {
  it('should type the logger, its events and sinks', () => {
    expectTypeOf(createAuditLogger).parameter(0).toEqualTypeOf<AuditLoggerOptions | undefined>();
    expectTypeOf(createAuditLogger).returns.toEqualTypeOf<AuditLogger>();
    expectTypeOf<AuditLogger['record']>().returns.toEqualTypeOf<AuditEvent>();
    expectTypeOf<AuditLogger>().toMatchTypeOf<AuditSink>();
    expectTypeOf<AuditRecorder>().toMatchTypeOf<AuditSink>();
    expectTypeOf<AuditEvent['outcome']>().toEqualTypeOf<AuditOutcome>();
    expectTypeOf<AuditEvent['level']>().toEqualTypeOf<30>();
    expectTypeOf(verifyAuditLog).returns.toEqualTypeOf<AuditVerifyResult>();
  });

  it('should accept every documented destination and registry', () => {
    expectTypeOf<{ destination: string }>().toMatchTypeOf<AuditLoggerOptions>();
    expectTypeOf<{ destination: number }>().toMatchTypeOf<AuditLoggerOptions>();
    expectTypeOf({ destination: pino.destination(1) }).toMatchTypeOf<AuditLoggerOptions>();
    expectTypeOf({ registry: new Registry() }).toMatchTypeOf<AuditLoggerOptions>();
    expectTypeOf<{ registry: false }>().toMatchTypeOf<AuditLoggerOptions>();
    expectTypeOf<{ redact: ['metadata.card'] }>().toMatchTypeOf<AuditLoggerOptions>();
    expectTypeOf<{
      redact: { paths: string[]; censor: (v: unknown, p: string[]) => string; remove: true };
    }>().toMatchTypeOf<AuditLoggerOptions>();
  });

  it('should take Express requests and Koa contexts', () => {
    expectTypeOf(audit).toBeCallableWith({} as Request);
    expectTypeOf(audit).toBeCallableWith({} as Context);
    expectTypeOf(audit).toBeCallableWith({} as Request, {} as AuditSink);
  });

  it('should reject events outside the schema at compile time', () => {
    const ok: AuditEventInput = { type: 'auth.login', outcome: 'denied', metadata: { a: [1] } };
    // @ts-expect-error outcome outside the set
    const badOutcome: AuditEventInput = { type: 'auth.login', outcome: 'ok' };
    // @ts-expect-error unknown field
    const unknownField: AuditEventInput = { type: 'auth.login', outcome: 'success', user: 'x' };
    // @ts-expect-error outcome is required
    const noOutcome: AuditEventInput = { type: 'auth.login' };
    expectTypeOf([ok, badOutcome, unknownField, noOutcome]).toBeArray();
  });
});
