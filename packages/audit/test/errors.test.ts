// Every error code of @vigil/audit, pinned with the main words of its message, and each in the README.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Gauge, Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import {
  AUDIT_ERROR_CODES,
  VigilError,
  audit,
  createAuditLogger,
  setDefaultAuditLogger,
  verifyAuditLog,
} from '@vigil/audit';
import { cleanup, loginEvent, memoryLogger, tempDir, track } from './support/memory';

afterEach(cleanup);

/** Calls with untyped arguments, as JavaScript users (and misconfigured apps) do. */
const loose = <F extends (...args: never[]) => unknown>(fn: F) =>
  fn as unknown as (...args: unknown[]) => unknown;

const C = AUDIT_ERROR_CODES;
const quiet = { signals: false, registry: false, default: false } as const;

interface ErrorCase {
  name: string;
  call: () => unknown;
  code: string;
  /** Main words of the message, after the code. */
  message: RegExp;
}

const CASES: ErrorCase[] = [
  {
    name: 'createAuditLogger mounted as middleware (req, res, next)',
    call: () => loose(createAuditLogger)({ headers: {}, socket: {} }, {}, () => {}),
    code: C.NOT_CALLED,
    message:
      /createAuditLogger was called with Express's \(req, res, next\).*It is not middleware: create the logger once at startup, then record events in your handlers with audit\(req\)\.record\(\{ type, outcome \}\).*Fix: `const auditLog = createAuditLogger\(\{ destination: 'audit\.log' \}\)`\./,
  },
  {
    name: "createAuditLogger('audit.log')",
    call: () => loose(createAuditLogger)('audit.log'),
    code: C.INVALID_OPTIONS,
    message:
      /createAuditLogger\(\): option "options" must be an object or undefined, received 'audit\.log'/,
  },
  {
    name: 'a typo { destinaton }',
    call: () => loose(createAuditLogger)({ destinaton: 'a.log' }),
    code: C.UNKNOWN_OPTION,
    message: /option "destinaton" must be one of destination, resume, .*Check the spelling/,
  },
  {
    name: 'destination: 1.5',
    call: () => loose(createAuditLogger)({ ...quiet, destination: 1.5 }),
    code: C.INVALID_OPTION,
    message:
      /option "destination" must be a file path, a file descriptor, or a stream with write\(\).*received 1\.5/,
  },
  {
    name: 'destination: {} (no write())',
    call: () => loose(createAuditLogger)({ ...quiet, destination: {} }),
    code: C.INVALID_OPTION,
    message: /option "destination" must be a file path/,
  },
  {
    name: 'resume: true with a stream',
    call: () => createAuditLogger({ ...quiet, destination: { write: () => true }, resume: true }),
    code: C.INVALID_OPTION,
    message:
      /option "resume" must be false \(or absent\) unless "destination" is a file path, received true/,
  },
  {
    name: "service: ''",
    call: () => createAuditLogger({ ...quiet, destination: { write: () => true }, service: '' }),
    code: C.INVALID_OPTION,
    message: /option "service" must be a non-empty string of at most 1024 bytes, received ''/,
  },
  {
    name: 'tailSize: -1',
    call: () => createAuditLogger({ ...quiet, destination: { write: () => true }, tailSize: -1 }),
    code: C.INVALID_OPTION,
    message: /option "tailSize" must be an integer from 0 to 100000, received -1/,
  },
  {
    name: 'maxTypes: 0',
    call: () => createAuditLogger({ ...quiet, destination: { write: () => true }, maxTypes: 0 }),
    code: C.INVALID_OPTION,
    message: /option "maxTypes" must be an integer from 1 to 10000, received 0/,
  },
  {
    name: "signals: 'yes'",
    call: () => loose(createAuditLogger)({ ...quiet, signals: 'yes' }),
    code: C.INVALID_OPTION,
    message: /option "signals" must be a boolean, received 'yes'/,
  },
  {
    name: 'default: 1',
    call: () => loose(createAuditLogger)({ ...quiet, default: 1 }),
    code: C.INVALID_OPTION,
    message: /option "default" must be a boolean, received 1/,
  },
  {
    name: 'logger without warn()',
    call: () => loose(createAuditLogger)({ ...quiet, logger: { info() {} } }),
    code: C.INVALID_OPTION,
    message: /option "logger" must be a logger with a warn\(\) method/,
  },
  {
    name: 'recent(-1)',
    call: () => memoryLogger().logger.recent(-1),
    code: C.INVALID_OPTION,
    message: /recent\(\): option "limit" must be a non-negative integer, received -1/,
  },
  {
    name: 'setDefaultAuditLogger({})',
    call: () => loose(setDefaultAuditLogger)({}),
    code: C.INVALID_OPTION,
    message:
      /setDefaultAuditLogger\(\): option "logger" must be an audit logger \(an object with record\(\)\) or undefined/,
  },
  {
    name: 'verifyAuditLog(42)',
    call: () => loose(verifyAuditLog)(42),
    code: C.INVALID_OPTION,
    message:
      /verifyAuditLog\(\): option "input" must be the log text or an array of its lines, received 42/,
  },
  {
    name: 'verifyAuditLog with an unknown option',
    call: () => loose(verifyAuditLog)('', { strict: true }),
    code: C.UNKNOWN_OPTION,
    message: /verifyAuditLog\(\): option "strict" must be one of allowForeign, partial/,
  },
  {
    name: "redact: 'metadata.x' (a string)",
    call: () => loose(createAuditLogger)({ ...quiet, redact: 'metadata.x' }),
    code: C.INVALID_REDACT,
    message: /option "redact" must be an array of paths or \{ paths, censor\?, remove\? \}/,
  },
  {
    name: "redact: ['metadata..x'] (bad syntax)",
    call: () => createAuditLogger({ ...quiet, redact: ['metadata..x'] }),
    code: C.INVALID_REDACT,
    message:
      /option "redact\.paths" must be paths in pino's redact syntax.*Invalid redaction path \(metadata\.\.x\)/,
  },
  {
    name: "redact: ['type'] (a schema field)",
    call: () => createAuditLogger({ ...quiet, redact: ['type'] }),
    code: C.INVALID_REDACT,
    message:
      /option "redact\.paths" must be paths that leave level, time, type, outcome, chain, seq, prev_hash, hash alone, received 'type'/,
  },
  {
    name: "redact: ['*'] (everything)",
    call: () => createAuditLogger({ ...quiet, redact: ['*'] }),
    code: C.INVALID_REDACT,
    message: /paths that leave level, time/,
  },
  {
    name: 'redact.censor: 1',
    call: () => loose(createAuditLogger)({ ...quiet, redact: { paths: [], censor: 1 } }),
    code: C.INVALID_REDACT,
    message: /option "redact\.censor" must be a string or a function, received 1/,
  },
  {
    name: "redact.remove: 'yes'",
    call: () => loose(createAuditLogger)({ ...quiet, redact: { paths: [], remove: 'yes' } }),
    code: C.INVALID_REDACT,
    message: /option "redact\.remove" must be a boolean/,
  },
  {
    name: 'redact with an unknown key',
    call: () => loose(createAuditLogger)({ ...quiet, redact: { paths: [], serialize: true } }),
    code: C.INVALID_REDACT,
    message: /option "redact\.serialize" must be absent \(known keys: paths, censor, remove\)/,
  },
  {
    name: 'registry: {}',
    call: () => loose(createAuditLogger)({ ...quiet, registry: {} }),
    code: C.INVALID_REGISTRY,
    message: /option "registry" must be a prom-client Registry or false, received \{\}/,
  },
  {
    name: 'a registry holding a gauge audit_events_total',
    call: () => {
      const registry = new Registry();
      new Gauge({ name: 'audit_events_total', help: 'x', registers: [registry] });
      return createAuditLogger({ ...quiet, registry });
    },
    code: C.METRIC_CONFLICT,
    message:
      /option "registry" already holds audit_events_total as a gauge with labels \[\]; the audit logger needs a counter with labels \[type, outcome\]/,
  },
  {
    name: 'a file path under a regular file',
    call: () => {
      const file = join(tempDir(), 'plain');
      writeFileSync(file, '');
      return createAuditLogger({ ...quiet, destination: join(file, 'audit.log') });
    },
    code: C.DESTINATION,
    message:
      /createAuditLogger\(\): cannot write audit events to ".*plain\/audit\.log": (EEXIST|ENOTDIR).*Check that the path is a file the process may append to/,
  },
  {
    name: 'a closed file descriptor',
    call: () => createAuditLogger({ ...quiet, destination: 987_654 }),
    code: C.DESTINATION,
    message: /cannot write audit events to file descriptor 987654: EBADF/,
  },
  {
    name: 'record() of an invalid event',
    call: () => memoryLogger().logger.record({ type: 'Login', outcome: 'success' }),
    code: C.INVALID_EVENT,
    message:
      /record\(\): field "type" must be dotted lower-case words such as "auth\.login".*received "Login"/,
  },
  {
    name: 'record() with a censor that throws',
    call: () =>
      memoryLogger({
        redact: {
          paths: ['metadata.card'],
          censor: () => {
            throw new Error('censor broke');
          },
        },
      }).logger.record({ ...loginEvent(), metadata: { card: '4111' } }),
    code: C.REDACTION_FAILED,
    message: /record\(\): redaction failed \(censor broke\); the event was not written/,
  },
  {
    name: 'record() with a censor that returns a bigint',
    call: () =>
      memoryLogger({ redact: { paths: ['metadata.card'], censor: () => 1n } }).logger.record({
        ...loginEvent(),
        metadata: { card: '4111' },
      }),
    code: C.REDACTION_FAILED,
    message: /redaction failed \(.*bigint.*\)/,
  },
  {
    name: 'record() when the destination throws',
    call: () =>
      memoryLogger({
        destination: {
          write() {
            throw new Error('disk gone');
          },
        },
      }).logger.record(loginEvent()),
    code: C.WRITE_FAILED,
    message: /record\(\): the destination refused the event \(disk gone\); it was not written/,
  },
  {
    name: 'record() after close()',
    call: () => {
      const { logger } = memoryLogger();
      void logger.close();
      return logger.record(loginEvent());
    },
    code: C.CLOSED,
    message: /record\(\): this audit logger is closed; the event was not written/,
  },
  {
    name: 'audit(req) without a logger',
    call: () => audit({}),
    code: C.NO_LOGGER,
    message:
      /audit\(\): there is no audit logger to write to\. Create one with createAuditLogger\(\)/,
  },
  {
    name: "audit('req')",
    call: () => loose(audit)('req'),
    code: C.INVALID_REQUEST,
    message:
      /audit\(\): the first argument must be an Express request or a Koa context, received 'req'/,
  },
  {
    name: 'audit(req, {}) (no record())',
    call: () => loose(audit)({}, {}),
    code: C.INVALID_REQUEST,
    message: /audit\(\): the second argument must be an audit logger \(an object with record\(\)\)/,
  },
];

describe('@vigil/audit error codes', () => {
  it.each(CASES)('$name -> $code', ({ call, code, message }) => {
    let thrown: unknown;
    try {
      const value = call();
      if (value !== null && typeof value === 'object' && 'close' in value) {
        track(value as never);
      }
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(VigilError);
    const err = thrown as VigilError;
    expect(err.code).toBe(code);
    expect(err.message.startsWith(`${code}: `)).toBe(true);
    expect(err.message).toMatch(message);
    // Option errors point at "Error codes", other coded errors at their own heading under it.
    expect(err.message).toMatch(
      /See "(?:ERR_VIGIL_AUDIT_\w+" under ")?Error codes" in the @vigil\/audit README\.$/,
    );
  });

  it('should have a case for every code', () => {
    const tested = new Set(CASES.map((c) => c.code));
    expect([...tested].sort()).toEqual(Object.values(C).sort());
  });

  it('should document every code in the README', () => {
    const readme = readFileSync(join(__dirname, '..', 'README.md'), 'utf8');
    for (const code of Object.values(C)) {
      expect(readme, code).toContain(`### ${code}`);
    }
  });
});
