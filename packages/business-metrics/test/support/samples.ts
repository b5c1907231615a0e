// Reading samples back from a prom-client registry, and waiting for recordings made at response end.
import type { Registry } from 'prom-client';

// Reading samples back is the metrics suite's support.
import {
  type Labels,
  type Sample,
  allSamples,
  findSamples,
  sampleValue,
  sumValues,
  waitFor,
} from '@vigil/test-utils';

export { type Labels, type Sample, allSamples, findSamples, sampleValue, sumValues, waitFor };

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

/** Waits until the samples of `name` add up to `total`, then a little longer, so a second recording would show. */
export async function settle(registry: Registry, name: string, total: number): Promise<void> {
  await waitFor(
    async () => (await sumValues(registry, name)) >= total,
    `${name} to reach ${total}`,
  );
  await new Promise((resolve) => setTimeout(resolve, 30));
}
