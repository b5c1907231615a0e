// The shapes the evaluator, the dispatcher, the receivers and the HTTP API exchange, and the one
// definition of an alert's fingerprint. Alerts travel in Alertmanager's own API shape, so the in-process
// dispatcher and a real Alertmanager take the same input and give the same ids.

/** A label set: names to values. */
export type LabelSet = Readonly<Record<string, string>>;

/**
 * An alert as Prometheus posts it to Alertmanager (`POST /api/v2/alerts`, `postableAlert`): times are
 * RFC 3339 strings. A firing alert carries an `endsAt` in the future (Prometheus sends "valid until");
 * a resolved one carries the time it resolved.
 */
export interface PostableAlert {
  readonly labels: LabelSet;
  readonly annotations?: LabelSet;
  readonly startsAt?: string;
  readonly endsAt?: string;
  readonly generatorURL?: string;
}

/** One alert of an Alertmanager webhook message (payload version 4). */
export interface WebhookAlert {
  readonly status: 'firing' | 'resolved';
  readonly labels: LabelSet;
  readonly annotations: LabelSet;
  readonly startsAt: string;
  /** `0001-01-01T00:00:00Z` while firing, as Alertmanager writes it. */
  readonly endsAt: string;
  readonly generatorURL: string;
  readonly fingerprint: string;
}

/**
 * A notification: what Alertmanager's webhook receiver posts (payload version 4), and what every Vigil
 * receiver is given to deliver, whatever its own wire format.
 */
export interface WebhookMessage {
  readonly version: '4';
  readonly groupKey: string;
  readonly truncatedAlerts: number;
  readonly status: 'firing' | 'resolved';
  readonly receiver: string;
  readonly groupLabels: LabelSet;
  readonly commonLabels: LabelSet;
  readonly commonAnnotations: LabelSet;
  readonly externalURL: string;
  readonly alerts: readonly WebhookAlert[];
}

/** Alertmanager's zero time, the `endsAt` of a firing alert in a webhook message. */
export const ZERO_TIME = '0001-01-01T00:00:00Z';

// FNV-1a, 64 bits, in two 32-bit halves: the hash of prometheus/common's `LabelSet.Fingerprint()`.
const OFFSET_HI = 0xcbf29ce4;
const OFFSET_LO = 0x84222325;
const SEPARATOR = 0xff;
const encoder = new TextEncoder();

/**
 * The fingerprint of a label set, exactly as Alertmanager computes an alert's id
 * (`model.LabelSet.Fingerprint()`): FNV-1a 64 over the label names in byte order, each name and value
 * followed by the separator byte 0xff, written as 16 lower-case hex digits.
 */
export function fingerprint(labels: LabelSet): string {
  let hi = OFFSET_HI;
  let lo = OFFSET_LO;
  const add = (byte: number): void => {
    lo ^= byte;
    // h * 0x100000001b3 = h * 0x1b3 + (h << 40), modulo 2^64.
    const low = (lo >>> 0) * 0x1b3;
    const carry = Math.floor(low / 0x100000000);
    hi = (Math.imul(hi, 0x1b3) + (lo << 8) + carry) >>> 0;
    lo = low >>> 0;
  };
  const addText = (text: string): void => {
    // ASCII is its own UTF-8; anything else is encoded.
    for (let i = 0; i < text.length; i++) {
      const code = text.charCodeAt(i);
      if (code >= 0x80) {
        for (const byte of encoder.encode(text.slice(i))) add(byte);
        return;
      }
      add(code);
    }
  };
  const names = Object.keys(labels).sort(compareBytes);
  for (const name of names) {
    addText(name);
    add(SEPARATOR);
    addText(labels[name] ?? '');
    add(SEPARATOR);
  }
  return hi.toString(16).padStart(8, '0') + lo.toString(16).padStart(8, '0');
}

const NON_ASCII = /[\u0080-\uffff]/;

/** Orders strings by their UTF-8 bytes, as Go's `sort.Strings` does. */
export function compareBytes(a: string, b: string): number {
  if (a === b) return 0;
  // UTF-16 order is byte order for ASCII (and for everything below the surrogates).
  if (!NON_ASCII.test(a) && !NON_ASCII.test(b)) return a < b ? -1 : 1;
  const x = encoder.encode(a);
  const y = encoder.encode(b);
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d !== 0) return d;
  }
  return x.length - y.length;
}

/** A timer a Clock started. */
export interface ClockTimer {
  /** Stops the timer; calling it again does nothing. */
  cancel(): void;
}

/**
 * Time as the evaluator and the dispatcher see it: the system clock in production, a ManualClock in
 * tests, so timelines of minutes and days run in milliseconds.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Runs `fn` once after `ms` milliseconds. The system clock's timers never keep the process alive. */
  setTimer(fn: () => void, ms: number): ClockTimer;
}

/** The process clock; timers are unref'ed. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer(fn, ms) {
    const timer = setTimeout(fn, Math.max(0, ms));
    timer.unref();
    return { cancel: () => clearTimeout(timer) };
  },
};

interface Pending {
  at: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

/**
 * A clock that moves only when told: `advance(ms)` runs every timer due on the way, in time order
 * (ties in the order they were set), with `now()` at each timer's time while it runs.
 */
