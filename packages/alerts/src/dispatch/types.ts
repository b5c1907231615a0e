// Public types of the in-process dispatcher: its options, the alerts and silences it shows, its API.
import type { MinimalLogger } from '@vigil/core';
import type {
  Acknowledgement,
  Clock,
  Delivery,
  LabelSet,
  PostableAlert,
  SilenceView,
} from '../model';
import type { AlertmanagerConfigInput } from './config';
import type { Matcher } from './matchers';

/** A recurring maintenance window: matching alerts are muted while it is open. */
export interface MaintenanceWindowOptions {
  /** Shown in `DispatchedAlert.muted`. */
  readonly name: string;
  /** Cron schedule of the window's openings, e.g. `0 2 * * 0` (Sundays 02:00). */
  readonly schedule: string;
  /** How long the window stays open, a Prometheus duration, e.g. `2h`. */
  readonly duration: string;
  /** IANA time zone the schedule is read in. Default `UTC`. */
  readonly timezone?: string;
  /** Alertmanager matchers the muted alerts match, e.g. `['service="gateway"']`. */
  readonly matchers: readonly string[];
}

/**
 * An escalation: alerts of the routes whose receiver is `route` that are still firing, not acknowledged
 * and not muted `after` their start also go to `receiver`, repeated every `repeat_interval` of the route
 * until they are acknowledged or resolve (the resolution is sent to `receiver` too).
 */
export interface EscalationOptions {
  /** The receiver of the routes it applies to, e.g. `page`. */
  readonly route: string;
  /** Time since the alert's `startsAt`, a Prometheus duration, e.g. `15m`. */
  readonly after: string;
  /** The receiver escalated to, one of the config's receivers, e.g. `oncall-lead`. */
  readonly receiver: string;
}

/** Options of `createDispatcher()`. */
export interface DispatcherOptions {
  /** alertmanager.yml: an object, its YAML text, or the path of a `.yml`/`.yaml` file. */
  readonly config: AlertmanagerConfigInput | string;
  /** Takes each notification; must not throw (a throw is caught, counted and logged once). */
  readonly deliver: (d: Delivery) => void;
  /** Default `systemClock`. */
  readonly clock?: Clock;
  /** `externalURL` of the messages. Default `''`. */
  readonly externalURL?: string;
  /** Recurring maintenance windows. Default none. */
  readonly maintenance?: readonly MaintenanceWindowOptions[];
  /** Escalations by route receiver. Default none. */
  readonly escalations?: readonly EscalationOptions[];
  /** Alerts kept at most; alerts with new fingerprints beyond it are dropped and counted. Default 10,000. */
  readonly maxAlerts?: number;
  /** Silences kept at most (expired ones are dropped first). Default 10,000. */
  readonly maxSilences?: number;
  /** Where problems (a throwing `deliver`, dropped alerts) are logged, once per kind. */
  readonly logger?: MinimalLogger;
}

/** An alert as the dispatcher holds it. Times are RFC 3339. */
export interface DispatchedAlert {
  readonly fingerprint: string;
  readonly labels: LabelSet;
  readonly annotations: LabelSet;
  readonly startsAt: string;
  /** The time it resolved, or (firing) the time it resolves unless posted again. */
  readonly endsAt: string;
  readonly generatorURL: string;
  readonly status: 'firing' | 'resolved';
  /** Ids of the active silences that match it. */
  readonly silencedBy: readonly string[];
  /** Fingerprint of the alert inhibiting it, as Alertmanager reports it (one). */
  readonly inhibitedBy: readonly string[];
  /** Names of the open maintenance windows that match it. */
  readonly muted: readonly string[];
  /** Present while a firing alert is acknowledged. */
  readonly acknowledgement?: Acknowledgement;
  /** Receivers of the routes it matches, in order. */
  readonly receivers: readonly string[];
}

/** A silence to add. */
export interface SilenceInput {
  /**
   * Alertmanager matcher strings (`name="value"`), matcher objects (`{ name, type, value }`) or
   * matchers as Alertmanager's API and `SilenceView` write them (`{ name, value, isRegex, isEqual }`).
   */
  readonly matchers: readonly string[] | readonly (Matcher | SilenceView['matchers'][number])[];
  /** RFC 3339 or epoch milliseconds. Default now. */
  readonly startsAt?: string | number;
  /** RFC 3339 or epoch milliseconds; after `startsAt`. */
  readonly endsAt: string | number;
  readonly createdBy: string;
  readonly comment: string;
}

/** Counters of what the dispatcher did. */
export interface DispatcherStats {
  readonly alerts: number;
  readonly groups: number;
  readonly silences: number;
  /** Alerts refused: invalid, or beyond `maxAlerts`. */
  readonly droppedAlerts: number;
  /** Deliveries handed to `deliver`. */
  readonly deliveries: number;
  /** Calls of `deliver` that threw. */
  readonly deliveryErrors: number;
}

/** The in-process Alertmanager. */
export interface Dispatcher {
  /** Takes alerts as `POST /api/v2/alerts` does; invalid ones are dropped and counted. */
  post(alerts: readonly PostableAlert[]): void;
  /** Every alert held, firing and recently resolved. */
  alerts(): readonly DispatchedAlert[];
  get(fingerprint: string): DispatchedAlert | undefined;
  /**
   * Acknowledges a firing alert: its repeats and escalations pause until it resolves, and an
   * `acknowledge` delivery goes to each receiver already notified of it. False when no firing alert
   * has this fingerprint.
   */
  acknowledge(fingerprint: string, by: string, comment?: string): boolean;
  /** Adds a silence; throws `ERR_VIGIL_ALERTS_DISPATCH_INVALID_SILENCE` when it is not valid. */
  addSilence(s: SilenceInput): SilenceView;
  /** Ends a pending or active silence now; false when no such silence or already expired. */
  expireSilence(id: string): boolean;
  silences(): readonly SilenceView[];
  /** Receivers an alert with these labels goes to, in order, as `amtool config routes test` prints. */
  routesFor(labels: LabelSet): readonly string[];
  stats(): DispatcherStats;
  /** Cancels every timer; later calls do nothing. */
  stop(): void;
}
