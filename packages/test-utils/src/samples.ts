// Reading samples back from a prom-client registry: by sample name and labels, and waiting for them.
import type { Registry } from 'prom-client';

export type Labels = Record<string, string>;

export interface Sample {
  /** Sample name as exposed (`http_request_duration_seconds_count`, `http_requests_total`, ...). */
  name: string;
  labels: Labels;
  value: number;
  exemplar?: { labelSet: Labels; value: number } | null;
}

interface JsonValue {
  labels?: Record<string, string | number>;
  value: number;
  metricName?: string;
  exemplar?: { labelSet: Labels; value: number } | null;
}

/** Every sample in the registry, flattened, with label values as strings. */
export async function allSamples(registry: Registry): Promise<Sample[]> {
  const metrics = await registry.getMetricsAsJSON();
  const out: Sample[] = [];
  for (const metric of metrics) {
    for (const v of (metric.values ?? []) as JsonValue[]) {
      const labels: Labels = {};
      for (const [k, value] of Object.entries(v.labels ?? {})) labels[k] = String(value);
      out.push({ name: v.metricName ?? metric.name, labels, value: v.value, exemplar: v.exemplar });
    }
  }
  return out;
}

const matches = (sample: Sample, name: string, labels: Labels): boolean =>
  sample.name === name && Object.entries(labels).every(([k, v]) => sample.labels[k] === v);

/** Samples named `name` whose labels include every entry of `labels`. */
export async function findSamples(
  registry: Registry,
  name: string,
  labels: Labels = {},
): Promise<Sample[]> {
  return (await allSamples(registry)).filter((s) => matches(s, name, labels));
}

/**
 * The value of the one sample named `name` with these labels (others may be left out), or
 * undefined when there is none. Throws when the labels match more than one sample.
 */
export async function sampleValue(
  registry: Registry,
  name: string,
  labels: Labels = {},
): Promise<number | undefined> {
  const found = await findSamples(registry, name, labels);
  if (found.length > 1) {
    throw new Error(`${name} ${JSON.stringify(labels)} matches ${found.length} samples`);
  }
  return found[0]?.value;
}

/** Sum of every sample named `name` with these labels. */
export async function sumValues(
  registry: Registry,
  name: string,
  labels: Labels = {},
): Promise<number> {
  return (await findSamples(registry, name, labels)).reduce((sum, s) => sum + s.value, 0);
}

/** Names of the metric families in the registry. */
export async function metricNames(registry: Registry): Promise<string[]> {
  return (await registry.getMetricsAsJSON()).map((m) => m.name);
}

/**
 * Polls `check` until it returns true, failing with `what` after `timeoutMs`; `state` describes what
 * was seen instead, for the failure message.
 */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 3000,
  state?: () => Promise<string>,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) {
      const seen = state ? `; seen: ${await state()}` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${seen}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** A one-line summary of the request counter and the in-flight gauge, for failure messages. */
export async function describeRequests(registry: Registry): Promise<string> {
  const samples = await allSamples(registry);
  const show = (name: string) =>
    samples
      .filter((s) => s.name.endsWith(name) && s.value !== 0)
      .map((s) => `${Object.values(s.labels).join(' ')}=${s.value}`)
      .join(', ');
  return `requests [${show('requests_total')}], in flight [${show('in_flight')}${show('active_requests')}]`;
}

/**
 * Waits until every request has been recorded: Vigil records on the response's 'close' event, which
 * can come a moment after the client has read the whole response. The in-flight gauge returns to 0
 * exactly when the last request is recorded.
 */
export async function waitForIdle(
  registry: Registry,
  inFlight = 'http_requests_in_flight',
): Promise<void> {
  await waitFor(
    async () => (await sumValues(registry, inFlight)) === 0,
    `${inFlight} to return to 0`,
    3000,
    () => describeRequests(registry),
  );
}

/** Waits until the request counter's samples add up to `total`, then until nothing is in flight. */
export async function waitForCount(
  registry: Registry,
  total: number,
  name = 'http_requests_total',
): Promise<void> {
  await waitFor(
    async () => (await sumValues(registry, name)) >= total,
    `${name} to reach ${total}`,
    3000,
    () => describeRequests(registry),
  );
  await waitForIdle(registry);
}
