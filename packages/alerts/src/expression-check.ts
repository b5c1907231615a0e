// The one place where a rule's PromQL expression is checked before it is written (the raw-rule hook).
import { VigilError, codedError } from '@vigil/core';
import { ALERTS_ERROR_CODES, PACKAGE } from './errors';
import { checkPromQL } from './promql/check';
import type { PromQLFeature } from './promql/types';

/**
 * Checks one rule expression for the target Prometheus version with `checkPromQL()`: it must parse,
 * use only what the version (and its feature flags) has, and be a vector or a scalar, the types a rule
 * can record or alert on. Errors keep the checker's code and say which rule it was.
 */
export function checkRuleExpression(
  expr: string,
  prometheusVersion: string,
  where: string,
  features: readonly PromQLFeature[] = [],
): void {
  let type: string;
  try {
    type = checkPromQL(expr, { prometheusVersion, features }).type;
  } catch (e) {
    if (e instanceof VigilError) {
      throw new VigilError(e.code, `${where}: ${e.message.slice(e.code.length + 2)}`);
    }
    throw e;
  }
  if (type !== 'vector' && type !== 'scalar') {
    throw codedError(
      { pkg: PACKAGE },
      ALERTS_ERROR_CODES.PROMQL_TYPE,
      `${where}: the expression is a ${type}, and a rule records or alerts on an instant vector or a scalar only.`,
      type === 'matrix'
        ? 'Apply a function over the range, such as rate() or max_over_time().'
        : undefined,
    );
  }
}
