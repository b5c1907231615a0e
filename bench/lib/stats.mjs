// Small helpers shared by the scenario targets and the report: medians, signed figures, lookups.

/**
 * The median of `values` (the mean of the two middle ones for an even count).
 * @param {number[]} values
 */
export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const high = sorted[mid] ?? NaN;
  return sorted.length % 2 ? high : ((sorted[mid - 1] ?? NaN) + high) / 2;
}

/**
 * `n` with a sign, `digits` decimals: `+12.5`, `-3.0`.
 * @param {number} n
 */
export function signed(n, digits = 1) {
  return `${n >= 0 ? '+' : ''}${n.toFixed(digits)}`;
}

/**
 * `record[key]`, which the caller knows is there (every round runs every scenario, every scenario
 * that ran has a summary row); throws naming `what` if it is not.
 * @template T
 * @param {Record<string, T>} record
 * @param {string} key
 * @param {string} what
 * @returns {T}
 */
export function entry(record, key, what) {
  const value = record[key];
  if (value === undefined) throw new Error(`no ${what} for ${key}`);
  return value;
}
