// Input series of generated promtool tests: counters and gauges over phases of whole minutes.
import type { PromtoolInputSeries } from './types';
import { formatDecimal, decimalOf } from './decimal';

/** A phase of a counter: `minutes` samples, each `perMinute` above the previous; `reset`: back to 0 and flat. */
export interface CounterPhase {
  readonly minutes: number;
  readonly perMinute: number;
  readonly reset?: boolean;
}

/** A phase of a gauge: `minutes` samples of `value`. */
export interface GaugePhase {
  readonly minutes: number;
  readonly value: number;
}

function num(value: number): string {
  return formatDecimal(decimalOf(value));
}

/** promtool's expanding notation for a counter starting at 0 (one sample a minute). */
export function counterValues(phases: readonly CounterPhase[]): string {
  const parts = ['0'];
  let last = 0;
  for (const p of phases) {
    if (p.minutes <= 0) continue;
    if (p.reset === true) {
      parts.push(`0+0x${p.minutes - 1}`);
      last = 0;
      continue;
    }
    const start = last + p.perMinute;
    parts.push(`${num(start)}+${num(p.perMinute)}x${p.minutes - 1}`);
    last = start + p.perMinute * (p.minutes - 1);
  }
  return parts.join(' ');
}

/** promtool's expanding notation for a gauge; the first phase also gives the sample at 0. */
export function gaugeValues(phases: readonly GaugePhase[]): string {
  const parts: string[] = [];
  phases.forEach((p, i) => {
    const n = i === 0 ? p.minutes : p.minutes - 1;
    if (i > 0 && p.minutes <= 0) return;
    parts.push(`${num(p.value)}+0x${n}`);
  });
  return parts.join(' ');
}

/** `metric{a="b"}` in promtool's series syntax, labels sorted. */
export function seriesName(metric: string, labels: Readonly<Record<string, string>>): string {
  const keys = Object.keys(labels).sort();
  if (keys.length === 0) return metric;
  return `${metric}{${keys.map((k) => `${k}=${JSON.stringify(labels[k])}`).join(', ')}}`;
}

export function inputSeries(
  metric: string,
  labels: Readonly<Record<string, string>>,
  values: string,
): PromtoolInputSeries {
  return { series: seriesName(metric, labels), values };
}
