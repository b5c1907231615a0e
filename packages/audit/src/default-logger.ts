// The process-wide default audit logger that audit(req) writes to when given none.
import { hasMethod, optionError } from '@vigil/core';
import { context } from './errors';
import type { AuditSink } from './types';

// A registered symbol, so that duplicated copies of this package share the default.
const kDefault = Symbol.for('vigil.audit.defaultLogger');
type Slot = { [kDefault]?: AuditSink };

/**
 * Makes `logger` the default of `audit(req)` (any object with `record()`), or removes the default with
 * `undefined`. The first createAuditLogger() sets it unless given `default: false`.
 */
export function setDefaultAuditLogger(logger: AuditSink | undefined): void {
  if (logger !== undefined && !hasMethod(logger, 'record')) {
    throw optionError(
      context('setDefaultAuditLogger'),
      'INVALID_OPTION',
      'logger',
      'an audit logger (an object with record()) or undefined',
      logger,
    );
  }
  (globalThis as Slot)[kDefault] = logger;
}

/** The default of `audit(req)`, if there is one. */
export function getDefaultAuditLogger(): AuditSink | undefined {
  return (globalThis as Slot)[kDefault];
}
