// Long SLO windows from per-interval sums: MemoryStorage's rollups answer sum, count, avg and present
// over time as the raw samples would, and the rules engine keeps a day of an SLO's recorded increases
// in a few kilobytes instead of every 15-second sample.
import { Counter, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import {
  compileExpr,
  createRuleEngine,
  defineAlerts,
  defineSlo,
  evaluate,
  type Matcher,
  MemoryStorage,
  type RuleEngine,
} from '@vigil/alerts';
import { seededRandom } from '@vigil/test-utils';
import { ManualClock } from '../src/model';

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;
const m = (name: string, type: Matcher['type'], value: string): Matcher => ({ name, type, value });

/** The vector `expr` gives at `t`, as [labels key, value] pairs. */
function vectorAt(storage: MemoryStorage, expr: string, t: number): [string, number][] {
  const v = evaluate(compileExpr(expr), t, storage);
  if ('error' in v) throw new Error(v.error);
  if (v.type !== 'vector') throw new Error(`not a vector: ${v.type}`);
  return v.samples.map((s) => [JSON.stringify(s.labels), s.value]);
}

/** Equal within 1e-9 relative, NaN equal to NaN. */
function close(a: number, b: number): boolean {
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b);
  return a === b || Math.abs(a - b) <= 1e-9 * Math.max(Math.abs(a), Math.abs(b));
}

describe('MemoryStorage rollups', () => {
  it('should answer sum, count, avg and present over a day from 5-minute sums as from every raw sample', () => {
    const W = 5 * MINUTE;
    const phase = 123_456; // a group's offset within its interval
    const spec = { widthMs: W, phaseMs: phase, retentionMs: DAY + W };
    const rolled = new MemoryStorage({ rollupOf: () => spec });
    const raw = new MemoryStorage();
    const random = seededRandom(20261205);
    const series = [
      { __name__: 'x', slo: 'a' },
      { __name__: 'x', slo: 'b' },
    ];
    const both = {
      append(labels: (typeof series)[number], t: number, v: number) {
        rolled.append(labels, t, v);
        raw.append(labels, t, v);
      },
      stale(labels: (typeof series)[number], t: number) {
        rolled.appendStale(labels, t);
        raw.appendStale(labels, t);
      },
    };
    const start = Date.UTC(2026, 0, 1) + 7_000;
    let compared = 0;
    let nan = 0;
    let lastTrim = -Infinity;
    for (let t = start; t < start + 2.5 * DAY; t += 15_000) {
      for (const labels of series) {
        const r = random();
        if (labels.slo === 'b' && r < 0.02) continue; // gaps
        if (r < 0.005) both.stale(labels, t);
        else if (r < 0.006) {
          // A value replaced at the same time; once in a while a NaN replaced by a number.
          both.append(labels, t, r < 0.0055 ? NaN : 1e6);
          both.append(labels, t, Math.round(random() * 100));
        } else both.append(labels, t, Math.round(random() * 1000) / 10);
      }
      if (t - lastTrim >= MINUTE) {
        lastTrim = t;
        // As the engine trims: raw samples for two intervals, sums for the day plus one interval.
        rolled.trim(t, () => 2 * W);
      }
      // Queries at the evaluations of a 5-minute group aligned on `phase`, once a day has passed.
      const next = t + 15_000;
      const k = Math.floor((next - phase) / W);
      const at = phase + k * W;
      if (at > t && at <= next && at - start > DAY) {
        for (const fn of [
          'sum_over_time',
          'count_over_time',
          'avg_over_time',
          'present_over_time',
        ]) {
          const expr = `${fn}(x[1d])`;
          const got = vectorAt(rolled, expr, at);
          const want = vectorAt(raw, expr, at);
          expect(got.map(([l]) => l)).toEqual(want.map(([l]) => l));
          for (let i = 0; i < want.length; i++) {
            const [, w] = want[i] as [string, number];
            const [, g] = got[i] as [string, number];
            if (Number.isNaN(w)) nan++;
            expect(close(g, w), `${expr} at ${at}: ${g} vs ${w}`).toBe(true);
            compared++;
          }
        }
      }
    }
    // Every 5 minutes for 1.5 days, four functions, two series.
    expect(compared).toBeGreaterThan(430 * 4 * 2 * 0.99);
    const [a] = rolled.select([m('__name__', '=', 'x'), m('slo', '=', 'a')], 0, Infinity);
    // Two intervals of raw samples, and up to a minute more between trims.
    expect(a?.length).toBeLessThanOrEqual((2 * W + MINUTE) / 15_000 + 1);
    console.log(
      `rollups: ${compared} results equal to the raw samples' (${nan} NaN in both); ${rolled.sampleCount} raw samples and ${rolled.bytes} bytes held against ${raw.sampleCount} samples and ${raw.bytes} bytes`,
    );
    expect(rolled.bytes * 10).toBeLessThan(raw.bytes);
  });

  it('should fall back to the raw samples while they cover the range, and leave out an interval a range starts inside', () => {
    const W = 60_000;
    const s = new MemoryStorage({
      rollupOf: () => ({ widthMs: W, phaseMs: 0, retentionMs: 10 * W }),
    });
    for (let t = 0; t <= 10 * W; t += 10_000) s.append({ __name__: 'y' }, t, 1);
    // Nothing trimmed yet: every range is read raw.
    expect(vectorAt(s, 'count_over_time(y[5m])', 10 * W)).toEqual([['{}', 31]]);
    s.trim(10 * W, () => 2 * W);
    expect(s.sampleCount).toBe(13);
    // Aligned: [5m, 10m] is five whole intervals of six samples plus the one at 10m.
    expect(vectorAt(s, 'count_over_time(y[5m])', 10 * W)).toEqual([['{}', 31]]);
    expect(vectorAt(s, 'sum_over_time(y[5m])', 10 * W)).toEqual([['{}', 31]]);
    // Off the intervals by 30 s: the interval [4m, 5m) it starts inside is left out.
    expect(vectorAt(s, 'count_over_time(y[5m30s])', 10 * W)).toEqual([['{}', 31]]);
    // Ranges inside the raw samples are exact whatever their start.
    expect(vectorAt(s, 'count_over_time(y[90s])', 10 * W)).toEqual([['{}', 10]]);
    // Past the sums' retention the series ends.
    s.trim(30 * W, () => 2 * W);
    expect(s.seriesCount).toBe(0);
  });
});

