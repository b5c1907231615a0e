// Public API of @vigil/audit.
export { createAuditLogger } from './logger';
export { audit } from './request';
export { setDefaultAuditLogger, getDefaultAuditLogger } from './default-logger';
export { verifyAuditLog } from './verify';
export { AUDIT_OUTCOMES, AUDIT_TYPE_PATTERN, AUDIT_LIMITS } from './event';
export { DEFAULT_REDACTED_KEYS, DEFAULT_REDACTED_QUERY_PARAMS, REDACTED } from './redaction';
export { ZERO_HASH } from './chain';
export { DEFAULT_TAIL_SIZE, DEFAULT_MAX_TYPES } from './options';
export { AUDIT_ERROR_CODES } from './errors';
export { OVERFLOW_LABEL_VALUE, VigilError } from '@vigil/core';
export type {
  AuditLogger,
  AuditLoggerOptions,
  AuditEventInput,
  AuditEvent,
  AuditOutcome,
  AuditJsonValue,
  AuditSink,
  AuditRecorder,
  AuditChainHead,
  AuditRedactOption,
  AuditVerifyOptions,
  AuditVerifyResult,
  AuditProblem,
  AuditChainInfo,
  AuditTamperKind,
} from './types';
