// Label guard: a per-metric cap on distinct label sets, so no client can grow memory without bound.

/** The label value every label takes in the overflow series. */
export const OVERFLOW_LABEL_VALUE = '__overflow__';

/** What a guard reports the first time it overflows. */
export interface LabelOverflowInfo {
  /** The metric whose cap was reached. */
  metric: string;
  /** The cap in force. */
  limit: number;
}

export interface LabelGuardOptions {
  /** Name of the metric, used in the overflow report. */
  metric: string;
  /** Most distinct label sets admitted. */
  limit: number;
  /** Called once, the first time a label set is refused. */
  onOverflow?: (info: LabelOverflowInfo) => void;
}

export interface LabelGuard {
  /** True when `key` is already admitted or there is room for it; false means use the overflow series. */
  admit(key: string): boolean;
  /** Number of admitted label sets. */
  readonly size: number;
  /** True once any label set has been refused. */
  readonly overflowed: boolean;
  /** Forget every admitted key (after a registry reset). */
  clear(): void;
}

export function createLabelGuard(options: LabelGuardOptions): LabelGuard {
  const seen = new Set<string>();
  let overflowed = false;
  return {
    admit(key) {
      if (seen.has(key)) return true;
      if (seen.size < options.limit) {
        seen.add(key);
        return true;
      }
      if (!overflowed) {
        overflowed = true;
        options.onOverflow?.({ metric: options.metric, limit: options.limit });
      }
      return false;
    },
    get size() {
      return seen.size;
    },
    get overflowed() {
      return overflowed;
    },
    clear() {
      seen.clear();
      overflowed = false;
    },
  };
}