/** Moves the clock in 15 s steps, letting each evaluation finish before the next. */
async function advance(clock: ManualClock, engine: RuleEngine, ms: number): Promise<void> {
  for (let done = 0; done < ms; done += 15_000) {
    clock.advance(15_000);
    await engine.settled();
  }
}

describe('createRuleEngine on long SLO windows', () => {
  it("should record an SLO's 1-day error ratio from 5-minute sums, equal to the ratio over every sample", async () => {
    const registry = new Registry();
    const requests = new Counter({
      name: 'http_requests_total',
      help: 'requests',
      labelNames: ['method', 'route', 'status_code'],
      registers: [registry],
    });
    const rules = defineAlerts({
      name: 'shop',
      selector: { job: 'shop' },
      slos: [
        defineSlo({
          kind: 'availability',
          name: 'checkout',
          objective: 0.99,
          routes: ['/checkout'],
        }),
      ],
    });
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const engine = createRuleEngine({ rules, registry, clock });
    // Every sample the engine writes, also kept whole in a store that never trims.
    const whole = new MemoryStorage();
    const append = engine.storage.append.bind(engine.storage);
    const appendStale = engine.storage.appendStale.bind(engine.storage);
    engine.storage.append = (labels, t, v) => {
      whole.append(labels, t, v);
      append(labels, t, v);
    };
    engine.storage.appendStale = (labels, t) => {
      whole.appendStale(labels, t);
      appendStale(labels, t);
    };
    const random = seededRandom(7);
    const ratio = 'slo:sli_error:ratio_rate1d{slo="checkout"}';
    const longExpr =
      'sum_over_time(slo:sli_errors:increase5m{job="shop",slo="checkout"}[1d]) / sum_over_time(slo:sli_events:increase5m{job="shop",slo="checkout"}[1d])';
    engine.start();
    let compared = 0;
    const seen = new Set<number>();
    try {
      for (let step = 0; step < (1.25 * DAY) / (5 * MINUTE); step++) {
        // Traffic with an error ratio that drifts over the day.
        const n = Math.floor(random() * 50);
        const errorShare = 0.005 + 0.02 * Math.abs(Math.sin(step / 40));
        for (let i = 0; i < n; i++) {
          requests.inc({
            method: 'POST',
            route: '/checkout',
            status_code: random() < errorShare ? '500' : '200',
          });
        }
        await advance(clock, engine, 5 * MINUTE);
        const [recorded] = engine.storage.select(
          [m('__name__', '=', 'slo:sli_error:ratio_rate1d'), m('slo', '=', 'checkout')],
          0,
          Infinity,
        );
        if (recorded === undefined || recorded.length === 0) continue;
        const t = recorded.timestamps[recorded.length - 1] as number;
        if (seen.has(t)) continue;
        seen.add(t);
        const got = recorded.values[recorded.length - 1] as number;
        const want = vectorAt(whole, longExpr, t)[0]?.[1] ?? NaN;
        expect(close(got, want), `${ratio} at ${t}: ${got} vs ${want}`).toBe(true);
        if (!Number.isNaN(want)) compared++;
      }
    } finally {
      await engine.stop();
    }
    expect(compared).toBeGreaterThan(300);
    const [events] = engine.storage.select(
      [m('__name__', '=', 'slo:sli_events:increase5m'), m('slo', '=', 'checkout')],
      0,
      Infinity,
    );
    const [wholeEvents] = whole.select(
      [m('__name__', '=', 'slo:sli_events:increase5m'), m('slo', '=', 'checkout')],
      0,
      Infinity,
    );
    // Raw samples for two 5-minute intervals and up to a minute between trims, not the day's 5,760.
    expect(events?.length).toBeLessThanOrEqual(45);
    expect(wholeEvents?.length).toBeGreaterThan(7000);
    console.log(
      `engine: ${compared} 1-day ratios equal to the ratio over every sample; storage ${engine.storage.sampleCount} samples, ${engine.storage.bytes} bytes (every sample kept: ${whole.sampleCount} samples, ${whole.bytes} bytes)`,
    );
  }, 120_000);
});
