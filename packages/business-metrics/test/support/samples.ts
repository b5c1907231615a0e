// Reading samples back from a prom-client registry, and waiting for recordings made at response end.
import type { Registry } from 'prom-client';

export type Labels = Record<string, string>;

export interface Sample {
  name: string;
  labels: Labels;
  value: number;
}

interface JsonValue {
  labels?: Record<string, string | number>;
  value: number;
  metricName?: string;
}

export async function allSamples(registry: Registry): Promise<Sample[]> {
  const out: Sample[] = [];
  for (const metric of await registry.getMetricsAsJSON()) {
    for (const v of (metric.values ?? []) as JsonValue[]) {
      const labels: Labels = {};
      for (const [k, value] of Object.entries(v.labels ?? {})) labels[k] = String(value);
      out.push({ name: v.metricName ?? metric.name, labels, value: v.value });
    }
  }
  return out;
}

const matches = (s: Sample, name: string, labels: Labels) =>
  s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v);

export async function findSamples(
  registry: Registry,
  name: string,
  labels: Labels = {},
): Promise<Sample[]> {
  return (await allSamples(registry)).filter((s) => matches(s, name, labels));
}

/** The one sample with these labels (others may be left out), or undefined; throws on several. */
export async function sampleValue(
  registry: Registry,
  name: string,
  labels: Labels = {},
): Promise<number | undefined> {
  const found = await findSamples(registry, name, labels);
  if (found.length > 1)
    throw new Error(`${name} ${JSON.stringify(labels)} matches ${found.length}`);
  return found[0]?.value;
}

export async function sumValues(
  registry: Registry,
  name: string,
  labels: Labels = {},
): Promise<number> {
  return (await findSamples(registry, name, labels)).reduce((n, s) => n + s.value, 0);
}

/** Non-zero samples of `name` as `label=value,... => n` lines (labels and lines sorted). */
export async function nonZero(registry: Registry, name: string): Promise<string[]> {
  return (await findSamples(registry, name))
    .filter((s) => s.value !== 0)
    .map(
      (s) =>
        `${Object.entries(s.labels)
          .sort(([a], [b]) => (a < b ? -1 : 1))
          .map(([k, v]) => `${k}=${v}`)
          .join(',')} => ${s.value}`,
    )
    .sort();
}

/** Polls until `check` is true; fails with `what` and the last state after `timeoutMs`. */
export async function waitFor(
  check: () => Promise<boolean> | boolean,
  what: string,
  timeoutMs = 3000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Waits until the samples of `name` add up to `total`, then a little longer, so a second recording would show. */
export async function settle(registry: Registry, name: string, total: number): Promise<void> {
  await waitFor(
    async () => (await sumValues(registry, name)) >= total,
    `${name} to reach ${total}`,
  );
  await new Promise((resolve) => setTimeout(resolve, 30));
}
