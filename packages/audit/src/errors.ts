// Error codes of @vigil/audit, the option context used to build their messages, and event errors.
import { type FactoryUsage, type OptionContext, type VigilError, codedError } from '@vigil/core';

/** Every code this package throws, each documented in the README. */
export const AUDIT_ERROR_CODES = {
  NOT_CALLED: 'ERR_VIGIL_AUDIT_NOT_CALLED',
  INVALID_OPTIONS: 'ERR_VIGIL_AUDIT_INVALID_OPTIONS',
  UNKNOWN_OPTION: 'ERR_VIGIL_AUDIT_UNKNOWN_OPTION',
  INVALID_OPTION: 'ERR_VIGIL_AUDIT_INVALID_OPTION',
  INVALID_REDACT: 'ERR_VIGIL_AUDIT_INVALID_REDACT',
  INVALID_REGISTRY: 'ERR_VIGIL_AUDIT_INVALID_REGISTRY',
  METRIC_CONFLICT: 'ERR_VIGIL_AUDIT_METRIC_CONFLICT',
  DESTINATION: 'ERR_VIGIL_AUDIT_DESTINATION',
  INVALID_EVENT: 'ERR_VIGIL_AUDIT_INVALID_EVENT',
  REDACTION_FAILED: 'ERR_VIGIL_AUDIT_REDACTION_FAILED',
  WRITE_FAILED: 'ERR_VIGIL_AUDIT_WRITE_FAILED',
  CLOSED: 'ERR_VIGIL_AUDIT_CLOSED',
  NO_LOGGER: 'ERR_VIGIL_AUDIT_NO_LOGGER',
  INVALID_REQUEST: 'ERR_VIGIL_AUDIT_INVALID_REQUEST',
} as const;

export const PKG = '@vigil/audit';

/** How each factory is used: the fix of its NOT_CALLED error (README, "Error codes"). */
const USAGE: Readonly<Record<string, FactoryUsage>> = {
  createAuditLogger: {
    what: 'It is not middleware: create the logger once at startup, then record events in your handlers with audit(req).record({ type, outcome }) (audit(ctx) in Koa).',
    express: "const auditLog = createAuditLogger({ destination: 'audit.log' })",
  },
};

export function context(factory: string): OptionContext {
  return { pkg: PKG, codePrefix: 'ERR_VIGIL_AUDIT', factory, usage: USAGE[factory] };
}

/** A coded error raised while recording or verifying, pointing at the code's README heading. */
export function auditError(code: string, message: string): VigilError {
  return codedError({ pkg: PKG }, code, message);
}

/**
 * The error of an event rejected by record(). `received` is a description chosen by the caller, never
 * the raw value of a free-text field or of metadata, which may hold a secret the error would leak
 * into the app's error logs.
 */
export function eventError(field: string, expected: string, received: string): VigilError {
  return auditError(
    AUDIT_ERROR_CODES.INVALID_EVENT,
    `record(): field "${field}" must be ${expected}, received ${received}.`,
  );
}
