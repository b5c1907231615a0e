// Label resolvers: each turns a value offered at recording time into the bounded value recorded.
import {
  METHOD_LABELS,
  OTHER_METHOD,
  OVERFLOW_LABEL_VALUE,
  type LabelGuard,
  createLabelGuard,
  describeValue,
} from '@vigil/core';
import type { AutoLabel, LabelDescription, Outcome } from './types';

/** The outcomes, in a fixed order. */
export const OUTCOMES: readonly Outcome[] = Object.freeze(['success', 'failure', 'aborted']);

/** Where a resolver reports a problem (the instrument, which knows its metric and its reporter). */
export interface LabelOwner {
  readonly name: string;
  report(key: string, message: string): void;
}

export interface LabelResolver {
  readonly name: string;
  readonly auto: AutoLabel | undefined;
  /** Most distinct values recorded, the overflow value included. */
  readonly bound: number;
  /** Identity of the spec, to tell a re-definition from a conflicting one. */
  readonly signature: string;
  /** The value to record for `raw`: itself when allowed, a normalised value, or the overflow value. */
  canonical(raw: unknown): string;
  describe(): LabelDescription;
}

function offered(owner: LabelOwner, label: string, raw: unknown): string {
  if (raw === undefined) {
    owner.report(
      `${owner.name}.${label}: label missing`,
      `no value was given; recorded as "${OVERFLOW_LABEL_VALUE}"`,
    );
  } else {
    owner.report(
      `${owner.name}.${label}: not a string`,
      `received ${describeValue(raw)}; recorded as "${OVERFLOW_LABEL_VALUE}"`,
    );
  }
  return OVERFLOW_LABEL_VALUE;
}

/** A closed set of values (`{ values }`, and the `outcome` auto label). */
export class ClosedLabel implements LabelResolver {
  private readonly allowed: ReadonlySet<string>;
  readonly bound: number;
  readonly signature: string;

  constructor(
    readonly name: string,
    readonly values: readonly string[],
    readonly auto: AutoLabel | undefined,
    private readonly owner: LabelOwner,
  ) {
    this.allowed = new Set(values);
    this.bound = values.length + 1;
    this.signature = auto ?? `values:${JSON.stringify(values)}`;
  }

  canonical(raw: unknown): string {
    if (typeof raw !== 'string') return offered(this.owner, this.name, raw);
    if (this.allowed.has(raw)) return raw;
    // One report per label, not per value: a flood of distinct bad values stays one log line.
    this.owner.report(
      `${this.owner.name}.${this.name}: value outside the declared set`,
      `received ${describeValue(raw)}, not one of ${this.values.join(', ')}; recorded as "${OVERFLOW_LABEL_VALUE}"`,
    );
    return OVERFLOW_LABEL_VALUE;
  }

  describe(): LabelDescription {
    return this.auto === undefined
      ? { name: this.name, values: [...this.values], overflowValue: OVERFLOW_LABEL_VALUE }
      : {
          name: this.name,
          values: [...this.values],
          auto: this.auto,
          overflowValue: OVERFLOW_LABEL_VALUE,
        };
  }
}

/** Any string, at most `cap` distinct values (`{ cap }`, and the `route` auto label). */
export class CappedLabel implements LabelResolver {
  private readonly guard: LabelGuard;
  readonly bound: number;
  readonly signature: string;

  constructor(
    readonly name: string,
    readonly cap: number,
    readonly auto: AutoLabel | undefined,
    private readonly owner: LabelOwner,
  ) {
    this.bound = cap + 1;
    this.signature = auto ? `${auto}:${cap}` : `cap:${cap}`;
    this.guard = createLabelGuard({
      metric: owner.name,
      limit: cap,
      onOverflow: () =>
        owner.report(
          `${owner.name}.${name}: cap reached`,
          `${cap} distinct values are recorded; later values are recorded as "${OVERFLOW_LABEL_VALUE}"`,
        ),
    });
  }

  canonical(raw: unknown): string {
    if (typeof raw !== 'string') return offered(this.owner, this.name, raw);
    return this.guard.admit(raw) ? raw : OVERFLOW_LABEL_VALUE;
  }

  describe(): LabelDescription {
    return this.auto === undefined
      ? { name: this.name, cap: this.cap, overflowValue: OVERFLOW_LABEL_VALUE }
      : { name: this.name, cap: this.cap, auto: this.auto, overflowValue: OVERFLOW_LABEL_VALUE };
  }
}

const METHOD_SET: ReadonlySet<string> = new Set(METHOD_LABELS);

/** The `method` auto label: the standard methods, upper-cased, and `OTHER` for the rest. */
export class MethodLabelResolver implements LabelResolver {
  readonly auto = 'method' as const;
  readonly bound = METHOD_LABELS.length + 1;
  readonly signature = 'method';

  constructor(
    readonly name: string,
    private readonly owner: LabelOwner,
  ) {}

  canonical(raw: unknown): string {
    if (typeof raw !== 'string') return offered(this.owner, this.name, raw);
    if (METHOD_SET.has(raw)) return raw;
    const upper = raw.toUpperCase();
    return METHOD_SET.has(upper) ? upper : OTHER_METHOD;
  }

  describe(): LabelDescription {
    return {
      name: this.name,
      values: [...METHOD_LABELS],
      auto: 'method',
      overflowValue: OVERFLOW_LABEL_VALUE,
    };
  }
}
