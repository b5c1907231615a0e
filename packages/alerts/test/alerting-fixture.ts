// A real createAlerting() for tests: a queue-depth gauge on a fresh prom-client registry, two rules
// over it, the real engine, dispatcher and notifier, on a ManualClock.
import { Gauge, Registry } from 'prom-client';
import {
  type Alerting,
  ManualClock,
  createAlerting,
  defineAlerts,
  promqlAlert,
} from '@vigil/alerts';

const started: Alerting[] = [];

/** Stops every alerting the fixtures created. */
export async function stopFixtures(): Promise<void> {
  await Promise.all(started.splice(0).map((a) => a.stop()));
}

export interface Fixture {
  alerting: Alerting;
  clock: ManualClock;
  depth: Gauge;
  registry: Registry;
  /** Moves the clock and evaluates. */
  step(ms: number): Promise<void>;
}

/** A queue-depth gauge with a critical alert after 30 s above 10 and a warning above 5. */
export function fixture(extra: Partial<Parameters<typeof createAlerting>[0]> = {}): Fixture {
  const registry = new Registry();
  const depth = new Gauge({ name: 'queue_depth', help: 'Jobs waiting', registers: [registry] });
  const clock = new ManualClock();
  const alerting = createAlerting({
    rules: defineAlerts({
      name: 'queue',
      alerts: [
        promqlAlert({
          name: 'QueueDeep',
          expr: 'queue_depth > 10',
          for: '30s',
          severity: 'critical',
          summary: 'The queue is deep',
        }),
        promqlAlert({
          name: 'QueueBusy',
          expr: 'queue_depth > 5',
          for: '0s',
          severity: 'warning',
          summary: 'The queue is busy',
        }),
      ],
    }),
    service: 'queue-service',
    registry,
    clock,
    alertmanagerUrl: undefined,
    ...extra,
  });
  started.push(alerting);
  return {
    alerting,
    clock,
    depth,
    registry,
    async step(ms) {
      clock.advance(ms);
      await alerting.evaluateNow();
    },
  };
}
