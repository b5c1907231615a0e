// A small in-memory AlertsService for the HTTP layer's tests: alerts with real fingerprints, silences
// and acknowledgements, so the API can be exercised before and beside the real facade.
import {
  type AlertStatus,
  type AlertView,
  type AlertsService,
  type LabelSet,
  type SilenceView,
  fingerprint,
} from '@vigil/alerts';

export interface FakeService extends AlertsService {
  add(labels: LabelSet, status: AlertStatus): AlertView;
}

export function fakeService(now: () => number = Date.now): FakeService {
  const alerts = new Map<string, AlertView>();
  const silences = new Map<string, SilenceView>();
  let next = 1;
  const iso = (ms: number) => new Date(ms).toISOString();
  return {
    service: 'test-service',
    add(labels, status) {
      const view: AlertView = {
        fingerprint: fingerprint(labels),
        labels,
        annotations: { summary: `${labels.alertname ?? ''} is ${status}` },
        status,
        startsAt: iso(now()),
        silencedBy: [],
        inhibitedBy: [],
        receivers: ['default'],
      };
      alerts.set(view.fingerprint, view);
      return view;
    },
    alerts(filter) {
      return [...alerts.values()].filter(
        (a) =>
          (filter?.status === undefined || a.status === filter.status) &&
          (filter?.severity === undefined || a.labels.severity === filter.severity),
      );
    },
    stats() {
      const active = [...alerts.values()].filter((a) => a.status !== 'resolved');
      const bySeverity: Record<string, number> = {};
      for (const a of active) {
        const s = a.labels.severity ?? 'none';
        bySeverity[s] = (bySeverity[s] ?? 0) + 1;
      }
      return {
        active: active.length,
        activeBySeverity: bySeverity,
        resolvedLast7Days: alerts.size - active.length,
        rulesTotal: 2,
        rulesEnabled: 2,
        receivers: 1,
      };
    },
    rules() {
      return [];
    },
    silences() {
      return [...silences.values()];
    },
    acknowledge(fp, by, comment) {
      const a = alerts.get(fp);
      if (a === undefined) return undefined;
      const acked: AlertView = {
        ...a,
        status: 'acknowledged',
        acknowledgement: { by, at: iso(now()), ...(comment === undefined ? {} : { comment }) },
      };
      alerts.set(fp, acked);
      return acked;
    },
    silence(fp, minutes, by, comment) {
      const a = alerts.get(fp);
      if (a === undefined) return undefined;
      const id = `silence-${next++}`;
      const view: SilenceView = {
        id,
        matchers: Object.entries(a.labels).map(([name, value]) => ({
          name,
          value,
          isRegex: false,
          isEqual: true,
        })),
        startsAt: iso(now()),
        endsAt: iso(now() + minutes * 60_000),
        createdBy: by,
        comment: comment ?? '',
        status: 'active',
      };
      silences.set(id, view);
      alerts.set(fp, { ...a, status: 'silenced', silencedBy: [id] });
      return view;
    },
    expireSilence(id) {
      const s = silences.get(id);
      if (s === undefined || s.status === 'expired') return false;
      silences.set(id, { ...s, status: 'expired' });
      return true;
    },
  };
}