export class ManualClock implements Clock {
  #now: number;
  #seq = 0;
  #timers: Pending[] = [];

  constructor(start = Date.UTC(2026, 0, 1)) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimer(fn: () => void, ms: number): ClockTimer {
    const timer: Pending = {
      at: this.#now + Math.max(0, ms),
      seq: this.#seq++,
      fn,
      cancelled: false,
    };
    this.#timers.push(timer);
    return {
      cancel: () => {
        timer.cancelled = true;
      },
    };
  }

  /** Moves time forward by `ms`, running due timers (and timers they set, when due) on the way. */
  advance(ms: number): void {
    const end = this.#now + ms;
    for (;;) {
      this.#timers = this.#timers.filter((t) => !t.cancelled);
      let next: Pending | undefined;
      for (const t of this.#timers) {
        if (
          t.at <= end &&
          (next === undefined || t.at < next.at || (t.at === next.at && t.seq < next.seq))
        ) {
          next = t;
        }
      }
      if (next === undefined) break;
      this.#timers.splice(this.#timers.indexOf(next), 1);
      this.#now = Math.max(this.#now, next.at);
      next.fn();
    }
    this.#now = end;
  }

  /** Timers set and not yet run or cancelled. */
  get pending(): number {
    return this.#timers.filter((t) => !t.cancelled).length;
  }
}

/**
 * What the dispatcher hands to the receivers: one message for one receiver. `notify` is a notification
 * of the group's alerts; `acknowledge` says an operator acknowledged the group (PagerDuty acknowledges
 * its incident; a receiver without the notion may say so or skip it). Receivers queue it: handing it
 * over never blocks and never throws.
 */
export interface Delivery {
  readonly receiver: string;
  readonly kind: 'notify' | 'acknowledge';
  readonly message: WebhookMessage;
}

/** Statuses the alerts API filters on. */
export type AlertStatus = 'pending' | 'firing' | 'resolved' | 'silenced' | 'acknowledged';

/** An acknowledgement of a firing alert: notifications pause until the alert resolves. */
export interface Acknowledgement {
  readonly by: string;
  readonly comment?: string;
  /** RFC 3339. */
  readonly at: string;
}

/** An alert as the alerts API shows it. Times are RFC 3339. */
export interface AlertView {
  readonly fingerprint: string;
  /** With `alertname` and `severity`. */
  readonly labels: LabelSet;
  readonly annotations: LabelSet;
  readonly status: AlertStatus;
  readonly startsAt: string;
  /** Set once resolved. */
  readonly endsAt?: string;
  /** The expression's value at the last evaluation, for alerts of the embedded evaluator. */
  readonly value?: number;
  readonly silencedBy: readonly string[];
  readonly inhibitedBy: readonly string[];
  readonly acknowledgement?: Acknowledgement;
  /** Receivers its route sends it to. */
  readonly receivers: readonly string[];
  readonly generatorURL?: string;
}

/** A silence: alerts its matchers match are not notified between its start and end. */
export interface SilenceView {
  readonly id: string;
  readonly matchers: readonly {
    readonly name: string;
    readonly value: string;
    readonly isRegex: boolean;
    readonly isEqual: boolean;
  }[];
  readonly startsAt: string;
  readonly endsAt: string;
  readonly createdBy: string;
  readonly comment: string;
  readonly status: 'pending' | 'active' | 'expired';
}

/** A rule as the alerts API shows it. */
export interface RuleView {
  readonly name: string;
  readonly group: string;
  readonly type: 'alerting' | 'recording';
  readonly expr: string;
  readonly for?: string;
  readonly keepFiringFor?: string;
  readonly labels: LabelSet;
  readonly annotations: LabelSet;
  /** `unknown` until first evaluated; always `unknown` for rules marked Prometheus-only. */
  readonly health: 'ok' | 'err' | 'unknown';
  readonly lastError?: string;
  readonly lastEvaluation?: string;
  readonly evaluationSeconds?: number;
  /** Alerting rules: the most advanced state of its alerts. */
  readonly state?: 'inactive' | 'pending' | 'firing';
  /** Left to Prometheus: not evaluated in the process. */
  readonly prometheusOnly: boolean;
}

/** Figures of `GET /alerts/stats`. */
export interface AlertStats {
  readonly active: number;
  readonly activeBySeverity: Readonly<Record<string, number>>;
  readonly resolvedLast7Days: number;
  readonly rulesTotal: number;
  readonly rulesEnabled: number;
  readonly receivers: number;
}

/** What the alerts HTTP API serves: implemented by `createAlerting()`. */
export interface AlertsService {
  /** The service's name, in every response. */
  readonly service: string;
  alerts(filter?: {
    readonly status?: AlertStatus;
    readonly severity?: string;
  }): readonly AlertView[];
  stats(): AlertStats;
  rules(): readonly RuleView[];
  silences(): readonly SilenceView[];
  /** Undefined when no alert has this fingerprint. */
  acknowledge(fingerprint: string, by: string, comment?: string): AlertView | undefined;
  /** A silence of exactly this alert's labels for `minutes`; undefined when no alert has this fingerprint. */
  silence(
    fingerprint: string,
    minutes: number,
    by: string,
    comment?: string,
  ): SilenceView | undefined;
  /** False when no silence has this id. */
  expireSilence(id: string): boolean;
}
