// The one place where a rule's PromQL expression is checked before it is written (the raw-rule hook).

/**
 * Checks one rule expression for the target Prometheus version; throws a coded error when it does not
 * parse, has the wrong type, or uses what the version lacks. Returns nothing when it is acceptable.
 */
export function checkRuleExpression(_expr: string, _prometheusVersion: string): void {
  // The PromQL checker is wired here (checkPromQL from ./promql) once it is available.
}
